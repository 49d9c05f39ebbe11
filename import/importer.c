/* importer.c - see importer.h. */
#include "importer.h"
#include "import_error.h"
#include "progress.h"
#include "store.h"
#include "stream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void note(const struct lh_import_options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(const struct lh_import_options *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet || !o->log)
		return;
	va_start(ap, fmt);
	fputs("layerhost import: ", o->log);
	vfprintf(o->log, fmt, ap);
	fputc('\n', o->log);
	va_end(ap);
}

static void warn(const struct lh_import_options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warn(const struct lh_import_options *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->log)
		return;
	va_start(ap, fmt);
	fputs("layerhost import: warning: ", o->log);
	vfprintf(o->log, fmt, ap);
	fputc('\n', o->log);
	va_end(ap);
}

/*
 * Which failure to report when several happened: a blob that is not what
 * its descriptor says explains everything after it (a bad tar, a wrong
 * diffID), so it comes first; then the converter's own refusal; then the
 * diffID.
 */
static int judge(const struct lh_layer_ref *l, size_t index, const char *label, int rc_stream,
		 const struct lh_error *serr, const struct lh_stream_result *sres, int rc_conv,
		 const struct lh_error *cerr, struct lh_error *err)
{
	char got[LH_DIGEST_STR_MAX];

	if (rc_stream) {
		if (err && err->code == 0)
			*err = *serr;
		return rc_stream;
	}
	if (memcmp(sres->blob_digest, l->digest_bin, LH_SHA256_LEN) != 0) {
		lh_digest_format(sres->blob_digest, got);
		return LH_FAIL(err, -LH_ECORRUPT, "%s: digest mismatch: the blob hashes to %s",
			       label, got);
	}
	if (rc_conv) {
		if (err && err->code == 0)
			*err = *cerr;
		return rc_conv;
	}
	if (memcmp(sres->diff_digest, l->diff_id_bin, LH_SHA256_LEN) != 0) {
		lh_digest_format(sres->diff_digest, got);
		return LH_FAIL(err, -LH_ECORRUPT,
			       "%s: diffID mismatch: its tar hashes to %s, rootfs.diff_ids[%zu] in "
			       "the config says %s",
			       label, got, index, l->diff_id);
	}
	return 0;
}

static int convert_layer(const struct lh_import_options *o, struct lh_store *store,
			 size_t index, size_t count, struct lh_import_layer *out,
			 struct lh_store_layer *sl, struct lh_error *err)
{
	const struct lh_layer_ref *l = out->ref;
	struct lh_error serr = { 0 }, cerr = { 0 };
	struct lh_stream_result sres = { 0 };
	struct lh_convert_source src;
	struct lh_stream *stream = NULL;
	struct lh_progress prog;
	char label[LH_DIGEST_STR_MAX + 48], shown[64], hex[LH_DIGEST_HEX_LEN + 1];
	double t0 = lh_progress_now();
	int rc, rc_conv;

