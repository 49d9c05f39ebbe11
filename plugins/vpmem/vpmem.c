/*
 * vpmem.c - the VPMem backend: ops table, options, attach / release / list.
 *
 * The LCOW pipeline tries VPMem first and falls back to SCSI on exactly
 * -LH_ENOLOCATION (no device or region free, or a physically backed UVM)
 * and -LH_ETOOLARGE (layer above max_size_bytes); every other failure is
 * real and stops the pipeline.
 */
#include "vpmem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static const struct lh_option vpmem_options[] = {
	{
		.name = "max_devices",
		.type = LH_OPT_INT,
		.offset = offsetof(struct vpmem_priv, max_devices),
		.min = 1,
		.max = VPMEM_MAX_DEVICES,
		.default_value = "64",
		.help = "VPMem devices of the UVM (hcsshim VPMemDeviceCount, at most 128)",
	},
	{
		.name = "max_size_bytes",
		.type = LH_OPT_SIZE,
		.offset = offsetof(struct vpmem_priv, max_size_bytes),
		.min = 4096,
		.max = INT64_MAX,
		.default_value = "4G",
		.help = "size of a VPMem device and of the largest layer, a multiple of 4096 "
			"(hcsshim VPMemSizeBytes)",
	},
	{
		.name = "multi_mapping",
		.type = LH_OPT_BOOL,
		.offset = offsetof(struct vpmem_priv, multi_mapping),
		.default_value = "true",
		.help = "pack several layers into one device at aligned offsets",
	},
	{ .name = NULL },
};

static int vpmem_open(void *p, const struct lh_host_services *host, struct lh_error *err)
{
	struct vpmem_priv *priv = p;
	int rc = 0;

	/* The blob carries no version of its own: the host must tell it. */
	if (!lh_services_tell_version(host))
		return LH_FAIL(err, -LH_EVERSION, "vpmem: the host's services are older than "
			       "ABI v2 (no serial version for decode)");
	/* hcsshim refuses a device size that is not whole pages. */
	if (priv->max_size_bytes % VPMEM_PAGE_SIZE != 0)
		return LH_FAIL(err, -LH_ECONFIG, "vpmem: max_size_bytes %" PRIu64
			       " is not a multiple of 4096", priv->max_size_bytes);
	if (priv->multi_mapping) {
		priv->device_bytes = priv->max_size_bytes < VPMEM_ALLOC_SPACE ?
					     priv->max_size_bytes : VPMEM_ALLOC_SPACE;
		priv->device_bytes -= priv->device_bytes % VPMEM_ALLOC_MIN_REGION;
		if (priv->device_bytes == 0)
			return LH_FAIL(err, -LH_ECONFIG, "vpmem: multi_mapping needs max_size_bytes of "
				       "at least 1M (the smallest region), not %" PRIu64,
				       priv->max_size_bytes);
		priv->top_class = VPMEM_ALLOC_CLASSES - 1;
		while (vpmem_alloc_class_size(priv->top_class) > priv->device_bytes)
			priv->top_class--;
	}
	lh_map_init(&priv->paths, LH_MAP_STRING, NULL);
	lh_map_init(&priv->handles, LH_MAP_U64, NULL);
	rc = -pthread_mutex_init(&priv->lock, NULL);
	if (rc)
		return LH_FAIL(err, rc, "vpmem: cannot create a mutex");
	rc = -pthread_cond_init(&priv->changed, NULL);
	if (rc) {
		pthread_mutex_destroy(&priv->lock);
		return LH_FAIL(err, rc, "vpmem: cannot create a condition variable");
	}
	priv->sync_ready = true;
	priv->host = host;
	vpmem_state_clear(priv);
	return 0;
}

static void vpmem_close(void *p)
{
	struct vpmem_priv *priv = p;

	vpmem_state_clear(priv);
	if (priv->sync_ready) {
		pthread_cond_destroy(&priv->changed);
		pthread_mutex_destroy(&priv->lock);
		priv->sync_ready = false;
	}
}

static void vpmem_fill_result(const struct vpmem_layer *layer, uint64_t handle, bool shared,
			      struct lh_attach_result *out)
{
	out->handle = handle;
	out->shared = shared;
	snprintf(out->uvm_path, sizeof(out->uvm_path), "%s", layer->uvm_path);
	snprintf(out->location, sizeof(out->location), "%s", layer->location);
	out->controller = -1;
	out->lun = -1;
	out->device = (int)layer->device;
	out->offset = layer->offset;
	out->size = layer->size;
}

