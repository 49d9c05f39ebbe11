/*
 * vpmem_codec.c - saved state (encode / decode) and clone.
 *
 * The blob is a sequence of gob singleton values, serial version 1, which
 * the host records beside it (state format 1 also began the blob with it):
 *
 *   bool    multi_mapping the state was written with
 *   uint    next handle id
 *   uint    number of devices D, then D times:
 *     uint    device number
 *     string  the host path the device was created with
 *   uint    number of layers L, then L times (by device, then offset):
 *     string  host path
 *     uint    device number
 *     uint    offset in the device (0 in single mode)
 *     uint    size mapped (page-aligned data in multi mode, data in single)
 *     uint    number of handles H, then H times:
 *       uint    handle id
 *
 * Mount paths and locations follow from device / offset / size and are not
 * stored. A multi-mapped device without layers is a device the UVM keeps
 * (hcsshim #1456), so D may exceed the devices the layers use.
 */
#include "vpmem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

/* Restore one present device. Lock held. */
static int vpmem_restore_device(struct vpmem_priv *priv, uint64_t number, const char *host_path,
				struct lh_error *err)
{
	struct vpmem_device *dev;

	if (number >= (uint64_t)priv->max_devices)
		return LH_FAIL(err, -LH_ECORRUPT, "vpmem: device %" PRIu64 " is beyond max_devices %"
			       PRId64, number, priv->max_devices);
	dev = &priv->devices[number];
	if (dev->state != VPMEM_DEVICE_ABSENT)
		return LH_FAIL(err, -LH_ECORRUPT, "vpmem: device %" PRIu64 " appears twice", number);
	if (!host_path[0])
		return LH_FAIL(err, -LH_ECORRUPT, "vpmem: device %" PRIu64 " has no host path", number);
	dev->host_path = strdup(host_path);
	if (!dev->host_path || (priv->multi_mapping && !vpmem_device_alloc(priv, (uint32_t)number)))
		return LH_FAIL(err, -ENOMEM, "vpmem: device %" PRIu64 ": out of memory", number);
	dev->state = VPMEM_DEVICE_PRESENT;
	return 0;
}

/* Restore one live layer (without handles yet). Lock held. */
static int vpmem_restore_layer(struct vpmem_priv *priv, const char *host_path, uint64_t device,
			       uint64_t offset, uint64_t size, struct vpmem_layer **out,
			       struct lh_error *err)
{
	struct vpmem_device *dev;
	struct vpmem_layer *layer;

	if (!host_path[0])
		return LH_FAIL(err, -LH_ECORRUPT, "vpmem: a layer has no host path");
	if (device >= (uint64_t)priv->max_devices ||
	    priv->devices[device].state != VPMEM_DEVICE_PRESENT)
		return LH_FAIL(err, -LH_ECORRUPT, "vpmem: %s: device %" PRIu64 " is not present",
			       host_path, device);
	if (vpmem_find_layer(priv, host_path))
		return LH_FAIL(err, -LH_ECORRUPT, "vpmem: %s appears twice", host_path);
	if (size == 0 || size > priv->max_size_bytes)
		return LH_FAIL(err, -LH_ECORRUPT, "vpmem: %s: size %" PRIu64 " is out of range",
			       host_path, size);
	dev = &priv->devices[device];
	if (priv->multi_mapping) {
		if (size % VPMEM_PAGE_SIZE != 0 || dev->n_mappings >= VPMEM_MAX_MAPPINGS ||
		    vpmem_alloc_class(size) > priv->top_class ||
		    vpmem_alloc_reserve(dev->alloc, offset, size) != 0)
			return LH_FAIL(err, -LH_ECORRUPT, "vpmem: %s: no valid region of %" PRIu64
				       " bytes at offset %" PRIu64 " of device %" PRIu64, host_path,
				       size, offset, device);
	} else if (offset != 0 || dev->n_mappings != 0 || strcmp(dev->host_path, host_path) != 0) {
		return LH_FAIL(err, -LH_ECORRUPT, "vpmem: %s does not own device %" PRIu64,
			       host_path, device);
	}
	layer = vpmem_layer_new(host_path);
	if (!layer || vpmem_reserve_room(priv)) {
		if (layer && priv->multi_mapping)
			vpmem_alloc_free(dev->alloc, offset, size);
		vpmem_layer_free(layer);
		return LH_FAIL(err, -ENOMEM, "vpmem: %s: out of memory", host_path);
	}
	layer->device = (uint32_t)device;
	layer->offset = offset;
	layer->size = size;
	layer->state = VPMEM_LAYER_LIVE;
	vpmem_layer_name(priv, layer);
	dev->n_mappings++;
	vpmem_index_layer(priv, layer);
	vpmem_list_layer(priv, layer);
	*out = layer;
	return 0;
}

