/* document.c - see document.h. */
#include "document.h"

#include <errno.h>
#include <stdlib.h>

int lh_document_add(cJSON *doc, const char *path, const char *json, struct lh_error *err)
{
	char *copy = strdup(path), *save = NULL, *key, *next;
	cJSON *value = cJSON_Parse(json), *node = doc, *child, *created = NULL, *created_in = NULL;
	int rc = 0;

	if (!copy) {
		rc = LH_FAIL(err, -ENOMEM, "document: out of memory");
		goto out;
	}
	if (!value) {
		rc = LH_FAIL(err, -EINVAL, "document: value for %s is not valid JSON", path);
		goto out;
	}
	key = strtok_r(copy, "/", &save);
	if (!key) {
		/* "" or "/": there is no key to put the value under. */
		rc = LH_FAIL(err, -EINVAL, "document: path '%s' names no key", path);
		goto out;
	}
	while (key) {
		next = strtok_r(NULL, "/", &save);
		if (!next && strcmp(key, "-") == 0) {
			if (!cJSON_IsArray(node)) {
				rc = LH_FAIL(err, -EINVAL, "document: %s: not an array", path);
				goto out;
			}
			cJSON_AddItemToArray(node, value);
			value = NULL;
			break;
		}
		if (!cJSON_IsObject(node)) {
			rc = LH_FAIL(err, -EINVAL, "document: %s: '%s' is not inside an object", path,
				     key);
			goto out;
		}
		child = cJSON_GetObjectItemCaseSensitive(node, key);
		if (!next) {
			if (child) {
				rc = LH_FAIL(err, -EEXIST, "document: %s is already present", path);
				goto out;
			}
			cJSON_AddItemToObject(node, key, value);
			value = NULL;
			break;
		}
		if (!child) {
			child = strcmp(next, "-") == 0 ? cJSON_CreateArray() : cJSON_CreateObject();
			if (!child) {
				rc = LH_FAIL(err, -ENOMEM, "document: out of memory");
				goto out;
			}
			cJSON_AddItemToObject(node, key, child);
			/* Remember the outermost object we made so a failure
			 * further down can take it out again. */
			if (!created) {
				created = child;
				created_in = node;
			}
		}
		node = child;
		key = next;
	}
out:
	if (rc && created)
		cJSON_Delete(cJSON_DetachItemViaPointer(created_in, created));
	cJSON_Delete(value);
	free(copy);
	return rc;
}
