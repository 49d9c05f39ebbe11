/*
 * vpmem_requests.c - HCS requests and document entries, with hcsshim's
 * field names in its Go struct order; every field omitempty (so device 0
 * and offset 0 are left out, as hcsshim's JSON leaves them out).
 */
#include "vpmem.h"

#include "lh_request.h"

#include <inttypes.h>
#include <stdlib.h>

#define VPMEM_DEVICE_PATH "VirtualMachine/Devices/VirtualPMem/Devices/%" PRIu32
#define VPMEM_MAPPING_PATH VPMEM_DEVICE_PATH "/Mappings/%" PRIu64
#define VPMEM_IMAGE_FORMAT "Vhd1"

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

/* guestresource.LCOWMappedVPMemDevice {DeviceNumber, MountPath,
 * MappingInfo {DeviceOffsetInBytes, DeviceSizeInBytes}}: the guest request's
 * settings. */
static cJSON *vpmem_json_guest(const struct vpmem_priv *priv, const struct vpmem_layer *layer)
{
	cJSON *settings = cJSON_CreateObject();
	cJSON *info;
	bool ok;

	ok = settings && lh_json_add_uint(settings, "DeviceNumber", layer->device) &&
	     cJSON_AddStringToObject(settings, "MountPath", layer->uvm_path);
	if (ok && priv->multi_mapping) {
		ok = (info = cJSON_AddObjectToObject(settings, "MappingInfo")) &&
		     lh_json_add_uint(info, "DeviceOffsetInBytes", layer->offset) &&
		     lh_json_add_uint(info, "DeviceSizeInBytes", layer->size);
	}
	if (!ok) {
		cJSON_Delete(settings);
		settings = NULL;
	}
	return settings;
}

char *vpmem_request_add(const struct vpmem_priv *priv, const struct vpmem_layer *layer,
			bool create)
{
	char path[128];
	cJSON *settings, *req;

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
	req = lh_request_add_settings(lh_request_new(path, "Add"), settings);
	req = lh_request_add_guest(req, "VPMemDevice", vpmem_json_guest(priv, layer));
	return lh_json_print(req);
}

char *vpmem_request_remove(const struct vpmem_priv *priv, const struct vpmem_layer *layer)
{
	char path[128];
	cJSON *req;

	/* Multi mode removes the mapping, never the device (hcsshim #1456:
	 * HCS refuses to remove a device whose offset 0 is unmapped). */
	if (priv->multi_mapping)
		snprintf(path, sizeof(path), VPMEM_MAPPING_PATH, layer->device, layer->offset);
	else
		snprintf(path, sizeof(path), VPMEM_DEVICE_PATH, layer->device);
	req = lh_request_new(path, "Remove");
	req = lh_request_add_guest(req, "VPMemDevice", vpmem_json_guest(priv, layer));
	return lh_json_print(req);
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
