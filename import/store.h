/*
 * store.h - the folder imported layers go to, one folder per layer named by
 * its diffID (the sha256 of its tar), holding layer.vhd: the ext4 image
 * with layerhost's fixed VHD footer (disk.h), as an LCOW layer folder of
 * the config has it. Scratch folders go under <store>/scratch/<name>.
 *
 * A layer is written to a temp file beside its final name, footed, fsynced,
 * renamed, and its folder fsynced: after a crash the store holds complete
 * layers only (and perhaps a temp file, never a name that lies). One import
 * at a time holds the store (an flock on its folder).
 */
#ifndef LH_IMPORT_STORE_H
#define LH_IMPORT_STORE_H

#include <layerhost/backend.h>

#include <stdbool.h>
#include <stdint.h>

#define LH_STORE_LAYER_FILE "layer.vhd"
#define LH_STORE_SCRATCH_FILE "sandbox.vhdx"

struct lh_store {
	char *dir;   /* absolute */
	int lock_fd; /* the folder, flocked */
	bool made;   /* this run made the folder */
};

struct lh_store_layer {
	char *folder, *tmp, *final;
	bool made_folder, committed;
};

/*
 * Open (making it, one level, if missing) and lock the store at dir.
 * Waits for another import holding it. 0 or -errno naming the folder.
 */
int lh_store_open(const char *dir, struct lh_store *s, struct lh_error *err);

/* Unlock; remove the folder if this run made it and it is empty. */
void lh_store_close(struct lh_store *s);

/*
 * Whether the layer with this diffID hex already sits in the store, as a
 * sound fixed VHD (*image_bytes its file size). A layer.vhd that is not
 * one is an error naming it (remove it to import again).
 */
int lh_store_has_layer(struct lh_store *s, const char *hex, bool *has, uint64_t *image_bytes,
		       struct lh_error *err);

/* Make the layer's folder and an empty temp file in it (l->tmp). */
int lh_store_layer_begin(struct lh_store *s, const char *hex, struct lh_store_layer *l,
			 struct lh_error *err);

/* Foot the image of image_bytes in l->tmp, flush it, and rename it to
 * layer.vhd (l->final), flushing the folders that changed. */
int lh_store_layer_commit(struct lh_store_layer *l, uint64_t image_bytes, struct lh_error *err);

/* Undo lh_store_layer_begin, or a committed layer when rollback is set:
 * the temp file or layer.vhd goes, the folder too if this run made it. */
void lh_store_layer_abort(struct lh_store_layer *l, bool rollback);

/* Free l's strings (after commit or abort). */
void lh_store_layer_free(struct lh_store_layer *l);

/*
 * The scratch folder for container name (*path, the caller's to free).
 * With create, make it and a blank sandbox.vhdx in it (a dynamic VHDX of
 * size_bytes, through qemu-img, unformatted: the guest formats a blank
 * scratch); an existing one is kept. *created says whether this call made
 * the disk.
 */
int lh_store_scratch(struct lh_store *s, const char *name, bool create, uint64_t size_bytes,
		     char **path, bool *created, struct lh_error *err);

#endif
