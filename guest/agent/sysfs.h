/*
 * sysfs.h - reading the device tree the kernel shows under /sys: how the
 * agent finds a hot-plugged disk or pmem device by where it is plugged
 * (its PCI path), never by the name the kernel happened to give it.
 */
#ifndef GA_SYSFS_H
#define GA_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

#define GA_PATH_MAX 4096

/* Format a path into buf; -ENAMETOOLONG (buf then holds "") when it
 * does not fit, 0 otherwise. */
int ga_path(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The name of a folder in dir whose name starts with prefix (the first in
 * readdir order; sysfs has one such child in the cases used here) into
 * out. 0, or -ENOENT when dir lacks one (or does not exist). */
int ga_sysfs_child(const char *dir, const char *prefix, char *out, size_t cap);
/* As prefix: a PCI device's folder (DDDD:BB:DD.F), not the port services
 * (DDDD:BB:DD.F:pcieNNN) that sit beside it under a root port. */
#define GA_SYSFS_PCI_DEVICE "(pci device)"

/* Whether path exists. */
bool ga_sysfs_exists(const char *path);

/* Read a small attribute, without its trailing newline. 0 or -errno. */
int ga_sysfs_read(const char *path, char *buf, size_t cap);

/* Write value to an attribute in one write(2). 0 or -errno. */
int ga_sysfs_write(const char *path, const char *value);

#endif
