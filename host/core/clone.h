/*
 * clone.h - build a new UVM from a template host.
 *
 * Every backend with a clone slot populates a fresh instance bound to the
 * clone (read-only attachments shared, writable disks copied under the
 * clone's scratch folder) and adds its devices to the clone's
 * compute-system document. A failure, to the last write that records the
 * clone, removes everything the clone made.
 */
#ifndef LH_CLONE_H
#define LH_CLONE_H

#include "host.h"

/* A clone folder holds containers/<id>/sandbox.vhdx, a symlink to the
 * clone's copy of container <id>'s scratch disk, for each container the
 * template held: a container mounted on the clone later uses it, never the
 * template's disk. */
#define LH_CLONE_CONTAINERS_DIR "containers"
#define LH_CLONE_SCRATCH_FILE "sandbox.vhdx"

/* What records a clone once built (its state, its document): called when
 * every copy is on disk. On failure it removes what it wrote itself; the
 * clone is then undone like any other failed one. */
struct lh_clone_commit {
	int (*fn)(void *arg, struct lh_host *clone, const cJSON *document, struct lh_error *err);
	void *arg;
};

/*
 * Clone `template_host` (loaded from a template's state) as UVM `new_id`,
 * copying writable disks under `scratch_dir` (created if missing) and
 * beside it, then commit it (commit NULL: nothing to record). On success
 * *out is the clone's host (containers as in the template, handles kept,
 * host paths those of the clone's copies), the folder above scratch_dir
 * holds containers/ (see above) and *document is its compute-system
 * document (caller frees both: lh_host_close, cJSON_Delete). The clone
 * host uses `driver` (borrowed).
 */
int lh_clone_build(struct lh_host *template_host, const char *new_id, const char *scratch_dir,
		   struct lh_driver *driver, const struct lh_clone_commit *commit,
		   struct lh_host **out, cJSON **document, struct lh_error *err);

/*
 * Give the containers of a clone's configuration the clone's scratch
 * folders: each <folder of clone_state>/containers/<id> that exists
 * replaces container <id>'s scratch in cfg. Called once a state that says
 * the UVM is a clone is loaded, before anything mounts.
 */
int lh_clone_adopt_scratches(struct lh_config *cfg, const char *clone_state,
			     struct lh_error *err);

#endif
