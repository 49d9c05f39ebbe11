/*
 * fuzz_vhd_footer.c - libFuzzer target for VHD footer parsing and the
 * whole-file probe.
 *
 * The first 512 bytes go to lh_vhd_parse_footer; the whole input, as a
 * memfd, to lh_disk_probe. Oracles: a refusal is -LH_EBADDISK naming the
 * file; an accepted footer has the cookie and a known type; a footer
 * lh_vhd_make_footer writes for the size the input names always parses
 * back to that size.
 */
#include "fuzz_check.h"
#include "disk.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static void fuzz_footer(const uint8_t *footer)
{
	struct lh_error err = { 0 };
	uint8_t made[LH_VHD_FOOTER_SIZE];
	uint32_t type = 0;
	uint64_t size = 0, want = 0;
	int rc;

	rc = lh_vhd_parse_footer(footer, "fuzz.vhd", &type, &size, &err);
	if (rc) {
		FUZZ_CHECK(rc == -LH_EBADDISK && err.code == rc);
		FUZZ_CHECK(strstr(err.message, "fuzz.vhd") != NULL);
	} else {
		FUZZ_CHECK(memcmp(footer, "conectix", 8) == 0);
		FUZZ_CHECK(type == 2 || type == 3 || type == 4);
	}

	for (size_t i = 48; i < 56; i++)
		want = (want << 8) | footer[i];
	want &= ((uint64_t)1 << 50) - 512; /* a multiple of 512 below 1 PiB */
	lh_vhd_make_footer(made, want);
	memset(&err, 0, sizeof(err));
	FUZZ_CHECK(lh_vhd_parse_footer(made, "made.vhd", &type, &size, &err) == 0);
	FUZZ_CHECK(type == 2 && size == want);
}

static void fuzz_probe(const uint8_t *data, size_t size)
{
	struct lh_disk_info info;
	struct lh_error err = { 0 };
	char path[64];
	int fd = memfd_create("fuzz-disk", MFD_CLOEXEC), rc;

	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		rc = lh_disk_probe(path, &info, &err);
		if (rc) {
			FUZZ_CHECK(rc == -LH_EBADDISK && info.format == LH_DISK_UNKNOWN);
			FUZZ_CHECK(strstr(err.message, path) != NULL);
		} else {
			FUZZ_CHECK(info.format == LH_DISK_VHD_FIXED ||
				   info.format == LH_DISK_VHD_DYNAMIC || info.format == LH_DISK_VHDX);
			FUZZ_CHECK(info.file_size == size);
		}
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= LH_VHD_FOOTER_SIZE)
		fuzz_footer(data);
	fuzz_probe(data, size);
	return 0;
}
