/* ext4_finish.c - once the tar has streamed by: number the inodes, size the
 * filesystem from what was seen, make it with libext2fs around the data
 * already written, and lay the metadata out after the data (see ext4.h). */
#include "ext4_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* After the tables: room for extended-attribute blocks plus a little, so
 * that the filesystem is never short by a block it needed. */
#define SLACK_BLOCKS 16u

struct plan {
	struct lh_tree_node **nodes; /* by inode number: the first node naming it */
	uint32_t n_inodes;           /* the highest inode number */
	uint64_t meta_start, meta_end;
	uint64_t ea_blocks;
	uint32_t groups, ipg, itb;
	uint64_t tables;             /* first block of the bitmaps and tables */
	uint64_t blocks;             /* the filesystem's size */
};

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/*
 * Number the inodes folder by folder (a folder's children get consecutive
 * numbers, which keeps a listing's inodes in few inode-table blocks) and give each
 * inode its place in the metadata area: directory blocks, long symlink
 * blocks, extent-tree blocks, in that same order.
 */
static int number_inodes(struct lh_ext4 *w, struct lh_tree *t, struct plan *p,
			 struct lh_error *err)
{
	struct lh_tree_node **queue = NULL;
	size_t q_len = 0, q_cap = 0;
	uint32_t next = EXT4_FIRST_INO, cap = 64;
	uint64_t meta = p->meta_start;
	int rc = 0;

	p->nodes = calloc(cap, sizeof(*p->nodes));
	if (!p->nodes)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	lh_tree_root(t)->inode->ino = EXT2_ROOT_INO;
	p->nodes[EXT2_ROOT_INO] = lh_tree_root(t);

	/* pass 1: numbers, one folder's children at a time */
	for (struct lh_tree_node *d = lh_tree_root(t); d; d = q_len ? queue[--q_len] : NULL) {
		for (struct lh_tree_node *c = d->first_child; c; c = c->next_sibling) {
			struct lh_tree_inode *ti = c->inode;

			if (ti->ino == 0) {
				if (next == UINT32_MAX) {
					rc = LH_FAIL(err, -EFBIG, "%s: more than 2^32 inodes", w->path);
					goto out;
				}
				if (next >= cap) {
					struct lh_tree_node **n = realloc(p->nodes, 2 * cap * sizeof(*n));

					if (!n) {
						rc = LH_FAIL(err, -ENOMEM, "out of memory");
						goto out;
					}
					memset(n + cap, 0, cap * sizeof(*n));
					p->nodes = n;
					cap *= 2;
				}
				ti->ino = next++;
				p->nodes[ti->ino] = c;
			}
			if (S_ISDIR(ti->mode)) {
				d->inode->subdirs++;
				if (q_len == q_cap) {
					size_t nc = q_cap ? q_cap * 2 : 64;
					struct lh_tree_node **q = realloc(queue, nc * sizeof(*q));

					if (!q) {
						rc = LH_FAIL(err, -ENOMEM, "out of memory");
						goto out;
					}
					queue = q;
					q_cap = nc;
				}
				/* a stack of folders still to number: the order they
				 * are visited in matters little */
				queue[q_len++] = c;
			}
		}
	}
	p->n_inodes = next - 1;

	/* pass 2: metadata blocks, in inode order, which ext4_write_meta follows */
	for (uint32_t ino = EXT2_ROOT_INO; ino <= p->n_inodes; ino++) {
		struct lh_tree_node *n = p->nodes[ino];
		struct lh_tree_inode *ti;

		if (!n)
			continue;
		ti = n->inode;
		ti->meta_pblk = meta;
		if (S_ISDIR(ti->mode)) {
			ti->meta_blocks = ext4_dir_blocks(n);
			ti->size = (uint64_t)ti->meta_blocks * EXT4_BS;
		} else if (S_ISLNK(ti->mode) && ti->size > EXT4_FAST_SYMLINK_MAX) {
			ti->meta_blocks = 1;
		}
		if (ti->meta_blocks && ext4_extent_add(ti, 0, meta, ti->meta_blocks)) {
			rc = LH_FAIL(err, -ENOMEM, "out of memory");
			goto out;
		}
		ti->tree_blocks = ext4_tree_blocks(ti->n_extents);
		meta += ti->meta_blocks + ti->tree_blocks;
		if (ti->n_xattrs || ti->opaque)
			p->ea_blocks += ext4_xattrs_need_block(ti);
	}
	p->meta_end = meta;
out:
	free(queue);
	return rc;
}

