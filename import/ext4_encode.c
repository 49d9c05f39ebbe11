/* ext4_encode.c - on-disk inodes, directory blocks and extent trees, laid
 * out by the writer in bulk (see ext4.h). */
#include "ext4_private.h"

#include <et/com_err.h>
#include <ext2fs/ext3_extents.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* ext4 keeps in-inode attributes after the 32 extra bytes of a 256-byte
 * inode: 96 bytes, less the 4-byte magic and the 4-byte end marker. */
#define XATTR_INODE_ROOM (EXT4_INODE_SIZE - 160u - 8u)
/* An attribute block: a 32-byte header and a 4-byte end marker. */
#define XATTR_BLOCK_ROOM (EXT4_BS - 32u - 4u)

const char *ext4_strerror(errcode_t code)
{
	return error_message(code);
}

/* ---- extended attributes ------------------------------------------------- */

/* What n attributes take, counted as if no name prefix were abbreviated
 * (ext4 stores "user." and the like as an index): an upper bound. */
static size_t xattrs_size(const struct lh_xattr *x, uint32_t n)
{
	size_t total = 0;

	for (uint32_t i = 0; i < n; i++)
		total += 16 + ((strlen(x[i].name) + 3) & ~(size_t)3) + ((x[i].len + 3) & ~(size_t)3);
	return total;
}

bool lh_ext4_xattrs_fit(const struct lh_xattr *x, uint32_t n)
{
	return xattrs_size(x, n) <= XATTR_BLOCK_ROOM;
}

bool ext4_xattrs_need_block(const struct lh_tree_inode *ino)
{
	size_t n = xattrs_size(ino->xattrs, ino->n_xattrs);

	if (ino->opaque)
		n += 16 + sizeof("trusted.overlay.opaque") + 4;
	return n > XATTR_INODE_ROOM;
}

/* ---- sizes ----------------------------------------------------------------- */

static uint32_t dirent_size(size_t name_len)
{
	return (uint32_t)(8 + ((name_len + 3) & ~(size_t)3));
}

/* Entries fill a block up to its checksum tail; one that does not fit
 * starts the next block. ext4_write_dir must agree. */
uint32_t ext4_dir_blocks(const struct lh_tree_node *dir)
{
	const uint32_t room = EXT4_BS - EXT4_DIR_TAIL;
	uint32_t blocks = 1, used = dirent_size(1) + dirent_size(2);

	for (const struct lh_tree_node *c = dir->first_child; c; c = c->next_sibling) {
		uint32_t sz = dirent_size(c->name_len);

		if (used + sz > room) {
			blocks++;
			used = 0;
		}
		used += sz;
	}
	return blocks;
}

/* ---- extent trees ---------------------------------------------------------- */

/*
 * A tree is built bottom up: level 1 is the leaves (340 extents a block),
 * each further level indexes the one below (340 entries a block), until a
 * level has at most four blocks, which the root in i_block indexes. Level
 * k's blocks follow level k-1's from the tree's first block on; block j of
 * level k covers the extents from j * 340^k.
 */
struct tree_levels {
	int top;          /* the level the root indexes; 0: extents in the inode */
	uint64_t n[8];    /* n[0] extents, n[k] blocks of level k */
	uint64_t pblk[8]; /* first block of level k */
	uint64_t span[8]; /* extents under one item of level k: 340^k */
};

static void tree_levels(uint64_t n, uint64_t tree_pblk, struct tree_levels *t)
{
	int k = 0;

	t->n[0] = n;
	t->span[0] = 1;
	t->pblk[0] = 0;
	while (t->n[k] > EXT4_EXTENTS_IN_INODE && k < 7) {
		k++;
		t->n[k] = (t->n[k - 1] + EXT4_EXTENTS_PER_BLOCK - 1) / EXT4_EXTENTS_PER_BLOCK;
		t->pblk[k] = k == 1 ? tree_pblk : t->pblk[k - 1] + t->n[k - 1];
		t->span[k] = t->span[k - 1] * EXT4_EXTENTS_PER_BLOCK;
	}
	t->top = k;
}

uint32_t ext4_tree_blocks(uint64_t n)
{
	struct tree_levels t;
	uint64_t total = 0;

	tree_levels(n, 0, &t);
	for (int k = 1; k <= t.top; k++)
		total += t.n[k];
	return (uint32_t)total;
}

