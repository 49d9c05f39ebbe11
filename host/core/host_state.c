/* host_state.c - see host_state.h. */
#include "host_state.h"

#include "backend_calls.h"
#include "error.h"
#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>

/* ---- encode ------------------------------------------------------------------ */

struct state_encoding {
	struct lh_host *host;
	struct lh_state_image img;
	struct lh_gob_encoder *blobs;  /* one per backend */
	struct lh_gob_encoder *out;
	struct lh_error *err;
};

/* Under the records' lock: a mount under way writes what it holds so far,
 * which the backends hold too and a later unmount must release. */
static int state_encode_records(void *arg, struct lh_mounted *const *records, size_t n)
{
	struct state_encoding *e = arg;

	e->img.containers = (struct lh_mounted **)records;
	e->img.n_containers = n;
	return lh_state_image_encode(&e->img, e->out, e->err);
}

int lh_state_encode(struct lh_host *host, struct lh_gob_encoder *enc, struct lh_error *err)
{
	struct state_encoding e = { .host = host, .out = enc, .err = err };
	struct lh_uvm_identity id;
	int rc = 0;

	lh_host_identity(host, &id);
	e.img.uvm_id = host->uvm_id;
	e.img.os = host->uvm.os;
	e.img.physically_backed = id.physically_backed;
	e.img.no_direct_map = id.no_direct_map;
	e.img.is_template = id.is_template;
	e.img.is_clone = id.is_clone;
	e.img.template_name = host->template_name;
	e.img.mount_counter = id.mount_counter;
	e.img.backends = calloc(host->n_instances + 1, sizeof(*e.img.backends));
	e.blobs = calloc(host->n_instances + 1, sizeof(*e.blobs));
	if (!e.img.backends || !e.blobs) {
		rc = LH_FAIL(err, -ENOMEM, "UVM %s: cannot encode the state: out of memory",
			     host->uvm_id);
		goto out;
	}
	for (size_t i = 0; rc == 0 && i < host->n_instances; i++) {
		struct lh_instance *inst = host->instances[i];
		struct lh_state_backend *b = &e.img.backends[i];

		lh_gob_encoder_init(&e.blobs[i]);
		rc = lh_backend_encode(inst, &e.blobs[i], err);
		if (rc == 0 && e.blobs[i].failed)
			rc = -ENOMEM;
		if (rc && !(err && err->code))
			LH_FAIL(err, rc, "backend %s: cannot encode its state", inst->name);
		b->name = inst->name;
		b->serial_version = inst->ops->serial_version;
		b->blob = e.blobs[i].data;
		b->blob_len = e.blobs[i].len;
		e.img.n_backends++;
	}
	if (rc == 0)
		rc = lh_pipeline_with_records(host, state_encode_records, &e);
out:
	for (size_t i = 0; e.blobs && i < e.img.n_backends; i++)
		lh_gob_encoder_free(&e.blobs[i]);
	free(e.blobs);
	free(e.img.backends);
	return rc;
}

/* ---- decode ------------------------------------------------------------------ */

/* Per backend of the image: the host's instance of that name, and the fresh
 * one decoded into, swapped in at the end. */
struct state_target {
	struct lh_instance *target;
	struct lh_instance *fresh;
};

struct state_count {
	size_t n;
};

static int state_count_visit(void *arg, const struct lh_attachment_info *info)
{
	(void)info;
	((struct state_count *)arg)->n++;
	return 0;
}

/* Refusals that need the host: another UVM, a backend not loaded or of an
 * older serial version, a record naming a backend not loaded, a host that
 * already holds something. */
static int state_check_host(struct lh_host *host, const struct lh_state_image *img,
			    struct state_target *t, const char *name, struct lh_error *err)
{
	struct state_count count = { 0 };

	if (strcmp(img->uvm_id, host->uvm_id) != 0)
		return LH_FAIL(err, -LH_EREFUSED, "%s: the state is of UVM '%s', not of UVM '%s'",
			       name, img->uvm_id, host->uvm_id);
	if (img->os != host->uvm.os)
		return LH_FAIL(err, -LH_EREFUSED, "%s: the state is of a %s UVM, this one is %s",
			       name, lh_os_name(img->os), lh_os_name(host->uvm.os));
	for (size_t i = 0; i < img->n_backends; i++) {
		const struct lh_state_backend *b = &img->backends[i];

		t[i].target = lh_host_instance(host, b->name);
		if (!t[i].target)
			return LH_FAIL(err, -LH_EREFUSED, "%s: the state holds attachments of "
				       "backend '%s', which is not loaded", name, b->name);
		if (b->serial_version > t[i].target->ops->serial_version)
			return LH_FAIL(err, -LH_EVERSION, "%s: backend %s state is serial version "
				       "%u, this build of %s reads up to %u", name, b->name,
				       b->serial_version, b->name,
				       t[i].target->ops->serial_version);
	}
	for (size_t i = 0; i < img->n_containers; i++) {
		const struct lh_mounted *m = img->containers[i];

		for (size_t j = 0; j <= m->n_layers; j++) {
			const struct lh_attached *a = j < m->n_layers ? &m->layers[j] : &m->scratch;

			if (a->backend && !lh_host_instance(host, a->backend))
				return LH_FAIL(err, -LH_EREFUSED, "%s: container %s holds handle "
					       "%llu of backend '%s', which is not loaded", name,
					       m->id, (unsigned long long)a->handle, a->backend);
		}
	}
	count.n = lh_pipeline_count(host);
	for (size_t i = 0; i < host->n_instances; i++)
		lh_backend_list(host->instances[i], state_count_visit, &count);
	if (count.n)
		return LH_FAIL(err, -EBUSY, "%s: cannot load into UVM %s: it already holds "
			       "containers or attachments", name, host->uvm_id);
	return 0;
}

