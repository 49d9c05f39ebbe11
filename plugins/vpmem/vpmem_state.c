/* vpmem_state.c - layers, handles, devices and the room index; see vpmem.h. */
#include "vpmem.h"

#include "lh_handles.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

uint64_t vpmem_page_align(uint64_t size)
{
	return (size + VPMEM_PAGE_SIZE - 1) & ~(VPMEM_PAGE_SIZE - 1);
}

void vpmem_layer_name(const struct vpmem_priv *priv, struct vpmem_layer *layer)
{
	if (priv->multi_mapping) {
		snprintf(layer->uvm_path, sizeof(layer->uvm_path), "/run/layers/p%" PRIu32 "-%" PRIu64
			 "-%" PRIu64, layer->device, layer->offset, layer->size);
		snprintf(layer->location, sizeof(layer->location), "p%" PRIu32 "@0x%" PRIx64,
			 layer->device, layer->offset);
	} else {
		snprintf(layer->uvm_path, sizeof(layer->uvm_path), "/run/layers/p%" PRIu32,
			 layer->device);
		snprintf(layer->location, sizeof(layer->location), "p%" PRIu32, layer->device);
	}
}

struct vpmem_layer *vpmem_layer_new(const char *host_path)
{
	struct vpmem_layer *layer = calloc(1, sizeof(*layer));

	if (!layer)
		return NULL;
	layer->host_path = strdup(host_path);
	if (!layer->host_path) {
		free(layer);
		return NULL;
	}
	layer->state = VPMEM_LAYER_PENDING;
	layer->index = SIZE_MAX;
	return layer;
}

void vpmem_layer_free(struct vpmem_layer *layer)
{
	if (!layer)
		return;
	free(layer->host_path);
	free(layer);
}

struct vpmem_layer *vpmem_find_layer(struct vpmem_priv *priv, const char *host_path)
{
	return lh_map_get_str(&priv->paths, host_path);
}

struct vpmem_handle *vpmem_find_handle(struct vpmem_priv *priv, uint64_t id)
{
	return lh_map_get_u64(&priv->handles, id);
}

int vpmem_reserve_handle(struct vpmem_priv *priv)
{
	return lh_map_reserve(&priv->handles, priv->attaching + 1);
}

/* The path goes into the index at once, under the same lock hold: it
 * needs room for itself only. */
int vpmem_reserve_room(struct vpmem_priv *priv)
{
	struct vpmem_layer **layers = lh_array_grow(priv->layers, &priv->cap_layers,
						    priv->n_layers + priv->attaching + 1,
						    sizeof(*layers));
	int rc = 0;

	if (!layers) {
		rc = -ENOMEM;
		goto out;
	}
	priv->layers = layers;
	if (lh_map_reserve(&priv->paths, 1) || vpmem_reserve_handle(priv))
		rc = -ENOMEM;
out:
	return rc;
}

void vpmem_index_layer(struct vpmem_priv *priv, struct vpmem_layer *layer)
{
	(void)lh_map_put_str(&priv->paths, layer->host_path, layer); /* room reserved */
}

void vpmem_list_layer(struct vpmem_priv *priv, struct vpmem_layer *layer)
{
	layer->index = priv->n_layers;
	priv->layers[priv->n_layers++] = layer;
}

void vpmem_unindex_layer(struct vpmem_priv *priv, struct vpmem_layer *layer)
{
	/* The only layer of its path in the index: waiters keep others out. */
	lh_map_del_str(&priv->paths, layer->host_path);
	if (layer->index != SIZE_MAX) {
		struct vpmem_layer *last = priv->layers[--priv->n_layers];

		priv->layers[layer->index] = last;
		last->index = layer->index;
		layer->index = SIZE_MAX;
	}
}

void vpmem_add_handle(struct vpmem_priv *priv, struct vpmem_layer *layer,
		      struct vpmem_handle *handle, uint64_t id)
{
	handle->id = id ? id : priv->next_handle++;
	handle->layer = layer;
	(void)lh_map_put_u64(&priv->handles, handle->id, handle); /* room reserved */
	layer->refs++;
}

struct vpmem_alloc *vpmem_device_alloc(struct vpmem_priv *priv, uint32_t device)
{
	struct vpmem_device *dev = &priv->devices[device];

	if (!dev->alloc) {
		dev->alloc = malloc(sizeof(*dev->alloc));
		if (dev->alloc)
			vpmem_alloc_init(dev->alloc, priv->device_bytes);
	}
	return dev->alloc;
}

void vpmem_room_update(struct vpmem_priv *priv, uint32_t device)
{
	const struct vpmem_device *dev = &priv->devices[device];
	uint64_t bit = UINT64_C(1) << (device % 64);
	size_t word = device / 64;
	int best;

	if (!priv->multi_mapping) {
		best = dev->state == VPMEM_DEVICE_ABSENT ? 0 : -1;
	} else if (dev->n_mappings >= VPMEM_MAX_MAPPINGS) {
		best = -1;
	} else {
		best = dev->alloc ? vpmem_alloc_max_class(dev->alloc) : priv->top_class;
	}
	if ((int64_t)device >= priv->max_devices)
		best = -1;
	for (int c = 0; c < VPMEM_ALLOC_CLASSES; c++) {
		if (c <= best)
			priv->room[c][word] |= bit;
		else
			priv->room[c][word] &= ~bit;
	}
}

int vpmem_room_pick(const struct vpmem_priv *priv, int cls)
{
	for (size_t w = 0; w < VPMEM_DEVICE_WORDS; w++)
		if (priv->room[cls][w])
			return (int)(w * 64 + (size_t)__builtin_ctzll(priv->room[cls][w]));
	return -1;
}

void vpmem_state_clear(struct vpmem_priv *priv)
{
	struct vpmem_handle *handle;
	size_t cursor = 0;

	while ((handle = lh_map_next(&priv->handles, &cursor)))
		free(handle);
	lh_map_fini(&priv->handles);
	for (size_t i = 0; i < priv->n_layers; i++)
		vpmem_layer_free(priv->layers[i]);
	free(priv->layers);
	priv->layers = NULL;
	priv->n_layers = priv->cap_layers = 0;
	lh_map_fini(&priv->paths);
	for (uint32_t d = 0; d < VPMEM_MAX_DEVICES; d++) {
		free(priv->devices[d].host_path);
		free(priv->devices[d].alloc);
		memset(&priv->devices[d], 0, sizeof(priv->devices[d]));
		vpmem_room_update(priv, d);
	}
	priv->next_handle = 1;
}