	snprintf(label, sizeof(label), "layer %zu/%zu (%s)", index + 1, count, l->digest);
	lh_digest_hex(l->diff_id_bin, hex);
	rc = lh_store_layer_begin(store, hex, sl, err);
	if (rc)
		return rc;
	rc = lh_stream_start(l->path, label, l->size, l->compression, &stream, err);
	if (rc)
		goto fail;
	lh_stream_source(stream, &src);
	lh_progress_init(&prog, o->log, o->quiet);
	/* the digest cut short: one line on a terminal of 80 columns */
	snprintf(shown, sizeof(shown), "layer %zu/%zu (%.19s)", index + 1, count, l->digest);
	lh_progress_begin(&prog, shown);
	rc_conv = lh_convert_tar(&src, sl->tmp, label, l->diff_id_bin, lh_progress_update, &prog,
				 &out->conv, &cerr);
	rc = lh_stream_finish(stream, &sres, &serr);
	rc = judge(l, index, label, rc, &serr, &sres, rc_conv, &cerr, err);
	if (rc) {
		lh_progress_end(&prog, NULL);
		goto fail;
	}
	if (out->conv.no_end_marker)
		warn(o, "%s: the tar ends after its last entry without end-of-archive blocks; "
			"accepted, as containerd accepts it",
		     label);
	if (out->conv.warnings)
		warn(o, "%s: %llu entr%s with warnings, the first: %s", label,
		     (unsigned long long)out->conv.warnings, out->conv.warnings == 1 ? "y" : "ies",
		     out->conv.warning);
	rc = lh_store_layer_commit(sl, out->conv.image_bytes, err);
	if (rc)
		goto fail;
	out->converted = true;
	out->image_bytes = out->conv.image_bytes + 512;
	out->seconds = lh_progress_now() - t0;
	lh_progress_end(&prog, "%.1f MiB of tar, %llu entries, %.2f s",
			(double)out->conv.tar_bytes / (1024.0 * 1024.0),
			(unsigned long long)out->conv.entries, out->seconds);
	lh_stream_free(stream);
	return 0;
fail:
	lh_stream_free(stream);
	lh_store_layer_abort(sl, true);
	lh_store_layer_free(sl);
	return rc;
}

int lh_import_run(const struct lh_import_options *o, struct lh_import_result *res,
		  struct lh_error *err)
{
	struct lh_store store = { .lock_fd = -1 };
	struct lh_store_layer *committed = NULL;
	double t0 = lh_progress_now();
	size_t n_committed = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = lh_layout_open(o->layout, o->ref, &res->image, err);
	if (rc)
		return rc;
	rc = lh_store_open(o->store, &store, err);
	if (rc)
		return rc;
	res->store = strdup(store.dir);
	res->n_layers = res->image->n_layers;
	res->layers = calloc(res->n_layers, sizeof(*res->layers));
	committed = calloc(res->n_layers, sizeof(*committed));
	if (!res->store || !res->layers || !committed) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < res->n_layers; i++) {
		struct lh_import_layer *L = &res->layers[i];
		char hex[LH_DIGEST_HEX_LEN + 1];
		bool has;
		size_t len;

		L->ref = &res->image->layers[i];
		lh_digest_hex(L->ref->diff_id_bin, hex);
		len = strlen(store.dir) + 1 + sizeof(hex);
		L->folder = malloc(len);
		if (!L->folder) {
			rc = LH_FAIL(err, -ENOMEM, "out of memory");
			goto out;
		}
		snprintf(L->folder, len, "%s/%s", store.dir, hex);
		rc = lh_store_has_layer(&store, hex, &has, &L->image_bytes, err);
		if (rc)
			goto out;
		if (has) {
			note(o, "layer %zu/%zu (%s) is in the store already", i + 1, res->n_layers,
			     L->ref->diff_id);
			continue;
		}
		rc = convert_layer(o, &store, i, res->n_layers, L, &committed[n_committed], err);
		if (rc)
			goto out;
		n_committed++;
	}
	if (o->name) {
		rc = lh_store_scratch(&store, o->name, o->scratch, LH_IMPORT_SCRATCH_SIZE,
				      &res->scratch, &res->scratch_created, err);
		if (rc)
			goto out;
	}
	res->seconds = lh_progress_now() - t0;
out:
	/* all or nothing: this run's layers go again when a later one failed */
	for (size_t i = n_committed; i-- > 0;) {
		if (rc)
			lh_store_layer_abort(&committed[i], true);
		lh_store_layer_free(&committed[i]);
	}
	free(committed);
	lh_store_close(&store);
	return rc;
}

void lh_import_result_free(struct lh_import_result *res)
{
	for (size_t i = 0; res->layers && i < res->n_layers; i++)
		free(res->layers[i].folder);
	free(res->layers);
	free(res->store);
	free(res->scratch);
	lh_layout_free(res->image);
	memset(res, 0, sizeof(*res));
}
