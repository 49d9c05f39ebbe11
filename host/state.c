/*
 * state.c - see state.h.
 *
 * The gob stream after the magic, value by value:
 *   uint    format version (LH_STATE_FORMAT_VERSION)
 *   string  UVM id
 *   uint    OS (enum lh_uvm_os)
 *   bool    physically_backed, no_direct_map, is_template, is_clone
 *   string  template name ("" when not a template)
 *   uint    mount counter
 *   uint    number of backends, then per backend:
 *     string  instance name
 *     uint    serial version (the writer's ops->serial_version)
 *     []byte  the backend's own encode
 *   uint    number of containers, then per container:
 *     string  id
 *     uint    kind (enum lh_container_kind)
 *     string  rootfs, scratch_path
 *     bool    combined
 *     uint    number of layers
 *     per layer, then once for the scratch:
 *       string backend ("" = nothing held), uint handle,
 *       string host_path, uvm_path, location
 * then 4 bytes: zlib crc32 (big-endian) of everything before them.
 *
 * Reading and writing the file and the lock: state_file.c.
 *
 * Loading parses the whole image into temporaries, decodes every backend
 * blob into a fresh instance that is not yet part of the host, and swaps
 * the fresh instances and records in only when everything succeeded, so
 * a refused load changes nothing.
 */
#include "state.h"

#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#define STATE_MAGIC_LEN 8
#define STATE_CRC_LEN 4
#define STATE_STRING_MAX 4096
#define STATE_NAME_MAX 128
/* The smallest encoding of one value (length, type, tag, one byte). */
#define STATE_MIN_VALUE 4
#define STATE_ATTACHED_VALUES 5

/* ---- encode -------------------------------------------------------------- */

static int state_put_attached(struct lh_gob_encoder *enc, const struct lh_attached *a)
{
	int rc = lh_gob_put_string(enc, a->backend ? a->backend : "");

	if (rc == 0)
		rc = lh_gob_put_uint(enc, a->backend ? a->handle : 0);
	if (rc == 0)
		rc = lh_gob_put_string(enc, a->host_path ? a->host_path : "");
	if (rc == 0)
		rc = lh_gob_put_string(enc, a->uvm_path ? a->uvm_path : "");
	if (rc == 0)
		rc = lh_gob_put_string(enc, a->location ? a->location : "");
	return rc;
}

static int state_put_container(struct lh_gob_encoder *enc, const struct lh_mounted *m)
{
	int rc = lh_gob_put_string(enc, m->id);

	if (rc == 0)
		rc = lh_gob_put_uint(enc, (uint64_t)m->kind);
	if (rc == 0)
		rc = lh_gob_put_string(enc, m->rootfs ? m->rootfs : "");
	if (rc == 0)
		rc = lh_gob_put_string(enc, m->scratch_path ? m->scratch_path : "");
	if (rc == 0)
		rc = lh_gob_put_bool(enc, m->combined);
	if (rc == 0)
		rc = lh_gob_put_uint(enc, m->n_layers);
	for (size_t i = 0; rc == 0 && i < m->n_layers; i++)
		rc = state_put_attached(enc, &m->layers[i]);
	if (rc == 0)
		rc = state_put_attached(enc, &m->scratch);
	return rc;
}

static int state_put_backend(struct lh_instance *inst, struct lh_gob_encoder *enc,
			     struct lh_error *err)
{
	struct lh_gob_encoder blob;
	int rc;

	lh_gob_encoder_init(&blob);
	rc = inst->ops->encode(inst->priv, &blob, err);
	if (rc == 0 && blob.failed)
		rc = -ENOMEM;
	if (rc && !(err && err->code))
		LH_FAIL(err, rc, "backend %s: cannot encode its state", inst->name);
	if (rc == 0)
		rc = lh_gob_put_string(enc, inst->name);
	if (rc == 0)
		rc = lh_gob_put_uint(enc, inst->ops->serial_version);
	if (rc == 0)
		rc = lh_gob_put_bytes(enc, blob.data, blob.len);
	lh_gob_encoder_free(&blob);
	return rc;
}

