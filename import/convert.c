/* convert.c - see convert.h. */
#include "convert.h"
#include "import_error.h"
#include "ext4.h"
#include "path.h"

#include <archive.h>
#include <archive_entry.h>

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#define SYMLINK_MAX 4095 /* PATH_MAX less the NUL: what one 4 KiB block holds */

struct reader {
	const struct lh_convert_source *src;
	struct lh_error src_err;
	bool src_failed;
	bool at_end;
	uint64_t bytes;
};

/* A tar that stops right after an entry's data, padding and end blocks
 * missing: containerd accepts it, so do we. */
#define ENDED_AFTER_ENTRY 1

static la_ssize_t read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct reader *r = ctx;
	ssize_t n = r->src->read(r->src->ctx, buf, &r->src_err);

	if (n < 0) {
		r->src_failed = true;
		archive_set_error(a, (int)-n, "%s", r->src_err.message);
		return ARCHIVE_FATAL;
	}
	if (n == 0)
		r->at_end = true;
	r->bytes += (uint64_t)n;
	return n;
}

/* libarchive's error, or the source's when it was the source that failed. */
static int archive_failure(struct archive *a, const struct reader *r, const char *where,
			   struct lh_error *err)
{
	if (r->src_failed) {
		if (err && err->code == 0)
			*err = r->src_err;
		return r->src_err.code ? r->src_err.code : -EIO;
	}
	return LH_FAIL(err, -LH_ECORRUPT, "%s: %s", where,
		       archive_error_string(a) ? archive_error_string(a) : "unreadable tar");
}

/* ---- one entry ------------------------------------------------------------- */

/* Buffers reused from entry to entry (one allocation per layer, not per entry). */
struct entry_buf {
	char *path, *target;
	size_t path_cap, target_cap;
	struct lh_xattr *xattrs; /* names and values are libarchive's */
	uint32_t n_xattrs, xattr_cap;
};

static void entry_buf_free(struct entry_buf *b)
{
	free(b->path);
	free(b->target);
	free(b->xattrs);
	memset(b, 0, sizeof(*b));
}

static int clean_into(const char *raw, char **out, size_t *cap, const char *what,
		      const char *entry, struct lh_error *err)
{
	size_t need = strlen(raw) + 1;
	const char *why;
	int rc;

	if (need > *cap) {
		char *p = realloc(*out, need + 256);

		if (!p)
			return LH_FAIL(err, -ENOMEM, "out of memory");
		*out = p;
		*cap = need + 256;
	}
	rc = lh_path_clean(raw, *out, *cap, &why);
	if (rc)
		return LH_FAIL(err, -LH_ECORRUPT, "entry '%s': %s '%s': %s", entry, what, raw, why);
	return 0;
}

static int id_of(la_int64_t v, const char *what, const char *entry, uint32_t *out,
		 struct lh_error *err)
{
	if (v < 0 || v > (la_int64_t)UINT32_MAX)
		return LH_FAIL(err, -LH_ECORRUPT, "entry '%s': %s %lld is outside 0..4294967295",
			       entry, what, (long long)v);
	*out = (uint32_t)v;
	return 0;
}

/* The tar header as the tree takes it. */
static int describe(struct archive_entry *ae, const char *raw, struct lh_tree_entry *e,
		    struct entry_buf *b, struct lh_error *err)
{
	const char *link = archive_entry_hardlink(ae);
	const char *xname;
	const void *xval;
	size_t xlen;
	int rc, n;

