/*
 * image.c - see image.h.
 *
 * The gob stream after the magic, value by value:
 *   uint    format version (LH_STATE_FORMAT_VERSION)
 *   string  UVM id
 *   uint    OS (enum lh_uvm_os)
 *   bool    physically_backed, no_direct_map, is_template, is_clone
 *   string  template name ("" when not a template)
 *   uint    mount counter
 *   string  VM boot id (format 2; "" for none)
 *   uint    number of backends, then per backend:
 *     string  instance name
 *     uint    serial version (the writer's)
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
 * Reading and writing the file and the lock: state_file.c. What the
 * image means to a host (backends, refusals, swapping in): the core's
 * host_state.c.
 */
#include "image.h"

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

static int state_put_uvm(const struct lh_state_image *img, struct lh_gob_encoder *enc)
{
	int rc = lh_gob_put_uint(enc, LH_STATE_FORMAT_VERSION);

	if (rc == 0)
		rc = lh_gob_put_string(enc, img->uvm_id);
	if (rc == 0)
		rc = lh_gob_put_uint(enc, (uint64_t)img->os);
	if (rc == 0)
		rc = lh_gob_put_bool(enc, img->physically_backed);
	if (rc == 0)
		rc = lh_gob_put_bool(enc, img->no_direct_map);
	if (rc == 0)
		rc = lh_gob_put_bool(enc, img->is_template);
	if (rc == 0)
		rc = lh_gob_put_bool(enc, img->is_clone);
	if (rc == 0)
		rc = lh_gob_put_string(enc, img->template_name ? img->template_name : "");
	if (rc == 0)
		rc = lh_gob_put_uint(enc, img->mount_counter);
	if (rc == 0)
		rc = lh_gob_put_string(enc, img->vm_boot ? img->vm_boot : "");
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

int lh_state_image_encode(const struct lh_state_image *img, struct lh_gob_encoder *enc,
			  struct lh_error *err)
{
	uint8_t crc_bytes[STATE_CRC_LEN];
	size_t start = enc->len;
	uLong crc;
	int rc = state_put_raw(enc, LH_STATE_MAGIC, STATE_MAGIC_LEN);

	if (rc == 0)
		rc = state_put_uvm(img, enc);
	if (rc == 0)
		rc = lh_gob_put_uint(enc, img->n_backends);
	for (size_t i = 0; rc == 0 && i < img->n_backends; i++) {
		const struct lh_state_backend *b = &img->backends[i];

		rc = lh_gob_put_string(enc, b->name);
		if (rc == 0)
			rc = lh_gob_put_uint(enc, b->serial_version);
		if (rc == 0)
			rc = lh_gob_put_bytes(enc, b->blob, b->blob_len);
	}
	if (rc == 0)
		rc = lh_gob_put_uint(enc, img->n_containers);
	for (size_t i = 0; rc == 0 && i < img->n_containers; i++)
		rc = state_put_container(enc, img->containers[i]);
	if (rc == 0) {
		crc = crc32(0L, enc->data + start, (uInt)(enc->len - start));
		crc_bytes[0] = (uint8_t)(crc >> 24);
		crc_bytes[1] = (uint8_t)(crc >> 16);
		crc_bytes[2] = (uint8_t)(crc >> 8);
		crc_bytes[3] = (uint8_t)crc;
		rc = state_put_raw(enc, crc_bytes, sizeof(crc_bytes));
	}
	if (rc)
		LH_FAIL(err, rc, "UVM %s: cannot encode the state: out of memory", img->uvm_id);
	if (rc)
		enc->len = start;
	return rc;
}

/* ---- decode: parse the image into temporaries ---------------------------- */

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

static int state_parse_backends(struct state_reader *r, struct lh_state_image *img)
{
	uint64_t n = 0;
	int rc = state_get_count(r, &n, 256, 3 * STATE_MIN_VALUE, "backends");

	if (rc == 0 && n && !(img->backends = calloc(n, sizeof(*img->backends))))
		rc = LH_FAIL(r->err, -ENOMEM, "out of memory");
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		struct lh_state_backend *b = &img->backends[i];
		char name[STATE_NAME_MAX + 1];
		uint64_t serial = 0;

		img->n_backends++;
		rc = state_get_string(r, name, sizeof(name), "a backend name");
		if (rc == 0 && !(b->name = strdup(name)))
			rc = LH_FAIL(r->err, -ENOMEM, "out of memory");
		if (rc == 0)
			rc = state_get_uint(r, &serial, "a backend serial version");
		if (rc == 0 && serial > UINT32_MAX)
			rc = LH_FAIL(r->err, -LH_ECORRUPT, "backend %s: serial version %llu",
				     b->name, (unsigned long long)serial);
		b->serial_version = (uint32_t)serial;
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

static int state_parse_containers(struct state_reader *r, struct lh_state_image *img)
{
	uint64_t n = 0;
	int rc = state_get_count(r, &n, 65536, 11 * STATE_MIN_VALUE, "containers");

	if (rc == 0 && n && !(img->containers = calloc(n, sizeof(*img->containers))))
		rc = LH_FAIL(r->err, -ENOMEM, "out of memory");
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		struct lh_mounted *m;

		rc = state_parse_container(r, &m);
		for (size_t j = 0; rc == 0 && j < img->n_containers; j++)
			if (strcmp(img->containers[j]->id, m->id) == 0) {
				rc = LH_FAIL(r->err, -LH_ECORRUPT, "container %s recorded twice",
					     m->id);
				lh_mounted_free(m);
			}
		if (rc == 0)
			img->containers[img->n_containers++] = m;
	}
	return rc;
}

/* The stream after the magic, up to (not including) the checksum. */
static int state_parse(struct state_reader *r, struct lh_state_image *img, uint64_t *version)
{
	uint64_t os = 0;
	int rc = state_get_uint(r, version, "the format version");

	if (rc == 0 && (*version < 1 || *version > LH_STATE_FORMAT_VERSION))
		return -LH_EVERSION;
	img->format = (uint32_t)*version;
	if (rc == 0)
		rc = state_get_strdup(r, &img->uvm_id, false, "the UVM id");
	if (rc == 0)
		rc = state_get_uint(r, &os, "the UVM's OS");
	if (rc == 0 && os > LH_OS_WINDOWS)
		rc = LH_FAIL(r->err, -LH_ECORRUPT, "unknown OS %llu", (unsigned long long)os);
	img->os = (enum lh_uvm_os)os;
	if (rc == 0)
		rc = state_get_bool(r, &img->physically_backed, "the UVM's flags");
	if (rc == 0)
		rc = state_get_bool(r, &img->no_direct_map, "the UVM's flags");
	if (rc == 0)
		rc = state_get_bool(r, &img->is_template, "the UVM's flags");
	if (rc == 0)
		rc = state_get_bool(r, &img->is_clone, "the UVM's flags");
	if (rc == 0)
		rc = state_get_strdup(r, &img->template_name, true, "the template name");
	if (rc == 0)
		rc = state_get_uint(r, &img->mount_counter, "the mount counter");
	if (rc == 0 && img->format >= 2)
		rc = state_get_strdup(r, &img->vm_boot, true, "the VM boot id");
	if (rc == 0)
		rc = state_parse_backends(r, img);
	if (rc == 0)
		rc = state_parse_containers(r, img);
	return rc;
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

void lh_state_image_release(struct lh_state_image *img)
{
	for (size_t i = 0; i < img->n_backends; i++)
		free(img->backends[i].name);
	free(img->backends);
	for (size_t i = 0; i < img->n_containers; i++)
		lh_mounted_free(img->containers[i]);
	free(img->containers);
	free(img->uvm_id);
	free(img->template_name);
	free(img->vm_boot);
	memset(img, 0, sizeof(*img));
}

int lh_state_image_decode(const uint8_t *data, size_t len, const char *name,
			  struct lh_state_image *img, struct lh_error *err)
{
	struct lh_error parse_err = { 0 };
	struct state_reader *r = calloc(1, sizeof(*r));
	uint64_t version = 0;
	int rc;

	memset(img, 0, sizeof(*img));
	if (!r) {
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
	rc = state_parse(r, img, &version);
	if (rc == -LH_EVERSION) {
		rc = LH_FAIL(err, rc, "%s: unknown state format version %llu (this build reads "
			     "1..%d)", name, (unsigned long long)version, LH_STATE_FORMAT_VERSION);
		goto out;
	}
	rc = state_verdict(data, len, name, rc, r, &parse_err, err);
out:
	if (rc)
		lh_state_image_release(img);
	free(r);
	return rc;
}
