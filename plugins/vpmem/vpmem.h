/*
 * vpmem.h - private contracts of the VPMem backend.
 *
 * Every layer is a read-only fixed VHD mapped into the LCOW UVM as
 * persistent memory. Single mode gives each layer its own device; in
 * multi-mapping mode the first layer on a device creates it and later
 * layers are mappings at aligned offsets (see vpmem_alloc.h). A layer is
 * shared by host path; each attach hands out a fresh handle and the layer
 * lives while it has handles.
 *
 * Locking: priv->lock guards everything below; it is never held across
 * host->modify(). An attach or release in flight marks its layer (PENDING,
 * REMOVING) or device (CREATING) so others wait on priv->changed for its
 * outcome instead of racing it.
 */
#ifndef VPMEM_H
#define VPMEM_H

#include <layerhost/backend.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lh_map.h"
#include "vpmem_alloc.h"

#define VPMEM_MAX_DEVICES 128
#define VPMEM_PAGE_SIZE UINT64_C(4096)
#define VPMEM_MAX_MAPPINGS 1024
#define VPMEM_SERIAL_VERSION 1
/* "/run/layers/p127-4294967296-4294967296" and "p127@0x100000000" fit. */
#define VPMEM_UVM_PATH_CAP 64
#define VPMEM_LOCATION_CAP 32
#define VPMEM_DEVICE_WORDS (VPMEM_MAX_DEVICES / 64)

/* ---- state ---------------------------------------------------------------- */

enum vpmem_layer_state {
	VPMEM_LAYER_PENDING,  /* first attach in flight */
	VPMEM_LAYER_LIVE,
	VPMEM_LAYER_REMOVING, /* last release in flight */
	VPMEM_LAYER_GONE,     /* removed: only waiters still point at it */
	VPMEM_LAYER_FAILED,   /* first attach failed: waiters take `error` */
};

/* One layer file mapped into the UVM (a device in single mode). */
struct vpmem_layer {
	char *host_path;
	char uvm_path[VPMEM_UVM_PATH_CAP];
	char location[VPMEM_LOCATION_CAP];
	uint32_t device;
	uint64_t offset; /* in the device; 0 in single mode */
	uint64_t size;   /* bytes the guest maps: page-aligned data (multi), data (single) */
	uint32_t refs;   /* live handles */
	enum vpmem_layer_state state;
	uint32_t waiters; /* threads waiting on it; the last one frees a GONE/FAILED layer */
	size_t index;     /* in priv->layers while LIVE or REMOVING */
	struct lh_error error; /* FAILED: what the first attach saw */
};

/* A handle is its own object so the handle table can key on it. */
struct vpmem_handle {
	uint64_t id;
	struct vpmem_layer *layer;
};

enum vpmem_device_state {
	VPMEM_DEVICE_ABSENT = 0,
	VPMEM_DEVICE_CREATING, /* its first layer's add is in flight */
	VPMEM_DEVICE_PRESENT,
};

struct vpmem_device {
	enum vpmem_device_state state;
	/* The layer the device was created with: HCS's HostPath for it, which
	 * outlives that layer in multi mode (the device is never removed). */
	char *host_path;
	uint32_t n_mappings;       /* live and in-flight layers on it */
	struct vpmem_alloc *alloc; /* multi mode, from the first use */
};

struct vpmem_priv {
	/* Options: the host parses [plugin.vpmem] into these before open. */
	int64_t max_devices;
	uint64_t max_size_bytes;
	bool multi_mapping;

	const struct lh_host_services *host;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool sync_ready;

	uint64_t next_handle;
	uint64_t device_bytes; /* multi: usable address space of a device */
	int top_class;         /* multi: the largest region class a device holds */
	struct vpmem_device devices[VPMEM_MAX_DEVICES];
	/* Devices able to take one more layer: multi mode, room[c] has the
	 * devices with a free class-c region (or larger) and under the mapping
	 * cap; single mode, room[0] has the absent devices. */
	uint64_t room[VPMEM_ALLOC_CLASSES][VPMEM_DEVICE_WORDS];