	memset(e, 0, sizeof(*e));
	b->n_xattrs = 0;
	rc = clean_into(raw, &b->path, &b->path_cap, "name", raw, err);
	if (rc)
		return rc;
	e->path = b->path;
	if (link) {
		e->kind = LH_TREE_HARDLINK;
		rc = clean_into(link, &b->target, &b->target_cap, "hard link target", raw, err);
		if (rc)
			return rc;
		e->target = b->target;
	} else {
		switch (archive_entry_filetype(ae)) {
		case AE_IFREG: e->kind = LH_TREE_REG; break;
		case AE_IFDIR: e->kind = LH_TREE_DIR; break;
		case AE_IFLNK: e->kind = LH_TREE_SYMLINK; break;
		case AE_IFCHR: e->kind = LH_TREE_CHR; break;
		case AE_IFBLK: e->kind = LH_TREE_BLK; break;
		case AE_IFIFO: e->kind = LH_TREE_FIFO; break;
		default:
			return LH_FAIL(err, -LH_ECORRUPT, "entry '%s': file type 0%o is not one a layer holds",
				       raw, (unsigned)archive_entry_filetype(ae));
		}
	}
	if (e->kind == LH_TREE_SYMLINK) {
		e->target = archive_entry_symlink(ae);
		if (!e->target || !e->target[0])
			return LH_FAIL(err, -LH_ECORRUPT, "entry '%s': a symlink with no target", raw);
		if (strlen(e->target) > SYMLINK_MAX)
			return LH_FAIL(err, -LH_ECORRUPT,
				       "entry '%s': symlink target of %zu bytes; at most %d fit", raw,
				       strlen(e->target), SYMLINK_MAX);
	}
	e->perm = (uint32_t)archive_entry_perm(ae) & 07777;
	rc = id_of(archive_entry_uid(ae), "uid", raw, &e->uid, err);
	if (rc == 0)
		rc = id_of(archive_entry_gid(ae), "gid", raw, &e->gid, err);
	if (rc)
		return rc;
	e->mtime.sec = archive_entry_mtime(ae);
	e->mtime.nsec = (uint32_t)archive_entry_mtime_nsec(ae);
	e->atime = e->ctime = e->mtime;
	if (archive_entry_atime_is_set(ae)) {
		e->atime.sec = archive_entry_atime(ae);
		e->atime.nsec = (uint32_t)archive_entry_atime_nsec(ae);
	}
	if (archive_entry_ctime_is_set(ae)) {
		e->ctime.sec = archive_entry_ctime(ae);
		e->ctime.nsec = (uint32_t)archive_entry_ctime_nsec(ae);
	}
	if (e->kind == LH_TREE_REG) {
		/* ext4 numbers a file's blocks in 32 bits: 16 TiB with 4 KiB blocks */
		if (archive_entry_size(ae) < 0 ||
		    (uint64_t)archive_entry_size(ae) > (uint64_t)UINT32_MAX * 4096)
			return LH_FAIL(err, -LH_ECORRUPT,
				       "entry '%s': size %lld is beyond what ext4 stores (16 TiB)",
				       raw, (long long)archive_entry_size(ae));
		e->size = (uint64_t)archive_entry_size(ae);
	}
	e->rdev_major = (uint32_t)archive_entry_rdevmajor(ae);
	e->rdev_minor = (uint32_t)archive_entry_rdevminor(ae);

	n = archive_entry_xattr_reset(ae);
	if (n > 0) {
		if ((uint32_t)n > b->xattr_cap) {
			struct lh_xattr *x = realloc(b->xattrs, (size_t)n * sizeof(*x));

			if (!x)
				return LH_FAIL(err, -ENOMEM, "out of memory");
			b->xattrs = x;
			b->xattr_cap = (uint32_t)n;
		}
		while (archive_entry_xattr_next(ae, &xname, &xval, &xlen) == ARCHIVE_OK &&
		       b->n_xattrs < (uint32_t)n) {
			if (!xname || !xname[0] || strlen(xname) > 255)
				return LH_FAIL(err, -LH_ECORRUPT,
					       "entry '%s': an extended attribute with %s name", raw,
					       xname && xname[0] ? "a too long" : "no");
			b->xattrs[b->n_xattrs++] = (struct lh_xattr){
				.name = (char *)xname, .value = (void *)xval, .len = xlen };
		}
		if (!lh_ext4_xattrs_fit(b->xattrs, b->n_xattrs))
			return LH_FAIL(err, -LH_ECORRUPT,
				       "entry '%s': its extended attributes do not fit one 4 KiB "
				       "block",
				       raw);
		e->xattrs = b->xattrs;
		e->n_xattrs = b->n_xattrs;
	}
	return 0;
}

/* A regular file's data, into the image. */
static int copy_data(struct archive *a, struct archive_entry *ae, const struct reader *r,
		     struct lh_ext4 *w, struct lh_tree_inode *ino, const char *raw,
		     struct lh_error *err)
{
	uint64_t size = ino->size, delivered = 0;
	bool sparse = archive_entry_sparse_count(ae) > 0;
	const void *buf;
	size_t len;
	la_int64_t off;
	int rc, ar;

	lh_ext4_file_begin(w, ino);
	for (;;) {
		ar = archive_read_data_block(a, &buf, &len, &off);
		if (ar == ARCHIVE_EOF)
			return 0;
		if (ar < ARCHIVE_WARN || ar == ARCHIVE_RETRY) {
			char where[300];

			if (!r->src_failed && r->at_end && !sparse && delivered == size)
				return ENDED_AFTER_ENTRY;
			snprintf(where, sizeof(where), "entry '%s'", raw);
			return archive_failure(a, r, where, err);
		}
		if (off < 0 || (uint64_t)off > size || len > size - (uint64_t)off)
			return LH_FAIL(err, -LH_ECORRUPT,
				       "entry '%s': data at byte %lld beyond its size %llu", raw,
				       (long long)off, (unsigned long long)size);
		rc = lh_ext4_write(w, (uint64_t)off, buf, len, err);
		if (rc) {
			lh_import_error_prefix(err, "entry '%s'", raw);
			return rc;
		}
		delivered = (uint64_t)off + len;
	}
}