/* Groups, inodes per group and the filesystem's size: everything after the
 * metadata area is tables, then room for attribute blocks and slack. */
static int size_fs(struct lh_ext4 *w, struct plan *p, struct lh_error *err)
{
	uint64_t groups = 1, blocks = 0;

	for (;;) {
		uint64_t by_inodes = div_up(p->n_inodes, EXT4_BLOCKS_PER_GROUP), need, rem, over;

		if (groups < by_inodes)
			groups = by_inodes;
		p->ipg = (uint32_t)(div_up(div_up(p->n_inodes, groups), EXT4_INODES_PER_BLOCK) *
				    EXT4_INODES_PER_BLOCK);
		p->itb = p->ipg / EXT4_INODES_PER_BLOCK;
		p->tables = p->meta_end;
		blocks = p->tables + groups * (2 + p->itb) + p->ea_blocks + SLACK_BLOCKS +
			 p->meta_end / 1024;
		/* inodes may need more groups than the blocks fill: reach into the last */
		over = 2 + p->itb + 50; /* libext2fs drops a last group smaller than this */
		if (blocks < (groups - 1) * EXT4_BLOCKS_PER_GROUP + over)
			blocks = (groups - 1) * EXT4_BLOCKS_PER_GROUP + over;
		rem = blocks % EXT4_BLOCKS_PER_GROUP;
		if (rem && rem < over)
			blocks += over - rem;
		need = div_up(blocks, EXT4_BLOCKS_PER_GROUP);
		if (need <= groups)
			break;
		groups = need;
	}
	if (div_up(groups, EXT4_BS / 64) >= LH_EXT4_DATA_START)
		return LH_FAIL(err, -EFBIG, "%s: the layer needs %llu block groups; at most %u fit",
			       w->path, (unsigned long long)groups,
			       (LH_EXT4_DATA_START - 1) * (EXT4_BS / 64));
	p->groups = (uint32_t)groups;
	p->blocks = blocks;
	return 0;
}

