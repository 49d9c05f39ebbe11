/*
 * test_disk.c - the disk probe on real files: fixed and dynamic VHD, VHDX,
 * block devices, and every refusal with a message naming the path and
 * what was found there.
 */
#include "cutest.h"

#include "disk.h"
#include "fixtures.h"
#include "vhdx.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024ull * 1024ull)

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Flip one byte of path at offset. */
static int flip_byte(const char *path, off_t offset)
{
	uint8_t b;
	int fd = open(path, O_RDWR), rc = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &b, 1, offset) == 1) {
		b ^= 0x5a;
		rc = pwrite(fd, &b, 1, offset) == 1 ? 0 : -1;
	}
	close(fd);
	return rc;
}

/* The virtual size qemu-img reports for path read as `format`, or 0. */
static uint64_t qemu_virtual_size(const char *path, const char *format, char *got_format,
				  size_t cap)
{
	const char *out = fixture_path("qemu-info.json");
	uint64_t size = 0;
	char *text;
	cJSON *json, *vs, *fmt;

	unlink(out);
	if (fixture_sh("qemu-img info --output=json -f %s '%s' > '%s'", format, path, out) != 0)
		return 0;
	text = fixture_read(out, NULL);
	json = text ? cJSON_Parse(text) : NULL;
	vs = cJSON_GetObjectItemCaseSensitive(json, "virtual-size");
	fmt = cJSON_GetObjectItemCaseSensitive(json, "format");
	if (cJSON_IsNumber(vs))
		size = (uint64_t)vs->valuedouble;
	if (got_format && cap)
		snprintf(got_format, cap, "%s", cJSON_IsString(fmt) ? fmt->valuestring : "");
	cJSON_Delete(json);
	free(text);
	return size;
}

/* probe path and expect a refusal with `code` naming path and `what`. */
static void expect_refusal(const char *path, int code, const char *what)
{
	struct lh_disk_info info;
	struct lh_error err = { 0 };

	memset(&info, 0xab, sizeof(info));
	CU_ASSERT_EQUAL(lh_disk_probe(path, &info, &err), code);
	CU_ASSERT_EQUAL(err.code, code);
	CU_ASSERT_EQUAL(info.format, LH_DISK_UNKNOWN);
	ASSERT_MSG_HAS(err, path);
	ASSERT_MSG_HAS(err, what);
}

static void test_fixed_vhd(void)
{
	const char *path = fixture_path("disk/fixed.vhd");
	struct lh_disk_info info;
	struct lh_error err = { 0 };
	uint8_t footer[LH_VHD_FOOTER_SIZE];
	uint32_t type = 0;
	uint64_t size = 0;
	int fd;

	CU_ASSERT_FATAL(fixture_vhd(path, 3 * MIB) == 0);
	CU_ASSERT_EQUAL(lh_disk_probe(path, &info, &err), 0);
	CU_ASSERT_EQUAL(info.format, LH_DISK_VHD_FIXED);
	CU_ASSERT_EQUAL(info.file_size, 3 * MIB + 512);
	CU_ASSERT_EQUAL(info.data_size, 3 * MIB);

	/* The footer itself: fixed type, the size, a checksum that holds. */
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, footer, sizeof(footer), (off_t)(3 * MIB)), (ssize_t)sizeof(footer));
	close(fd);
	CU_ASSERT_EQUAL(lh_vhd_parse_footer(footer, path, &type, &size, &err), 0);
	CU_ASSERT_EQUAL(type, 2);
	CU_ASSERT_EQUAL(size, 3 * MIB);
	CU_ASSERT(memcmp(footer, "conectix", 8) == 0);
}

/* qemu reads our fixed VHDs as vpc with the full size: a QEMU guest sees
 * every byte of a layer image. */
static void test_fixed_vhd_qemu_agrees(void)
{
	static const uint64_t sizes[] = { 1 * MIB, 3 * MIB + 512, 64 * MIB, 513 * MIB };
	char name[64], format[32];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const char *path;

		snprintf(name, sizeof(name), "disk/qemu-%zu.vhd", i);
		path = fixture_path(name);
		CU_ASSERT_FATAL(fixture_vhd(path, sizes[i]) == 0);
		CU_ASSERT_EQUAL(qemu_virtual_size(path, "vpc", format, sizeof(format)), sizes[i]);
		CU_ASSERT_STRING_EQUAL(format, "vpc");
	}
}