	/* The plugins' common map (plugins/common/lh_map.h): */
	struct lh_map paths;   /* host path -> struct vpmem_layer (not GONE/FAILED) */
	struct lh_map handles; /* id -> struct vpmem_handle */
	struct vpmem_layer **layers; /* LIVE and REMOVING, for list / encode / clone */
	size_t n_layers, cap_layers;
	/* First attaches between reserving their room (a handle, a place in
	 * layers) and taking it after their request: room reserved since
	 * counts them too, or their commit could overrun what was reserved. */
	size_t attaching;
};

/* ---- state helpers (vpmem_state.c); the caller holds priv->lock --------- */

uint64_t vpmem_page_align(uint64_t size);
/* Fill layer->uvm_path and location from its device / offset / size. */
void vpmem_layer_name(const struct vpmem_priv *priv, struct vpmem_layer *layer);
/* A PENDING layer for host_path (copied), or NULL on ENOMEM. */
struct vpmem_layer *vpmem_layer_new(const char *host_path);
void vpmem_layer_free(struct vpmem_layer *layer);
struct vpmem_layer *vpmem_find_layer(struct vpmem_priv *priv, const char *host_path);
struct vpmem_handle *vpmem_find_handle(struct vpmem_priv *priv, uint64_t id);

/* Room for one more layer in the path table, layer list and handle table,
 * beyond what the attaches in flight hold, so that committing an attach
 * cannot fail: 0 or -ENOMEM. */
int vpmem_reserve_room(struct vpmem_priv *priv);
/* Room for one more handle, likewise. */
int vpmem_reserve_handle(struct vpmem_priv *priv);
/* Index a layer by host path (room reserved). */
void vpmem_index_layer(struct vpmem_priv *priv, struct vpmem_layer *layer);
/* Drop a layer from the path index and the layer list (if listed). */
void vpmem_unindex_layer(struct vpmem_priv *priv, struct vpmem_layer *layer);
/* Put a layer in the list (room reserved). */
void vpmem_list_layer(struct vpmem_priv *priv, struct vpmem_layer *layer);
/* Give layer a new handle with this id (0: the next one); room reserved,
 * `handle` preallocated by the caller and owned by the table afterwards. */
void vpmem_add_handle(struct vpmem_priv *priv, struct vpmem_layer *layer,
		      struct vpmem_handle *handle, uint64_t id);

/* The device allocator, created empty on first use: NULL on ENOMEM. */
struct vpmem_alloc *vpmem_device_alloc(struct vpmem_priv *priv, uint32_t device);
/* Recompute device's bits in priv->room after a change to it. */
void vpmem_room_update(struct vpmem_priv *priv, uint32_t device);
/* The lowest device that can take a layer of this class (multi) or any
 * free device (single), or -1. */
int vpmem_room_pick(const struct vpmem_priv *priv, int cls);

/* Free every layer, handle, device and table (close, failed decode/clone). */
void vpmem_state_clear(struct vpmem_priv *priv);

/* ---- requests (vpmem_requests.c): malloc'd compact JSON or NULL (ENOMEM) - */

/* Add layer: single mode, its device; multi mode, its mapping, also for a
 * device's first layer (create, which changes nothing on the wire). */
char *vpmem_request_add(const struct vpmem_priv *priv, const struct vpmem_layer *layer,
			bool create);
char *vpmem_request_remove(const struct vpmem_priv *priv, const struct vpmem_layer *layer);
/* The VirtualPMemDevice of a present device for a compute-system document:
 * the file it was created with; the schema has no mappings, so a
 * multi-mapped device's other layers (in `layers`) are not listed. */
char *vpmem_device_document(const struct vpmem_priv *priv, uint32_t device,
			    struct vpmem_layer *const *layers, size_t n_layers);
/* Order layers by device, then offset (list, encode, clone). */
int vpmem_layer_cmp(const void *a, const void *b);

/* ---- codec (vpmem_codec.c) ------------------------------------------------ */

int vpmem_encode(void *priv, struct lh_gob_encoder *enc, struct lh_error *err);
int vpmem_decode(void *priv, struct lh_gob_decoder *dec, struct lh_error *err);
int vpmem_clone(void *priv, void *clone_priv, const struct lh_clone_request *req,
		struct lh_error *err);

#endif
