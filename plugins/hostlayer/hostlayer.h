/*
 * hostlayer.h - private to the hostlayer plugin: the state it keeps and the
 * contracts between its files.
 *
 *   hostlayer.c  ops table, attach / release / list, containers and handles
 *   layers.c     shared layer.vhd mounts and the run-root directories
 *   mount.c      loop devices, ext4 and overlay mounts, directories, checks
 *   mountinfo.c  the mount table, and the identity of the mounts we made
 *   ownership.c  what this instance may use: its run root, its scratch folders
 *   retry.c      the transient-failure retry loop
 *   codec.c      encode / decode of the state
 *
 * Its maps, handle lists and object lists are the plugins' common ones
 * (plugins/common).
 */
#ifndef HOSTLAYER_H
#define HOSTLAYER_H

#include <layerhost/backend.h>

#include "lh_handles.h"
#include "lh_map.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define HOSTLAYER_SERIAL_VERSION 2
#define HOSTLAYER_RUN_ROOT_MAX 1024
#define HOSTLAYER_ID_MAX 128            /* container id length, without the NUL */
#define HOSTLAYER_MAX_LAYERS 500        /* overlay's own limit on lower layers */
#define HOSTLAYER_RETRY_ATTEMPTS 5
#define HOSTLAYER_RETRY_DELAY_MS 50

/* ---- retry.c ----------------------------------------------------------- */

typedef int (*hostlayer_op_fn)(void *arg, struct lh_error *err);

/*
 * Run op until it succeeds, fails with something other than -EBUSY /
 * -EAGAIN, or has run `attempts` times, sleeping delay_ms between runs.
 * Only the last attempt's error reaches `err` (prefixed by `what` and the
 * number of attempts when more than one was made). Returns op's last code.
 */
int hostlayer_retry(const char *what, hostlayer_op_fn op, void *arg, unsigned attempts,
		    unsigned delay_ms, struct lh_error *err);

/* ---- mountinfo.c --------------------------------------------------------- */

/* One line of /proc/self/mountinfo, unescaped; valid during the visit. */
struct hostlayer_mount_entry {
	uint64_t id;           /* the mount id */
	uint32_t major, minor; /* the mounted filesystem's device */
	char *target;          /* the mount point */
	char *fstype, *source;
	char *options;         /* the filesystem's own options, still escaped */
};

typedef int (*hostlayer_mount_visit_fn)(void *arg, const struct hostlayer_mount_entry *m);
/* Visit every mount of this process's namespace, earliest first (at one
 * mount point the last visited is on top). Returns 0, the first non-zero
 * return of fn, or -errno with err set when the table cannot be read. */
int hostlayer_mounts_visit(hostlayer_mount_visit_fn fn, void *arg, struct lh_error *err);

/* The value of option `name` in a mount's options, unescaped into out
 * (cap bytes); false when absent or longer. */
bool hostlayer_mount_option(const char *options, const char *name, char *out, size_t cap);

/* What the mount table said of a mount right after we made it. A mount id
 * may be reused once its mount is gone, so the device and the filesystem
 * type are compared too. id 0: recorded by a state of serial version 1,
 * which knew only the path; the type is all that can be compared then. */
struct hostlayer_mount_id {
	uint64_t id;
	uint32_t major, minor;
};

/* The identity of the topmost mount at target, which must be of fstype
 * (one we have just made); -ENOENT when there is none. */
int hostlayer_mount_identify(const char *target, const char *fstype,
			     struct hostlayer_mount_id *out, struct lh_error *err);

enum hostlayer_mount_place {
	HOSTLAYER_MOUNT_ABSENT,  /* ours is gone (unmounted by someone else) */
	HOSTLAYER_MOUNT_ON_TOP,  /* ours is what target names */
	HOSTLAYER_MOUNT_COVERED, /* ours is there, under someone else's */
};

/* Where the mount (fstype, id) is at target. */
int hostlayer_mount_where(const char *target, const char *fstype,
			  const struct hostlayer_mount_id *id, enum hostlayer_mount_place *out,
			  struct lh_error *err);

/* ---- state --------------------------------------------------------------- */

enum hostlayer_state {
	HOSTLAYER_PENDING = 0, /* being mounted by another thread: wait on priv->cond */
	HOSTLAYER_READY,
	HOSTLAYER_FAILED,      /* kept only until its waiters have read the error */
	HOSTLAYER_RELEASING,   /* being unmounted: wait, then look again */
	HOSTLAYER_GONE,        /* unmounted: the last waiter frees it */
};

