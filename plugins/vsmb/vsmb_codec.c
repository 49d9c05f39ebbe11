/*
 * vsmb_codec.c - encode / decode the backend's state, and clone it into a
 * clone UVM's instance.
 *
 * The blob: a sequence of gob singleton values, under VSMB_SERIAL_VERSION,
 * which the host records beside it (state format 1 also began the blob
 * with it).
 *
 *   uint    share counter (the last share number handed out)
 *   uint    next handle
 *   uint    number of shares, then per share, in creation order:
 *     uint    share serial version id (1)      \  hcsshim VSMBShare.GobEncode's
 *     string  HostPath (the shared directory)   |  fields in its order, each a
 *     string  name ("s" + hex)                  |  singleton; []string as a
 *     uint    number of allowed files           |  count and that many strings,
 *     string  allowed file (host path) ...      |  the options struct as one
 *     string  guest path                        |  bool per field in
 *     bool    option ... (17, VirtualSmbShareOptions order)
 *     uint    number of handles, then per handle:
 *       uint    handle id
 *       uint    file index (into the allowed files; 0 on a directory share)
 *
 * A share with no handles is a kept (direct-mapped) share.
 */
#include "vsmb.h"

#include <errno.h>
#include <stdlib.h>

#define VSMB_SHARE_SERIAL_VERSION 1
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

/* One share record; `*next` walks the sorted handles. */
static int vsmb_encode_share(const struct lh_gob_codec *gob, struct lh_gob_encoder *enc,
			     const struct vsmb_share *s, struct vsmb_handle *const **next)
{
	char guest[LH_PATH_CAP];
	int rc;

	vsmb_uvm_path(s, NULL, guest, sizeof(guest));
	rc = gob->put_uint(enc, VSMB_SHARE_SERIAL_VERSION);
	rc = rc ? rc : gob->put_string(enc, s->path);
	rc = rc ? rc : gob->put_string(enc, s->name);
	rc = rc ? rc : gob->put_uint(enc, s->n_files);
	for (size_t i = 0; rc == 0 && i < s->n_files; i++)
		rc = gob->put_string(enc, s->files[i]->path);
	rc = rc ? rc : gob->put_string(enc, guest);
	for (int bit = 0; rc == 0 && bit < VSMB_OPTION_COUNT; bit++)
		rc = gob->put_bool(enc, s->options & VSMB_BIT(bit));
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
			rc = vsmb_encode_share(gob, enc, s, &next);
	if (rc)
		rc = LH_FAIL(err, rc, "vsmb: cannot encode %llu shares",
			     (unsigned long long)n_shares);
unlock:
	pthread_mutex_unlock(&priv->lock);
	free(sorted);
	return rc;
}

/* ---- decode -------------------------------------------------------------- */

/* Scratch space for one share record. */
struct vsmb_record {
	char path[LH_PATH_CAP];
	char clean[LH_PATH_CAP];
	char name[VSMB_NAME_CAP];
	char guest[LH_PATH_CAP];
	char file[LH_PATH_CAP];
	char parent[LH_PATH_CAP];
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

static int vsmb_decode_share(struct vsmb_priv *priv, const struct lh_gob_codec *gob,
			     struct lh_gob_decoder *dec, struct vsmb_record *r,
			     struct lh_map *numbers, struct lh_error *err)
{
	struct vsmb_share *share = NULL;
	struct vsmb_key key;
	uint64_t version, number, n_files, n_handles;
	bool bit_value;
	uint32_t options = 0;
	int rc;