static int state_put_uvm(struct lh_host *host, struct lh_gob_encoder *enc)
{
	int rc = lh_gob_put_uint(enc, LH_STATE_FORMAT_VERSION);

	if (rc == 0)
		rc = lh_gob_put_string(enc, host->uvm_id);
	if (rc == 0)
		rc = lh_gob_put_uint(enc, (uint64_t)host->uvm.os);
	if (rc == 0)
		rc = lh_gob_put_bool(enc, host->uvm.physically_backed);
	if (rc == 0)
		rc = lh_gob_put_bool(enc, host->uvm.no_direct_map);
	if (rc == 0)
		rc = lh_gob_put_bool(enc, host->uvm.is_template);
	if (rc == 0)
		rc = lh_gob_put_bool(enc, host->uvm.is_clone);
	if (rc == 0)
		rc = lh_gob_put_string(enc, host->template_name ? host->template_name : "");
	if (rc == 0)
		rc = lh_gob_put_uint(enc, atomic_load(&host->mount_counter));
	return rc;
}

/* The magic and the checksum are raw bytes around the gob stream. The
 * encoder's buffer is plain malloc memory (lh_gob_encoder_free frees it). */
static int state_put_raw(struct lh_gob_encoder *enc, const void *data, size_t len)
{
	if (enc->failed)
		return -ENOMEM;
	if (enc->cap - enc->len < len) {
		size_t cap = enc->cap ? enc->cap : 256;
		uint8_t *grown;

		while (cap - enc->len < len)
			cap *= 2;
		grown = realloc(enc->data, cap);
		if (!grown) {
			enc->failed = true;
			return -ENOMEM;
		}
		enc->data = grown;
		enc->cap = cap;
	}
	memcpy(enc->data + enc->len, data, len);
	enc->len += len;
	return 0;
}

int lh_state_encode(struct lh_host *host, struct lh_gob_encoder *enc, struct lh_error *err)
{
	struct lh_pipeline_state *ps = host->pipeline;
	uint8_t crc_bytes[STATE_CRC_LEN];
	size_t start = enc->len;
	uLong crc;
	int rc = state_put_raw(enc, LH_STATE_MAGIC, STATE_MAGIC_LEN);

	if (rc == 0)
		rc = state_put_uvm(host, enc);
	if (rc == 0)
		rc = lh_gob_put_uint(enc, host->n_instances);
	for (size_t i = 0; rc == 0 && i < host->n_instances; i++)
		rc = state_put_backend(host->instances[i], enc, err);
	/* Busy records are written as they stand: what a mount under way holds
	 * so far is held by the backends too, and must be releasable later. */
	pthread_mutex_lock(&ps->lock);
	if (rc == 0)
		rc = lh_gob_put_uint(enc, ps->n);
	for (size_t i = 0; rc == 0 && i < ps->n; i++)
		rc = state_put_container(enc, ps->containers[i]);
	pthread_mutex_unlock(&ps->lock);
	if (rc == 0) {
		crc = crc32(0L, enc->data + start, (uInt)(enc->len - start));
		crc_bytes[0] = (uint8_t)(crc >> 24);
		crc_bytes[1] = (uint8_t)(crc >> 16);
		crc_bytes[2] = (uint8_t)(crc >> 8);
		crc_bytes[3] = (uint8_t)crc;
		rc = state_put_raw(enc, crc_bytes, sizeof(crc_bytes));
	}
	if (rc && !(err && err->code))
		LH_FAIL(err, rc, "UVM %s: cannot encode the state: %s", host->uvm_id, strerror(-rc));
	if (rc)
		enc->len = start;
	return rc;
}

/* ---- decode: parse the image into temporaries ---------------------------- */

struct state_backend {
	char name[STATE_NAME_MAX + 1];
	uint64_t serial_version;
	const uint8_t *blob;
	size_t blob_len;
	size_t blob_offset;           /* in the file, for messages */
	struct lh_instance *target;   /* the host's instance of that name */
	struct lh_instance *fresh;    /* decoded into, swapped in at the end */
};

struct state_image {
	char uvm_id[STATE_STRING_MAX + 1];
	uint64_t os;
	bool physically_backed, no_direct_map, is_template, is_clone;
	char template_name[STATE_STRING_MAX + 1];
	uint64_t mount_counter;
	struct state_backend *backends;
	size_t n_backends;
	struct lh_pipeline_state *records;
};

/* Reads the stream; a value that would run past the end of the data is
 * not an error of its own but a truncated file, which the caller reports
 * (after the checksum has had its say on everything else). */