/* Another handle on a live layer. Lock held. */
static int vpmem_share(struct vpmem_priv *priv, struct vpmem_layer *layer,
		       struct lh_attach_result *out, struct lh_error *err)
{
	struct vpmem_handle *handle = malloc(sizeof(*handle));

	if (!handle || vpmem_reserve_handle(priv)) {
		free(handle);
		return LH_FAIL(err, -ENOMEM, "vpmem: %s: out of memory", layer->host_path);
	}
	vpmem_add_handle(priv, layer, handle, 0);
	vpmem_fill_result(layer, handle->id, true, out);
	return 0;
}

/*
 * Pick the device (and region) for a new layer of `size` bytes, class cls,
 * and claim it: the region is taken, the device counts the layer and, if it
 * did not exist, is CREATING with *create set. Lock held; waits while the
 * chosen device is being created by another attach.
 */
static int vpmem_place(struct vpmem_priv *priv, struct vpmem_layer *layer, uint64_t size,
		       int cls, bool *create, struct lh_error *err)
{
	struct vpmem_device *dev;
	uint64_t offset = 0;
	int d;

	for (;;) {
		d = vpmem_room_pick(priv, cls);
		if (d < 0) {
			if (priv->multi_mapping)
				return LH_FAIL(err, -LH_ENOLOCATION, "vpmem: %s: none of %" PRId64
					       " devices has a free region for %" PRIu64 " bytes "
					       "(or room for another of %d mappings)",
					       layer->host_path, priv->max_devices, size,
					       VPMEM_MAX_MAPPINGS);
			return LH_FAIL(err, -LH_ENOLOCATION, "vpmem: %s: all %" PRId64
				       " devices are in use", layer->host_path, priv->max_devices);
		}
		dev = &priv->devices[d];
		if (dev->state != VPMEM_DEVICE_CREATING)
			break;
		pthread_cond_wait(&priv->changed, &priv->lock);
	}
	if (priv->multi_mapping) {
		struct vpmem_alloc *alloc = vpmem_device_alloc(priv, (uint32_t)d);

		if (!alloc)
			return LH_FAIL(err, -ENOMEM, "vpmem: %s: out of memory", layer->host_path);
		if (vpmem_alloc_take(alloc, size, &offset))
			return LH_FAIL(err, -LH_ENOLOCATION, "vpmem: %s: device %d has no region for "
				       "%" PRIu64 " bytes", layer->host_path, d, size);
	}
	*create = dev->state == VPMEM_DEVICE_ABSENT;
	if (*create)
		dev->state = VPMEM_DEVICE_CREATING;
	dev->n_mappings++;
	layer->device = (uint32_t)d;
	layer->offset = offset;
	layer->size = size;
	vpmem_layer_name(priv, layer);
	vpmem_room_update(priv, (uint32_t)d);
	return 0;
}

/* Undo vpmem_place. Lock held. */
static void vpmem_unplace(struct vpmem_priv *priv, struct vpmem_layer *layer, bool create)
{
	struct vpmem_device *dev = &priv->devices[layer->device];

	if (priv->multi_mapping)
		vpmem_alloc_free(dev->alloc, layer->offset, layer->size);
	dev->n_mappings--;
	if (create) {
		dev->state = VPMEM_DEVICE_ABSENT;
		free(dev->host_path);
		dev->host_path = NULL;
	}
	vpmem_room_update(priv, layer->device);
}

static const char *vpmem_format_name(enum lh_disk_format format)
{
	switch (format) {
	case LH_DISK_VHD_FIXED: return "a fixed VHD";
	case LH_DISK_VHD_DYNAMIC: return "a dynamic VHD";
	case LH_DISK_VHDX: return "a VHDX";
	case LH_DISK_BLOCK_DEVICE: return "a block device";
	default: return "not a known disk";
	}
}

/* Check the layer file: its mapping size (*size) and region class (*cls). */
static int vpmem_measure(struct vpmem_priv *priv, const char *path, uint64_t *size, int *cls,
			 struct lh_error *err)
{
	struct lh_disk_info info;
	int rc = priv->host->probe_disk(priv->host->ctx, path, &info, err);

