/*
 * import_error.h - the importer's additions to struct lh_error (layerhost/backend.h):
 * a failure deep in the converter knows the entry, the caller knows the
 * blob; the message the user sees names both.
 */
#ifndef LH_IMPORT_ERROR_H
#define LH_IMPORT_ERROR_H

#include <layerhost/backend.h>

/* Put "PREFIX: " before err's message (err may be NULL or hold no error). */
void lh_import_error_prefix(struct lh_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