struct state_reader {
	struct lh_gob_decoder dec;
	struct lh_error *err;         /* gob errors with offsets */
	bool truncated;
	const char *inside;           /* what was being read when it ended */
	char scratch[STATE_STRING_MAX + 1];
};

/* Whether the next message runs past the end (its length prefix or body). */
static bool state_message_short(const struct lh_gob_decoder *dec)
{
	size_t pos = dec->pos, left = dec->len - dec->pos, n;
	uint64_t body = 0;

	if (left == 0)
		return true;
	if (dec->data[pos] < 128) {
		body = dec->data[pos];
		n = 0;
	} else {
		n = (size_t)(256 - dec->data[pos]);
		if (n > 8)
			return false; /* malformed, not short: the codec says why */
		if (left - 1 < n)
			return true;
		for (size_t i = 0; i < n; i++)
			body = body << 8 | dec->data[pos + 1 + i];
	}
	return body > left - 1 - n;
}

static int state_short(struct state_reader *r, const char *what)
{
	r->truncated = true;
	r->inside = what;
	return -LH_ECORRUPT;
}

static int state_get_uint(struct state_reader *r, uint64_t *v, const char *what)
{
	if (state_message_short(&r->dec))
		return state_short(r, what);
	return lh_gob_get_uint(&r->dec, v, r->err);
}

static int state_get_bool(struct state_reader *r, bool *v, const char *what)
{
	if (state_message_short(&r->dec))
		return state_short(r, what);
	return lh_gob_get_bool(&r->dec, v, r->err);
}

static int state_get_string(struct state_reader *r, char *buf, size_t cap, const char *what)
{
	if (state_message_short(&r->dec))
		return state_short(r, what);
	return lh_gob_get_string(&r->dec, buf, cap, r->err);
}

/* A string into a new allocation ("" becomes NULL when empty_null). */
static int state_get_strdup(struct state_reader *r, char **out, bool empty_null, const char *what)
{
	int rc = state_get_string(r, r->scratch, sizeof(r->scratch), what);

	*out = NULL;
	if (rc == 0 && !(empty_null && r->scratch[0] == '\0') && !(*out = strdup(r->scratch)))
		rc = LH_FAIL(r->err, -ENOMEM, "out of memory");
	return rc;
}

/* A count of items of at least min_bytes each: one the rest of the file
 * cannot hold means the file ends early. */
static int state_get_count(struct state_reader *r, uint64_t *n, uint64_t max, size_t min_bytes,
			   const char *what)
{
	size_t offset = r->dec.origin + r->dec.pos;
	int rc = state_get_uint(r, n, what);

	if (rc == 0 && *n > max)
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "%llu %s at offset %zu (at most %llu)",
			     (unsigned long long)*n, what, offset, (unsigned long long)max);
	if (rc == 0 && *n > lh_gob_remaining(&r->dec) / min_bytes)
		rc = state_short(r, what);
	return rc;
}

static int state_parse_attached(struct state_reader *r, struct lh_attached *a)
{
	int rc = state_get_strdup(r, &a->backend, true, "an attachment's backend");

	if (rc == 0)
		rc = state_get_uint(r, &a->handle, "an attachment's handle");
	if (rc == 0)
		rc = state_get_strdup(r, &a->host_path, true, "an attachment's host path");
	if (rc == 0)
		rc = state_get_strdup(r, &a->uvm_path, true, "an attachment's uvm path");
	if (rc == 0)
		rc = state_get_strdup(r, &a->location, true, "an attachment's location");
	if (rc == 0 && !a->backend && a->handle)
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "handle %llu held from no backend before offset %zu",
			     (unsigned long long)a->handle, r->dec.origin + r->dec.pos);
	return rc;
}

