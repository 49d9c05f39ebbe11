/* disk.c - see disk.h. */
#include "disk.h"
#include "error.h"
#include "vhdx.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VHD_COOKIE "conectix"
#define VHDX_SIGNATURE "vhdxfile"
#define VHD_TYPE_FIXED 2
#define VHD_TYPE_DYNAMIC 3
#define VHD_TYPE_DIFFERENCING 4
/* Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC. */
#define VHD_EPOCH_OFFSET 946684800

/* Footer field offsets (VHD specification, "Hard Disk Footer Format"). */
enum {
	VHD_OFF_COOKIE = 0,
	VHD_OFF_FEATURES = 8,
	VHD_OFF_VERSION = 12,
	VHD_OFF_DATA_OFFSET = 16,
	VHD_OFF_TIMESTAMP = 24,
	VHD_OFF_CREATOR_APP = 28,
	VHD_OFF_CREATOR_VERSION = 32,
	VHD_OFF_CREATOR_OS = 36,
	VHD_OFF_ORIGINAL_SIZE = 40,
	VHD_OFF_CURRENT_SIZE = 48,
	VHD_OFF_GEOMETRY = 56,
	VHD_OFF_DISK_TYPE = 60,
	VHD_OFF_CHECKSUM = 64,
	VHD_OFF_UNIQUE_ID = 68,
};

static uint64_t be_get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static void be_put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint32_t vhd_checksum(const uint8_t footer[LH_VHD_FOOTER_SIZE])
{
	uint32_t sum = 0;

	for (size_t i = 0; i < LH_VHD_FOOTER_SIZE; i++)
		if (i < VHD_OFF_CHECKSUM || i >= VHD_OFF_CHECKSUM + 4)
			sum += footer[i];
	return ~sum;
}

int lh_vhd_parse_footer(const uint8_t footer[LH_VHD_FOOTER_SIZE], const char *path,
			uint32_t *disk_type, uint64_t *current_size, struct lh_error *err)
{
	uint32_t stored, computed;

	if (memcmp(footer + VHD_OFF_COOKIE, VHD_COOKIE, 8) != 0)
		return LH_FAIL(err, -LH_EBADDISK, "%s: no VHD footer (cookie \"conectix\" not found)",
			       path);
	stored = (uint32_t)be_get(footer + VHD_OFF_CHECKSUM, 4);
	computed = vhd_checksum(footer);
	if (stored != computed)
		return LH_FAIL(err, -LH_EBADDISK,
			       "%s: VHD footer checksum is 0x%08x, expected 0x%08x", path, stored,
			       computed);
	*disk_type = (uint32_t)be_get(footer + VHD_OFF_DISK_TYPE, 4);
	*current_size = be_get(footer + VHD_OFF_CURRENT_SIZE, 8);
	if (*disk_type != VHD_TYPE_FIXED && *disk_type != VHD_TYPE_DYNAMIC &&
	    *disk_type != VHD_TYPE_DIFFERENCING)
		return LH_FAIL(err, -LH_EBADDISK, "%s: VHD footer has unknown disk type %u", path,
			       *disk_type);
	return 0;
}

/* CHS geometry for a size, as the VHD specification computes it. */
static uint32_t vhd_geometry(uint64_t size)
{
	uint64_t total = size / 512, cyl_times_heads;
	uint32_t spt, heads;

	if (total > 65535ull * 16 * 255)
		total = 65535ull * 16 * 255;
	if (total >= 65535ull * 16 * 63) {
		spt = 255;
		heads = 16;
		cyl_times_heads = total / spt;
	} else {
		spt = 17;
		cyl_times_heads = total / spt;
		heads = (uint32_t)((cyl_times_heads + 1023) / 1024);
		if (heads < 4)
			heads = 4;
		if (cyl_times_heads >= heads * 1024ull || heads > 16) {
			spt = 31;
			heads = 16;
			cyl_times_heads = total / spt;
		}
		if (cyl_times_heads >= heads * 1024ull) {
			spt = 63;
			heads = 16;
			cyl_times_heads = total / spt;
		}
	}
	return (uint32_t)((cyl_times_heads / heads) << 16) | (heads << 8) | spt;
}