static int vpmem_restore_handle(struct vpmem_priv *priv, struct vpmem_layer *layer, uint64_t id,
				struct lh_error *err)
{
	struct vpmem_handle *handle;

	if (id == 0 || id >= priv->next_handle || vpmem_find_handle(priv, id))
		return LH_FAIL(err, -LH_ECORRUPT, "vpmem: %s: handle %" PRIu64 " is invalid or "
			       "repeated", layer->host_path, id);
	handle = malloc(sizeof(*handle));
	if (!handle || vpmem_reserve_handle(priv)) {
		free(handle);
		return LH_FAIL(err, -ENOMEM, "vpmem: %s: out of memory", layer->host_path);
	}
	vpmem_add_handle(priv, layer, handle, id);
	return 0;
}

/* Layers sorted by device and offset, for a stable blob and document. */
static struct vpmem_layer **vpmem_sorted_layers(const struct vpmem_priv *priv)
{
	struct vpmem_layer **sorted = malloc((priv->n_layers ? priv->n_layers : 1) * sizeof(*sorted));

	if (!sorted)
		return NULL;
	if (priv->n_layers) {
		memcpy(sorted, priv->layers, priv->n_layers * sizeof(*sorted));
		qsort(sorted, priv->n_layers, sizeof(*sorted), vpmem_layer_cmp);
	}
	return sorted;
}

struct vpmem_ranked_handle {
	size_t rank; /* the layer's position in the sorted layers */
	const struct vpmem_handle *handle;
};

static int vpmem_ranked_cmp(const void *a, const void *b)
{
	const struct vpmem_ranked_handle *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->handle->id < y->handle->id ? -1 : x->handle->id > y->handle->id;
}

/* Every handle, grouped by layer in `sorted` order, ids ascending; NULL on
 * ENOMEM. */
static struct vpmem_ranked_handle *vpmem_sorted_handles(const struct vpmem_priv *priv,
							 struct vpmem_layer *const *sorted)
{
	size_t *rank = malloc((priv->n_layers ? priv->n_layers : 1) * sizeof(*rank));
	struct vpmem_ranked_handle *all = malloc((priv->handles.count ? priv->handles.count : 1) *
						  sizeof(*all));
	const struct vpmem_handle *h;
	size_t n = 0, cursor = 0;

	if (!rank || !all) {
		free(rank);
		free(all);
		return NULL;
	}
	for (size_t i = 0; i < priv->n_layers; i++)
		rank[sorted[i]->index] = i;
	while ((h = lh_map_next(&priv->handles, &cursor)))
		all[n++] = (struct vpmem_ranked_handle){ rank[h->layer->index], h };
	qsort(all, n, sizeof(*all), vpmem_ranked_cmp);
	free(rank);
	return all;
}

int vpmem_encode(void *p, struct lh_gob_encoder *enc, struct lh_error *err)
{
	struct vpmem_priv *priv = p;
	const struct lh_gob_codec *gob = priv->host->gob;
	struct vpmem_layer **sorted;
	struct vpmem_ranked_handle *handles = NULL;
	uint64_t n_devices = 0;
	size_t next = 0;
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	sorted = vpmem_sorted_layers(priv);
	handles = sorted ? vpmem_sorted_handles(priv, sorted) : NULL;
	if (!handles) {
		rc = LH_FAIL(err, -ENOMEM, "vpmem: encode: out of memory");
		goto out;
	}
	for (uint32_t d = 0; d < VPMEM_MAX_DEVICES; d++)
		n_devices += priv->devices[d].state == VPMEM_DEVICE_PRESENT;
	/* No version of its own: the host records it beside the blob. */
	rc |= gob->put_bool(enc, priv->multi_mapping);
	rc |= gob->put_uint(enc, priv->next_handle);
	rc |= gob->put_uint(enc, n_devices);
	for (uint32_t d = 0; d < VPMEM_MAX_DEVICES; d++) {
		if (priv->devices[d].state != VPMEM_DEVICE_PRESENT)
			continue;
		rc |= gob->put_uint(enc, d);
		rc |= gob->put_string(enc, priv->devices[d].host_path);
	}
	rc |= gob->put_uint(enc, priv->n_layers);
	for (size_t i = 0; i < priv->n_layers; i++) {
		const struct vpmem_layer *layer = sorted[i];

		rc |= gob->put_string(enc, layer->host_path);
		rc |= gob->put_uint(enc, layer->device);
		rc |= gob->put_uint(enc, layer->offset);
		rc |= gob->put_uint(enc, layer->size);
		rc |= gob->put_uint(enc, layer->refs);
		for (; next < priv->handles.count && handles[next].rank == i; next++)
			rc |= gob->put_uint(enc, handles[next].handle->id);
	}
	if (rc)
		rc = LH_FAIL(err, -ENOMEM, "vpmem: encode: out of memory");
out:
	pthread_mutex_unlock(&priv->lock);
	free(handles);
	free(sorted);
	return rc;
}

