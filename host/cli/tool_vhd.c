/*
 * tool_vhd.c - layerhost-vhd: make and inspect the VHD files layerhost
 * attaches, for examples, tests and operators.
 *
 *   layerhost-vhd footer FILE        append a fixed-VHD footer to a raw image
 *   layerhost-vhd create FILE SIZE   create a sparse fixed VHD of SIZE bytes (K/M/G)
 *   layerhost-vhd probe FILE         print the format and sizes
 */
#include "disk.h"
#include "log.h"
#include "options.h"

#include <stdlib.h>

static const char usage_text[] =
	"Usage: layerhost-vhd footer FILE\n"
	"       layerhost-vhd create FILE SIZE\n"
	"       layerhost-vhd probe FILE\n"
	"Append a fixed-VHD footer to a raw disk image, create an empty fixed VHD,\n"
	"or tell what kind of disk file FILE is. Exit status: 0 ok, 1 failed, 2 usage.\n";

static const char *format_name(enum lh_disk_format format)
{
	switch (format) {
	case LH_DISK_VHD_FIXED: return "vhd-fixed";
	case LH_DISK_VHD_DYNAMIC: return "vhd-dynamic";
	case LH_DISK_VHDX: return "vhdx";
	case LH_DISK_BLOCK_DEVICE: return "block-device";
	default: return "unknown";
	}
}

int main(int argc, char **argv)
{
	struct lh_error err = { 0 };
	struct lh_disk_info info;
	uint64_t size;
	int rc;

	lh_log_set_program("layerhost-vhd");
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "footer")) {
		rc = lh_vhd_append_footer(argv[2], &err);
	} else if (argc == 4 && !strcmp(argv[1], "create")) {
		if (lh_parse_size(argv[3], &size)) {
			lh_log_print(LH_LOG_ERROR, "'%s' is not a size", argv[3]);
			return 2;
		}
		rc = lh_vhd_create_fixed(argv[2], size, &err);
	} else if (argc == 3 && !strcmp(argv[1], "probe")) {
		rc = lh_disk_probe(argv[2], &info, &err);
		if (rc == 0)
			printf("%s %s file_size=%llu data_size=%llu\n", argv[2],
			       format_name(info.format), (unsigned long long)info.file_size,
			       (unsigned long long)info.data_size);
	} else {
		lh_log_print(LH_LOG_ERROR, "expected footer FILE, create FILE SIZE or probe FILE\n"
			     "Try 'layerhost-vhd --help'.");
		return 2;
	}
	if (rc)
		lh_log_print(LH_LOG_ERROR, "%s", err.message);
	return rc ? 1 : 0;
}