/* ---- the stream ---------------------------------------------------------- */

static int convert_entries(struct archive *a, struct reader *r, struct lh_tree *t,
			   struct lh_ext4 *w, lh_convert_progress_fn progress, void *progress_ctx,
			   struct lh_convert_result *res, struct lh_error *err)
{
	char last[128] = "";
	la_int64_t last_end = 0;
	struct archive_entry *ae;
	struct entry_buf b = { 0 };
	int rc = 0, ar;

	for (;;) {
		struct lh_tree_entry e;
		struct lh_tree_inode *ino = NULL;
		const char *raw;

		ar = archive_read_next_header(a, &ae);
		if (ar == ARCHIVE_EOF) {
			/* the end blocks, when there are any, were read past the
			 * last entry's end */
			res->no_end_marker = archive_filter_bytes(a, 0) == last_end;
			break;
		}
		if (ar < ARCHIVE_WARN || ar == ARCHIVE_RETRY) {
			/* RETRY: a damaged header libarchive would skip; a layer
			 * with one is corrupt */
			char where[200];

			if (res->entries)
				snprintf(where, sizeof(where), "after entry '%s' (tar byte %lld)", last,
					 (long long)archive_filter_bytes(a, 0));
			else
				snprintf(where, sizeof(where), "not a readable tar");
			rc = archive_failure(a, r, where, err);
			break;
		}
		raw = archive_entry_pathname(ae);
		if (!raw) {
			rc = LH_FAIL(err, -LH_ECORRUPT, "after entry '%s': an entry without a name",
				     last);
			break;
		}
		if (ar == ARCHIVE_WARN && res->warnings++ == 0)
			snprintf(res->warning, sizeof(res->warning), "entry '%s': %s", raw,
				 archive_error_string(a) ? archive_error_string(a) : "warning");
		res->entries++;
		{
			size_t len = strnlen(raw, sizeof(last) - 1);

			memcpy(last, raw, len);
			last[len] = '\0';
		}

		rc = describe(ae, raw, &e, &b, err);
		if (rc == 0)
			rc = lh_tree_apply(t, &e, &ino, NULL, err);
		if (rc && rc != -ENOMEM && err) /* the tree's refusals are the layer's fault */
			rc = err->code = -LH_ECORRUPT;
		else if (rc && rc != -ENOMEM)
			rc = -LH_ECORRUPT;
		if (rc == 0 && ino)
			rc = copy_data(a, ae, r, w, ino, raw, err);
		if (rc == ENDED_AFTER_ENTRY) {
			res->no_end_marker = true;
			rc = 0;
			break;
		}
		if (rc)
			break;
		last_end = archive_filter_bytes(a, 0);
		if (progress) {
			struct lh_convert_progress p = { res->entries, r->bytes };

			progress(progress_ctx, &p);
		}
	}
	entry_buf_free(&b);
	return rc;
}

int lh_convert_tar(const struct lh_convert_source *src, const char *image_path,
		   const char *name, const uint8_t seed[32], lh_convert_progress_fn progress,
		   void *progress_ctx, struct lh_convert_result *res, struct lh_error *err)
{
	struct reader r = { .src = src };
	struct archive *a = NULL;
	struct lh_tree *t = NULL;
	struct lh_ext4 *w = NULL;
	/* libarchive converts pax names (UTF-8) to the locale's charset: make
	 * that UTF-8 on this thread, so any name passes through unchanged */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = lh_tree_create(&t);
	if (rc) {
		rc = LH_FAIL(err, rc, "out of memory");
		goto out;
	}
	rc = lh_ext4_open(image_path, &w, err);
	if (rc)
		goto out;
	a = archive_read_new();
	if (!a || archive_read_support_format_tar(a) != ARCHIVE_OK) {
		rc = LH_FAIL(err, -ENOMEM, "cannot set up libarchive");
		goto out;
	}
	if (archive_read_open(a, &r, NULL, read_cb, NULL) != ARCHIVE_OK) {
		rc = archive_failure(a, &r, "not a readable tar", err);
		goto out;
	}
	rc = convert_entries(a, &r, t, w, progress, progress_ctx, res, err);
	if (rc == 0)
		rc = lh_ext4_finish(w, t, seed, &res->image_bytes, err);
	res->tar_bytes = r.bytes;
	res->data_bytes = lh_ext4_data_bytes(w);
	res->tree = *lh_tree_stats(t);
out:
	if (rc)
		lh_import_error_prefix(err, "%s", name);
	if (a)
		archive_read_free(a);
	lh_ext4_close(w);
	lh_tree_destroy(t);
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	return rc;
}
