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

#include <stddef.h>

/* Write all len bytes to fd, going on after short writes and EINTR.
 * 0 or -errno (-EIO if the file takes no more). */
int lh_write_all(int fd, const void *data, size_t len);

/* Flush the file at path (data and metadata). 0 or -errno. */
int lh_fsync_file(const char *path);

/* Flush the folder holding path, so that path's name in it (a create or a
 * rename) survives a crash. "name" alone means the current folder. 0 or
 * -errno. */
int lh_fsync_parent(const char *path);

#endif