	if (rc)
		return rc;
	if (info.format != LH_DISK_VHD_FIXED)
		return LH_FAIL(err, -LH_EBADDISK, "vpmem: %s is %s; VPMem maps fixed VHDs only",
			       path, vpmem_format_name(info.format));
	if (info.data_size == 0)
		return LH_FAIL(err, -LH_EBADDISK, "vpmem: %s holds no data", path);
	if (info.data_size > priv->max_size_bytes)
		return LH_FAIL(err, -LH_ETOOLARGE, "vpmem: %s: %" PRIu64 " bytes of data exceed "
			       "max_size_bytes %" PRIu64, path, info.data_size, priv->max_size_bytes);
	*size = info.data_size;
	*cls = 0;
	if (priv->multi_mapping) {
		/* hcsshim maps the whole file (its dm-verity hash tree may sit
		 * after the ext4 data; the footer comes along) in whole pages,
		 * and names the mount after that size; the region is a whole
		 * class. */
		*size = vpmem_page_align(info.file_size);
		*cls = vpmem_alloc_class(*size);
		if (*cls < 0 || *cls > priv->top_class)
			return LH_FAIL(err, -LH_ETOOLARGE, "vpmem: %s: %" PRIu64 " bytes need a "
				       "region larger than a %" PRIu64 "-byte device", path, *size,
				       priv->device_bytes);
	}
	return 0;
}

/* First attach of a layer, which the caller indexed as PENDING. */
static int vpmem_attach_new(struct vpmem_priv *priv, struct vpmem_layer *layer,
			    struct lh_attach_result *out, struct lh_error *err)
{
	struct vpmem_handle *handle = malloc(sizeof(*handle));
	char *device_path = strdup(layer->host_path);
	char *json = NULL;
	bool create = false, placed = false;
	uint64_t size = 0;
	int cls = 0;
	int rc;

	if (!handle || !device_path) {
		rc = LH_FAIL(err, -ENOMEM, "vpmem: %s: out of memory", layer->host_path);
		goto fail;
	}
	rc = vpmem_measure(priv, layer->host_path, &size, &cls, err);
	if (rc)
		goto fail;

	pthread_mutex_lock(&priv->lock);
	rc = vpmem_place(priv, layer, size, cls, &create, err);
	if (rc == 0 && create) {
		priv->devices[layer->device].host_path = device_path;
		device_path = NULL;
	}
	pthread_mutex_unlock(&priv->lock);
	if (rc)
		goto fail;
	placed = true;

	json = vpmem_request_add(priv, layer, create);
	if (!json)
		rc = LH_FAIL(err, -ENOMEM, "vpmem: %s: out of memory", layer->host_path);
	else
		rc = priv->host->modify(priv->host->ctx, json, err);
	if (rc)
		goto fail;

	/* Room was reserved before the request: nothing below can fail, so a
	 * successful add never needs undoing. */
	pthread_mutex_lock(&priv->lock);
	priv->attaching--;
	priv->devices[layer->device].state = VPMEM_DEVICE_PRESENT;
	layer->state = VPMEM_LAYER_LIVE;
	vpmem_list_layer(priv, layer);
	vpmem_add_handle(priv, layer, handle, 0);
	vpmem_fill_result(layer, handle->id, false, out);
	pthread_cond_broadcast(&priv->changed);
	pthread_mutex_unlock(&priv->lock);
	free(json);
	free(device_path);
	return 0;

fail:
	pthread_mutex_lock(&priv->lock);
	priv->attaching--;
	if (placed)
		vpmem_unplace(priv, layer, create);
	vpmem_unindex_layer(priv, layer);
	layer->state = VPMEM_LAYER_FAILED;
	if (err)
		layer->error = *err;
	layer->error.code = rc;
	if (layer->waiters == 0)
		vpmem_layer_free(layer);
	pthread_cond_broadcast(&priv->changed);
	pthread_mutex_unlock(&priv->lock);
	free(json);
	free(device_path);
	free(handle);
	return rc;
}

static int vpmem_attach(void *p, const struct lh_attach_request *req,
			struct lh_attach_result *out, struct lh_error *err)
{
	struct vpmem_priv *priv = p;
	const struct lh_uvm_info *uvm = priv->host->uvm(priv->host->ctx);
	struct vpmem_layer *layer;
	int rc = 0;

