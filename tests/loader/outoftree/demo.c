/*
 * demo.c - a backend built outside the layerhost tree, against nothing but
 * the installed <layerhost/backend.h> (see run.sh):
 *   cc $(pkg-config --cflags layerhost-backend) -shared -fPIC -o demo.so demo.c
 *
 * run.sh builds it three times: against the installed header (ABI v3) and
 * against frozen copies of the ABI v2 and v1 headers (abi-v2/, abi-v1/), so
 * plugins built for older ABIs are shown to load and work in this host.
 *
 * It attaches "devices" by host path: the first handle on a path issues an
 * Add request, the last release a Remove; equal paths share one device.
 */
#include <layerhost/backend.h>

#include <errno.h>
#include <pthread.h>

#define DEMO_MAX_DEVICES 8
#define DEMO_MAX_HANDLES 64

struct demo_device {
	char path[256];
	unsigned refs;
};

struct demo_priv {
	const struct lh_host_services *host;
	pthread_mutex_t lock;
	uint64_t next_handle;
	struct demo_device devices[DEMO_MAX_DEVICES];
	/* handles[h - 1]: device index + 1 for live handle h, else 0. A
	 * handle past the table is refused, never wrapped, so none repeats. */
	uint8_t handles[DEMO_MAX_HANDLES];
};

static int demo_request(struct demo_priv *p, const char *type, unsigned slot,
			struct lh_error *err)
{
	char json[128];

	snprintf(json, sizeof(json),
		 "{\"ResourcePath\":\"VirtualMachine/Devices/Demo/%u\",\"RequestType\":\"%s\"}",
		 slot, type);
	return p->host->modify(p->host->ctx, json, err);
}

static int demo_open(void *priv, const struct lh_host_services *host, struct lh_error *err)
{
	struct demo_priv *p = priv;

	/* A host of this ABI or a later one: its table holds at least the
	 * services this header knows (new ones are only appended). */
	if (host->abi_version < LH_BACKEND_ABI_VERSION ||
	    host->struct_size < offsetof(struct lh_host_services, gob) + sizeof(host->gob))
		return LH_FAIL(err, -LH_EVERSION, "demo: host ABI %u", host->abi_version);
	p->host = host;
	p->next_handle = 1;
	pthread_mutex_init(&p->lock, NULL);
	return 0;
}

static int demo_attach(void *priv, const struct lh_attach_request *req,
		       struct lh_attach_result *out, struct lh_error *err)
{
	struct demo_priv *p = priv;
	unsigned slot = DEMO_MAX_DEVICES, free_slot = DEMO_MAX_DEVICES;
	int rc = 0;

