/*
 * convert.h - one layer's tar stream to an ext4 image: libarchive reads the
 * entries, tree.h applies the image-spec's rules to them, ext4.h writes the
 * file data as it comes and the filesystem at the end. No root, no
 * unpacked copy, no external program.
 */
#ifndef LH_IMPORT_CONVERT_H
#define LH_IMPORT_CONVERT_H

#include "tree.h"

#include <layerhost/backend.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Where the (already decompressed) tar comes from. */
struct lh_convert_source {
	/*
	 * The next piece of the tar: *buf stays valid until the next call.
	 * Returns its length, 0 at the end, or a negative errno with err set
	 * (the converter reports that error, not the tar parser's).
	 */
	ssize_t (*read)(void *ctx, const void **buf, struct lh_error *err);
	void *ctx;
};

struct lh_convert_progress {
	uint64_t entries;
	uint64_t tar_bytes; /* of the tar consumed so far */
};

/* Called after each entry; the callee rate-limits what it shows. */
typedef void (*lh_convert_progress_fn)(void *ctx, const struct lh_convert_progress *p);

struct lh_convert_result {
	uint64_t entries;     /* tar entries read */
	uint64_t tar_bytes;   /* the tar's length */
	uint64_t data_bytes;  /* file data placed in the image (whole blocks) */
	uint64_t image_bytes; /* the ext4 image's length */
	bool no_end_marker;   /* ended after a complete entry, without end-of-archive blocks */
	uint64_t warnings;    /* entries libarchive warned about (and that were kept) */
	char warning[300];    /* the first of them */
	struct lh_tree_stats tree;
};

/*
 * Convert the tar src delivers into an ext4 image in image_path (an empty
 * file the caller made, and removes on failure; its length is
 * res->image_bytes after success, unflushed). name names the stream in
 * messages ("layer 2 (sha256:...)"); seed (32 bytes) makes the
 * filesystem's identity. progress may be NULL.
 *
 * Refusals, each naming name and the entry: a truncated or corrupt tar
 * (-LH_ECORRUPT), an entry escaping the root or otherwise unusable
 * (-LH_ECORRUPT, see tree.h for the rules), a hard link to a missing
 * target; the source's own error as it set it. A tar that ends right
 * after a complete entry, without end-of-archive blocks, is accepted and
 * res->no_end_marker set (the caller warns).
 */
int lh_convert_tar(const struct lh_convert_source *src, const char *image_path,
		   const char *name, const uint8_t seed[32], lh_convert_progress_fn progress,
		   void *progress_ctx, struct lh_convert_result *res, struct lh_error *err);

#endif
