/* request.c - ModifySettingRequest JSON (see lh_request.h). */
#include "lh_request.h"

#include <stddef.h>

cJSON *lh_request_new(const char *resource_path, const char *request_type)
{
	cJSON *req = cJSON_CreateObject();

	if (req && (!cJSON_AddStringToObject(req, "ResourcePath", resource_path) ||
		    !cJSON_AddStringToObject(req, "RequestType", request_type))) {
		cJSON_Delete(req);
		req = NULL;
	}
	return req;
}

/* Attach item under key, or delete both: the chain's one failure path. */
static cJSON *lh_request_take(cJSON *req, const char *key, cJSON *item)
{
	if (!req || !item || !cJSON_AddItemToObject(req, key, item)) {
		cJSON_Delete(item);
		cJSON_Delete(req);
		req = NULL;
	}
	return req;
}

cJSON *lh_request_add_settings(cJSON *req, cJSON *settings)
{
	return lh_request_take(req, "Settings", settings);
}

cJSON *lh_request_add_guest(cJSON *req, const char *resource_type, cJSON *settings)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "RequestType"));
	cJSON *guest = cJSON_CreateObject();

	/* guestrequest.ModificationRequest's order: RequestType, ResourceType. */
	if (guest && (!type || !cJSON_AddStringToObject(guest, "RequestType", type) ||
		      !cJSON_AddStringToObject(guest, "ResourceType", resource_type))) {
		cJSON_Delete(guest);
		guest = NULL;
	}
	guest = lh_request_take(guest, "Settings", settings);
	return lh_request_take(req, "GuestRequest", guest);
}

char *lh_json_print(cJSON *json)
{
	char *text = json ? cJSON_PrintUnformatted(json) : NULL;

	cJSON_Delete(json);
	return text;
}

bool lh_json_add_string(cJSON *obj, const char *key, const char *value)
{
	return !value || !value[0] || cJSON_AddStringToObject(obj, key, value) != NULL;
}

bool lh_json_add_uint(cJSON *obj, const char *key, uint64_t value)
{
	return value == 0 || cJSON_AddNumberToObject(obj, key, (double)value) != NULL;
}

bool lh_json_add_true(cJSON *obj, const char *key, bool value)
{
	return !value || cJSON_AddTrueToObject(obj, key) != NULL;
}