void lh_vhd_make_footer(uint8_t footer[LH_VHD_FOOTER_SIZE], uint64_t data_size)
{
	uint64_t now = (uint64_t)time(NULL);
	uint64_t id_seed = data_size ^ (now << 20) ^ (uint64_t)getpid();

	memset(footer, 0, LH_VHD_FOOTER_SIZE);
	memcpy(footer + VHD_OFF_COOKIE, VHD_COOKIE, 8);
	be_put(footer + VHD_OFF_FEATURES, 2, 4); /* "reserved" bit, always set */
	be_put(footer + VHD_OFF_VERSION, 0x00010000, 4);
	be_put(footer + VHD_OFF_DATA_OFFSET, UINT64_MAX, 8); /* fixed: no header */
	be_put(footer + VHD_OFF_TIMESTAMP, now > VHD_EPOCH_OFFSET ? now - VHD_EPOCH_OFFSET : 0, 4);
	/* Hyper-V's creator app: QEMU takes the size of a VHD from an unknown
	 * creator's CHS geometry, which rounds most sizes down and would cut
	 * off the end of a layer; for "win " it uses current_size, as
	 * Hyper-V does. */
	memcpy(footer + VHD_OFF_CREATOR_APP, "win ", 4);
	be_put(footer + VHD_OFF_CREATOR_VERSION, 0x00010000, 4);
	memcpy(footer + VHD_OFF_CREATOR_OS, "Wi2k", 4);
	be_put(footer + VHD_OFF_ORIGINAL_SIZE, data_size, 8);
	be_put(footer + VHD_OFF_CURRENT_SIZE, data_size, 8);
	be_put(footer + VHD_OFF_GEOMETRY, vhd_geometry(data_size), 4);
	be_put(footer + VHD_OFF_DISK_TYPE, VHD_TYPE_FIXED, 4);
	be_put(footer + VHD_OFF_UNIQUE_ID, id_seed, 8);
	be_put(footer + VHD_OFF_UNIQUE_ID + 8, id_seed * 0x9e3779b97f4a7c15ull, 8);
	be_put(footer + VHD_OFF_CHECKSUM, vhd_checksum(footer), 4);
}

static int write_all_at(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int lh_vhd_append_footer(const char *path, struct lh_error *err)
{
	uint8_t footer[LH_VHD_FOOTER_SIZE];
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return LH_FAIL(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = LH_FAIL(err, -errno, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size % 512) {
		rc = LH_FAIL(err, -EINVAL, "%s: length %lld is not a multiple of 512", path,
			     (long long)st.st_size);
		goto out;
	}
	lh_vhd_make_footer(footer, (uint64_t)st.st_size);
	rc = write_all_at(fd, footer, sizeof(footer), st.st_size);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc)
		LH_FAIL(err, rc, "%s: cannot write the VHD footer: %s", path, lh_strerror(rc));
out:
	close(fd);
	return rc;
}

int lh_vhd_create_fixed(const char *path, uint64_t data_size, struct lh_error *err)
{
	uint8_t footer[LH_VHD_FOOTER_SIZE];
	int fd, rc;

	if (data_size % 512 || data_size > (uint64_t)INT64_MAX - LH_VHD_FOOTER_SIZE)
		return LH_FAIL(err, -EINVAL, "%s: data size %llu is not a multiple of 512", path,
			       (unsigned long long)data_size);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return LH_FAIL(err, -errno, "%s: cannot create: %s", path, strerror(errno));
	lh_vhd_make_footer(footer, data_size);
	rc = write_all_at(fd, footer, sizeof(footer), (off_t)data_size);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc) {
		unlink(path);
		LH_FAIL(err, rc, "%s: cannot write: %s", path, lh_strerror(rc));
	}
	return rc;
}

