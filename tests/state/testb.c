/*
 * testb.c - a small deterministic backend for the state and clone tests,
 * built twice: "testb" (with a clone slot) and "testc" (without one).
 *
 * Blob: uint version (1), uint next handle, uint count, then per
 * attachment: uint handle, string host path, bool read-only.
 * Clone: read-only paths shared, writable files copied into the clone's
 * scratch folder under their base name; each goes into the document at
 * VirtualMachine/Devices/<Name>/<handle>.
 */
#include <layerhost/backend.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef TESTB_NAME
#define TESTB_NAME "testb"
#endif
#define TESTB_MAX 64
#define TESTB_PATH 256

struct testb_attachment {
	uint64_t handle;
	char path[TESTB_PATH];
	bool read_only;
};

struct testb_priv {
	const struct lh_host_services *host;
	pthread_mutex_t lock;
	struct testb_attachment att[TESTB_MAX];
	size_t n;
	uint64_t next_handle;
};

static int testb_open(void *opaque, const struct lh_host_services *host, struct lh_error *err)
{
	struct testb_priv *priv = opaque;

	(void)err;
	priv->host = host;
	priv->next_handle = 1;
	pthread_mutex_init(&priv->lock, NULL);
	return 0;
}

static int testb_attach(void *opaque, const struct lh_attach_request *req,
			struct lh_attach_result *out, struct lh_error *err)
{
	struct testb_priv *priv = opaque;
	struct testb_attachment *a;
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	if (priv->n == TESTB_MAX || strlen(req->host_path) >= TESTB_PATH) {
		rc = LH_FAIL(err, -LH_ENOLOCATION, TESTB_NAME ": no room for %s", req->host_path);
	} else {
		a = &priv->att[priv->n++];
		a->handle = priv->next_handle++;
		snprintf(a->path, sizeof(a->path), "%s", req->host_path);
		a->read_only = req->flags & LH_ATTACH_READ_ONLY;
		memset(out, 0, sizeof(*out));
		out->handle = a->handle;
		snprintf(out->uvm_path, sizeof(out->uvm_path), "/t/%llu",
			 (unsigned long long)a->handle);
		snprintf(out->location, sizeof(out->location), "t%llu",
			 (unsigned long long)a->handle);
		out->controller = out->lun = out->device = -1;
	}
	pthread_mutex_unlock(&priv->lock);
	return rc;
}

static int testb_release(void *opaque, uint64_t handle, struct lh_error *err)
{
	struct testb_priv *priv = opaque;
	int rc = -LH_ENOTATTACHED;

	pthread_mutex_lock(&priv->lock);
	for (size_t i = 0; i < priv->n; i++)
		if (priv->att[i].handle == handle) {
			priv->att[i] = priv->att[--priv->n];
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&priv->lock);
	if (rc)
		LH_FAIL(err, rc, TESTB_NAME ": handle %llu not attached", (unsigned long long)handle);
	return rc;
}

static int testb_encode(void *opaque, struct lh_gob_encoder *enc, struct lh_error *err)
{
	struct testb_priv *priv = opaque;
	const struct lh_gob_codec *gob = priv->host->gob;
	int rc;

	(void)err;
	pthread_mutex_lock(&priv->lock);
	rc = gob->put_uint(enc, 1);
	if (rc == 0)
		rc = gob->put_uint(enc, priv->next_handle);
	if (rc == 0)
		rc = gob->put_uint(enc, priv->n);
	for (size_t i = 0; rc == 0 && i < priv->n; i++) {
		rc = gob->put_uint(enc, priv->att[i].handle);
		if (rc == 0)
			rc = gob->put_string(enc, priv->att[i].path);
		if (rc == 0)
			rc = gob->put_bool(enc, priv->att[i].read_only);
	}
	pthread_mutex_unlock(&priv->lock);
	return rc;
}

