/*
 * disk.h - recognise and make the disk files layerhost attaches: fixed and
 * dynamic VHD (512-byte footer, "conectix" cookie, one's-complement
 * checksum) and VHDX (its structures checked by vhdx.h, the virtual size
 * read from its metadata).
 */
#ifndef LH_DISK_H
#define LH_DISK_H

#include <layerhost/backend.h>

#define LH_VHD_FOOTER_SIZE 512

/* Identify path (see lh_host_services.probe_disk for the codes). */
int lh_disk_probe(const char *path, struct lh_disk_info *info, struct lh_error *err);

/*
 * Check a 512-byte VHD footer read from `path` (named in messages). On
 * success *disk_type is the footer's type (2 fixed, 3 dynamic, 4
 * differencing) and *current_size its virtual size. A wrong cookie or
 * checksum is -LH_EBADDISK.
 */
int lh_vhd_parse_footer(const uint8_t footer[LH_VHD_FOOTER_SIZE], const char *path,
			uint32_t *disk_type, uint64_t *current_size, struct lh_error *err);

/* Fill a fixed-disk footer for `data_size` bytes of data (geometry,
 * checksum, a unique id derived from the size and time). */
void lh_vhd_make_footer(uint8_t footer[LH_VHD_FOOTER_SIZE], uint64_t data_size);

/* Append a fixed-disk footer to the raw image at path, making it a fixed
 * VHD. The image length must be a multiple of 512. */
int lh_vhd_append_footer(const char *path, struct lh_error *err);

/* Create path (must not exist) as a sparse fixed VHD of data_size bytes. */
int lh_vhd_create_fixed(const char *path, uint64_t data_size, struct lh_error *err);

#endif