/* A count that cannot exceed limit, nor the values left to read. */
static int vpmem_get_count(const struct lh_gob_codec *gob, struct lh_gob_decoder *dec,
			   uint64_t limit, const char *what, uint64_t *count, struct lh_error *err)
{
	int rc = gob->get_uint(dec, count, err);

	if (rc == 0 && (*count > limit || *count > gob->remaining(dec)))
		rc = LH_FAIL(err, -LH_ECORRUPT, "vpmem: %" PRIu64 " %s is more than the state can "
			     "hold", *count, what);
	return rc;
}

static int vpmem_decode_layers(struct vpmem_priv *priv, struct lh_gob_decoder *dec,
			       char *path, struct lh_error *err)
{
	const struct lh_gob_codec *gob = priv->host->gob;
	uint64_t limit = (uint64_t)priv->max_devices * (priv->multi_mapping ? VPMEM_MAX_MAPPINGS : 1);
	uint64_t n_layers, device, offset, size, n_handles, id;
	struct vpmem_layer *layer;
	int rc;

	rc = vpmem_get_count(gob, dec, limit, "layers", &n_layers, err);
	for (uint64_t i = 0; rc == 0 && i < n_layers; i++) {
		rc = gob->get_string(dec, path, LH_PATH_CAP, err);
		rc = rc ? rc : gob->get_uint(dec, &device, err);
		rc = rc ? rc : gob->get_uint(dec, &offset, err);
		rc = rc ? rc : gob->get_uint(dec, &size, err);
		rc = rc ? rc : vpmem_restore_layer(priv, path, device, offset, size, &layer, err);
		rc = rc ? rc : vpmem_get_count(gob, dec, UINT32_MAX, "handles", &n_handles, err);
		if (rc == 0 && n_handles == 0)
			rc = LH_FAIL(err, -LH_ECORRUPT, "vpmem: %s has no handle", path);
		for (uint64_t h = 0; rc == 0 && h < n_handles; h++) {
			rc = gob->get_uint(dec, &id, err);
			rc = rc ? rc : vpmem_restore_handle(priv, layer, id, err);
		}
	}
	return rc;
}

int vpmem_decode(void *p, struct lh_gob_decoder *dec, struct lh_error *err)
{
	struct vpmem_priv *priv = p;
	const struct lh_gob_codec *gob = priv->host->gob;
	uint64_t version, n_devices, number;
	char *path = malloc(LH_PATH_CAP);
	bool multi;
	int rc;

	if (!path)
		return LH_FAIL(err, -ENOMEM, "vpmem: decode: out of memory");
	pthread_mutex_lock(&priv->lock);
	version = gob->version(dec);
	rc = 0;
	if (version > VPMEM_SERIAL_VERSION)
		rc = LH_FAIL(err, -LH_EVERSION, "vpmem: state has serial version %" PRIu64
			     ", this build reads versions up to %d", version, VPMEM_SERIAL_VERSION);
	if (rc == 0 && version == 0)
		rc = LH_FAIL(err, -LH_ECORRUPT, "vpmem: state has serial version 0");
	rc = rc ? rc : gob->get_bool(dec, &multi, err);
	if (rc == 0 && multi != priv->multi_mapping)
		rc = LH_FAIL(err, -LH_ECONFIG, "vpmem: the state was saved with multi_mapping=%s "
			     "but the plugin is configured with multi_mapping=%s",
			     multi ? "true" : "false", priv->multi_mapping ? "true" : "false");
	rc = rc ? rc : gob->get_uint(dec, &priv->next_handle, err);
	if (rc == 0 && priv->next_handle == 0)
		rc = LH_FAIL(err, -LH_ECORRUPT, "vpmem: next handle is 0");
	rc = rc ? rc : vpmem_get_count(gob, dec, (uint64_t)priv->max_devices, "devices",
				       &n_devices, err);
	for (uint64_t i = 0; rc == 0 && i < n_devices; i++) {
		rc = gob->get_uint(dec, &number, err);
		rc = rc ? rc : gob->get_string(dec, path, LH_PATH_CAP, err);
		rc = rc ? rc : vpmem_restore_device(priv, number, path, err);
	}
	rc = rc ? rc : vpmem_decode_layers(priv, dec, path, err);
	/* Single mode has no device without its layer. */
	for (uint32_t d = 0; rc == 0 && !priv->multi_mapping && d < VPMEM_MAX_DEVICES; d++)
		if (priv->devices[d].state == VPMEM_DEVICE_PRESENT && priv->devices[d].n_mappings == 0)
			rc = LH_FAIL(err, -LH_ECORRUPT, "vpmem: device %" PRIu32 " has no layer", d);
	if (rc)
		vpmem_state_clear(priv);
	for (uint32_t d = 0; d < VPMEM_MAX_DEVICES; d++)
		vpmem_room_update(priv, d);
	pthread_mutex_unlock(&priv->lock);
	free(path);
	return rc;
}

