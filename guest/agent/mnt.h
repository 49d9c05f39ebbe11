/*
 * mnt.h - mounting for the agent's operations: folders, mount options,
 * mount(2) with the one bounded retry a caller names, idempotent
 * unmounts, what a block device holds, and formatting a blank one.
 */
#ifndef GA_MNT_H
#define GA_MNT_H

#include "agent.h"

/* mkdir -p (mode 0755). */
int ga_mkdir_p(const char *path, struct ga_error *err);

/*
 * Split mount option words (a JSON array of strings, NULL for none) into
 * mount(2) flags (ro, nosuid, noatime, ...) and the filesystem's own
 * options, comma-joined into data (which the caller frees).
 */
int ga_mount_options(const struct ga_json *options, unsigned long *flags, struct ga_buf *data,
		     struct ga_error *err);

/*
 * mount(2). When it fails with retry_errno (0: none), try again every few
 * milliseconds for up to wait_ms: the transient refusals of a device that
 * has just appeared. The error names source, target, type and options.
 */
int ga_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
	     const char *data, int retry_errno, int wait_ms, struct ga_error *err);

/* What is mounted at path now. */
enum ga_mounted {
	GA_MOUNTED_NONE,   /* not a mount point (or not there) */
	GA_MOUNTED_DEVICE, /* the block device dev (dev != 0) */
	GA_MOUNTED_OTHER,  /* something else */
};
enum ga_mounted ga_mounted_at(const char *path, const char *device);

/*
 * Before an Add: 0 when path is free, 1 when device (NULL: none) is
 * mounted there already (a retried Add: done), -EBUSY with err naming it
 * when something else is (mounting over it would hide it).
 */
int ga_mount_target_check(const char *path, const char *device, struct ga_error *err);

/* Unmount target; one that is not mounted (or does not exist) is already
 * unmounted. With remove, then remove the folder (or file) it was. */
int ga_unmount(const char *target, bool remove, struct ga_error *err);

/* What the start of a block device holds. */
struct ga_fs_probe {
	bool blank;           /* only zeros where any filesystem keeps its marks */
	bool ext;             /* an ext2/3/4 superblock */
	unsigned block_size;  /* ext: its block size */
};

/* Read the first 128 KiB of device. ENXIO (a disk that has just appeared)
 * is retried for up to LH_GUEST_ENXIO_WAIT_MS. */
int ga_fs_probe(const char *device, struct ga_fs_probe *out, struct ga_error *err);

/* Make an ext4 filesystem on device (mke2fs from the initramfs). */
int ga_mkfs_ext4(const char *device, struct ga_error *err);

/* Wait up to wait_ms for path (a device node devtmpfs creates) to exist. */
int ga_wait_node(const char *path, int wait_ms, struct ga_error *err);

#endif
