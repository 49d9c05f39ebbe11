/*
 * fixtures.h - real files for tests: VHDs, VHDX, ext4 layer images, made
 * in a fresh temporary directory per test program.
 */
#ifndef LH_TEST_FIXTURES_H
#define LH_TEST_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A fresh directory under $TMPDIR (or /tmp) for this process; removed
 * with everything under it by fixture_cleanup. Returns its path. */
const char *fixture_dir(void);
void fixture_cleanup(void);

/* fixture_path("a/b.vhd") -> "<fixture_dir>/a/b.vhd" in a static ring of
 * buffers (valid for the next 16 calls); parent directories are created. */
const char *fixture_path(const char *relative);

/* A sparse fixed VHD with data_size bytes of zero data. */
int fixture_vhd(const char *path, uint64_t data_size);
/* A VHDX made by qemu-img (virtual size in bytes). */
int fixture_vhdx(const char *path, uint64_t virtual_size);
/* Write a file with the given bytes. */
int fixture_write(const char *path, const void *data, size_t len);
/* An ext4 image of size bytes (mkfs.ext4 -d src_dir) with a VHD footer. */
int fixture_ext4_vhd(const char *path, const char *src_dir, uint64_t size);
/* Run a shell command; returns its exit status (or -1). */
int fixture_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Read a whole file into a malloc'd buffer (NUL-terminated); NULL on error. */
char *fixture_read(const char *path, size_t *len);
bool fixture_files_equal(const char *a, const char *b);

#endif
