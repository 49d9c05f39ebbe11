/*
 * vsmb_codec.c - encode / decode the backend's state, and clone it into a
 * clone UVM's instance.
 *
 * The blob, under VSMB_SERIAL_VERSION, which the host records beside it:
 *
 *   uint    share counter (the last share number handed out)
 *   uint    next handle
 *   uint    number of shares, then per share, in creation order:
 *     share record, then
 *     uint    number of handles, then per handle:
 *       uint    handle id
 *       uint    file index (into the allowed files; 0 on a directory share)
 *
 * Serial version 2: the share record is one []byte value holding hcsshim's
 * VSMBShare record byte for byte (vsmb_record.c): a stream of its own, as
 * Go writes what a GobEncoder returns. A template's records carry the
 * options a saved VM can keep, as hcsshim adds a template's shares with
 * them.
 *
 * Serial version 1 (read only): the record's values inline in the blob,
 * the []string as a count and that many strings, the options as 17 bools
 * (in VirtualSmbShareOptions order); a share without handles was kept
 * alive (direct-mapped).
 */
#include "vsmb.h"

#include <errno.h>
#include <stdlib.h>

/* Far above real use; keeps garbage counts from looping for long. */
#define VSMB_MAX_COUNT (1u << 24)

/* ---- encode -------------------------------------------------------------- */

/* Handles grouped by share (list order), then by id: equal states encode
 * to equal bytes. */
