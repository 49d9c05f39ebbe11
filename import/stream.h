/*
 * stream.h - a layer blob read, hashed and decompressed on a thread of its
 * own, so that decompression overlaps with writing the image: the floor
 * for a streaming converter is then the decompression alone.
 *
 * The thread reads the whole blob however the consumer fares: the blob's
 * digest (over its bytes as stored) and the layer's diffID (over the
 * decompressed tar, to its very end, trailing padding included) are
 * complete when lh_stream_finish returns, so a caller can tell a damaged
 * blob from a bad tar.
 */
#ifndef LH_IMPORT_STREAM_H
#define LH_IMPORT_STREAM_H

#include "convert.h"
#include "digest.h"

#include <layerhost/backend.h>

#include <stdint.h>

enum lh_compression {
	LH_COMPRESSION_NONE,
	LH_COMPRESSION_GZIP,
	LH_COMPRESSION_ZSTD,
};

struct lh_stream_result {
	uint8_t blob_digest[LH_SHA256_LEN]; /* of the file's bytes */
	uint8_t diff_digest[LH_SHA256_LEN]; /* of the decompressed bytes */
	uint64_t blob_bytes;
	uint64_t tar_bytes;
};

struct lh_stream;

/*
 * Open path (a blob of `size` bytes, per its descriptor; named name in
 * messages) and start its thread. A file of another size is refused here,
 * before anything is read: -LH_ECORRUPT naming both sizes.
 */
int lh_stream_start(const char *path, const char *name, uint64_t size,
		    enum lh_compression comp, struct lh_stream **out, struct lh_error *err);

/* The converter's view of the decompressed bytes (valid while s lives). */
void lh_stream_source(struct lh_stream *s, struct lh_convert_source *src);

/*
 * Let the thread run to the end of the blob (the consumer takes no more),
 * join it, and fill res. Returns the thread's first error (a read error, a
 * corrupt compressed stream: -LH_ECORRUPT), or 0. Call once.
 */
int lh_stream_finish(struct lh_stream *s, struct lh_stream_result *res, struct lh_error *err);

/* Free s (finishing it first if lh_stream_finish was not called). NULL accepted. */
void lh_stream_free(struct lh_stream *s);

#endif