/* One layer.vhd attached to a loop device and mounted read-only, shared by
 * every container that uses it. */
struct hostlayer_layer {
	char key[64];                 /* "<dev>-<ino>" of the vhd, hex; names the mount dir */
	char vhd[LH_PATH_CAP];
	char mount_dir[LH_PATH_CAP];  /* <run_root>/layers/<key> */
	char created_top[LH_PATH_CAP];/* topmost directory we created for it, or "" */
	uint64_t dev, ino;            /* the vhd's identity: what the loop device must back */
	uint32_t loop;                /* /dev/loop<loop> */
	uint32_t refs;                /* container folders that use it */
	bool mounted;                 /* false: unmounted by a release that failed later on */
	struct hostlayer_mount_id mnt;
	enum hostlayer_state state;
	struct lh_error fail;
	uint32_t waiters;
	uint32_t encode_refs;         /* encode: references from the containers written */
	uint32_t encode_index;        /* encode: position in the blob */
	struct hostlayer_layer *prev, *next;
};

/* One folder of a container's stack: an unpacked directory or a layer mount. */
struct hostlayer_lower {
	char *folder;                 /* as the caller named it */
	char *path;                   /* what overlay gets: the mount dir or realpath(folder/layer) */
	struct hostlayer_layer *layer;/* NULL for an unpacked directory */
};

struct hostlayer_container {
	char id[HOSTLAYER_ID_MAX + 1];
	char mount_path[LH_PATH_CAP];
	char scratch[LH_PATH_CAP];
	char created_top[LH_PATH_CAP]; /* topmost directory created for the mount path, or "" */
	/* false once its overlay is unmounted: a release that failed part
	 * way keeps the container (and its handle) until a retry finishes */
	bool mounted;
	struct hostlayer_mount_id overlay;
	struct hostlayer_lower *lowers;/* base first; layer NULL once released */
	size_t n_lowers;
	struct lh_handles handles;     /* live handles, oldest first; refs = handles.n */
	enum hostlayer_state state;
	struct lh_error fail;
	uint32_t waiters;
	struct hostlayer_container *prev, *next;
};

struct hostlayer_priv {
	/* option, parsed by the host before open */
	char run_root[HOSTLAYER_RUN_ROOT_MAX];

	const struct lh_host_services *host;
	bool locks_ready;
	pthread_mutex_t lock;   /* everything below */
	pthread_cond_t cond;    /* a pending layer or container settled */
	pthread_mutex_t dir_lock; /* creating / removing the shared run-root directories */

	uint64_t next_handle;
	struct lh_map handles;    /* handle -> container (LH_MAP_U64) */
	struct lh_map containers; /* id -> container, READY or PENDING (LH_MAP_STRING) */
	struct lh_map layers;     /* key -> layer, READY or PENDING (LH_MAP_STRING) */
	/* creation order, for list and encode */
	struct hostlayer_layer *layer_head, *layer_tail;
	struct hostlayer_container *cont_head, *cont_tail;
	/* topmost directory of <run_root>/layers this instance created, or "" */
	char run_created_top[LH_PATH_CAP];
};

/* ---- layers.c ------------------------------------------------------------ */

void hostlayer_layer_unlink(struct hostlayer_priv *p, struct hostlayer_layer *layer);
/* Make path (mode) below the run root, creating the run root first when
 * missing; created_top (LH_PATH_CAP bytes) as for hostlayer_mkdirs. */
int hostlayer_make_dir(struct hostlayer_priv *p, const char *path, mode_t mode,
		       char *created_top, struct lh_error *err);
/* Remove what hostlayer_make_dir made for path, then the run root's shared
 * directories if they are empty and ours. */
int hostlayer_remove_dir(struct hostlayer_priv *p, const char *path, const char *created_top,
			 struct lh_error *err);
/* Take a reference on the mount of vhd (identity st, data_size bytes of
 * ext4 before the footer), mounting it if this instance has not. Waits
 * for a mount or unmount of the same file in flight. */
int hostlayer_layer_get(struct hostlayer_priv *p, const char *vhd, const struct stat *st,
			uint64_t data_size, struct hostlayer_layer **out, struct lh_error *err);
/* Drop a reference; the last one unmounts, frees the loop device and
 * removes the mount directory, trying every step; first error returned. */
int hostlayer_layer_put(struct hostlayer_priv *p, struct hostlayer_layer *l,
			struct lh_error *err);

/* ---- hostlayer.c helpers used by codec.c ----------------------------------- */

