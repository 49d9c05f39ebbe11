/* ext4_data.c - the writer's lifetime and the file data streaming into it
 * (see ext4.h for the layout). */
#include "ext4_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Data runs at least this long are written from the caller's buffer. */
#define DIRECT_MIN (64u * 1024)

int ext4_extent_add(struct lh_tree_inode *ino, uint64_t lblk, uint64_t pblk, uint64_t n)
{
	ino->data_blocks += n;
	while (n) {
		struct lh_extent *last = ino->n_extents ? &ino->extents[ino->n_extents - 1] : NULL;
		uint64_t k;

		if (last && last->lblk + last->len == lblk && last->pblk + last->len == pblk &&
		    last->len < EXT4_MAX_EXTENT_LEN) {
			k = EXT4_MAX_EXTENT_LEN - last->len;
			if (k > n)
				k = n;
			last->len += (uint32_t)k;
		} else {
			if (ino->n_extents == ino->cap_extents && ino->cap_extents == 0) {
				ino->extents = &ino->extent0;
				ino->cap_extents = 1;
			} else if (ino->n_extents == ino->cap_extents) {
				uint32_t cap = ino->cap_extents * 2;
				struct lh_extent *e = malloc(cap * sizeof(*e));

				if (!e)
					return -ENOMEM;
				memcpy(e, ino->extents, ino->n_extents * sizeof(*e));
				if (ino->extents != &ino->extent0)
					free(ino->extents);
				ino->extents = e;
				ino->cap_extents = cap;
			}
			k = n < EXT4_MAX_EXTENT_LEN ? n : EXT4_MAX_EXTENT_LEN;
			ino->extents[ino->n_extents++] =
				(struct lh_extent){ .lblk = lblk, .pblk = pblk, .len = (uint32_t)k };
		}
		lblk += k;
		pblk += k;
		n -= k;
	}
	return 0;
}

int lh_ext4_open(const char *path, struct lh_ext4 **out, struct lh_error *err)
{
	struct lh_ext4 *w = calloc(1, sizeof(*w));
	int rc = 0;

	*out = NULL;
	if (!w)
		return LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
	w->fd = -1;
	w->path = strdup(path);
	if (!w->path) {
		rc = LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	w->fd = open(path, O_RDWR | O_CLOEXEC);
	if (w->fd < 0) {
		rc = LH_FAIL(err, -errno, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	rc = ext4_stage_init(&w->stage, w->fd, w->path, LH_EXT4_DATA_START, err);
	if (rc)
		goto fail;
	*out = w;
	return 0;
fail:
	lh_ext4_close(w);
	return rc;
}

void lh_ext4_file_begin(struct lh_ext4 *w, struct lh_tree_inode *ino)
{
	w->cur = ino;
	w->any = false;
	w->open = false;
}

int lh_ext4_write(struct lh_ext4 *w, uint64_t off, const void *buf, size_t len,
		  struct lh_error *err)
{
	const uint8_t *p = buf;
	uint8_t *dst;
	int rc;

	while (len) {
		uint64_t lblk = off / EXT4_BS;
		size_t boff = (size_t)(off % EXT4_BS), n;

		if (w->open && lblk == w->last_lblk) {
			/* more of the block the last call left partly filled: it is
			 * still the last one staged, since blocks are only taken for
			 * later offsets */
			n = EXT4_BS - boff < len ? EXT4_BS - boff : len;
			memcpy(w->stage.buf + (size_t)(w->stage.n - 1) * EXT4_BS + boff, p, n);
			w->open = boff + n < EXT4_BS;
		} else if (w->any && lblk <= w->last_lblk) {
			return LH_FAIL(err, -EINVAL,
				       "file data out of order (byte %llu after block %llu was written)",
				       (unsigned long long)off, (unsigned long long)w->last_lblk);
		} else if (boff == 0 && len >= DIRECT_MIN) {
			/* a run of whole blocks big enough for a write of its own,
			 * straight from the caller's buffer: no copy into the stage */
			uint64_t blocks = len / EXT4_BS, pblk;

			rc = ext4_stage_flush(w, err);
			if (rc)
				return rc;
			pblk = w->stage.cursor;
			n = (size_t)blocks * EXT4_BS;
			rc = ext4_pwrite_all(w->fd, p, n, pblk * EXT4_BS);
			if (rc)
				return LH_FAIL(err, rc, "%s: cannot write: %s", w->path, strerror(-rc));
			w->stage.cursor += blocks;
			if (ext4_extent_add(w->cur, lblk, pblk, blocks))
				return LH_FAIL(err, -ENOMEM, "out of memory");
			w->last_lblk = lblk + blocks - 1;
			w->open = false;
		} else if (boff == 0 && len >= EXT4_BS) {
			/* whole blocks, into the stage */
			uint64_t blocks = len / EXT4_BS;

			if (blocks > w->stage.cap - 1)
				blocks = w->stage.cap - 1;
			rc = ext4_stage_take(w, (uint32_t)blocks, &dst, err);
			if (rc)
				return rc;
			n = (size_t)blocks * EXT4_BS;
			memcpy(dst, p, n);
			if (ext4_extent_add(w->cur, lblk, w->stage.cursor - blocks, blocks))
				return LH_FAIL(err, -ENOMEM, "out of memory");
			w->last_lblk = lblk + blocks - 1;
			w->open = false;
		} else {
			/* a block of which only part is data: the rest reads as zeros */
			rc = ext4_stage_take(w, 1, &dst, err);
			if (rc)
				return rc;
			n = EXT4_BS - boff < len ? EXT4_BS - boff : len;
			memset(dst, 0, boff);
			memcpy(dst + boff, p, n);
			memset(dst + boff + n, 0, EXT4_BS - boff - n);
			if (ext4_extent_add(w->cur, lblk, w->stage.cursor - 1, 1))
				return LH_FAIL(err, -ENOMEM, "out of memory");
			w->last_lblk = lblk;
			w->open = boff + n < EXT4_BS;
		}
		w->any = true;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

uint64_t lh_ext4_data_bytes(const struct lh_ext4 *w)
{
	return (w->stage.cursor - LH_EXT4_DATA_START) * EXT4_BS;
}

void lh_ext4_close(struct lh_ext4 *w)
{
	if (!w)
		return;
	ext4_stage_destroy(&w->stage); /* the writer thread first: it uses fd */
	if (w->fs)
		ext2fs_free(w->fs);
	if (w->fd >= 0)
		close(w->fd);
	free(w->path);
	free(w);
}
