/*
 * importer.h - one image from an OCI layout into a store: resolve it
 * (layout.h), convert each layer not yet in the store (stream.h feeding
 * convert.h), check every digest, commit each layer (store.h), and make the
 * scratch on request. All or nothing: a failure removes every layer this
 * run added, so the store is as it was.
 */
#ifndef LH_IMPORT_IMPORTER_H
#define LH_IMPORT_IMPORTER_H

#include "convert.h"
#include "layout.h"

#include <layerhost/backend.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* hcsshim's default size of an LCOW container's scratch. */
#define LH_IMPORT_SCRATCH_SIZE (20ull << 30)

struct lh_import_options {
	const char *layout;  /* the layout's folder */
	const char *ref;     /* tag or digest; NULL: the index's only image */
	const char *store;
	const char *name;    /* the container's name (validated by the caller) */
	bool scratch;        /* make <store>/scratch/<name>/sandbox.vhdx */
	bool quiet;          /* no progress, no notes */
	FILE *log;           /* progress, notes and warnings (stderr) */
};

struct lh_import_layer {
	const struct lh_layer_ref *ref; /* in the result's image */
	char *folder;                   /* <store>/<diffID hex> */
	bool converted;                 /* false: it was in the store already */
	struct lh_convert_result conv;  /* when converted */
	uint64_t image_bytes;           /* layer.vhd's length, footer included */
	double seconds;
};

struct lh_import_result {
	struct lh_image *image;
	char *store;   /* absolute */
	char *scratch; /* <store>/scratch/<name> */
	bool scratch_created;
	size_t n_layers;
	struct lh_import_layer *layers; /* base first */
	double seconds;
};

/* Import; res is the caller's to free (also after a failure). */
int lh_import_run(const struct lh_import_options *o, struct lh_import_result *res,
		  struct lh_error *err);

void lh_import_result_free(struct lh_import_result *res);

#endif