static int create_fs(struct lh_ext4 *w, const struct plan *p, const uint8_t seed[32],
		     int64_t now, struct lh_error *err)
{
	struct ext2_super_block param;
	ext2_filsys fs = NULL;
	errcode_t e;

	memset(&param, 0, sizeof(param));
	param.s_rev_level = EXT2_DYNAMIC_REV;
	param.s_log_block_size = 2; /* 1024 << 2 */
	param.s_first_ino = EXT4_FIRST_INO;
	param.s_inode_size = EXT4_INODE_SIZE;
	param.s_desc_size = EXT2_MIN_DESC_SIZE_64BIT;
	param.s_blocks_per_group = EXT4_BLOCKS_PER_GROUP;
	param.s_inodes_count = p->groups * p->ipg;
	/* any flex group size will do: the tables are placed by hand, and
	 * libext2fs only counts them where they land when flex_bg is on */
	param.s_log_groups_per_flex = 4;
	param.s_backup_bgs[0] = param.s_backup_bgs[1] = 0; /* no backup superblocks */
	ext2fs_blocks_count_set(&param, p->blocks);
	param.s_feature_compat = EXT2_FEATURE_COMPAT_EXT_ATTR | EXT2_FEATURE_COMPAT_DIR_INDEX |
				 EXT4_FEATURE_COMPAT_SPARSE_SUPER2;
	param.s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_EXTENTS |
				   EXT4_FEATURE_INCOMPAT_64BIT | EXT4_FEATURE_INCOMPAT_FLEX_BG;
	param.s_feature_ro_compat = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER |
				    EXT2_FEATURE_RO_COMPAT_LARGE_FILE |
				    EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_DIR_NLINK |
				    EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE |
				    EXT4_FEATURE_RO_COMPAT_METADATA_CSUM |
				    EXT4_FEATURE_RO_COMPAT_READONLY;

	e = ext2fs_initialize(w->path, EXT2_FLAG_64BITS, &param, lh_ext4_io_manager, &fs);
	if (e)
		return LH_FAIL(err, -EIO, "%s: cannot make the filesystem: %s", w->path,
			       ext4_strerror(e));
	w->fs = fs;
	if (fs->group_desc_count != p->groups || fs->super->s_inodes_per_group != p->ipg ||
	    ext2fs_blocks_count(fs->super) != p->blocks)
		return LH_FAIL(err, -EIO,
			       "%s: libext2fs laid out %u groups of %u inodes in %llu blocks, "
			       "planned %u of %u in %llu",
			       w->path, fs->group_desc_count, fs->super->s_inodes_per_group,
			       (unsigned long long)ext2fs_blocks_count(fs->super), p->groups, p->ipg,
			       (unsigned long long)p->blocks);

	/* the same layer makes the same filesystem: identity and times from
	 * the layer, not from the clock */
	memcpy(fs->super->s_uuid, seed, 16);
	fs->super->s_uuid[6] = (uint8_t)((fs->super->s_uuid[6] & 0x0f) | 0x40);
	fs->super->s_uuid[8] = (uint8_t)((fs->super->s_uuid[8] & 0x3f) | 0x80);
	memcpy(fs->super->s_hash_seed, seed + 16, 16);
	fs->super->s_def_hash_version = EXT2_HASH_HALF_MD4;
	fs->super->s_checksum_type = EXT2_CRC32C_CHKSUM;
	/* never in the future: e2fsck reports a superblock written later than now */
	if (now > (int64_t)time(NULL))
		now = (int64_t)time(NULL);
	fs->now = now > 0 ? (time_t)now : 1;
	fs->super->s_mkfs_time = fs->super->s_lastcheck = (__u32)fs->now;
	ext2fs_init_csum_seed(fs);
	ext2fs_mark_super_dirty(fs);
	return 0;
}

/* Every group's bitmaps and inode table, after the metadata area. */
static void place_tables(ext2_filsys fs, const struct plan *p)
{
	for (dgrp_t g = 0; g < p->groups; g++) {
		ext2fs_block_bitmap_loc_set(fs, g, p->tables + g);
		ext2fs_inode_bitmap_loc_set(fs, g, p->tables + p->groups + g);
		ext2fs_inode_table_loc_set(fs, g, p->tables + 2ull * p->groups + (uint64_t)g * p->itb);
		/* never written before: the file is all zeros there */
		ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
	}
	ext2fs_mark_block_bitmap_range2(fs->block_map, p->tables, p->groups * (2ull + p->itb));
}

static int mark_blocks(struct lh_ext4 *w, const struct plan *p, struct lh_error *err)
{
	ext2_filsys fs = w->fs;

	/* file data: only what a surviving inode names (a replaced file's
	 * blocks stay free) */
	for (uint32_t ino = EXT2_ROOT_INO; ino <= p->n_inodes; ino++) {
		const struct lh_tree_inode *ti = p->nodes[ino] ? p->nodes[ino]->inode : NULL;

		if (!ti || !S_ISREG(ti->mode))
			continue;
		for (uint32_t i = 0; i < ti->n_extents; i++) {
			if (ti->extents[i].pblk < LH_EXT4_DATA_START ||
			    ti->extents[i].pblk + ti->extents[i].len > p->meta_start)
				return LH_FAIL(err, -EIO, "%s: inode %u: extent outside the data",
					       w->path, ino);
			ext2fs_mark_block_bitmap_range2(fs->block_map, ti->extents[i].pblk,
							ti->extents[i].len);
		}
	}
	if (p->meta_end > p->meta_start)
		ext2fs_mark_block_bitmap_range2(fs->block_map, p->meta_start,
						p->meta_end - p->meta_start);
	return 0;
}

