/*
 * pipeline.h - mount a container's layers through the backends by role,
 * and release them.
 *
 * LCOW (Linux UVM): each layer's layer.vhd goes to the first backend of the
 * lcow.layers chain that takes it (a backend's -LH_ENOLOCATION or
 * -LH_ETOOLARGE moves to the next; any other error stops), the scratch
 * sandbox.vhdx (a symlink means a shared scratch) is attached writable
 * through lcow.scratch, then a CombinedLayers guest request builds
 * <guest root>/rootfs.
 * WCOW (Windows UVM): each layer folder becomes a share (wcow.layers), the
 * scratch sandbox.vhdx is attached at the guest root (wcow.scratch), then a
 * CombinedLayers request lists each share with its layer id.
 * Host (no UVM): the `host` role backend mounts the whole stack.
 *
 * A failure part way releases what the call attached, in reverse order, so
 * the UVM is as it was. Every function here is safe to call from several
 * threads on one host.
 */
#ifndef LH_PIPELINE_H
#define LH_PIPELINE_H

#include "host.h"

enum lh_container_kind {
	LH_KIND_LCOW = 1,
	LH_KIND_WCOW = 2,
	LH_KIND_HOST = 3,
};

/* One attachment a container holds. */
struct lh_attached {
	char *backend;   /* instance name; NULL: nothing held */
	uint64_t handle;
	char *host_path;
	char *uvm_path;  /* where the guest (or, host mode, the host) sees it */
	char *location;  /* the backend's placement string */
};

struct lh_mounted {
	char *id;
	enum lh_container_kind kind;
	char *rootfs;       /* guest path (LCOW/WCOW) or host mount path */
	char *scratch_path; /* the container's scratch in the UVM, or host scratch folder */
	struct lh_attached *layers; /* base first */
	size_t n_layers;
	struct lh_attached scratch;
	bool combined;      /* the combined-layers request is in place */
	bool busy;          /* a mount or unmount of it is under way */
};

struct lh_pipeline_state {
	pthread_mutex_t lock;
	struct lh_mounted **containers;
	size_t n;
	size_t cap;
};

int lh_pipeline_state_new(struct lh_pipeline_state **out, struct lh_error *err);
/* Frees the records (releases nothing). NULL-safe. */
void lh_pipeline_state_free(struct lh_pipeline_state *state);

/* Which pipeline a container takes on this host. */
enum lh_container_kind lh_pipeline_kind(const struct lh_host *host);
const char *lh_kind_name(enum lh_container_kind kind);

/*
 * Check a container's folders and id before any request: at least one
 * layer and a scratch folder, each holding the file its pipeline needs; a
 * valid id not mounted already.
 */
int lh_pipeline_validate(struct lh_host *host, const struct lh_container_config *c,
			 struct lh_error *err);

/* Mount c; on success the record is kept in the host (lh_pipeline_find). */
int lh_pipeline_mount(struct lh_host *host, const struct lh_container_config *c,
		      struct lh_error *err);

/*
 * Release container `id`: the combined layers, then the scratch, then the
 * layers top first. Every step is tried; the first error is returned. A
 * step that failed stays in the record so a later unmount can retry it;
 * the record goes when nothing is left.
 */
int lh_pipeline_unmount(struct lh_host *host, const char *id, struct lh_error *err);

/* The record of a mounted container (not busy), or NULL. The pointer is
 * valid until that container is unmounted. */
const struct lh_mounted *lh_pipeline_find(struct lh_host *host, const char *id);

/* Add a fully built record (state restore). Takes ownership. */
int lh_pipeline_adopt(struct lh_host *host, struct lh_mounted *m, struct lh_error *err);
void lh_mounted_free(struct lh_mounted *m);

/* A stable layer id (UUID text) for a WCOW layer folder: the contents of
 * its `layerid` file if present, else a name-based UUID of its base name. */
int lh_wcow_layer_id(const char *folder, char out[37], struct lh_error *err);

#endif
