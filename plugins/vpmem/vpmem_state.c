/* vpmem_state.c - layers, handles, devices and the room index; see vpmem.h. */
#include "vpmem.h"

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

static bool vpmem_layer_has_path(const void *value, const void *key)
{
	return strcmp(((const struct vpmem_layer *)value)->host_path, key) == 0;
}

static bool vpmem_layer_is(const void *value, const void *key)
{
	return value == key;
}

static bool vpmem_handle_has_id(const void *value, const void *key)
{
	return ((const struct vpmem_handle *)value)->id == *(const uint64_t *)key;
}

struct vpmem_layer *vpmem_find_layer(struct vpmem_priv *priv, const char *host_path)
{
	return vpmem_table_find(&priv->paths, vpmem_hash_string(host_path), host_path,
				vpmem_layer_has_path);
}

struct vpmem_handle *vpmem_find_handle(struct vpmem_priv *priv, uint64_t id)
{
	return vpmem_table_find(&priv->handles, vpmem_hash_u64(id), &id, vpmem_handle_has_id);
}

int vpmem_reserve_room(struct vpmem_priv *priv)
{
	if (priv->n_layers == priv->cap_layers) {
		size_t cap = priv->cap_layers ? priv->cap_layers * 2 : 16;
		struct vpmem_layer **grown = realloc(priv->layers, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		priv->layers = grown;
		priv->cap_layers = cap;
	}
	if (vpmem_table_reserve(&priv->paths, 1) || vpmem_table_reserve(&priv->handles, 1))
		return -ENOMEM;
	return 0;
}

void vpmem_index_layer(struct vpmem_priv *priv, struct vpmem_layer *layer)
{
	vpmem_table_insert(&priv->paths, vpmem_hash_string(layer->host_path), layer);
}

void vpmem_list_layer(struct vpmem_priv *priv, struct vpmem_layer *layer)
{
	layer->index = priv->n_layers;
	priv->layers[priv->n_layers++] = layer;
}

void vpmem_unindex_layer(struct vpmem_priv *priv, struct vpmem_layer *layer)
{
	vpmem_table_remove(&priv->paths, vpmem_hash_string(layer->host_path), layer,
			   vpmem_layer_is);
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
	vpmem_table_insert(&priv->handles, vpmem_hash_u64(handle->id), handle);
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
	for (size_t i = 0; i < priv->handles.cap; i++)
		free(vpmem_table_at(&priv->handles, i));
	vpmem_table_free(&priv->handles);
	for (size_t i = 0; i < priv->n_layers; i++)
		vpmem_layer_free(priv->layers[i]);
	free(priv->layers);
	priv->layers = NULL;
	priv->n_layers = priv->cap_layers = 0;
	vpmem_table_free(&priv->paths);
	for (uint32_t d = 0; d < VPMEM_MAX_DEVICES; d++) {
		free(priv->devices[d].host_path);
		free(priv->devices[d].alloc);
		memset(&priv->devices[d], 0, sizeof(priv->devices[d]));
		vpmem_room_update(priv, d);
	}
	priv->next_handle = 1;
}