/* Inode tables in bulk, group by group. */
static int write_inodes(struct lh_ext4 *w, const struct plan *p, struct lh_error *err)
{
	ext2_filsys fs = w->fs;
	size_t cap = (size_t)p->itb * EXT4_BS;
	uint8_t *buf = malloc(cap);
	bool fast = true;
	int rc = 0;

	if (!buf)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	/* the fast checksum, trusted once it agrees with libext2fs's */
	rc = ext4_encode_inode(fs, p->nodes[EXT2_ROOT_INO], p->nodes[EXT2_ROOT_INO]->inode, true,
			       buf, err);
	if (rc == 0 && !ext2fs_inode_csum_verify(fs, EXT2_ROOT_INO, (struct ext2_inode_large *)buf))
		fast = false;
	for (uint32_t g = 0; rc == 0 && g < p->groups; g++) {
		uint32_t first = g * p->ipg + 1, last = first + p->ipg - 1, used;
		errcode_t e;

		if (first > p->n_inodes)
			break;
		if (last > p->n_inodes)
			last = p->n_inodes;
		used = last - first + 1;
		memset(buf, 0, div_up(used, EXT4_INODES_PER_BLOCK) * EXT4_BS);
		for (uint32_t ino = first; rc == 0 && ino <= last; ino++)
			if (p->nodes[ino])
				rc = ext4_encode_inode(fs, p->nodes[ino], p->nodes[ino]->inode, fast,
						       buf + (size_t)(ino - first) * EXT4_INODE_SIZE, err);
		if (rc)
			break;
		e = io_channel_write_blk64(fs->io, ext2fs_inode_table_loc(fs, g),
					   (int)div_up(used, EXT4_INODES_PER_BLOCK), buf);
		if (e)
			rc = LH_FAIL(err, -EIO, "%s: cannot write inode table %u: %s", w->path, g,
				     ext4_strerror(e));
	}
	free(buf);
	/* every inode up to the last in use is taken; the reserved ones (1-10)
	 * stay zero, as a fresh ext4 has them */
	for (uint32_t ino = 1; rc == 0 && ino <= p->n_inodes; ino++)
		ext2fs_mark_inode_bitmap2(fs->inode_map, ino);
	return rc;
}

/*
 * Each group's free blocks and inodes and used directories, from the
 * bitmaps, once (libext2fs's per-allocation bookkeeping would checksum a
 * group descriptor for every file). ext2fs_set_gdt_csum sets the
 * uninitialised flags from these counts afterwards.
 */
static void account(ext2_filsys fs, const struct plan *p)
{
	uint64_t free_total = 0;

	for (dgrp_t g = 0; g < p->groups; g++) {
		blk64_t blk = ext2fs_group_first_block2(fs, g), last = ext2fs_group_last_block2(fs, g);
		uint64_t free_blocks = 0;
		uint32_t first_ino = g * p->ipg + 1, used = 0, dirs = 0;

		while (blk <= last) {
			blk64_t zero, set;

			if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, blk, last, &zero))
				break;
			if (ext2fs_find_first_set_block_bitmap2(fs->block_map, zero, last, &set))
				set = last + 1;
			free_blocks += set - zero;
			blk = set;
		}
		free_total += free_blocks;
		ext2fs_bg_free_blocks_count_set(fs, g, (blk64_t)free_blocks);
		ext2fs_bg_flags_clear(fs, g, EXT2_BG_BLOCK_UNINIT);

		if (p->n_inodes >= first_ino)
			used = p->n_inodes - first_ino + 1 < p->ipg ? p->n_inodes - first_ino + 1 : p->ipg;
		for (uint32_t i = 0; i < used; i++) {
			const struct lh_tree_node *n = p->nodes[first_ino + i];

			dirs += n && n->inode->ino == first_ino + i && S_ISDIR(n->inode->mode);
		}
		ext2fs_bg_free_inodes_count_set(fs, g, p->ipg - used);
		ext2fs_bg_used_dirs_count_set(fs, g, dirs);
		if (used)
			ext2fs_bg_flags_clear(fs, g, EXT2_BG_INODE_UNINIT);
	}
	ext2fs_free_blocks_count_set(fs->super, free_total);
	fs->super->s_free_inodes_count = fs->super->s_inodes_count - p->n_inodes;
	ext2fs_mark_bb_dirty(fs);
	ext2fs_mark_ib_dirty(fs);
	ext2fs_mark_super_dirty(fs);
}