/* Copy the template's devices, layers and handles into the clone. Both
 * locks held. */
static int vpmem_clone_state(const struct vpmem_priv *priv, struct vpmem_priv *clone,
			     struct vpmem_layer **sorted, struct lh_error *err)
{
	struct vpmem_ranked_handle *handles = vpmem_sorted_handles(priv, sorted);
	size_t next = 0;
	int rc = 0;

	if (!handles)
		return LH_FAIL(err, -ENOMEM, "vpmem: clone: out of memory");
	if (clone->multi_mapping != priv->multi_mapping || clone->max_devices < priv->max_devices ||
	    clone->max_size_bytes != priv->max_size_bytes)
		rc = LH_FAIL(err, -LH_ECONFIG, "vpmem: the clone's options differ from the "
			     "template's");
	if (rc == 0)
		clone->next_handle = priv->next_handle;
	for (uint32_t d = 0; rc == 0 && d < VPMEM_MAX_DEVICES; d++)
		if (priv->devices[d].state == VPMEM_DEVICE_PRESENT)
			rc = vpmem_restore_device(clone, d, priv->devices[d].host_path, err);
	for (size_t i = 0; rc == 0 && i < priv->n_layers; i++) {
		const struct vpmem_layer *from = sorted[i];
		struct vpmem_layer *layer;

		rc = vpmem_restore_layer(clone, from->host_path, from->device, from->offset,
					 from->size, &layer, err);
		for (; rc == 0 && next < priv->handles.count && handles[next].rank == i; next++)
			rc = vpmem_restore_handle(clone, layer, handles[next].handle->id, err);
	}
	for (uint32_t d = 0; d < VPMEM_MAX_DEVICES; d++)
		vpmem_room_update(clone, d);
	free(handles);
	return rc;
}

/* Each present device into the clone's document, with its mappings. */
static int vpmem_clone_document(struct vpmem_priv *clone, struct vpmem_layer **sorted,
				size_t n_layers, struct lh_error *err)
{
	size_t first = 0;
	int rc = 0;

	for (uint32_t d = 0; rc == 0 && d < VPMEM_MAX_DEVICES; d++) {
		size_t end = first;
		char path[96];
		char *json;

		while (end < n_layers && sorted[end]->device == d)
			end++;
		if (clone->devices[d].state == VPMEM_DEVICE_PRESENT) {
			snprintf(path, sizeof(path), "VirtualMachine/Devices/VirtualPMem/Devices/%" PRIu32,
				 d);
			json = vpmem_device_document(clone, d, sorted + first, end - first);
			if (!json)
				rc = LH_FAIL(err, -ENOMEM, "vpmem: clone: out of memory");
			else
				rc = clone->host->document_add(clone->host->ctx, path, json, err);
			free(json);
		}
		first = end;
	}
	return rc;
}

int vpmem_clone(void *p, void *clone_p, const struct lh_clone_request *req, struct lh_error *err)
{
	struct vpmem_priv *priv = p;
	struct vpmem_priv *clone = clone_p;
	struct vpmem_layer **sorted;
	int rc;

	(void)req; /* every VPMem layer is read-only: nothing to copy */
	pthread_mutex_lock(&priv->lock);
	pthread_mutex_lock(&clone->lock);
	sorted = vpmem_sorted_layers(priv);
	if (!sorted) {
		rc = LH_FAIL(err, -ENOMEM, "vpmem: clone: out of memory");
		goto out;
	}
	rc = vpmem_clone_state(priv, clone, sorted, err);
	free(sorted);
	sorted = rc ? NULL : vpmem_sorted_layers(clone);
	if (rc == 0 && !sorted)
		rc = LH_FAIL(err, -ENOMEM, "vpmem: clone: out of memory");
	rc = rc ? rc : vpmem_clone_document(clone, sorted, clone->n_layers, err);
	free(sorted);
	if (rc)
		vpmem_state_clear(clone);
out:
	pthread_mutex_unlock(&clone->lock);
	pthread_mutex_unlock(&priv->lock);
	return rc;
}
