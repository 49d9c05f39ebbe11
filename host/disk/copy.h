/*
 * copy.h - copy a disk file the fastest way the filesystem allows, keeping
 * holes: FICLONE (reflink), else copy_file_range over the data extents,
 * else read/write over the data extents.
 */
#ifndef LH_COPY_H
#define LH_COPY_H

#include <layerhost/backend.h>

enum lh_copy_method {
	LH_COPY_REFLINK = 1,
	LH_COPY_RANGE,
	LH_COPY_READ_WRITE,
};

/* Which methods lh_copy_file may try; tests and benchmarks narrow it. */
enum lh_copy_allow {
	LH_COPY_ALLOW_REFLINK = 1u << 0,
	LH_COPY_ALLOW_RANGE = 1u << 1,
	LH_COPY_ALLOW_READ_WRITE = 1u << 2,
	LH_COPY_ALLOW_ALL = 7u,
};

/*
 * Copy src to dst, which must not exist (created 0600, then given src's
 * mode bits). src is only read. On failure dst is removed and err names
 * the file and the step. *used (may be NULL) receives the method that did
 * the copy.
 *
 * The copy is not flushed: a caller that needs it to survive a crash
 * flushes it (durable.h) before recording it anywhere, ideally after all
 * its copies, so their writeback overlaps instead of queueing one by one.
 */
int lh_copy_file(const char *src, const char *dst, unsigned allow, enum lh_copy_method *used,
		 struct lh_error *err);

#endif
