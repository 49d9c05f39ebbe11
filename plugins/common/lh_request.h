/*
 * lh_request.h - the HCS request JSON the UVM plugins send through
 * host->modify (part of lh_plugin_common, see CMakeLists.txt beside this
 * file). A plugin that uses it links cJSON itself: the library does not,
 * so that a plugin without requests (hostlayer) does not depend on it.
 *
 * hcsshim's Go structs give the key order and, with omitempty on every
 * field, what is left out; the output must match it byte for byte
 * (the .json files under tests/golden/):
 *
 *   hcsschema.ModifySettingRequest {ResourcePath, RequestType, Settings,
 *     GuestRequest}
 *   guestrequest.ModificationRequest {RequestType, ResourceType, Settings}
 *
 * The builders chain: each takes ownership of what it is given and returns
 * the request, or NULL after deleting everything on failure (ENOMEM, or a
 * NULL argument: a settings object that could not be built), so the chain
 * needs one check, at its end:
 *
 *	req = lh_request_new(path, "Add");
 *	req = lh_request_add_settings(req, my_settings(...));
 *	req = lh_request_add_guest(req, "MappedVirtualDisk", my_guest(...));
 *	return lh_json_print(req);  (NULL on ENOMEM)
 *
 * Not part of the backend ABI.
 */
#ifndef LH_PLUGIN_REQUEST_H
#define LH_PLUGIN_REQUEST_H

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stdint.h>

/* {ResourcePath, RequestType}: a new request, or NULL on ENOMEM. */
cJSON *lh_request_new(const char *resource_path, const char *request_type);
/* Add Settings (taking settings); see above for failure. */
cJSON *lh_request_add_settings(cJSON *req, cJSON *settings);
/* Add GuestRequest {RequestType (the request's own), ResourceType,
 * Settings (taking settings)}: the guest half of the change. */
cJSON *lh_request_add_guest(cJSON *req, const char *resource_type, cJSON *settings);

/* The compact text of json (malloc'd), deleting json: NULL when json is
 * NULL or on ENOMEM. Ends a request chain; prints any other object too. */
char *lh_json_print(cJSON *json);

/* Add a field as omitempty writes it: nothing for a NULL or "" string, a
 * 0, or false. true, or false on ENOMEM. Numbers are doubles in cJSON:
 * exact below 2^53, beyond anything a device number, LUN or offset is. */
bool lh_json_add_string(cJSON *obj, const char *key, const char *value);
bool lh_json_add_uint(cJSON *obj, const char *key, uint64_t value);
bool lh_json_add_true(cJSON *obj, const char *key, bool value);

#endif