	rc = gob->get_uint(dec, &version, err);
	if (rc == 0 && version != VSMB_SHARE_SERIAL_VERSION)
		return LH_FAIL(err, -LH_EVERSION,
			       "vsmb: share record of serial version %llu, this build knows %d",
			       (unsigned long long)version, VSMB_SHARE_SERIAL_VERSION);
	rc = rc ? rc : gob->get_string(dec, r->path, sizeof(r->path), err);
	rc = rc ? rc : gob->get_string(dec, r->name, sizeof(r->name), err);
	rc = rc ? rc : gob->get_uint(dec, &n_files, err);
	if (rc)
		return rc;
	if (vsmb_clean_path(r->path, r->clean, sizeof(r->clean)) != 0 || strcmp(r->clean, r->path))
		return LH_FAIL(err, -LH_ECORRUPT, "vsmb: share path '%s' is not a clean absolute path",
			       r->path);
	if (vsmb_parse_name(r->name, &number) != 0 || number > priv->share_counter ||
	    lh_map_get_u64(numbers, number))
		return LH_FAIL(err, -LH_ECORRUPT, "vsmb: bad or repeated share name '%s' for '%s'",
			       r->name, r->path);
	if (n_files > VSMB_MAX_COUNT || n_files > gob->remaining(dec))
		return LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s lists %llu files", r->name,
			       (unsigned long long)n_files);
	key.file_share = n_files > 0;
	key.path = r->path;
	key.read_only = false;
	share = vsmb_share_new(number, &key, 0);
	if (!share)
		return LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
	for (uint64_t i = 0; rc == 0 && i < n_files; i++) {
		rc = gob->get_string(dec, r->file, sizeof(r->file), err);
		if (rc)
			break;
		vsmb_parent_path(r->file, r->parent, sizeof(r->parent));
		if (vsmb_clean_path(r->file, r->clean, sizeof(r->clean)) != 0 ||
		    strcmp(r->clean, r->file) || strcmp(r->parent, r->path) || !strcmp(r->file, "/") ||
		    lh_map_get_str(&share->file_map, r->file))
			rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s: bad or repeated file '%s'",
				     r->name, r->file);
		else if (!vsmb_share_add_file(share, r->file))
			rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
	}
	rc = rc ? rc : gob->get_string(dec, r->guest, sizeof(r->guest), err);
	if (rc == 0 && (strncmp(r->guest, VSMB_GUEST_PREFIX, strlen(VSMB_GUEST_PREFIX)) ||
			strcmp(r->guest + strlen(VSMB_GUEST_PREFIX), r->name)))
		rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s has guest path '%s'", r->name,
			     r->guest);
	for (int bit = 0; rc == 0 && bit < VSMB_OPTION_COUNT; bit++) {
		rc = gob->get_bool(dec, &bit_value, err);
		if (rc == 0 && bit_value)
			options |= VSMB_BIT(bit);
	}
	if (rc)
		goto fail;
	share->options = options;
	share->read_only = options & VSMB_BIT(VSMB_READ_ONLY);
	key.read_only = share->read_only;
	share->hash = vsmb_key_hash(&key);
	/* hcsshim: a file share is exactly one restricted to single files. */
	if (key.file_share != ((options & VSMB_BIT(VSMB_RESTRICT_FILE_ACCESS)) &&
			       (options & VSMB_BIT(VSMB_SINGLE_FILE_MAPPING)))) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s: allowed files do not match its options",
			     r->name);
		goto fail;
	}
	if (lh_map_get(&priv->shares, share->hash, &key)) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: share of '%s' appears twice", r->path);
		goto fail;
	}
	share->state = VSMB_LIVE;
	rc = vsmb_link_share(priv, share);
	if (rc == 0)
		rc = lh_map_put_u64(numbers, number, share);
	if (rc) {
		if (priv->last == share)
			vsmb_unlink_share(priv, share);
		rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
		goto fail;
	}
	/* Linked: priv owns the share from here. */
	rc = gob->get_uint(dec, &n_handles, err);
	if (rc == 0 && (n_handles > VSMB_MAX_COUNT || n_handles > gob->remaining(dec)))
		rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: share %s has %llu handles", r->name,
			     (unsigned long long)n_handles);
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
				     r->name, (unsigned long long)id, (unsigned long long)index);
		else if (vsmb_add_handle(priv, id, share, share->n_files ? share->files[index] : NULL))
			rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory");
	}
	return rc;
fail:
	vsmb_share_free(share);
	return rc;
}

int vsmb_decode(void *priv_, struct lh_gob_decoder *dec, struct lh_error *err)
{
	struct vsmb_priv *priv = priv_;
	const struct lh_gob_codec *gob = priv->host->gob;
	struct vsmb_record *r = malloc(sizeof(*r));
	struct lh_map numbers = { 0 }; /* share number -> share: zeroed, integer keys */
	uint64_t version, n_shares = 0;
	int rc;

	if (!r)
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
			     "vsmb: state of serial version %llu, this build knows %d",
			     (unsigned long long)version, VSMB_SERIAL_VERSION);
	rc = rc ? rc : gob->get_uint(dec, &priv->share_counter, err);
	rc = rc ? rc : gob->get_uint(dec, &priv->next_handle, err);
	rc = rc ? rc : gob->get_uint(dec, &n_shares, err);
	if (rc == 0 && (priv->next_handle == 0 || n_shares > VSMB_MAX_COUNT ||
			n_shares > gob->remaining(dec) || n_shares > priv->share_counter))
		rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: bad header (next handle %llu, %llu shares)",
			     (unsigned long long)priv->next_handle, (unsigned long long)n_shares);
	for (uint64_t i = 0; rc == 0 && i < n_shares; i++)
		rc = vsmb_decode_share(priv, gob, dec, r, &numbers, err);
	if (rc)
		vsmb_clear(priv);
unlock:
	pthread_mutex_unlock(&priv->lock);
	lh_map_fini(&numbers);
	free(r);
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
	const struct vsmb_handle *h;
	int rc = 0;

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