static int read_exact_at(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* A VHD's footer is at the end; dynamic disks keep a copy at offset 0. */
static int probe_vhd(int fd, const char *path, uint64_t file_size, const uint8_t *head,
		     struct lh_disk_info *info, struct lh_error *err)
{
	uint8_t footer[LH_VHD_FOOTER_SIZE];
	uint32_t type;
	uint64_t current;
	int rc;

	if (file_size < LH_VHD_FOOTER_SIZE)
		return LH_FAIL(err, -LH_EBADDISK, "%s: %llu bytes is too short for a VHD", path,
			       (unsigned long long)file_size);
	rc = read_exact_at(fd, footer, sizeof(footer), (off_t)(file_size - LH_VHD_FOOTER_SIZE));
	if (rc)
		return LH_FAIL(err, -LH_EBADDISK, "%s: cannot read the VHD footer: %s", path,
			       lh_strerror(rc));
	if (memcmp(footer, VHD_COOKIE, 8) != 0 && memcmp(head, VHD_COOKIE, 8) == 0)
		return LH_FAIL(err, -LH_EBADDISK,
			       "%s: VHD footer copy at the start but no footer at the end "
			       "(truncated file?)", path);
	rc = lh_vhd_parse_footer(footer, path, &type, &current, err);
	if (rc)
		return rc;
	if (type == VHD_TYPE_FIXED) {
		if (current != file_size - LH_VHD_FOOTER_SIZE)
			return LH_FAIL(err, -LH_EBADDISK,
				       "%s: fixed VHD footer says %llu bytes of data but the file "
				       "holds %llu (truncated file?)", path,
				       (unsigned long long)current,
				       (unsigned long long)(file_size - LH_VHD_FOOTER_SIZE));
		info->format = LH_DISK_VHD_FIXED;
		info->data_size = file_size - LH_VHD_FOOTER_SIZE;
	} else {
		info->format = LH_DISK_VHD_DYNAMIC;
		info->data_size = current;
	}
	return 0;
}

static int vhdx_pread(void *ctx, uint64_t off, void *buf, size_t len)
{
	return read_exact_at(*(int *)ctx, buf, len, (off_t)off);
}

/* A VHDX: its structures checked, its virtual size read. */
static int probe_vhdx(int fd, const char *path, struct lh_disk_info *info, struct lh_error *err)
{
	struct lh_vhdx_reader reader = { vhdx_pread, &fd, info->file_size };
	struct lh_vhdx_info vhdx;
	int rc = lh_vhdx_parse(&reader, path, &vhdx, err);

	if (rc)
		return rc;
	info->format = LH_DISK_VHDX;
	info->data_size = vhdx.virtual_size;
	return 0;
}

int lh_disk_probe(const char *path, struct lh_disk_info *info, struct lh_error *err)
{
	uint8_t head[8] = { 0 };
	struct stat st;
	uint64_t size;
	int fd, rc = 0;

	memset(info, 0, sizeof(*info));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return LH_FAIL(err, rc, "%s: no such disk file", path);
		return LH_FAIL(err, rc, "%s: cannot open: %s", path, lh_strerror(rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = LH_FAIL(err, -errno, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = LH_FAIL(err, -LH_EBADDISK, "%s: is a directory, not a disk", path);
		goto out;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			rc = LH_FAIL(err, -errno, "%s: cannot read the device size: %s", path,
				     strerror(errno));
			goto out;
		}
		info->format = LH_DISK_BLOCK_DEVICE;
		info->file_size = info->data_size = size;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = LH_FAIL(err, -LH_EBADDISK, "%s: is neither a file nor a block device", path);
		goto out;
	}
	info->file_size = (uint64_t)st.st_size;
	if (st.st_size >= 8 && read_exact_at(fd, head, sizeof(head), 0) != 0) {
		rc = LH_FAIL(err, -LH_EBADDISK, "%s: cannot read the first bytes", path);
		goto out;
	}
	if (memcmp(head, VHDX_SIGNATURE, 8) == 0) {
		rc = probe_vhdx(fd, path, info, err);
		goto out;
	}
	rc = probe_vhd(fd, path, info->file_size, head, info, err);
out:
	close(fd);
	if (rc)
		info->format = LH_DISK_UNKNOWN;
	return rc;
}
