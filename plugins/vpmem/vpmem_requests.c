/*
 * vpmem_requests.c - HCS requests and document entries, with hcsshim's
 * field names in its Go struct order; every field omitempty (so device 0
 * and offset 0 are left out, as hcsshim's JSON leaves them out).
 */
#include "vpmem.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>

#define VPMEM_DEVICE_PATH "VirtualMachine/Devices/VirtualPMem/Devices/%" PRIu32
#define VPMEM_MAPPING_PATH VPMEM_DEVICE_PATH "/Mappings/%" PRIu64
#define VPMEM_IMAGE_FORMAT "Vhd1"

/* omitempty for numbers: cJSON holds doubles, exact below 2^53. */
static bool vpmem_json_uint(cJSON *obj, const char *key, uint64_t value)
{
	return value == 0 || cJSON_AddNumberToObject(obj, key, (double)value) != NULL;
}

/* hcsschema.VirtualPMemDevice {HostPath, ReadOnly, ImageFormat}. */
static cJSON *vpmem_json_device(const char *host_path)
{
	cJSON *dev = cJSON_CreateObject();

	if (!dev || !cJSON_AddStringToObject(dev, "HostPath", host_path) ||
	    !cJSON_AddTrueToObject(dev, "ReadOnly") ||
	    !cJSON_AddStringToObject(dev, "ImageFormat", VPMEM_IMAGE_FORMAT)) {
		cJSON_Delete(dev);
		return NULL;
	}
	return dev;
}

static char *vpmem_json_device_text(const char *host_path)
{
	cJSON *dev = vpmem_json_device(host_path);
	char *text = dev ? cJSON_PrintUnformatted(dev) : NULL;

	cJSON_Delete(dev);
	return text;
}

/* hcsschema.VirtualPMemMapping {HostPath, ImageFormat}. */
static cJSON *vpmem_json_mapping(const char *host_path)
{
	cJSON *map = cJSON_CreateObject();

	if (!map || !cJSON_AddStringToObject(map, "HostPath", host_path) ||
	    !cJSON_AddStringToObject(map, "ImageFormat", VPMEM_IMAGE_FORMAT)) {
		cJSON_Delete(map);
		return NULL;
	}
	return map;
}

/* guestrequest.ModificationRequest {ResourceType, RequestType, Settings}
 * carrying guestresource.LCOWMappedVPMemDevice {DeviceNumber, MountPath,
 * MappingInfo {DeviceOffsetInBytes, DeviceSizeInBytes}}. */
static cJSON *vpmem_json_guest(const struct vpmem_priv *priv, const struct vpmem_layer *layer,
			       const char *type)
{
	cJSON *guest = cJSON_CreateObject();
	cJSON *settings = NULL;
	cJSON *info;
	bool ok;

	/* guestrequest.ModificationRequest order: RequestType, ResourceType. */
	ok = guest && cJSON_AddStringToObject(guest, "RequestType", type) &&
	     cJSON_AddStringToObject(guest, "ResourceType", "VPMemDevice") &&
	     (settings = cJSON_AddObjectToObject(guest, "Settings")) &&
	     vpmem_json_uint(settings, "DeviceNumber", layer->device) &&
	     cJSON_AddStringToObject(settings, "MountPath", layer->uvm_path);
	if (ok && priv->multi_mapping) {
		ok = (info = cJSON_AddObjectToObject(settings, "MappingInfo")) &&
		     vpmem_json_uint(info, "DeviceOffsetInBytes", layer->offset) &&
		     vpmem_json_uint(info, "DeviceSizeInBytes", layer->size);
	}
	if (!ok) {
		cJSON_Delete(guest);
		return NULL;
	}
	return guest;
}

/* hcsschema.ModifySettingRequest {ResourcePath, RequestType, Settings,
 * GuestRequest}; takes settings (may be NULL) and guest. */
static char *vpmem_json_request(const char *path, const char *type, cJSON *settings,
				cJSON *guest)
{
	cJSON *req = cJSON_CreateObject();
	char *text = NULL;

	if (!req || !guest || !cJSON_AddStringToObject(req, "ResourcePath", path) ||
	    !cJSON_AddStringToObject(req, "RequestType", type))
		goto out;
	if (settings) {
		if (!cJSON_AddItemToObject(req, "Settings", settings))
			goto out;
		settings = NULL;
	}
	if (!cJSON_AddItemToObject(req, "GuestRequest", guest))
		goto out;
	guest = NULL;
	text = cJSON_PrintUnformatted(req);
out:
	cJSON_Delete(settings);
	cJSON_Delete(guest);
	cJSON_Delete(req);
	return text;
}

char *vpmem_request_add(const struct vpmem_priv *priv, const struct vpmem_layer *layer,
			bool create)
{
	char path[128];
	cJSON *settings;

	/* Multi-mapping: hcsshim registers a new device in its own table
	 * before building the request, so even a device's first layer goes
	 * to .../Mappings/<offset> as a VirtualPMemMapping. */
	(void)create;
	if (!priv->multi_mapping) {
		snprintf(path, sizeof(path), VPMEM_DEVICE_PATH, layer->device);
		settings = vpmem_json_device(layer->host_path);
	} else {
		snprintf(path, sizeof(path), VPMEM_MAPPING_PATH, layer->device, layer->offset);
		settings = vpmem_json_mapping(layer->host_path);
	}
	if (!settings)
		return NULL;
	return vpmem_json_request(path, "Add", settings, vpmem_json_guest(priv, layer, "Add"));
}

char *vpmem_request_remove(const struct vpmem_priv *priv, const struct vpmem_layer *layer)
{
	char path[128];

	/* Multi mode removes the mapping, never the device (hcsshim #1456:
	 * HCS refuses to remove a device whose offset 0 is unmapped). */
	if (priv->multi_mapping)
		snprintf(path, sizeof(path), VPMEM_MAPPING_PATH, layer->device, layer->offset);
	else
		snprintf(path, sizeof(path), VPMEM_DEVICE_PATH, layer->device);
	return vpmem_json_request(path, "Remove", NULL, vpmem_json_guest(priv, layer, "Remove"));
}

char *vpmem_device_document(const struct vpmem_priv *priv, uint32_t device,
			    struct vpmem_layer *const *layers, size_t n_layers)
{
	/* hcsschema.VirtualPMemDevice has no mappings: a device is listed
	 * with the file it was created for, as its first layer came. A
	 * multi-mapped device's other layers are in the clone's state only
	 * (hcsshim never cloned an LCOW UVM; see README). */
	(void)layers;
	(void)n_layers;
	return vpmem_json_device_text(priv->devices[device].host_path);
}