/* A format 1 state began the blob of every in-tree backend with its serial
 * version; a v2 backend expects none, so it is checked and passed over. */
static int state_skip_inner_version(struct lh_gob_decoder *dec,
				    const struct lh_state_backend *b, struct lh_error *err)
{
	uint64_t inner = 0;
	int rc = lh_gob_get_uint(dec, &inner, err);

	if (rc == 0 && inner != b->serial_version)
		rc = LH_FAIL(err, -LH_ECORRUPT, "its blob says serial version %llu, the state %u",
			     (unsigned long long)inner, b->serial_version);
	return rc;
}

static int state_decode_backends(struct lh_host *host, const struct lh_state_image *img,
				 struct state_target *t, const char *name, struct lh_error *err)
{
	struct lh_error inner = { 0 };
	struct lh_gob_decoder dec;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < img->n_backends; i++) {
		const struct lh_state_backend *b = &img->backends[i];

		rc = lh_instance_new_detached(host, t[i].target, &t[i].fresh, &inner);
		if (rc == 0) {
			lh_gob_decoder_init(&dec, b->blob, b->blob_len, b->blob_offset);
			dec.version = b->serial_version;
			if (img->format < 2 && lh_backend_blob_unversioned(t[i].fresh))
				rc = state_skip_inner_version(&dec, b, &inner);
		}
		if (rc == 0)
			rc = lh_backend_decode(t[i].fresh, &dec, &inner);
		if (rc == 0 && lh_gob_remaining(&dec))
			rc = LH_FAIL(&inner, -LH_ECORRUPT, "%zu bytes left over at offset %zu",
				     lh_gob_remaining(&dec), dec.origin + dec.pos);
		if (rc)
			LH_FAIL(err, rc, "%s: backend %s: %s", name, b->name,
				inner.message[0] ? inner.message : lh_strerror(rc));
	}
	return rc;
}

int lh_state_decode(struct lh_host *host, const uint8_t *data, size_t len, const char *name,
		    struct lh_error *err)
{
	struct lh_state_image img;
	struct lh_pipeline_state *records = NULL;
	struct state_target *t = NULL;
	struct lh_uvm_identity id;
	int rc;

	rc = lh_state_image_decode(data, len, name, &img, err);
	if (rc)
		return rc;
	t = calloc(img.n_backends + 1, sizeof(*t));
	if (!t) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = state_check_host(host, &img, t, name, err);
	if (rc == 0)
		rc = state_decode_backends(host, &img, t, name, err);
	if (rc == 0)
		rc = lh_pipeline_state_from(img.containers, img.n_containers, &records, err);
	if (rc)
		goto out;
	/* Nothing from here on can fail: everything was prepared above. The
	 * records are the host's now; their array was copied. */
	free(img.containers);
	img.containers = NULL;
	img.n_containers = 0;
	for (size_t i = 0; i < img.n_backends; i++) {
		lh_host_replace_instance(host, t[i].target, t[i].fresh);
		t[i].fresh = NULL;
	}
	id = (struct lh_uvm_identity){
		.physically_backed = img.physically_backed,
		.no_direct_map = img.no_direct_map,
		.is_template = img.is_template,
		.is_clone = img.is_clone,
		.mount_counter = img.mount_counter,
	};
	lh_host_set_identity(host, &id, img.template_name);
	img.template_name = NULL;
	lh_pipeline_swap_records(host, &records);
out:
	for (size_t i = 0; t && i < img.n_backends; i++)
		lh_instance_free(t[i].fresh);
	free(t);
	lh_pipeline_state_free(records);
	lh_state_image_release(&img);
	return rc;
}

/* ---- files ---------------------------------------------------------------------- */

int lh_state_save(struct lh_host *host, const char *path, struct lh_error *err)
{
	struct lh_gob_encoder enc;
	int rc;

	lh_gob_encoder_init(&enc);
	rc = lh_state_encode(host, &enc, err);
	if (rc == 0)
		rc = lh_state_file_write(path, enc.data, enc.len, err);
	lh_gob_encoder_free(&enc);
	return rc;
}

int lh_state_load(struct lh_host *host, const char *path, struct lh_error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = lh_state_file_read(path, &data, &len, err);

	if (rc == 0)
		rc = lh_state_decode(host, data, len, path, err);
	free(data);
	return rc;
}