static void put_header(void *p, uint64_t entries, uint16_t max, int depth)
{
	struct ext3_extent_header *h = p;

	h->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
	h->eh_entries = ext2fs_cpu_to_le16((uint16_t)entries);
	h->eh_max = ext2fs_cpu_to_le16(max);
	h->eh_depth = ext2fs_cpu_to_le16((uint16_t)depth);
	h->eh_generation = 0;
}

static void put_extent(void *p, const struct lh_extent *e)
{
	struct ext3_extent *x = p;

	x->ee_block = ext2fs_cpu_to_le32((uint32_t)e->lblk);
	x->ee_len = ext2fs_cpu_to_le16((uint16_t)e->len);
	x->ee_start_hi = ext2fs_cpu_to_le16((uint16_t)(e->pblk >> 32));
	x->ee_start = ext2fs_cpu_to_le32((uint32_t)e->pblk);
}

static void put_index(void *p, uint64_t lblk, uint64_t pblk)
{
	struct ext3_extent_idx *x = p;

	x->ei_block = ext2fs_cpu_to_le32((uint32_t)lblk);
	x->ei_leaf = ext2fs_cpu_to_le32((uint32_t)pblk);
	x->ei_leaf_hi = ext2fs_cpu_to_le16((uint16_t)(pblk >> 32));
	x->ei_unused = 0;
}

/* The root in i_block (60 bytes): the extents themselves when at most
 * four, else the index of the tree's top level. */
static void encode_tree_root(const struct lh_extent *ext, uint64_t n, uint64_t tree_pblk,
			     uint8_t *i_block)
{
	struct tree_levels t;

	memset(i_block, 0, EXT2_N_BLOCKS * 4);
	tree_levels(n, tree_pblk, &t);
	put_header(i_block, t.n[t.top], EXT4_EXTENTS_IN_INODE, t.top);
	for (uint64_t j = 0; j < t.n[t.top]; j++) {
		if (t.top == 0)
			put_extent(i_block + 12 + 12 * j, &ext[j]);
		else
			put_index(i_block + 12 + 12 * j, ext[j * t.span[t.top]].lblk,
				  t.pblk[t.top] + j);
	}
}

/* Write the tree's blocks in block order (through the stage, which must be
 * at the tree's first block). */
static int write_tree(struct lh_ext4 *w, uint32_t ino, const struct lh_extent *ext, uint64_t n,
		      struct lh_error *err)
{
	struct tree_levels t;
	uint8_t *blk;
	errcode_t e;
	int rc;

	tree_levels(n, w->stage.cursor, &t);
	for (int k = 1; k <= t.top; k++) {
		for (uint64_t j = 0; j < t.n[k]; j++) {
			uint64_t first = j * EXT4_EXTENTS_PER_BLOCK;
			uint64_t cnt = t.n[k - 1] - first < EXT4_EXTENTS_PER_BLOCK
					       ? t.n[k - 1] - first
					       : EXT4_EXTENTS_PER_BLOCK;

			rc = ext4_stage_take(w, 1, &blk, err);
			if (rc)
				return rc;
			memset(blk, 0, EXT4_BS);
			put_header(blk, cnt, EXT4_EXTENTS_PER_BLOCK, k - 1);
			for (uint64_t i = 0; i < cnt; i++) {
				if (k == 1)
					put_extent(blk + 12 + 12 * i, &ext[first + i]);
				else
					put_index(blk + 12 + 12 * i,
						  ext[(first + i) * t.span[k - 1]].lblk,
						  t.pblk[k - 1] + first + i);
			}
			e = ext2fs_extent_block_csum_set(w->fs, ino, (struct ext3_extent_header *)blk);
			if (e)
				return LH_FAIL(err, -EIO, "%s: inode %u: extent block checksum: %s",
					       w->path, ino, ext4_strerror(e));
		}
	}
	return 0;
}

/* ---- directories ------------------------------------------------------------ */

static uint8_t file_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return EXT2_FT_DIR;
	case S_IFLNK: return EXT2_FT_SYMLINK;
	case S_IFCHR: return EXT2_FT_CHRDEV;
	case S_IFBLK: return EXT2_FT_BLKDEV;
	case S_IFIFO: return EXT2_FT_FIFO;
	case S_IFSOCK: return EXT2_FT_SOCK;
	default: return EXT2_FT_REG_FILE;
	}
}