static void test_dynamic_vhd(void)
{
	const char *path = fixture_path("disk/dynamic.vhd");
	struct lh_disk_info info;
	struct lh_error err = { 0 };
	uint64_t qemu_size;

	CU_ASSERT_FATAL(fixture_sh("qemu-img create -q -f vpc -o subformat=dynamic '%s' 16M",
				   path) == 0);
	qemu_size = qemu_virtual_size(path, "vpc", NULL, 0);
	CU_ASSERT(qemu_size > 15 * MIB);
	CU_ASSERT_EQUAL(lh_disk_probe(path, &info, &err), 0);
	CU_ASSERT_EQUAL(info.format, LH_DISK_VHD_DYNAMIC);
	CU_ASSERT_EQUAL(info.file_size, file_size(path));
	CU_ASSERT_EQUAL(info.data_size, qemu_size);
	CU_ASSERT(info.file_size < info.data_size);
}

static void test_vhdx(void)
{
	const char *path = fixture_path("disk/layer.vhdx");
	struct lh_disk_info info;
	struct lh_error err = { 0 };

	CU_ASSERT_FATAL(fixture_vhdx(path, 32 * MIB) == 0);
	CU_ASSERT_EQUAL(lh_disk_probe(path, &info, &err), 0);
	CU_ASSERT_EQUAL(info.format, LH_DISK_VHDX);
	CU_ASSERT_EQUAL(info.file_size, file_size(path));
	CU_ASSERT_EQUAL(info.data_size, 32 * MIB);
}

static void test_crc32c(void)
{
	/* The check value of CRC-32C (Castagnoli). */
	CU_ASSERT_EQUAL(lh_crc32c("123456789", 9), 0xe3069283u);
	CU_ASSERT_EQUAL(lh_crc32c("", 0), 0);
}

#define VHDX_HEADER_1 (64 * 1024)
#define VHDX_HEADER_2 (128 * 1024)
#define VHDX_REGIONS_1 (192 * 1024)
#define VHDX_REGIONS_2 (256 * 1024)

/* Overwrite len bytes of path at off. */
static void patch(const char *path, off_t off, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

/* Set the checksum at off + 4 of the len-byte structure at off right. */
static void resign(const char *path, off_t off, size_t len)
{
	uint8_t *s = malloc(len);
	int fd = open(path, O_RDWR);
	uint32_t crc;

	CU_ASSERT_FATAL(s && fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, s, len, off), (ssize_t)len);
	memset(s + 4, 0, 4);
	crc = lh_crc32c(s, len);
	for (int i = 0; i < 4; i++)
		s[4 + i] = (uint8_t)(crc >> (8 * i));
	CU_ASSERT_EQUAL(pwrite(fd, s, len, off), (ssize_t)len);
	close(fd);
	free(s);
}

/* A fresh qemu-img VHDX of 32 MiB at disk/<name>. */
static const char *vhdx_copy(const char *name)
{
	static char path[4096];
	char relative[256];

	snprintf(relative, sizeof(relative), "disk/%s", name);
	snprintf(path, sizeof(path), "%s", fixture_path(relative));
	unlink(path);
	CU_ASSERT_FATAL(fixture_vhdx(path, 32 * MIB) == 0);
	return path;
}

/*
 * Damage one structure at a time: a broken header or region table is
 * covered by its twin; both broken, a log left to replay, a metadata
 * value out of bounds and a file cut short are refused, saying which.
 */
