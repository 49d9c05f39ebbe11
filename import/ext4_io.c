/*
 * ext4_io.c - the I/O manager libext2fs writes the image through: plain
 * pread/pwrite on the image file, no block cache and no fsync.
 *
 * libext2fs's own unix manager fsyncs the file when it opens it (the file
 * data is already there by then: that fsync alone cost more than the whole
 * conversion) and keeps a block cache the bulk writes would have to stay
 * coherent with. The writer flushes the finished image once, itself.
 */
#include "ext4_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct image_io {
	int fd;
};

static errcode_t image_close(io_channel ch)
{
	struct image_io *io = ch->private_data;

	if (--ch->refcount > 0)
		return 0;
	if (io && io->fd >= 0)
		close(io->fd);
	free(io);
	free(ch->name);
	free(ch);
	return 0;
}

static errcode_t image_open(const char *name, int flags, io_channel *out)
{
	io_channel ch = calloc(1, sizeof(*ch));
	struct image_io *io = calloc(1, sizeof(*io));
	errcode_t rc = 0;

	*out = NULL;
	if (io)
		io->fd = -1;
	if (!ch || !io || !(ch->name = strdup(name))) {
		rc = ENOMEM;
		goto fail;
	}
	io->fd = open(name, ((flags & IO_FLAG_RW) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (io->fd < 0) {
		rc = (errcode_t)errno;
		goto fail;
	}
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = lh_ext4_io_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = io;
	*out = ch;
	return 0;
fail:
	if (io && io->fd >= 0)
		close(io->fd);
	free(io);
	if (ch)
		free(ch->name);
	free(ch);
	return rc;
}

static errcode_t image_set_blksize(io_channel ch, int blksize)
{
	ch->block_size = blksize;
	return 0;
}

/* count > 0: blocks; count < 0: -count bytes (libext2fs's convention). */
static size_t io_len(io_channel ch, int count)
{
	return count < 0 ? (size_t)-(long)count : (size_t)count * (size_t)ch->block_size;
}

static errcode_t image_read64(io_channel ch, unsigned long long block, int count, void *data)
{
	struct image_io *io = ch->private_data;
	size_t len = io_len(ch, count);
	off_t off = (off_t)(block * (unsigned long long)ch->block_size);
	uint8_t *p = data;

	while (len) {
		ssize_t n = pread(io->fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (errcode_t)errno;
		if (n == 0) { /* past the end: what a sparse tail reads as */
			memset(p, 0, len);
			break;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static errcode_t write_at(struct image_io *io, const void *data, size_t len, off_t off)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = pwrite(io->fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (errcode_t)errno : EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static errcode_t image_write64(io_channel ch, unsigned long long block, int count,
			       const void *data)
{
	return write_at(ch->private_data, data, io_len(ch, count),
			(off_t)(block * (unsigned long long)ch->block_size));
}

static errcode_t image_read(io_channel ch, unsigned long block, int count, void *data)
{
	return image_read64(ch, block, count, data);
}

static errcode_t image_write(io_channel ch, unsigned long block, int count, const void *data)
{
	return image_write64(ch, block, count, data);
}

static errcode_t image_write_byte(io_channel ch, unsigned long offset, int count,
				  const void *data)
{
	return write_at(ch->private_data, data, (size_t)count, (off_t)offset);
}

static errcode_t image_flush(io_channel ch)
{
	(void)ch; /* nothing cached; the caller fsyncs the finished file */
	return 0;
}

static struct struct_io_manager image_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "layerhost image I/O",
	.open = image_open,
	.close = image_close,
	.set_blksize = image_set_blksize,
	.read_blk = image_read,
	.write_blk = image_write,
	.flush = image_flush,
	.write_byte = image_write_byte,
	.read_blk64 = image_read64,
	.write_blk64 = image_write64,
};

io_manager lh_ext4_io_manager = &image_manager;
