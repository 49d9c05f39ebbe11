/*
 * ext4_private.h - what the ext4 writer's files share: the writer itself,
 * the block stager, and the encoders of inodes, directories and extent
 * trees. Not for the rest of the importer (ext4.h is its interface).
 */
#ifndef LH_IMPORT_EXT4_PRIVATE_H
#define LH_IMPORT_EXT4_PRIVATE_H

#include "ext4.h"

#include <ext2fs/ext2fs.h>

#include <pthread.h>

#include <stdbool.h>
#include <stdint.h>

#define EXT4_BS LH_EXT4_BLOCK_SIZE
#define EXT4_INODE_SIZE 256u
#define EXT4_INODES_PER_BLOCK (EXT4_BS / EXT4_INODE_SIZE)
#define EXT4_BLOCKS_PER_GROUP (EXT4_BS * 8u)
#define EXT4_MAX_EXTENT_LEN 32768u                /* an initialised extent's limit */
#define EXT4_EXTENTS_PER_BLOCK ((EXT4_BS - 12u) / 12u) /* 340, the tail after them */
#define EXT4_EXTENTS_IN_INODE 4u
#define EXT4_FIRST_INO 11u
#define EXT4_DIR_TAIL 12u
#define EXT4_FAST_SYMLINK_MAX 59u /* a target this long or shorter lives in i_block */

/*
 * Blocks waiting to be written, always a contiguous run ending at the next
 * block to be handed out: small files and directory blocks go out in 1 MiB
 * writes instead of one write each, and on a thread of their own (the
 * kernel's copy into the page cache is a third of converting a layer of
 * small files), while the next megabyte fills the other buffer.
 */
struct ext4_stage {
	uint8_t *buf;    /* filling */
	uint8_t *spare;  /* the other buffer, the writer's while busy */
	uint64_t pblk;   /* the first staged block */
	uint32_t n;      /* staged blocks */
	uint32_t cap;    /* blocks a buffer holds */
	uint64_t cursor; /* the next block handed out */
	int fd;
	const char *path;
	/* the writer thread */
	pthread_t thread;
	bool ready, started, busy, quit;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint64_t job_pblk;
	uint32_t job_n;
	int failed;              /* -errno of the first failed write, 0 */
	uint64_t failed_pblk;
	uint32_t failed_n;
};

struct lh_ext4 {
	char *path;
	int fd;
	struct ext4_stage stage;
	/* the file whose data is streaming in */
	struct lh_tree_inode *cur;
	bool any;       /* cur has a block: last_lblk is valid */
	bool open;      /* the last staged block is cur's, partly filled */
	uint64_t last_lblk;
	/* the filesystem, while lh_ext4_finish makes it */
	ext2_filsys fs;
};

/* pread/pwrite on the image, without a cache or fsync (ext4_io.c). */
extern io_manager lh_ext4_io_manager;

/* Set s up to hand out blocks from first on, writing to fd (path names it
 * in messages), and start its writer thread. 0 or -errno. */
int ext4_stage_init(struct ext4_stage *s, int fd, const char *path, uint64_t first,
		    struct lh_error *err);
/* Stop the writer (after its last write) and free s. */
void ext4_stage_destroy(struct ext4_stage *s);

/* Hand out the next n blocks (n < the stage's capacity) as *blocks, to be
 * filled before the next take; a full stage is handed to the writer first.
 * (The I/O manager libext2fs writes through caches nothing, so its view of
 * the file and the stage's agree once the stage is synced.) */
int ext4_stage_take(struct lh_ext4 *w, uint32_t n, uint8_t **blocks, struct lh_error *err);
/* Hand what is staged to the writer (waiting for its previous write). */
int ext4_stage_flush(struct lh_ext4 *w, struct lh_error *err);
/* Flush and wait until everything is written; the first failed write's
 * error, naming the blocks. */
int ext4_stage_sync(struct lh_ext4 *w, struct lh_error *err);

/* pwrite all of len bytes at off: 0 or -errno. */
int ext4_pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off);

/* Append blocks [pblk, pblk + n) at lblk to ino's extents, merging with the
 * last one and splitting at the extent length limit. 0 or -ENOMEM. */
int ext4_extent_add(struct lh_tree_inode *ino, uint64_t lblk, uint64_t pblk, uint64_t n);

/* Blocks of extent tree (beyond the inode's own four slots) n extents need. */
uint32_t ext4_tree_blocks(uint64_t n);

/* Directory blocks the node's entries take. */
uint32_t ext4_dir_blocks(const struct lh_tree_node *dir);

/* Whether ino's extended attributes may spill out of the inode into a block. */
bool ext4_xattrs_need_block(const struct lh_tree_inode *ino);

/*
 * Fill the on-disk inode of ti (number ti->ino) into raw (EXT4_INODE_SIZE
 * bytes), checksum included (ext4_inode_csum_fast's when fast_csum). Its extents, directory blocks and tree blocks
 * are where ti's fields say (the tree blocks are written by
 * ext4_write_meta).
 */
int ext4_encode_inode(ext2_filsys fs, const struct lh_tree_node *node,
		      const struct lh_tree_inode *ti, bool fast_csum, uint8_t *raw,
		      struct lh_error *err);

/* Set raw's inode checksum as ext2fs_inode_csum_set would, fast (256-byte
 * inodes with the extra fields, as this writer makes them). */
void ext4_inode_csum_fast(ext2_filsys fs, uint32_t ino, uint8_t *raw);

/* Write an inode's metadata blocks through the stage: directory entries
 * (node is the directory), a long symlink's target, its extent tree. */
int ext4_write_meta(struct lh_ext4 *w, const struct lh_tree_node *node, struct lh_error *err);

/* libext2fs's message for a code. */
const char *ext4_strerror(errcode_t code);

#endif