static int vsmb_handle_order(const void *a, const void *b)
{
	const struct vsmb_handle *x = *(const struct vsmb_handle *const *)a;
	const struct vsmb_handle *y = *(const struct vsmb_handle *const *)b;

	if (x->share->order != y->share->order)
		return x->share->order < y->share->order ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* hcsshim's record of one share, as a nested stream of enc. */
static int vsmb_encode_record(const struct vsmb_priv *priv, struct lh_gob_encoder *enc,
			      const struct vsmb_share *s)
{
	const struct lh_gob_codec *gob = priv->host->gob;
	const struct lh_uvm_info *uvm = priv->host->uvm(priv->host->ctx);
	struct lh_gob_encoder *inner = gob->encoder_new();
	char guest[LH_PATH_CAP];
	char **files = calloc(s->n_files + 1, sizeof(*files));
	struct vsmb_record rec = {
		.host_path = (char *)s->path,
		.name = (char *)s->name,
		.files = files,
		.n_files = s->n_files,
		.guest_path = guest,
		.options = s->options,
	};
	int rc = -ENOMEM;

	if (!inner || !files)
		goto out;
	for (size_t i = 0; i < s->n_files; i++)
		files[i] = s->files[i]->path;
	vsmb_uvm_path(s, NULL, guest, sizeof(guest));
	if (uvm && uvm->is_template)
		rec.options = vsmb_saveable_options(rec.options);
	rc = vsmb_record_write(gob, inner, &rec);
	if (rc == 0)
		rc = gob->put_stream(enc, inner);
out:
	gob->encoder_free(inner);
	free(files);
	return rc;
}

/* One share; `*next` walks the sorted handles. */
static int vsmb_encode_share(const struct vsmb_priv *priv, struct lh_gob_encoder *enc,
			     const struct vsmb_share *s, struct vsmb_handle *const **next)
{
	const struct lh_gob_codec *gob = priv->host->gob;
	int rc = vsmb_encode_record(priv, enc, s);

	rc = rc ? rc : gob->put_uint(enc, s->refs);
	for (uint32_t i = 0; rc == 0 && i < s->refs; i++, (*next)++) {
		const struct vsmb_handle *h = **next;

		rc = gob->put_uint(enc, h->id);
		rc = rc ? rc : gob->put_uint(enc, h->file ? h->file->index : 0);
	}
	return rc;
}

int vsmb_encode(void *priv_, struct lh_gob_encoder *enc, struct lh_error *err)
{
	struct vsmb_priv *priv = priv_;
	const struct lh_gob_codec *gob = priv->host->gob;
	struct vsmb_handle **sorted = NULL;
	struct vsmb_handle *const *next;
	uint64_t n_shares = 0;
	size_t n = 0;
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	for (struct vsmb_share *s = priv->first; s; s = s->next)
		s->order = s->state == VSMB_LIVE ? n_shares++ : SIZE_MAX;
	sorted = malloc((priv->handles.count + 1) * sizeof(*sorted));
	if (!sorted) {
		rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory encoding");
		goto unlock;
	}
	for (size_t cursor = 0; n < priv->handles.count;)
		sorted[n++] = lh_map_next(&priv->handles, &cursor);
	qsort(sorted, n, sizeof(*sorted), vsmb_handle_order);
	next = sorted;
	/* No version of its own: the host records it beside the blob. */
	rc = gob->put_uint(enc, priv->share_counter);
	rc = rc ? rc : gob->put_uint(enc, priv->next_handle);
	rc = rc ? rc : gob->put_uint(enc, n_shares);
	for (const struct vsmb_share *s = priv->first; rc == 0 && s; s = s->next)
		if (s->state == VSMB_LIVE)
			rc = vsmb_encode_share(priv, enc, s, &next);
	if (rc)
		rc = LH_FAIL(err, rc, "vsmb: cannot encode %llu shares",
			     (unsigned long long)n_shares);
unlock:
	pthread_mutex_unlock(&priv->lock);
	free(sorted);
	return rc;
}

/* ---- decode -------------------------------------------------------------- */

/* Scratch space for checking one share. */
struct vsmb_scratch {
	char clean[LH_PATH_CAP];
	char parent[LH_PATH_CAP];
	char text[LH_PATH_CAP];
};

/* "s" + lowercase hex without leading zeros, as hcsshim names shares. */
static int vsmb_parse_name(const char *name, uint64_t *number)
{
	char *end;
	char check[VSMB_NAME_CAP];

	if (name[0] != 's' || name[1] == '\0' || name[1] == '-' || name[1] == '+')
		return -1;
	errno = 0;
	*number = strtoull(name + 1, &end, 16);
	if (errno || *end || *number == 0)
		return -1;
	snprintf(check, sizeof(check), "s%llx", (unsigned long long)*number);
	return strcmp(check, name) == 0 ? 0 : -1;
}

/* A serial version 1 record, read inline into rec. */
static int vsmb_read_record_v1(const struct lh_gob_codec *gob, struct lh_gob_decoder *dec,
			       struct vsmb_record *rec, struct vsmb_scratch *sc,
			       struct lh_error *err)
{
	uint64_t version, n_files;
	bool bit_value;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rc = gob->get_uint(dec, &version, err);
	if (rc == 0 && version != VSMB_RECORD_SERIAL_VERSION)
		return LH_FAIL(err, -LH_EVERSION,
			       "vsmb: share record of serial version %llu, this build knows %d",
			       (unsigned long long)version, VSMB_RECORD_SERIAL_VERSION);
	rc = rc ? rc : gob->get_string(dec, sc->text, sizeof(sc->text), err);
	if (rc == 0 && !(rec->host_path = strdup(sc->text)))
		rc = -ENOMEM;
	rc = rc ? rc : gob->get_string(dec, sc->text, VSMB_NAME_CAP, err);
	if (rc == 0 && !(rec->name = strdup(sc->text)))
		rc = -ENOMEM;
	rc = rc ? rc : gob->get_uint(dec, &n_files, err);
	if (rc == 0 && (n_files > VSMB_MAX_COUNT || n_files > gob->remaining(dec)))
		rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s lists %llu files", rec->name,
			     (unsigned long long)n_files);
	for (uint64_t i = 0; rc == 0 && i < n_files; i++) {
		rc = gob->get_string(dec, sc->text, sizeof(sc->text), err);
		if (rc == 0)
			rc = vsmb_record_add_file(rec, sc->text);
	}
	rc = rc ? rc : gob->get_string(dec, sc->text, sizeof(sc->text), err);
	if (rc == 0 && !(rec->guest_path = strdup(sc->text)))
		rc = -ENOMEM;
	for (int bit = 0; rc == 0 && bit < VSMB_OPTION_COUNT; bit++) {
		rc = gob->get_bool(dec, &bit_value, err);
		if (rc == 0 && bit_value)
			rec->options |= VSMB_BIT(bit);
	}
	if (rc == -ENOMEM)
		LH_FAIL(err, rc, "vsmb: out of memory");
	if (rc)
		vsmb_record_free(rec);
	return rc;
}

