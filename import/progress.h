/*
 * progress.h - one status line per layer on a terminal: bytes of tar and
 * entries so far, redrawn at most ten times a second; nothing at all when
 * stderr is not a terminal or the user asked for quiet.
 */
#ifndef LH_IMPORT_PROGRESS_H
#define LH_IMPORT_PROGRESS_H

#include "convert.h"

#include <stdbool.h>
#include <stdio.h>

struct lh_progress {
	FILE *out;     /* NULL: silent */
	char label[96];
	double started, last;
	bool drawn;
};

/* Progress on out when it is a terminal and quiet is false. */
void lh_progress_init(struct lh_progress *p, FILE *out, bool quiet);

/* A new layer: label is what the line starts with ("layer 2/5 sha256:1a2b..."). */
void lh_progress_begin(struct lh_progress *p, const char *label);

/* lh_convert_progress_fn: ctx is the struct lh_progress. */
void lh_progress_update(void *ctx, const struct lh_convert_progress *cp);

/* End the layer's line with a summary (printf format), or erase it when fmt is NULL. */
void lh_progress_end(struct lh_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Seconds on a monotonic clock. */
double lh_progress_now(void);

#endif