void hostlayer_layer_link(struct hostlayer_priv *p, struct hostlayer_layer *layer);
void hostlayer_container_link(struct hostlayer_priv *p, struct hostlayer_container *c);
/* Free a container object (not its layers); NULL is fine. */
void hostlayer_container_free(struct hostlayer_container *c);
/* Drop every object and map; the instance is empty afterwards. */
void hostlayer_state_clear(struct hostlayer_priv *p);

/* ---- codec.c ------------------------------------------------------------- */

int hostlayer_encode(void *priv, struct lh_gob_encoder *enc, struct lh_error *err);
int hostlayer_decode(void *priv, struct lh_gob_decoder *dec, struct lh_error *err);

/* ---- mount.c ------------------------------------------------------------- */

/* 0 when the calling thread has CAP_SYS_ADMIN in its effective set, else
 * -EPERM with a message naming the capability. */
int hostlayer_check_privilege(struct lh_error *err);
/* [A-Za-z0-9][A-Za-z0-9_.-]{0,127} */
bool hostlayer_valid_container_id(const char *id);

/*
 * Create `path` and its missing parents (mode), recording in created_top
 * the topmost directory this call created ("" when path existed). An
 * existing non-directory is -ENOTDIR.
 */
int hostlayer_mkdirs(const char *path, mode_t mode, char *created_top, size_t cap,
		     struct lh_error *err);
/* Remove path and its parents up to created_top (nothing when created_top
 * is ""). A parent still in use (not empty) is left alone silently; what
 * is gone already (a release tried again) is fine. */
int hostlayer_rmdirs(const char *path, const char *created_top, struct lh_error *err);
/* Refuse (-LH_EREFUSED) a mount path that exists and is not an empty directory. */
int hostlayer_check_mount_path(const char *path, struct lh_error *err);

/* The file that marks a scratch folder as one layerhost set up (made in an
 * empty folder before upper/ and work/). */
#define HOSTLAYER_SCRATCH_MARK ".layerhost-scratch"
/* Refuse (-LH_EREFUSED) a scratch folder that is not layerhost's own: one
 * that holds anything but a sandbox.vhdx without the mark (a system folder
 * holds plenty; the host refuses those by name before). *marked: whether
 * the mark is there already. */
int hostlayer_check_scratch(const char *scratch, bool *marked, struct lh_error *err);

/*
 * Attach vhd read-only to a free loop device limited to data_size bytes,
 * with autoclear, retrying transient failures. On success *loop is the
 * device number and *fd an open descriptor on it that the caller closes
 * once the device is mounted (the mount then keeps it alive).
 */
int hostlayer_loop_attach(const char *vhd, uint64_t data_size, uint32_t *loop, int *fd,
			  struct lh_error *err);
/* Detach /dev/loop<loop> if it still backs the file (dev, ino): a device
 * already freed by autoclear, or reused for another file, is left alone. */
int hostlayer_loop_detach(uint32_t loop, uint64_t dev, uint64_t ino, struct lh_error *err);
/* Mount /dev/loop<loop> (ext4) read-only on dir, retrying transient failures. */
int hostlayer_mount_layer(uint32_t loop, const char *dir, struct lh_error *err);
/* Mount the overlay: lowers base first (overlay wants them top first). */
int hostlayer_mount_overlay(const struct hostlayer_lower *lowers, size_t n, const char *upper,
			    const char *work, const char *target, struct lh_error *err);
/*
 * Unmount our fstype mount `id` at path, retrying EBUSY. Ours already gone
 * is fine, and then nothing is unmounted: what path names now is someone
 * else's. Ours under another filesystem is -EBUSY naming it.
 */
int hostlayer_umount(const char *path, const char *fstype, const struct hostlayer_mount_id *id,
		     struct lh_error *err);

/* ---- ownership.c ----------------------------------------------------------- */

/* Under p->lock. Refuse (-LH_EREFUSED) when the run root holds a mount this
 * instance did not make: another state's (its unmount would take ours, and
 * ours its), or one a killed command left; the message names it. */
int hostlayer_check_run_root(struct hostlayer_priv *p, struct lh_error *err);
/* Under p->lock. Refuse (-LH_EREFUSED) c's scratch when it is the scratch
 * of another container of this instance, or the folder, upper or work
 * folder of any overlay mounted (another state's). */
int hostlayer_check_scratch_free(struct hostlayer_priv *p, const struct hostlayer_container *c,
				 struct lh_error *err);

#endif