/* A serial version 2 record: hcsshim's stream, nested. */
static int vsmb_read_record_v2(const struct lh_gob_codec *gob, struct lh_gob_decoder *dec,
			       struct vsmb_record *rec, struct lh_error *err)
{
	struct lh_gob_decoder *inner = NULL;
	int rc = gob->get_stream(dec, &inner, err);

	if (rc == 0)
		rc = vsmb_record_read(gob, inner, rec, err);
	gob->decoder_free(inner);
	return rc;
}

/* Check a record against what encode can have written and turn it into a
 * share (not linked yet). */
static int vsmb_share_from_record(const struct vsmb_priv *priv, const struct vsmb_record *r,
				  struct lh_map *numbers, struct vsmb_scratch *sc,
				  struct vsmb_share **out, struct lh_error *err)
{
	struct vsmb_share *share = NULL;
	struct vsmb_key key;
	uint64_t number;
	int rc = 0;

	if (vsmb_clean_path(r->host_path, sc->clean, sizeof(sc->clean)) != 0 ||
	    strcmp(sc->clean, r->host_path))
		return LH_FAIL(err, -LH_ECORRUPT, "vsmb: share path '%s' is not a clean absolute path",
			       r->host_path);
	if (strlen(r->name) >= VSMB_NAME_CAP || vsmb_parse_name(r->name, &number) != 0 ||
	    number > priv->share_counter ||
	    lh_map_get_u64(numbers, number))
		return LH_FAIL(err, -LH_ECORRUPT, "vsmb: bad or repeated share name '%s' for '%s'",
			       r->name, r->host_path);
	if (strncmp(r->guest_path, VSMB_GUEST_PREFIX, strlen(VSMB_GUEST_PREFIX)) ||
	    strcmp(r->guest_path + strlen(VSMB_GUEST_PREFIX), r->name))
		return LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s has guest path '%s'", r->name,
			       r->guest_path);
	key.file_share = r->n_files > 0;
	key.read_only = r->options & VSMB_BIT(VSMB_READ_ONLY);
	key.path = r->host_path;
	/* hcsshim: a file share is exactly one restricted to single files. */
	if (key.file_share != ((r->options & VSMB_BIT(VSMB_RESTRICT_FILE_ACCESS)) &&
			       (r->options & VSMB_BIT(VSMB_SINGLE_FILE_MAPPING))))
		return LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s: allowed files do not match its options",
			       r->name);
	if (lh_map_get(&priv->shares, vsmb_key_hash(&key), &key))
		return LH_FAIL(err, -LH_ECORRUPT, "vsmb: share of '%s' appears twice", r->host_path);
	share = vsmb_share_new(number, &key, r->options);
	if (!share)
		return LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
	for (size_t i = 0; rc == 0 && i < r->n_files; i++) {
		const char *f = r->files[i];

		vsmb_parent_path(f, sc->parent, sizeof(sc->parent));
		if (vsmb_clean_path(f, sc->clean, sizeof(sc->clean)) != 0 || strcmp(sc->clean, f) ||
		    strcmp(sc->parent, r->host_path) || !strcmp(f, "/") ||
		    lh_map_get_str(&share->file_map, f))
			rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s: bad or repeated file '%s'",
				     r->name, f);
		else if (!vsmb_share_add_file(share, f))
			rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
	}
	if (rc) {
		vsmb_share_free(share);
		return rc;
	}
	share->state = VSMB_LIVE;
	*out = share;
	return 0;
}

