/*
 * path.h - the names inside a layer tar, made canonical before they touch
 * the tree: "./usr//bin/" and "usr/bin" are the same entry.
 */
#ifndef LH_IMPORT_PATH_H
#define LH_IMPORT_PATH_H

#include <stddef.h>

/* ext4 stores a name of at most this many bytes. */
#define LH_PATH_NAME_MAX 255

/*
 * Clean a tar entry name (or hard link target) into out (cap bytes): no
 * leading "./", no empty or "." components, ".." resolved lexically, no
 * trailing slash; the root itself is "". Returns 0, or:
 *   -EINVAL        absolute (leading '/'), or ".." climbing above the root;
 *   -ENAMETOOLONG  a component longer than LH_PATH_NAME_MAX, or the result
 *                  does not fit in cap.
 * *why (set on error) says which, for the caller's message.
 */
int lh_path_clean(const char *in, char *out, size_t cap, const char **why);

/* Split a cleaned, non-root path at its last '/': *name points into path,
 * and the parent's length is returned (0 for a child of the root). */
size_t lh_path_split(const char *path, const char **name);

#endif