static int state_parse_container(struct state_reader *r, struct lh_mounted **out)
{
	struct lh_mounted *m = calloc(1, sizeof(*m));
	size_t offset = r->dec.origin + r->dec.pos;
	uint64_t kind = 0, n = 0;
	int rc = m ? 0 : LH_FAIL(r->err, -ENOMEM, "out of memory");

	if (rc == 0)
		rc = state_get_strdup(r, &m->id, false, "a container id");
	if (rc == 0 && !lh_container_id_valid(m->id))
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "'%.64s' at offset %zu is not a container id",
			     m->id, offset);
	if (rc == 0)
		rc = state_get_uint(r, &kind, "a container kind");
	if (rc == 0 && (kind < LH_KIND_LCOW || kind > LH_KIND_HOST))
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "container %s: unknown kind %llu", m->id,
			     (unsigned long long)kind);
	if (rc == 0)
		m->kind = (enum lh_container_kind)kind;
	if (rc == 0)
		rc = state_get_strdup(r, &m->rootfs, true, "a container rootfs");
	if (rc == 0)
		rc = state_get_strdup(r, &m->scratch_path, true, "a container scratch path");
	if (rc == 0)
		rc = state_get_bool(r, &m->combined, "a container's combined flag");
	if (rc == 0)
		rc = state_get_count(r, &n, STATE_STRING_MAX, STATE_ATTACHED_VALUES * STATE_MIN_VALUE,
				     "layers of a container");
	if (rc == 0 && n && !(m->layers = calloc(n, sizeof(*m->layers))))
		rc = LH_FAIL(r->err, -ENOMEM, "out of memory");
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		m->n_layers++;
		rc = state_parse_attached(r, &m->layers[i]);
	}
	if (rc == 0)
		rc = state_parse_attached(r, &m->scratch);
	if (rc) {
		lh_mounted_free(m);
		m = NULL;
	}
	*out = m;
	return rc;
}

static int state_parse_backends(struct state_reader *r, struct state_image *img)
{
	uint64_t n = 0;
	int rc = state_get_count(r, &n, 256, 3 * STATE_MIN_VALUE, "backends");

	if (rc == 0 && n && !(img->backends = calloc(n, sizeof(*img->backends))))
		rc = LH_FAIL(r->err, -ENOMEM, "out of memory");
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		struct state_backend *b = &img->backends[i];

		img->n_backends++;
		rc = state_get_string(r, b->name, sizeof(b->name), "a backend name");
		if (rc == 0)
			rc = state_get_uint(r, &b->serial_version, "a backend serial version");
		if (rc == 0 && state_message_short(&r->dec))
			rc = state_short(r, "a backend's state");
		b->blob_offset = r->dec.origin + r->dec.pos;
		if (rc == 0)
			rc = lh_gob_get_bytes_ref(&r->dec, &b->blob, &b->blob_len, r->err);
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (strcmp(img->backends[j].name, b->name) == 0)
				rc = LH_FAIL(r->err, -LH_ECORRUPT, "backend %s recorded twice",
					     b->name);
	}
	return rc;
}

static int state_parse_containers(struct state_reader *r, struct state_image *img)
{
	struct lh_pipeline_state *ps = img->records;
	uint64_t n = 0;
	int rc = state_get_count(r, &n, 65536, 11 * STATE_MIN_VALUE, "containers");

	if (rc == 0 && n && !(ps->containers = calloc(n, sizeof(*ps->containers))))
		rc = LH_FAIL(r->err, -ENOMEM, "out of memory");
	if (rc == 0)
		ps->cap = n;
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		struct lh_mounted *m;

		rc = state_parse_container(r, &m);
		for (size_t j = 0; rc == 0 && j < ps->n; j++)
			if (strcmp(ps->containers[j]->id, m->id) == 0) {
				rc = LH_FAIL(r->err, -LH_ECORRUPT, "container %s recorded twice",
					     m->id);
				lh_mounted_free(m);
			}
		if (rc == 0)
			ps->containers[ps->n++] = m;
	}
	return rc;
}

/* The stream after the magic, up to (not including) the checksum. */
static int state_parse(struct state_reader *r, struct state_image *img, uint64_t *version)
{
	int rc = state_get_uint(r, version, "the format version");

	if (rc == 0 && *version != LH_STATE_FORMAT_VERSION)
		return -LH_EVERSION;
	if (rc == 0)
		rc = state_get_string(r, img->uvm_id, sizeof(img->uvm_id), "the UVM id");
	if (rc == 0)
		rc = state_get_uint(r, &img->os, "the UVM's OS");
	if (rc == 0 && img->os > LH_OS_WINDOWS)
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "unknown OS %llu", (unsigned long long)img->os);
	if (rc == 0)
		rc = state_get_bool(r, &img->physically_backed, "the UVM's flags");
	if (rc == 0)
		rc = state_get_bool(r, &img->no_direct_map, "the UVM's flags");
	if (rc == 0)
		rc = state_get_bool(r, &img->is_template, "the UVM's flags");
	if (rc == 0)
		rc = state_get_bool(r, &img->is_clone, "the UVM's flags");
	if (rc == 0)
		rc = state_get_string(r, img->template_name, sizeof(img->template_name),
				      "the template name");
	if (rc == 0)
		rc = state_get_uint(r, &img->mount_counter, "the mount counter");
	if (rc == 0)
		rc = state_parse_backends(r, img);
	if (rc == 0)
		rc = state_parse_containers(r, img);
	return rc;
}

