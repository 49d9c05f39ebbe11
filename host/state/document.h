/*
 * document.h - build compute-system documents (JSON) by path.
 */
#ifndef LH_DOCUMENT_H
#define LH_DOCUMENT_H

#include <layerhost/backend.h>

#include <cjson/cJSON.h>

/*
 * Add the JSON value `json` at `path` in `doc`: '/'-separated object keys,
 * created on the way when missing; a last component "-" appends to an array
 * (created when missing). -EEXIST when the key is already there, -EINVAL
 * for JSON that does not parse or a path through a non-object; doc is
 * unchanged on failure.
 */
int lh_document_add(cJSON *doc, const char *path, const char *json, struct lh_error *err);

#endif