	if (!req || !out || !req->host_path || !req->host_path[0])
		return LH_FAIL(err, -EINVAL, "vpmem: attach needs a host path");
	if (!(req->flags & LH_ATTACH_READ_ONLY))
		return LH_FAIL(err, -EINVAL, "vpmem: %s: VPMem maps read-only layers only; attach "
			       "it read-only or use scsi", req->host_path);
	if (strlen(req->host_path) >= LH_PATH_CAP)
		return LH_FAIL(err, -ENAMETOOLONG, "vpmem: %.64s...: path too long", req->host_path);
	if (uvm->os != LH_OS_LINUX)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "vpmem: %s: VPMem serves Linux UVMs only",
			       req->host_path);
	if (uvm->physically_backed)
		return LH_FAIL(err, -LH_ENOLOCATION, "vpmem: %s: VPMem is not available on a "
			       "physically backed UVM", req->host_path);

	pthread_mutex_lock(&priv->lock);
	for (;;) {
		layer = vpmem_find_layer(priv, req->host_path);
		if (!layer || layer->state == VPMEM_LAYER_LIVE)
			break;
		/* An attach or the last release of this layer is in flight:
		 * take its outcome rather than racing it. */
		layer->waiters++;
		while (layer->state == VPMEM_LAYER_PENDING || layer->state == VPMEM_LAYER_REMOVING)
			pthread_cond_wait(&priv->changed, &priv->lock);
		layer->waiters--;
		if (layer->state == VPMEM_LAYER_FAILED) {
			rc = lh_error_set(err, layer->error.code, layer->error.func, "%s",
					  layer->error.message);
			if (layer->waiters == 0)
				vpmem_layer_free(layer);
			goto out;
		}
		if (layer->state == VPMEM_LAYER_GONE && layer->waiters == 0)
			vpmem_layer_free(layer);
	}
	if (layer) {
		rc = vpmem_share(priv, layer, out, err);
		goto out;
	}
	layer = vpmem_layer_new(req->host_path);
	if (!layer || vpmem_reserve_room(priv)) {
		vpmem_layer_free(layer);
		rc = LH_FAIL(err, -ENOMEM, "vpmem: %s: out of memory", req->host_path);
		goto out;
	}
	vpmem_index_layer(priv, layer);
	priv->attaching++; /* until vpmem_attach_new commits or fails */
	pthread_mutex_unlock(&priv->lock);
	return vpmem_attach_new(priv, layer, out, err);
out:
	pthread_mutex_unlock(&priv->lock);
	return rc;
}

static int vpmem_release(void *p, uint64_t id, struct lh_error *err)
{
	struct vpmem_priv *priv = p;
	struct vpmem_handle *handle;
	struct vpmem_layer *layer;
	struct vpmem_device *dev;
	char *json;
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	handle = vpmem_find_handle(priv, id);
	if (!handle) {
		rc = LH_FAIL(err, -LH_ENOTATTACHED, "vpmem: handle %" PRIu64 " is not attached", id);
		goto out;
	}
	layer = handle->layer;
	if (layer->state == VPMEM_LAYER_REMOVING) {
		/* Its only handle is being released by another thread. */
		rc = LH_FAIL(err, -LH_ENOTATTACHED, "vpmem: handle %" PRIu64 " is being released", id);
		goto out;
	}
	if (layer->refs > 1) {
		lh_map_del_u64(&priv->handles, id);
		layer->refs--;
		free(handle);
		goto out;
	}
	/* The handle stays valid (and saved by encode) until the layer is gone. */
	layer->state = VPMEM_LAYER_REMOVING;
	pthread_mutex_unlock(&priv->lock);

	json = vpmem_request_remove(priv, layer);
	if (!json)
		rc = LH_FAIL(err, -ENOMEM, "vpmem: %s: out of memory", layer->host_path);
	else
		rc = priv->host->modify(priv->host->ctx, json, err);
	free(json);

	pthread_mutex_lock(&priv->lock);
	if (rc) {
		layer->state = VPMEM_LAYER_LIVE;
		goto wake;
	}
	lh_map_del_u64(&priv->handles, id);
	free(handle);
	layer->refs = 0;
	dev = &priv->devices[layer->device];
	vpmem_unindex_layer(priv, layer);
	dev->n_mappings--;
	if (priv->multi_mapping) {
		/* The region is free for the next layer; the device stays. */
		vpmem_alloc_free(dev->alloc, layer->offset, layer->size);
	} else {
		dev->state = VPMEM_DEVICE_ABSENT;
		free(dev->host_path);
		dev->host_path = NULL;
	}
	vpmem_room_update(priv, layer->device);
	layer->state = VPMEM_LAYER_GONE;
	if (layer->waiters == 0)
		vpmem_layer_free(layer);
wake:
	pthread_cond_broadcast(&priv->changed);
out:
	pthread_mutex_unlock(&priv->lock);
	return rc;
}