static int vsmb_decode_share(struct vsmb_priv *priv, const struct lh_gob_codec *gob,
			     struct lh_gob_decoder *dec, uint32_t version, struct vsmb_scratch *sc,
			     struct lh_map *numbers, struct lh_error *err)
{
	struct vsmb_share *share = NULL;
	struct vsmb_record rec;
	uint64_t n_handles;
	int rc;

	rc = version == 1 ? vsmb_read_record_v1(gob, dec, &rec, sc, err)
			  : vsmb_read_record_v2(gob, dec, &rec, err);
	if (rc)
		return rc;
	rc = vsmb_share_from_record(priv, &rec, numbers, sc, &share, err);
	vsmb_record_free(&rec);
	if (rc)
		return rc;
	rc = vsmb_link_share(priv, share);
	if (rc == 0)
		rc = lh_map_put_u64(numbers, share->number, share);
	if (rc) {
		if (priv->last == share)
			vsmb_unlink_share(priv, share);
		vsmb_share_free(share);
		return LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
	}
	/* Linked: priv owns the share from here. */
	rc = gob->get_uint(dec, &n_handles, err);
	if (rc == 0 && (n_handles > VSMB_MAX_COUNT || n_handles > gob->remaining(dec)))
		rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s has %llu handles", share->name,
			     (unsigned long long)n_handles);
	/* A share without handles was kept alive by an older layerhost (a
	 * state of serial version 1, perhaps saved again since). */
	for (uint64_t i = 0; rc == 0 && i < n_handles; i++) {
		uint64_t id, index;

		rc = gob->get_uint(dec, &id, err);
		rc = rc ? rc : gob->get_uint(dec, &index, err);
		if (rc)
			break;
		if (id == 0 || id >= priv->next_handle ||
		    lh_map_get_u64(&priv->handles, id) ||
		    index >= (share->n_files ? share->n_files : 1))
			rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s: bad handle %llu (file %llu)",
				     share->name, (unsigned long long)id, (unsigned long long)index);
		else if (vsmb_add_handle(priv, id, share, share->n_files ? share->files[index] : NULL))
			rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
	}
	return rc;
}

int vsmb_decode(void *priv_, struct lh_gob_decoder *dec, struct lh_error *err)
{
	struct vsmb_priv *priv = priv_;
	const struct lh_gob_codec *gob = priv->host->gob;
	struct vsmb_scratch *sc = malloc(sizeof(*sc));
	struct lh_map numbers = { 0 }; /* share number -> share: zeroed, integer keys */
	uint64_t n_shares = 0;
	uint32_t version;
	int rc;

	if (!sc)
		return LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
	pthread_mutex_lock(&priv->lock);
	if (priv->first || priv->handles.count) {
		rc = LH_FAIL(err, -LH_EREFUSED, "vsmb: decode into an instance that has shares");
		goto unlock;
	}
	version = gob->version(dec);
	rc = 0;
	if (version == 0 || version > VSMB_SERIAL_VERSION)
		rc = LH_FAIL(err, -LH_EVERSION,
			     "vsmb: state of serial version %llu, this build knows 1..%d",
			     (unsigned long long)version, VSMB_SERIAL_VERSION);
	rc = rc ? rc : gob->get_uint(dec, &priv->share_counter, err);
	rc = rc ? rc : gob->get_uint(dec, &priv->next_handle, err);
	rc = rc ? rc : gob->get_uint(dec, &n_shares, err);
	if (rc == 0 && (priv->next_handle == 0 || n_shares > VSMB_MAX_COUNT ||
			n_shares > gob->remaining(dec) || n_shares > priv->share_counter))
		rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: bad header (next handle %llu, %llu shares)",
			     (unsigned long long)priv->next_handle, (unsigned long long)n_shares);
	for (uint64_t i = 0; rc == 0 && i < n_shares; i++)
		rc = vsmb_decode_share(priv, gob, dec, version, sc, &numbers, err);
	if (rc)
		vsmb_clear(priv);