struct dir_writer {
	struct lh_ext4 *w;
	uint32_t dir_ino;
	uint8_t *blk;
	struct ext2_dir_entry *last;
	uint32_t used;
};

/* Give the block's last entry the rest of the block, add the tail, sum it. */
static int dir_close_block(struct dir_writer *d, struct lh_error *err)
{
	const uint32_t room = EXT4_BS - EXT4_DIR_TAIL;
	errcode_t e;

	ext2fs_set_rec_len(d->w->fs, d->last->rec_len + (room - d->used), d->last);
	ext2fs_initialize_dirent_tail(d->w->fs, EXT2_DIRENT_TAIL(d->blk, EXT4_BS));
	e = ext2fs_dir_block_csum_set(d->w->fs, d->dir_ino, (struct ext2_dir_entry *)d->blk);
	if (e)
		return LH_FAIL(err, -EIO, "%s: directory inode %u: checksum: %s", d->w->path,
			       d->dir_ino, ext4_strerror(e));
	d->blk = NULL;
	return 0;
}

static int dir_add(struct dir_writer *d, uint32_t ino, const char *name, size_t len,
		   uint8_t type, struct lh_error *err)
{
	const uint32_t room = EXT4_BS - EXT4_DIR_TAIL;
	uint32_t sz = dirent_size(len);
	struct ext2_dir_entry *de;
	int rc;

	if (d->blk && d->used + sz > room) {
		rc = dir_close_block(d, err);
		if (rc)
			return rc;
	}
	if (!d->blk) {
		rc = ext4_stage_take(d->w, 1, &d->blk, err);
		if (rc)
			return rc;
		memset(d->blk, 0, EXT4_BS);
		d->used = 0;
	}
	de = (struct ext2_dir_entry *)(d->blk + d->used);
	de->inode = ino;
	de->rec_len = (uint16_t)sz;
	ext2fs_dirent_set_name_len(de, (int)len);
	ext2fs_dirent_set_file_type(de, type);
	memcpy(de->name, name, len);
	d->last = de;
	d->used += sz;
	return 0;
}

static int write_dir(struct lh_ext4 *w, const struct lh_tree_node *dir, struct lh_error *err)
{
	struct dir_writer d = { .w = w, .dir_ino = dir->inode->ino };
	uint32_t parent = dir->parent ? dir->parent->inode->ino : dir->inode->ino;
	int rc;

	rc = dir_add(&d, dir->inode->ino, ".", 1, EXT2_FT_DIR, err);
	if (rc == 0)
		rc = dir_add(&d, parent, "..", 2, EXT2_FT_DIR, err);
	for (const struct lh_tree_node *c = dir->first_child; rc == 0 && c; c = c->next_sibling)
		rc = dir_add(&d, c->inode->ino, c->name, c->name_len, file_type(c->inode->mode), err);
	if (rc == 0)
		rc = dir_close_block(&d, err);
	return rc;
}

int ext4_write_meta(struct lh_ext4 *w, const struct lh_tree_node *node, struct lh_error *err)
{
	const struct lh_tree_inode *ti = node->inode;
	uint8_t *blk;
	int rc = 0;

	if (w->stage.cursor != ti->meta_pblk)
		return LH_FAIL(err, -EIO, "%s: inode %u: metadata at block %llu, planned at %llu",
			       w->path, ti->ino, (unsigned long long)w->stage.cursor,
			       (unsigned long long)ti->meta_pblk);
	if (S_ISDIR(ti->mode)) {
		rc = write_dir(w, node, err);
	} else if (S_ISLNK(ti->mode) && ti->meta_blocks) {
		rc = ext4_stage_take(w, 1, &blk, err);
		if (rc == 0) {
			memset(blk, 0, EXT4_BS);
			memcpy(blk, ti->target, ti->size);
		}
	}
	if (rc == 0 && ti->tree_blocks)
		rc = write_tree(w, ti->ino, ti->extents, ti->n_extents, err);
	return rc;
}

/* ---- inodes ------------------------------------------------------------------ */

