/*
 * regular_file.h - opening a file that must be a regular one.
 *
 * A FIFO or a device named where a file is meant makes a command wait for
 * good: open(2) of a FIFO waits for its other end, a read or write of one
 * for data or room that never come. So such a file is opened without
 * waiting, looked at, and refused unless it is a regular file.
 */
#ifndef LH_REGULAR_FILE_H
#define LH_REGULAR_FILE_H

#include <layerhost/backend.h>

#include <sys/types.h>

/*
 * open(path, flags | O_CLOEXEC, mode) without waiting on a FIFO, and the
 * descriptor back in blocking mode. Returns it, or: -errno of the open
 * ("PATH: cannot open WHAT: ..."), -LH_EREFUSED for anything but a regular
 * file ("PATH: WHAT is not a regular file (a FIFO)"); err says which.
 */
int lh_open_regular(const char *path, int flags, mode_t mode, const char *what,
		    struct lh_error *err);

/* "a FIFO", "a directory", ... for a st_mode. */
const char *lh_file_kind(mode_t mode);

#endif