static int testb_decode(void *opaque, struct lh_gob_decoder *dec, struct lh_error *err)
{
	struct testb_priv *priv = opaque;
	const struct lh_gob_codec *gob = priv->host->gob;
	uint64_t version = 0, next = 0, n = 0;
	int rc = gob->get_uint(dec, &version, err);

	if (rc == 0 && version != 1)
		rc = LH_FAIL(err, -LH_EVERSION, TESTB_NAME ": state version %llu, this build reads 1",
			     (unsigned long long)version);
	if (rc == 0)
		rc = gob->get_uint(dec, &next, err);
	if (rc == 0)
		rc = gob->get_uint(dec, &n, err);
	if (rc == 0 && n > TESTB_MAX)
		rc = LH_FAIL(err, -LH_ECORRUPT, TESTB_NAME ": %llu attachments",
			     (unsigned long long)n);
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		struct testb_attachment *a = &priv->att[i];

		rc = gob->get_uint(dec, &a->handle, err);
		if (rc == 0)
			rc = gob->get_string(dec, a->path, sizeof(a->path), err);
		if (rc == 0)
			rc = gob->get_bool(dec, &a->read_only, err);
		if (rc == 0 && a->handle >= next)
			rc = LH_FAIL(err, -LH_ECORRUPT, TESTB_NAME ": handle %llu not below %llu",
				     (unsigned long long)a->handle, (unsigned long long)next);
	}
	if (rc == 0) {
		priv->n = (size_t)n;
		priv->next_handle = next;
	}
	return rc;
}

#ifndef TESTB_NO_CLONE
static int testb_clone(void *opaque, void *clone_opaque, const struct lh_clone_request *req,
		       struct lh_error *err)
{
	struct testb_priv *priv = opaque, *clone = clone_opaque;
	char path[TESTB_PATH + 64], doc_path[128], json[2 * TESTB_PATH];
	size_t made = 0;
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	for (size_t i = 0; rc == 0 && i < priv->n; i++) {
		const struct testb_attachment *a = &priv->att[i];
		const char *base = strrchr(a->path, '/');

		clone->att[i] = *a;
		if (!a->read_only) {
			if (snprintf(path, sizeof(path), "%s/%s", req->scratch_dir,
				     base ? base + 1 : a->path) >= TESTB_PATH) {
				rc = LH_FAIL(err, -ENAMETOOLONG, TESTB_NAME ": %s: too long", path);
				break;
			}
			rc = clone->host->copy_file(clone->host->ctx, a->path, path, err);
			if (rc)
				break;
			memcpy(clone->att[i].path, path, strlen(path) + 1);
			made = i + 1;
		}
		snprintf(doc_path, sizeof(doc_path), "VirtualMachine/Devices/%s/%llu", TESTB_NAME,
			 (unsigned long long)a->handle);
		snprintf(json, sizeof(json), "{\"Path\":\"%s\"%s}", clone->att[i].path,
			 a->read_only ? ",\"ReadOnly\":true" : "");
		rc = clone->host->document_add(clone->host->ctx, doc_path, json, err);
	}
	if (rc) {
		for (size_t i = 0; i < made; i++)
			if (!priv->att[i].read_only)
				unlink(clone->att[i].path);
	} else {
		clone->n = priv->n;
		clone->next_handle = priv->next_handle;
	}
	pthread_mutex_unlock(&priv->lock);
	return rc;
}
#endif

#ifndef TESTB_NO_LIST
static int testb_list(void *opaque, lh_visit_fn fn, void *arg)
{
	struct testb_priv *priv = opaque;
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	for (size_t i = 0; rc == 0 && i < priv->n; i++) {
		struct lh_attachment_info info = {
			.host_path = priv->att[i].path,
			.uvm_path = "",
			.location = "",
			.refs = 1,
			.read_only = priv->att[i].read_only,
		};

		rc = fn(arg, &info);
	}
	pthread_mutex_unlock(&priv->lock);
	return rc;
}

#endif

static void testb_close(void *opaque)
{
	struct testb_priv *priv = opaque;

	pthread_mutex_destroy(&priv->lock);
}

/* An ABI v1 backend on purpose: the state hands its blob, which begins
 * with a version of its own, back exactly as written. */
static const struct lh_backend testb_backend = {
	.abi_version = 1,
	.struct_size = LH_BACKEND_V1_SIZE,
	.name = TESTB_NAME,
	.priv_size = sizeof(struct testb_priv),
	.options = NULL,
	.serial_version = 1,
	.open = testb_open,       /* v1 */
	.attach = testb_attach,   /* v1 */
	.release = testb_release, /* v1 */
	.encode = testb_encode,   /* v1 */
	.decode = testb_decode,   /* v1 */
#ifndef TESTB_NO_CLONE
	.clone = testb_clone,     /* v1 */
#endif
#ifndef TESTB_NO_LIST
	.list = testb_list,       /* v1 */
#endif
	.close = testb_close,     /* v1 */
};

LH_BACKEND_EXPORT const struct lh_backend *layerhost_backend_entry(void)
{
	return &testb_backend;
}