static int write_xattrs(struct lh_ext4 *w, const struct plan *p, struct lh_error *err)
{
	for (uint32_t ino = EXT2_ROOT_INO; ino <= p->n_inodes; ino++) {
		const struct lh_tree_node *n = p->nodes[ino];
		const struct lh_tree_inode *ti = n ? n->inode : NULL;
		struct ext2_xattr_handle *h = NULL;
		errcode_t e;

		if (!ti || (!ti->n_xattrs && !ti->opaque))
			continue;
		e = ext2fs_xattrs_open(w->fs, ino, &h);
		if (!e)
			e = ext2fs_xattrs_read(h);
		for (uint32_t i = 0; !e && i < ti->n_xattrs; i++)
			e = ext2fs_xattr_set(h, ti->xattrs[i].name, ti->xattrs[i].value,
					     ti->xattrs[i].len);
		if (!e && ti->opaque)
			e = ext2fs_xattr_set(h, "trusted.overlay.opaque", "y", 1);
		if (h) {
			errcode_t c = ext2fs_xattrs_close(&h);

			if (!e)
				e = c;
		}
		if (e)
			return LH_FAIL(err, -EIO, "%s: '%s' (inode %u): extended attributes: %s",
				       w->path, n->name, ino, ext4_strerror(e));
	}
	return 0;
}

int lh_ext4_finish(struct lh_ext4 *w, struct lh_tree *t, const uint8_t seed[32],
		   uint64_t *size, struct lh_error *err)
{
	struct plan p = { 0 };
	errcode_t e;
	int rc;

	*size = 0;
	rc = ext4_stage_sync(w, err);
	if (rc)
		goto out;
	p.meta_start = w->stage.cursor;
	rc = number_inodes(w, t, &p, err);
	if (rc == 0)
		rc = size_fs(w, &p, err);
	if (rc)
		goto out;
	if (ftruncate(w->fd, (off_t)(p.blocks * EXT4_BS)) != 0) {
		rc = LH_FAIL(err, -errno, "%s: cannot size the image: %s", w->path, strerror(errno));
		goto out;
	}
	rc = create_fs(w, &p, seed, lh_tree_newest(t), err);
	if (rc)
		goto out;
	place_tables(w->fs, &p);
	rc = mark_blocks(w, &p, err);
	if (rc == 0)
		rc = write_inodes(w, &p, err);
	/* the metadata area, in the order number_inodes planned it; checksums
	 * of directory and extent blocks read their inode, written just now */
	for (uint32_t ino = EXT2_ROOT_INO; rc == 0 && ino <= p.n_inodes; ino++) {
		const struct lh_tree_node *n = p.nodes[ino];

		if (n && (n->inode->meta_blocks || n->inode->tree_blocks))
			rc = ext4_write_meta(w, n, err);
	}
	if (rc == 0)
		rc = ext4_stage_sync(w, err);
	if (rc == 0) {
		account(w->fs, &p);
		/* last: libext2fs allocates attribute blocks, counting as it goes */
		rc = write_xattrs(w, &p, err);
	}
	if (rc)
		goto out;
	/* no fsync here: the caller flushes the finished file once */
	e = ext2fs_set_gdt_csum(w->fs);
	if (!e)
		e = ext2fs_close2(w->fs, EXT2_FLAG_FLUSH_NO_SYNC);
	if (!e)
		w->fs = NULL; /* freed by a successful close; lh_ext4_close frees it otherwise */
	if (e) {
		rc = LH_FAIL(err, -EIO, "%s: cannot write the filesystem's metadata: %s", w->path,
			     ext4_strerror(e));
		goto out;
	}
	*size = p.blocks * EXT4_BS;
out:
	free(p.nodes);
	return rc;
}
