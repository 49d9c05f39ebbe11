/*
 * ext4.h - write one layer as an ext4 image, in a single pass over its tar.
 *
 * Layout, chosen so that nothing has to be guessed before the stream ends:
 *
 *   block 0           superblock
 *   1 .. 255          group descriptors (as many as needed), then free
 *   256 ..            file data, in tar order, each file contiguous
 *   then              directories, long symlinks, extent-tree blocks
 *   then              block bitmaps, inode bitmaps, inode tables
 *   then              room for extended-attribute blocks, a little slack
 *
 * File data is written while the tar streams; the filesystem's size, group
 * count and inode count are only decided in lh_ext4_finish, from what was
 * seen, and the metadata is placed after the data (flex_bg lets a group's
 * tables live anywhere; sparse_super2 with no backups keeps group starts
 * free). Feature set: 4 KiB blocks, 256-byte inodes, extents, 64bit,
 * flex_bg, metadata_csum, dir_nlink, extra_isize, huge_file, ext_attr, no
 * journal, read-only (RO_COMPAT_READONLY): a layer is never written again.
 *
 * Writing goes through libext2fs for the superblock, descriptors, bitmaps,
 * checksums and extended attributes; directories, inode tables and extent
 * trees are laid out here in bulk, which is what makes a layer with tens of
 * thousands of entries take well under a second.
 */
#ifndef LH_IMPORT_EXT4_H
#define LH_IMPORT_EXT4_H

#include "tree.h"

#include <layerhost/backend.h>

#include <stdbool.h>
#include <stdint.h>

#define LH_EXT4_BLOCK_SIZE 4096u

/* The first block of file data: what precedes it is the superblock and
 * room for 255 descriptor blocks (16320 groups of 128 MiB: 2 TiB). */
#define LH_EXT4_DATA_START 256u

struct lh_ext4;

/*
 * Start an image in path, an existing empty file the caller made (and
 * removes on failure). Returns 0 or -errno with err naming the file.
 */
int lh_ext4_open(const char *path, struct lh_ext4 **out, struct lh_error *err);

/* The data of ino follows (lh_ext4_write calls for it, ascending offsets). */
void lh_ext4_file_begin(struct lh_ext4 *w, struct lh_tree_inode *ino);

/*
 * Place len bytes of the current file at byte offset off. Offsets only grow
 * within a file; a gap between two calls is a hole (no blocks). Returns 0,
 * -EINVAL for data going backwards, or -errno from writing the image.
 */
int lh_ext4_write(struct lh_ext4 *w, uint64_t off, const void *buf, size_t len,
		  struct lh_error *err);

/*
 * Lay out and write the filesystem of tree t around the data already
 * written. seed (32 bytes, e.g. the layer's diffID) makes the UUID and
 * directory hash seed, so the same layer gives the same filesystem. On
 * success *size is the image's length in bytes (a multiple of 4096) and
 * the file ends there, unflushed. -EFBIG if the layer is beyond the layout's
 * 2 TiB, -ENOMEM, or an I/O error naming the image.
 */
int lh_ext4_finish(struct lh_ext4 *w, struct lh_tree *t, const uint8_t seed[32],
		   uint64_t *size, struct lh_error *err);

/* Bytes of file data placed so far (whole blocks). */
uint64_t lh_ext4_data_bytes(const struct lh_ext4 *w);

/* Close the file and free w (NULL accepted). The file stays. */
void lh_ext4_close(struct lh_ext4 *w);

/*
 * Whether n extended attributes fit one inode's attribute space (its spare
 * in-inode room plus one block): names and values as ext4 stores them.
 * Callers refuse an entry whose attributes do not, before it is applied.
 */
bool lh_ext4_xattrs_fit(const struct lh_xattr *x, uint32_t n);

#endif