	if (strlen(req->host_path) >= sizeof(p->devices[0].path))
		return LH_FAIL(err, -ENAMETOOLONG, "demo: %s: path too long", req->host_path);
	pthread_mutex_lock(&p->lock);
	if (p->next_handle > DEMO_MAX_HANDLES) {
		rc = LH_FAIL(err, -LH_ENOLOCATION, "demo: %s: no handles left", req->host_path);
		goto out;
	}
	for (unsigned i = 0; i < DEMO_MAX_DEVICES; i++) {
		if (p->devices[i].refs && strcmp(p->devices[i].path, req->host_path) == 0)
			slot = i;
		else if (!p->devices[i].refs && free_slot == DEMO_MAX_DEVICES)
			free_slot = i;
	}
	memset(out, 0, sizeof(*out));
	out->shared = slot != DEMO_MAX_DEVICES;
	if (!out->shared) {
		if (free_slot == DEMO_MAX_DEVICES) {
			rc = LH_FAIL(err, -LH_ENOLOCATION, "demo: %s: all %d devices in use",
				     req->host_path, DEMO_MAX_DEVICES);
			goto out;
		}
		slot = free_slot;
		rc = demo_request(p, "Add", slot, err);
		if (rc)
			goto out;
		snprintf(p->devices[slot].path, sizeof(p->devices[slot].path), "%s",
			 req->host_path);
	}
	p->devices[slot].refs++;
	out->handle = p->next_handle++;
	p->handles[out->handle - 1] = (uint8_t)(slot + 1);
	out->controller = out->lun = out->device = -1;
	snprintf(out->location, sizeof(out->location), "d%u", slot);
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int demo_release(void *priv, uint64_t handle, struct lh_error *err)
{
	struct demo_priv *p = priv;
	unsigned slot;
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	if (handle == 0 || handle > DEMO_MAX_HANDLES || !p->handles[handle - 1]) {
		rc = LH_FAIL(err, -LH_ENOTATTACHED, "demo: handle %llu is not attached",
			     (unsigned long long)handle);
		goto out;
	}
	slot = p->handles[handle - 1] - 1u;
	if (p->devices[slot].refs == 1) {
		rc = demo_request(p, "Remove", slot, err);
		if (rc)
			goto out;
	}
	p->devices[slot].refs--;
	p->handles[handle - 1] = 0;
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Blob: uint next_handle; per device: string path, uint refs; per handle
 * slot: uint device index + 1 (0: free). */
static int demo_encode(void *priv, struct lh_gob_encoder *enc, struct lh_error *err)
{
	struct demo_priv *p = priv;
	const struct lh_gob_codec *gob = p->host->gob;
	int rc;

	(void)err;
	pthread_mutex_lock(&p->lock);
	rc = gob->put_uint(enc, p->next_handle);
	for (unsigned i = 0; rc == 0 && i < DEMO_MAX_DEVICES; i++) {
		rc = gob->put_string(enc, p->devices[i].path);
		if (rc == 0)
			rc = gob->put_uint(enc, p->devices[i].refs);
	}
	for (unsigned i = 0; rc == 0 && i < DEMO_MAX_HANDLES; i++)
		rc = gob->put_uint(enc, p->handles[i]);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int demo_decode(void *priv, struct lh_gob_decoder *dec, struct lh_error *err)
{
	struct demo_priv *p = priv;
	const struct lh_gob_codec *gob = p->host->gob;
	uint64_t v;
	int rc;

	rc = gob->get_uint(dec, &p->next_handle, err);
	for (unsigned i = 0; rc == 0 && i < DEMO_MAX_DEVICES; i++) {
		rc = gob->get_string(dec, p->devices[i].path, sizeof(p->devices[i].path), err);
		if (rc == 0)
			rc = gob->get_uint(dec, &v, err);
		if (rc == 0 && v > DEMO_MAX_HANDLES)
			rc = LH_FAIL(err, -LH_ECORRUPT, "demo: device %u has %llu references", i,
				     (unsigned long long)v);
		p->devices[i].refs = (unsigned)v;
	}
	for (unsigned i = 0; rc == 0 && i < DEMO_MAX_HANDLES; i++) {
		rc = gob->get_uint(dec, &v, err);
		if (rc == 0 && v > DEMO_MAX_DEVICES)
			rc = LH_FAIL(err, -LH_ECORRUPT, "demo: handle %u names device %llu", i + 1,
				     (unsigned long long)v);
		p->handles[i] = (uint8_t)v;
	}
	return rc;
}

static void demo_close(void *priv)
{
	struct demo_priv *p = priv;

	pthread_mutex_destroy(&p->lock);
}

static const struct lh_backend demo_backend = {
	.abi_version = LH_BACKEND_ABI_VERSION,
	.struct_size = sizeof(struct lh_backend),
	.name = "demo",
	.priv_size = sizeof(struct demo_priv),
	.options = NULL,
	.serial_version = 1,
	.open = demo_open,       /* v1 */
	.attach = demo_attach,   /* v1 */
	.release = demo_release, /* v1 */
	.encode = demo_encode,   /* v1 */
	.decode = demo_decode,   /* v1 */
	.close = demo_close,     /* v1 */
#if LH_BACKEND_ABI_VERSION >= 2
	.result_size = sizeof(struct lh_attach_result), /* v2 */
	.option_size = sizeof(struct lh_option),        /* v2 */
#endif
};

LH_BACKEND_EXPORT const struct lh_backend *layerhost_backend_entry(void)
{
	return &demo_backend;
}