int vpmem_layer_cmp(const void *a, const void *b)
{
	const struct vpmem_layer *x = *(struct vpmem_layer *const *)a;
	const struct vpmem_layer *y = *(struct vpmem_layer *const *)b;

	if (x->device != y->device)
		return x->device < y->device ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* A multi-mapped device outlives its last mapping: list says so. */
static int vpmem_list_kept(const struct vpmem_priv *priv, uint32_t d, lh_visit_fn fn, void *arg)
{
	const struct vpmem_device *dev = &priv->devices[d];
	struct lh_attachment_info info;
	char location[VPMEM_LOCATION_CAP];

	if (dev->state != VPMEM_DEVICE_PRESENT || dev->n_mappings != 0)
		return 0;
	snprintf(location, sizeof(location), "p%" PRIu32, d);
	info = (struct lh_attachment_info){
		.host_path = dev->host_path,
		.uvm_path = "",
		.location = location,
		.refs = 0,
		.read_only = true,
		.note = "kept: a multi-mapped VPMem device is never removed (hcsshim #1456)",
	};
	return fn(arg, &info);
}

static int vpmem_list(void *p, lh_visit_fn fn, void *arg)
{
	struct vpmem_priv *priv = p;
	struct vpmem_layer **sorted = NULL;
	size_t next = 0;
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	if (priv->n_layers) {
		sorted = malloc(priv->n_layers * sizeof(*sorted));
		if (!sorted) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(sorted, priv->layers, priv->n_layers * sizeof(*sorted));
		qsort(sorted, priv->n_layers, sizeof(*sorted), vpmem_layer_cmp);
	}
	for (uint32_t d = 0; rc == 0 && d < VPMEM_MAX_DEVICES; d++) {
		rc = vpmem_list_kept(priv, d, fn, arg);
		for (; rc == 0 && next < priv->n_layers && sorted[next]->device == d; next++) {
			const struct vpmem_layer *layer = sorted[next];
			struct lh_attachment_info info = {
				.host_path = layer->host_path,
				.uvm_path = layer->uvm_path,
				.location = layer->location,
				.refs = layer->refs,
				.read_only = true,
				.note = layer->state == VPMEM_LAYER_REMOVING ? "being removed" : NULL,
			};

			rc = fn(arg, &info);
		}
	}
out:
	pthread_mutex_unlock(&priv->lock);
	free(sorted);
	return rc;
}

/* The VM holds the persistent-memory devices this backend plugs layers
 * into, each able to hold the largest layer it takes. */
static void vpmem_vm_needs(void *p, struct lh_vm_needs *needs)
{
	const struct vpmem_priv *priv = p;

	needs->pmem_devices = (uint32_t)priv->max_devices;
	needs->pmem_max_bytes = priv->max_size_bytes;
	needs->pmem_multi_mapping = priv->multi_mapping;
}

LH_BACKEND_EXPORT const struct lh_backend *layerhost_backend_entry(void);

LH_BACKEND_EXPORT const struct lh_backend *layerhost_backend_entry(void)
{
	static const struct lh_backend vpmem_backend = {
		.abi_version = LH_BACKEND_ABI_VERSION,
		.struct_size = sizeof(struct lh_backend),
		.name = "vpmem",
		.priv_size = sizeof(struct vpmem_priv),
		.options = vpmem_options,
		.serial_version = VPMEM_SERIAL_VERSION,
		.open = vpmem_open,       /* v1 */
		.attach = vpmem_attach,   /* v1 */
		.release = vpmem_release, /* v1 */
		.encode = vpmem_encode,   /* v1 */
		.decode = vpmem_decode,   /* v1 */
		.clone = vpmem_clone,     /* v1 */
		.list = vpmem_list,       /* v1 */
		.close = vpmem_close,     /* v1 */
		.result_size = sizeof(struct lh_attach_result), /* v2 */
		.option_size = sizeof(struct lh_option),        /* v2 */
		.vm_needs = vpmem_vm_needs,                     /* v2 */
		.roles = LH_ROLE_LCOW_LAYERS, /* v2 */
	};

	return &vpmem_backend;
}