/* ext4 seconds: a signed 32-bit field plus two epoch bits in the extra
 * field (with the nanoseconds): 1901 to 2446. */
static void put_time(int64_t sec, uint32_t nsec, __u32 *field, __u32 *extra)
{
	const int64_t lo = INT32_MIN, hi = (int64_t)INT32_MAX + (3ll << 32);

	if (sec < lo)
		sec = lo;
	if (sec > hi)
		sec = hi;
	*field = (__u32)(uint32_t)(int32_t)(sec & 0xffffffff);
	*extra = (__u32)((((uint64_t)(sec - (int32_t)(sec & 0xffffffff)) >> 32) & 3) |
			 ((uint64_t)(nsec > 999999999 ? 0 : nsec) << 2));
}

int ext4_encode_inode(ext2_filsys fs, const struct lh_tree_node *node,
		      const struct lh_tree_inode *ti, bool fast_csum, uint8_t *raw,
		      struct lh_error *err)
{
	struct ext2_inode_large *in = (struct ext2_inode_large *)raw;
	uint64_t blocks = ti->data_blocks + ti->tree_blocks;
	uint32_t links;
	errcode_t e;

	memset(raw, 0, EXT4_INODE_SIZE);
	in->i_mode = (__u16)ti->mode;
	in->i_uid = (__u16)ti->uid;
	in->osd2.linux2.l_i_uid_high = (__u16)(ti->uid >> 16);
	in->i_gid = (__u16)ti->gid;
	in->osd2.linux2.l_i_gid_high = (__u16)(ti->gid >> 16);
	put_time(ti->atime.sec, ti->atime.nsec, &in->i_atime, &in->i_atime_extra);
	put_time(ti->mtime.sec, ti->mtime.nsec, &in->i_mtime, &in->i_mtime_extra);
	put_time(ti->ctime.sec, ti->ctime.nsec, &in->i_ctime, &in->i_ctime_extra);
	put_time(ti->mtime.sec, ti->mtime.nsec, &in->i_crtime, &in->i_crtime_extra);
	in->i_extra_isize = (__u16)(sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE);

	links = S_ISDIR(ti->mode) ? 2 + ti->subdirs : ti->names;
	if (S_ISDIR(ti->mode) && links >= EXT2_LINK_MAX)
		links = 1; /* dir_nlink: "many" */
	if (links >= EXT2_LINK_MAX)
		return LH_FAIL(err, -EMLINK, "'%s': %u hard links, ext4 allows %u", node->name,
			       links, EXT2_LINK_MAX - 1);
	in->i_links_count = (__u16)links;

	switch (ti->mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
		in->i_size = (__u32)ti->size;
		in->i_size_high = (__u32)(ti->size >> 32);
		in->i_flags = EXT4_EXTENTS_FL;
		encode_tree_root(ti->extents, ti->n_extents, ti->meta_pblk + ti->meta_blocks,
				 (uint8_t *)in->i_block);
		break;
	case S_IFLNK:
		in->i_size = (__u32)ti->size;
		if (ti->meta_blocks) {
			in->i_flags = EXT4_EXTENTS_FL;
			encode_tree_root(ti->extents, ti->n_extents, 0, (uint8_t *)in->i_block);
		} else {
			memcpy(in->i_block, ti->target, ti->size);
		}
		break;
	case S_IFCHR:
	case S_IFBLK:
		if (ti->rdev_major < 256 && ti->rdev_minor < 256) {
			in->i_block[0] = ext2fs_cpu_to_le32(ti->rdev_major << 8 | ti->rdev_minor);
		} else {
			in->i_block[1] = ext2fs_cpu_to_le32((ti->rdev_minor & 0xff) |
							    (ti->rdev_major << 8) |
							    ((ti->rdev_minor & ~0xffu) << 12));
		}
		break;
	default: /* FIFOs: nothing but the mode */
		break;
	}
	e = ext2fs_iblk_set(fs, (struct ext2_inode *)in, blocks);
	if (e == 0 && fast_csum)
		ext4_inode_csum_fast(fs, ti->ino, raw);
	else if (e == 0)
		e = ext2fs_inode_csum_set(fs, ti->ino, in);
	if (e)
		return LH_FAIL(err, -EIO, "inode %u ('%s'): %s", ti->ino, node->name, ext4_strerror(e));
	return 0;
}
