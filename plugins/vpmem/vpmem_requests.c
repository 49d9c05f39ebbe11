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

	if (create || !priv->multi_mapping) {
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

struct vpmem_doc_mapping {
	char key[24];
	const struct vpmem_layer *layer;
};

static int vpmem_doc_mapping_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vpmem_doc_mapping *)a)->key,
		      ((const struct vpmem_doc_mapping *)b)->key);
}

char *vpmem_device_document(const struct vpmem_priv *priv, uint32_t device,
			    struct vpmem_layer *const *layers, size_t n_layers)
{
	const struct vpmem_device *dev = &priv->devices[device];
	struct vpmem_doc_mapping *maps = NULL;
	size_t n_maps = 0;
	cJSON *doc = vpmem_json_device(dev->host_path);
	cJSON *mappings;
	char *text = NULL;

	if (!doc)
		return NULL;
	if (priv->multi_mapping && n_layers) {
		maps = calloc(n_layers, sizeof(*maps));
		if (!maps)
			goto out;
	}
	for (size_t i = 0; maps && i < n_layers; i++) {
		/* The device's own layer at offset 0 is the device itself. */
		if (layers[i]->offset == 0 && strcmp(layers[i]->host_path, dev->host_path) == 0)
			continue;
		snprintf(maps[n_maps].key, sizeof(maps[n_maps].key), "%" PRIu64, layers[i]->offset);
		maps[n_maps++].layer = layers[i];
	}
	if (n_maps) {
		/* Go writes map keys in string order. */
		qsort(maps, n_maps, sizeof(*maps), vpmem_doc_mapping_cmp);
		mappings = cJSON_AddObjectToObject(doc, "Mappings");
		if (!mappings)
			goto out;
		for (size_t i = 0; i < n_maps; i++) {
			cJSON *map = vpmem_json_mapping(maps[i].layer->host_path);

			if (!map || !cJSON_AddItemToObject(mappings, maps[i].key, map)) {
				cJSON_Delete(map);
				goto out;
			}
		}
	}
	text = cJSON_PrintUnformatted(doc);
out:
	free(maps);
	cJSON_Delete(doc);
	return text;
}
