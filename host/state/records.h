/*
 * records.h - what the state records of each mounted container: its id,
 * pipeline kind, paths, and every attachment it holds (which backend, the
 * handle, where it went). The pipelines keep these records; the state
 * writes and reads them.
 */
#ifndef LH_RECORDS_H
#define LH_RECORDS_H

#include <layerhost/backend.h>

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
	/* The host file's identity, once looked up (file_ino 0: not yet):
	 * checks that must see through names compare these instead of
	 * stat-ing every record's path on every mount. Not saved; whoever
	 * changes host_path zeroes file_ino. */
	uint64_t file_dev, file_ino;
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

/* Free an attachment record's strings and zero it. */
void lh_attached_clear(struct lh_attached *a);

/* Frees the record and its strings. NULL-safe. */
void lh_mounted_free(struct lh_mounted *m);

const char *lh_kind_name(enum lh_container_kind kind);

/* Whether s is a valid container id (also used for UVM ids and template
 * names): [A-Za-z0-9][A-Za-z0-9_.-]{0,127}. */
bool lh_container_id_valid(const char *s);

#endif