unlock:
	pthread_mutex_unlock(&priv->lock);
	lh_map_fini(&numbers);
	free(sc);
	return rc;
}

/* ---- clone --------------------------------------------------------------- */

/* Copy one share into the clone with the options a saved VM can keep. */
static int vsmb_clone_share(struct vsmb_priv *clone, const struct vsmb_share *s)
{
	struct vsmb_key key = { .file_share = s->file_share, .read_only = s->read_only,
				.path = s->path };
	struct vsmb_share *copy = vsmb_share_new(s->number, &key, vsmb_saveable_options(s->options));
	int rc = -ENOMEM;

	if (!copy)
		return rc;
	for (size_t i = 0; i < s->n_files; i++)
		if (!vsmb_share_add_file(copy, s->files[i]->path))
			goto fail;
	copy->state = VSMB_LIVE;
	rc = vsmb_link_share(clone, copy);
	if (rc)
		goto fail;
	return 0;
fail:
	vsmb_share_free(copy);
	return rc;
}

/* The template's handles, each on the clone's copy of its share. */
static int vsmb_clone_handles(const struct vsmb_priv *priv, struct vsmb_priv *clone)
{
	int rc = 0;

	const struct vsmb_handle *h;

	for (size_t cursor = 0; rc == 0 && (h = lh_map_next(&priv->handles, &cursor));) {
		const struct vsmb_share *s = h->share;
		struct vsmb_key key;
		struct vsmb_share *copy;

		key = (struct vsmb_key){ .file_share = s->file_share, .read_only = s->read_only,
					 .path = s->path };
		copy = lh_map_get(&clone->shares, s->hash, &key);
		rc = vsmb_add_handle(clone, h->id, copy, h->file ? copy->files[h->file->index] : NULL);
	}
	return rc;
}

int vsmb_clone(void *priv_, void *clone_priv, const struct lh_clone_request *req,
	       struct lh_error *err)
{
	struct vsmb_priv *priv = priv_;
	struct vsmb_priv *clone = clone_priv;
	int rc = 0;

	(void)req; /* shares are host folders shared as they are: nothing to copy */
	if (!clone || clone == priv)
		return LH_FAIL(err, -EINVAL, "vsmb: clone needs a second instance");
	pthread_mutex_lock(&priv->lock);
	pthread_mutex_lock(&clone->lock);
	if (clone->first || clone->handles.count) {
		rc = LH_FAIL(err, -LH_EREFUSED, "vsmb: clone instance already has shares");
		pthread_mutex_unlock(&priv->lock);
		goto unlock;
	}
	/* Shares whose Add is still in flight are not in the template yet. */
	for (const struct vsmb_share *s = priv->first; rc == 0 && s; s = s->next)
		if (s->state == VSMB_LIVE && (rc = vsmb_clone_share(clone, s)) != 0)
			rc = LH_FAIL(err, rc, "vsmb: out of memory cloning share %s", s->name);
	if (rc == 0 && (rc = vsmb_clone_handles(priv, clone)) != 0)
		rc = LH_FAIL(err, rc, "vsmb: out of memory cloning handles");
	clone->share_counter = priv->share_counter;
	clone->next_handle = priv->next_handle;
	pthread_mutex_unlock(&priv->lock);
	for (const struct vsmb_share *s = clone->first; rc == 0 && s; s = s->next) {
		char *json = vsmb_share_json(s, s->options, NULL);

		if (!json)
			rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory cloning share %s", s->name);
		else if ((rc = clone->host->document_add(clone->host->ctx, VSMB_DOCUMENT_PATH, json,
							 err)) != 0)
			LH_FAIL(err, rc, "vsmb: cannot add share %s of '%s' to the clone document",
				s->name, s->path);
		free(json);
	}
	if (rc)
		vsmb_clear(clone);
unlock:
	pthread_mutex_unlock(&clone->lock);
	return rc;
}