/* ---- decode: fresh instances, swapped in at the end ---------------------- */

static void state_image_free(struct state_image *img)
{
	for (size_t i = 0; i < img->n_backends; i++)
		lh_instance_free(img->backends[i].fresh);
	free(img->backends);
	lh_pipeline_state_free(img->records);
}

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
static int state_check_host(struct lh_host *host, struct state_image *img, const char *name,
			    struct lh_error *err)
{
	struct lh_pipeline_state *ps = img->records;
	struct state_count count = { 0 };

	if (strcmp(img->uvm_id, host->uvm_id) != 0)
		return LH_FAIL(err, -LH_EREFUSED, "%s: the state is of UVM '%s', not of UVM '%s'",
			       name, img->uvm_id, host->uvm_id);
	if (img->os != (uint64_t)host->uvm.os)
		return LH_FAIL(err, -LH_EREFUSED, "%s: the state is of a %s UVM, this one is %s",
			       name, lh_os_name((enum lh_uvm_os)img->os), lh_os_name(host->uvm.os));
	for (size_t i = 0; i < img->n_backends; i++) {
		struct state_backend *b = &img->backends[i];

		b->target = lh_host_instance(host, b->name);
		if (!b->target)
			return LH_FAIL(err, -LH_EREFUSED, "%s: the state holds attachments of "
				       "backend '%s', which is not loaded", name, b->name);
		if (b->serial_version > b->target->ops->serial_version)
			return LH_FAIL(err, -LH_EVERSION, "%s: backend %s state is serial version "
				       "%llu, this build of %s reads up to %u", name, b->name,
				       (unsigned long long)b->serial_version, b->name,
				       b->target->ops->serial_version);
	}
	for (size_t i = 0; i < ps->n; i++) {
		const struct lh_mounted *m = ps->containers[i];

		for (size_t j = 0; j <= m->n_layers; j++) {
			const struct lh_attached *a = j < m->n_layers ? &m->layers[j] : &m->scratch;

			if (a->backend && !lh_host_instance(host, a->backend))
				return LH_FAIL(err, -LH_EREFUSED, "%s: container %s holds handle "
					       "%llu of backend '%s', which is not loaded", name,
					       m->id, (unsigned long long)a->handle, a->backend);
		}
	}
	pthread_mutex_lock(&host->pipeline->lock);
	count.n = host->pipeline->n;
	pthread_mutex_unlock(&host->pipeline->lock);
	for (size_t i = 0; i < host->n_instances; i++)
		if (host->instances[i]->ops->list)
			host->instances[i]->ops->list(host->instances[i]->priv, state_count_visit,
						      &count);
	if (count.n)
		return LH_FAIL(err, -EBUSY, "%s: cannot load into UVM %s: it already holds "
			       "containers or attachments", name, host->uvm_id);
	return 0;
}

static int state_decode_backends(struct lh_host *host, struct state_image *img, const char *name,
				 struct lh_error *err)
{
	struct lh_error inner = { 0 };
	struct lh_gob_decoder dec;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < img->n_backends; i++) {
		struct state_backend *b = &img->backends[i];

		rc = lh_instance_new_detached(host, b->target, &b->fresh, &inner);
		if (rc == 0) {
			lh_gob_decoder_init(&dec, b->blob, b->blob_len, b->blob_offset);
			rc = b->fresh->ops->decode(b->fresh->priv, &dec, &inner);
		}
		if (rc == 0 && lh_gob_remaining(&dec))
			rc = LH_FAIL(&inner, -LH_ECORRUPT, "%zu bytes left over at offset %zu",
				     lh_gob_remaining(&dec), dec.origin + dec.pos);
		if (rc)
			LH_FAIL(err, rc, "%s: backend %s: %s", name, b->name,
				inner.message[0] ? inner.message : strerror(-rc));
	}
	return rc;
}

