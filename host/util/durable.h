/*
 * durable.h - writing files whole and flushing them, and the names of
 * files, to stable storage.
 *
 * A write, a create or a rename is only in the page cache until flushed;
 * a crash before that loses it. Whatever the state file names must be
 * flushed before the state file that names it.
 */
#ifndef LH_DURABLE_H
#define LH_DURABLE_H

#include <layerhost/backend.h>

#include <stddef.h>
#include <sys/types.h>

/* Write all len bytes to fd, going on after short writes and EINTR.
 * 0 or -errno (-EIO if the file takes no more). */
int lh_write_all(int fd, const void *data, size_t len);

/* Flush the file at path (data and metadata). 0 or -errno. */
int lh_fsync_file(const char *path);

/* Flush the folder holding path, so that path's name in it (a create or a
 * rename) survives a crash. "name" alone means the current folder. 0 or
 * -errno. */
int lh_fsync_parent(const char *path);

enum lh_replace_flags {
	LH_REPLACE_DURABLE = 0,       /* flushed: survives a crash of the machine */
	LH_REPLACE_NO_FLUSH = 1u << 0, /* atomic only: for a file that does not
					* outlive a reboot (a VM's record) */
};

/*
 * Replace path with data: a temp file beside it ("<path>.tmp.*", created
 * 0600), every byte written, mode set, fsync, rename over path, fsync of
 * the folder (the flushes left out with LH_REPLACE_NO_FLUSH). Readers see
 * the old file or the new one, never a mix. On failure the temp file is
 * gone and err names the step that failed and `what` the file is ("the
 * state", "the VM record").
 */
int lh_file_replace(const char *path, const void *data, size_t len, mode_t mode,
		    unsigned flags, const char *what, struct lh_error *err);

/* Remove the temp files a killed lh_file_replace of path left. Only for a
 * caller that holds the lock under which path is written. */
void lh_file_remove_stale_temps(const char *path);

#endif