static void test_vhdx_damaged(void)
{
	static const uint8_t junk[4] = { 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t log_guid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	static const uint8_t sector_4097[4] = { 0x01, 0x10, 0, 0 };
	struct lh_disk_info info;
	struct lh_error err = { 0 };
	const char *path;

	path = vhdx_copy("h1.vhdx");
	patch(path, VHDX_HEADER_1 + 100, junk, sizeof(junk));
	CU_ASSERT_EQUAL(lh_disk_probe(path, &info, &err), 0);
	CU_ASSERT_EQUAL(info.data_size, 32 * MIB);
	patch(path, VHDX_HEADER_2 + 100, junk, sizeof(junk));
	expect_refusal(path, -LH_EBADDISK, "neither VHDX header");

	path = vhdx_copy("r1.vhdx");
	patch(path, VHDX_REGIONS_1 + 100, junk, sizeof(junk));
	CU_ASSERT_EQUAL(lh_disk_probe(path, &info, &err), 0);
	patch(path, VHDX_REGIONS_2, "xxxx", 4);
	expect_refusal(path, -LH_EBADDISK, "neither VHDX region table");

	/* A log GUID in both headers, checksums made right again. */
	path = vhdx_copy("log.vhdx");
	patch(path, VHDX_HEADER_1 + 48, log_guid, sizeof(log_guid));
	patch(path, VHDX_HEADER_2 + 48, log_guid, sizeof(log_guid));
	resign(path, VHDX_HEADER_1, 4096);
	resign(path, VHDX_HEADER_2, 4096);
	expect_refusal(path, -LH_EBADDISK, "log to replay");

	/* qemu-img puts the metadata region at 3 MiB, the logical sector size
	 * item 64 KiB + 32 bytes into it. */
	path = vhdx_copy("sector.vhdx");
	CU_ASSERT_EQUAL(lh_disk_probe(path, &info, &err), 0);
	patch(path, 3 * MIB + 64 * 1024 + 32, sector_4097, sizeof(sector_4097));
	expect_refusal(path, -LH_EBADDISK, "logical sector size 4097");

	path = vhdx_copy("short.vhdx");
	CU_ASSERT_EQUAL(truncate(path, 200 * 1024), 0);
	expect_refusal(path, -LH_EBADDISK, "past the end of the file");
	CU_ASSERT_EQUAL(truncate(path, 2 * MIB), 0);
	expect_refusal(path, -LH_EBADDISK, "past the end of the file");
}

static void test_missing(void)
{
	expect_refusal(fixture_path("disk/absent.vhd"), -ENOENT, "no such disk file");
}

static void test_directory(void)
{
	const char *path = fixture_path("disk/adir");

	CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
	expect_refusal(path, -LH_EBADDISK, "is a directory");
}

static void test_not_a_vhd(void)
{
	const char *path = fixture_path("disk/text.vhd");
	const char *tiny = fixture_path("disk/tiny.vhd");
	char text[4096];

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + i % 26);
	CU_ASSERT_FATAL(fixture_write(path, text, sizeof(text)) == 0);
	expect_refusal(path, -LH_EBADDISK, "cookie \"conectix\" not found");

	CU_ASSERT_FATAL(fixture_write(tiny, "conectix", 8) == 0);
	expect_refusal(tiny, -LH_EBADDISK, "8 bytes is too short");

	CU_ASSERT_FATAL(fixture_write(fixture_path("disk/empty.vhd"), "", 0) == 0);
	expect_refusal(fixture_path("disk/empty.vhd"), -LH_EBADDISK, "0 bytes is too short");
}

static void test_bad_checksum(void)
{
	const char *path = fixture_path("disk/badsum.vhd");
	const char *path2 = fixture_path("disk/badsum2.vhd");

	/* A byte of the unique id, covered by the checksum. */
	CU_ASSERT_FATAL(fixture_vhd(path, MIB) == 0);
	CU_ASSERT_FATAL(flip_byte(path, (off_t)MIB + 70) == 0);
	expect_refusal(path, -LH_EBADDISK, "checksum");

	/* The checksum itself. */
	CU_ASSERT_FATAL(fixture_vhd(path2, MIB) == 0);
	CU_ASSERT_FATAL(flip_byte(path2, (off_t)MIB + 64 + 3) == 0);
	expect_refusal(path2, -LH_EBADDISK, "checksum");
}

static void test_truncated(void)
{
	const char *fixed = fixture_path("disk/cut-fixed.vhd");
	const char *middle = fixture_path("disk/cut-middle.vhd");
	const char *dynamic = fixture_path("disk/cut-dynamic.vhd");
	const char *footer_part = fixture_path("disk/cut-footer.vhd");

	/* The tail of a fixed VHD cut off: no footer left at the end. */
	CU_ASSERT_FATAL(fixture_vhd(fixed, MIB) == 0);
	CU_ASSERT_FATAL(truncate(fixed, (off_t)MIB - 4096) == 0);
	expect_refusal(fixed, -LH_EBADDISK, "not found");

	/* Data bytes missing but the footer intact: the sizes disagree. */
	CU_ASSERT_FATAL(fixture_vhd(middle, 2 * MIB) == 0);
	CU_ASSERT_FATAL(fixture_sh("tail -c %llu '%s' > '%s.tmp' && mv '%s.tmp' '%s'",
				   MIB + 512, middle, middle, middle, middle) == 0);
	expect_refusal(middle, -LH_EBADDISK, "says 2097152 bytes of data but the file holds 1048576");

	/* Half a footer cut off. */
	CU_ASSERT_FATAL(fixture_vhd(footer_part, MIB) == 0);
	CU_ASSERT_FATAL(truncate(footer_part, (off_t)MIB + 256) == 0);
	expect_refusal(footer_part, -LH_EBADDISK, "not found");

	/* A dynamic VHD keeps a footer copy at the start: say it is truncated. */
	CU_ASSERT_FATAL(fixture_sh("qemu-img create -q -f vpc -o subformat=dynamic '%s' 16M",
				   dynamic) == 0);
	CU_ASSERT_FATAL(truncate(dynamic, (off_t)file_size(dynamic) - 512) == 0);
	expect_refusal(dynamic, -LH_EBADDISK, "truncated");
}

