/*
 * logfile.h - what a VM's log files say, for messages: the end of QEMU's
 * own log (why it did not start) and of the guest's serial console (why
 * the guest did not come up, or how it died).
 */
#ifndef LH_LOGFILE_H
#define LH_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The last `lines` non-empty lines of the file at path, joined with " | "
 * into buf (cap bytes, always NUL-terminated), carriage returns and other
 * control characters dropped; "(no output)" for an empty or unreadable
 * file. Reads at most the last 8 KiB.
 */
void lh_logfile_tail(const char *path, int lines, char *buf, size_t cap);

/*
 * The last line of the file that holds `needle`, into buf (from the
 * needle on, control characters dropped): true when there is one. Reads
 * at most the last 64 KiB (a panic's line is followed by its trace).
 */
bool lh_logfile_find(const char *path, const char *needle, char *buf, size_t cap);

#endif
