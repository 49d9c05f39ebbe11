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
#include "records.h"

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

/* How many containers the host holds (mounted, or part way). */
size_t lh_pipeline_count(struct lh_host *host);

/* Call fn with every record, held still under the records' lock (state
 * save, clone): fn must not call back into the pipeline. Returns fn's. */
int lh_pipeline_with_records(struct lh_host *host,
			     int (*fn)(void *arg, struct lh_mounted *const *records, size_t n),
			     void *arg);

/* The ids of every record, newest last (*ids and each id the caller's). */
int lh_pipeline_ids(struct lh_host *host, char ***ids, size_t *n, struct lh_error *err);

/* A records set holding records[0..n) (a state restore): on success it
 * owns them, the array stays the caller's. */
int lh_pipeline_state_from(struct lh_mounted **records, size_t n,
			   struct lh_pipeline_state **out, struct lh_error *err);

/* Exchange the host's records for *records (the old ones come back).
 * The host must not be mounting or unmounting meanwhile. */
void lh_pipeline_swap_records(struct lh_host *host, struct lh_pipeline_state **records);

/* Add a fully built record (state restore). Takes ownership. */
int lh_pipeline_adopt(struct lh_host *host, struct lh_mounted *m, struct lh_error *err);

/* A stable layer id (UUID text) for a WCOW layer folder: the contents of
 * its `layerid` file if present, else a name-based UUID of its base name. */
int lh_wcow_layer_id(const char *folder, char out[37], struct lh_error *err);

#endif