static void test_block_device(void)
{
	const char *backing = fixture_path("disk/loop-backing.img");
	const char *devfile = fixture_path("disk/loop-dev.txt");
	struct lh_disk_info info;
	struct lh_error err = { 0 };
	char dev[64] = "", *text;

	if (access("/dev/loop0", F_OK) != 0) {
		fprintf(stderr, "\n  SKIPPED block device probe: /dev/loop0 does not exist\n");
		return;
	}
	/* A loop device bound to a 4 MiB file has a known size; unbound
	 * (losetup not permitted) /dev/loop0 is still a block device. */
	CU_ASSERT_FATAL(fixture_sh("truncate -s 4M '%s'", backing) == 0);
	if (fixture_sh("losetup -f --show '%s' > '%s' 2>/dev/null", backing, devfile) == 0 &&
	    (text = fixture_read(devfile, NULL)) != NULL) {
		sscanf(text, "%63s", dev);
		free(text);
	}
	if (dev[0]) {
		CU_ASSERT_EQUAL(lh_disk_probe(dev, &info, &err), 0);
		CU_ASSERT_EQUAL(info.format, LH_DISK_BLOCK_DEVICE);
		CU_ASSERT_EQUAL(info.file_size, 4 * MIB);
		CU_ASSERT_EQUAL(info.data_size, 4 * MIB);
		fixture_sh("losetup -d '%s'", dev);
	} else {
		fprintf(stderr, "\n  losetup unavailable: probing unbound /dev/loop0\n");
		CU_ASSERT_EQUAL(lh_disk_probe("/dev/loop0", &info, &err), 0);
		CU_ASSERT_EQUAL(info.format, LH_DISK_BLOCK_DEVICE);
		CU_ASSERT_EQUAL(info.file_size, info.data_size);
	}
}

static void test_parse_footer_direct(void)
{
	uint8_t footer[LH_VHD_FOOTER_SIZE];
	struct lh_error err = { 0 };
	uint32_t type = 0;
	uint64_t size = 0;

	lh_vhd_make_footer(footer, 40 * MIB);
	CU_ASSERT_EQUAL(lh_vhd_parse_footer(footer, "mem", &type, &size, &err), 0);
	CU_ASSERT_EQUAL(type, 2);
	CU_ASSERT_EQUAL(size, 40 * MIB);
	/* Geometry for 40 MiB (VHD spec algorithm, as qemu-img computes it):
	 * 963 cylinders, 5 heads, 17 sectors per track. */
	CU_ASSERT_EQUAL(((uint32_t)footer[56] << 8 | footer[57]), 963);
	CU_ASSERT_EQUAL(footer[58], 5);
	CU_ASSERT_EQUAL(footer[59], 17);

	/* An unknown disk type with a valid checksum. */
	footer[63] = 9;
	{
		uint32_t sum = 0;

		for (size_t i = 0; i < sizeof(footer); i++)
			if (i < 64 || i >= 68)
				sum += footer[i];
		sum = ~sum;
		footer[64] = (uint8_t)(sum >> 24);
		footer[65] = (uint8_t)(sum >> 16);
		footer[66] = (uint8_t)(sum >> 8);
		footer[67] = (uint8_t)sum;
	}
	CU_ASSERT_EQUAL(lh_vhd_parse_footer(footer, "mem.vhd", &type, &size, &err), -LH_EBADDISK);
	ASSERT_MSG_HAS(err, "mem.vhd");
	ASSERT_MSG_HAS(err, "unknown disk type 9");
}

static void test_create_refusals(void)
{
	const char *path = fixture_path("disk/exists.vhd");
	struct lh_error err = { 0 };

	CU_ASSERT_FATAL(fixture_vhd(path, MIB) == 0);
	CU_ASSERT_EQUAL(lh_vhd_create_fixed(path, MIB, &err), -EEXIST);
	ASSERT_MSG_HAS(err, path);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_vhd_create_fixed(fixture_path("disk/odd.vhd"), 1000, &err), -EINVAL);
	ASSERT_MSG_HAS(err, "odd.vhd");
	CU_ASSERT_NOT_EQUAL(access(fixture_path("disk/odd.vhd"), F_OK), 0);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "fixed VHD", test_fixed_vhd },
		{ "fixed VHD: qemu-img agrees on format and size", test_fixed_vhd_qemu_agrees },
		{ "dynamic VHD", test_dynamic_vhd },
		{ "VHDX", test_vhdx },
		{ "CRC-32C", test_crc32c },
		{ "VHDX damaged", test_vhdx_damaged },
		{ "missing path", test_missing },
		{ "directory", test_directory },
		{ "not a VHD", test_not_a_vhd },
		{ "bad checksum", test_bad_checksum },
		{ "truncated", test_truncated },
		{ "block device", test_block_device },
		{ "footer parse and geometry", test_parse_footer_direct },
		{ "create refusals", test_create_refusals },
		{ NULL, NULL },
	};

	return cutest_run("disk", cases, fixture_cleanup);
}