/* Nothing here can fail: everything was prepared beforehand. */
static void state_swap_in(struct lh_host *host, struct state_image *img, char *template_name)
{
	struct lh_pipeline_state *old = host->pipeline;

	for (size_t i = 0; i < img->n_backends; i++) {
		struct state_backend *b = &img->backends[i];

		lh_host_replace_instance(host, b->target, b->fresh);
		b->fresh = NULL;
		b->target = NULL;
	}
	host->uvm.physically_backed = img->physically_backed;
	host->uvm.no_direct_map = img->no_direct_map;
	host->uvm.is_template = img->is_template;
	host->uvm.is_clone = img->is_clone;
	free(host->template_name);
	host->template_name = template_name;
	atomic_store(&host->mount_counter, img->mount_counter);
	host->pipeline = img->records;
	img->records = old;
}

/* Why the image is refused, in order of what a reader most needs to know:
 * an early end, then a checksum that does not match, then the parse. */
static int state_verdict(const uint8_t *data, size_t len, const char *name, int parse_rc,
			 struct state_reader *r, const struct lh_error *parse_err,
			 struct lh_error *err)
{
	uint32_t stored, computed;
	size_t left = lh_gob_remaining(&r->dec);

	if (r->truncated || (parse_rc == 0 && left < STATE_CRC_LEN))
		return LH_FAIL(err, -LH_ECORRUPT, "%s: truncated state file (%zu bytes): it ends "
			       "inside %s", name, len, r->truncated ? r->inside : "the checksum");
	stored = (uint32_t)data[len - 4] << 24 | (uint32_t)data[len - 3] << 16 |
		 (uint32_t)data[len - 2] << 8 | data[len - 1];
	computed = (uint32_t)crc32(0L, data, (uInt)(len - STATE_CRC_LEN));
	if (stored != computed)
		return LH_FAIL(err, -LH_ECORRUPT, "%s: checksum mismatch (stored %08x, computed "
			       "%08x): the state file is corrupt", name, stored, computed);
	if (parse_rc)
		return LH_FAIL(err, parse_rc, "%s: corrupt state: %s", name, parse_err->message);
	if (left != STATE_CRC_LEN)
		return LH_FAIL(err, -LH_ECORRUPT, "%s: corrupt state: %zu stray bytes before the "
			       "checksum", name, left - STATE_CRC_LEN);
	return 0;
}

int lh_state_decode(struct lh_host *host, const uint8_t *data, size_t len, const char *name,
		    struct lh_error *err)
{
	struct state_image img = { 0 };
	struct lh_error parse_err = { 0 };
	struct state_reader *r = calloc(1, sizeof(*r));
	char *template_name = NULL;
	uint64_t version = 0;
	int rc;

	if (!r || lh_pipeline_state_new(&img.records, err)) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (memcmp(data, LH_STATE_MAGIC, len < STATE_MAGIC_LEN ? len : STATE_MAGIC_LEN) != 0) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: not a layerhost state file (bad magic)", name);
		goto out;
	}
	if (len < STATE_MAGIC_LEN) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: truncated state file (%zu bytes): it ends "
			     "inside the magic", name, len);
		goto out;
	}
	r->err = &parse_err;
	lh_gob_decoder_init(&r->dec, data + STATE_MAGIC_LEN, len - STATE_MAGIC_LEN,
			    STATE_MAGIC_LEN);
	rc = state_parse(r, &img, &version);
	if (rc == -LH_EVERSION) {
		rc = LH_FAIL(err, rc, "%s: unknown state format version %llu (this build reads %d)",
			     name, (unsigned long long)version, LH_STATE_FORMAT_VERSION);
		goto out;
	}
	rc = state_verdict(data, len, name, rc, r, &parse_err, err);
	if (rc == 0)
		rc = state_check_host(host, &img, name, err);
	if (rc == 0)
		rc = state_decode_backends(host, &img, name, err);
	if (rc == 0 && img.template_name[0] && !(template_name = strdup(img.template_name)))
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
	if (rc == 0)
		state_swap_in(host, &img, template_name);
out:
	state_image_free(&img);
	free(r);
	return rc;
}
