/* fixtures.c - see fixtures.h. */
#define _XOPEN_SOURCE 700
#include "fixtures.h"

#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fixture_root[256];

const char *fixture_dir(void)
{
	const char *tmp;

	if (fixture_root[0])
		return fixture_root;
	tmp = getenv("TMPDIR");
	snprintf(fixture_root, sizeof(fixture_root), "%s/lh-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fixture_root)) {
		perror("fixture_dir: mkdtemp");
		abort();
	}
	return fixture_root;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fixture_cleanup(void)
{
	if (!fixture_root[0])
		return;
	nftw(fixture_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	fixture_root[0] = '\0';
}

static void make_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
}

const char *fixture_path(const char *relative)
{
	static char ring[16][4096];
	static unsigned next;
	char *buf = ring[next++ % 16];

	snprintf(buf, sizeof(ring[0]), "%s/%s", fixture_dir(), relative);
	make_parents(buf);
	return buf;
}

int fixture_vhd(const char *path, uint64_t data_size)
{
	struct lh_error err = { 0 };
	int rc = lh_vhd_create_fixed(path, data_size, &err);

	if (rc)
		fprintf(stderr, "fixture_vhd: %s\n", err.message);
	return rc;
}

int fixture_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int fixture_vhdx(const char *path, uint64_t virtual_size)
{
	int rc = fixture_sh("qemu-img create -q -f vhdx '%s' %llu", path,
			    (unsigned long long)virtual_size);

	if (rc)
		fprintf(stderr, "fixture_vhdx: qemu-img failed (%d); is qemu-utils installed?\n", rc);
	return rc;
}

int fixture_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return -errno;
	if (len && fwrite(data, 1, len, f) != len)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

int fixture_ext4_vhd(const char *path, const char *src_dir, uint64_t size)
{
	struct lh_error err = { 0 };
	int rc;

	rc = fixture_sh("truncate -s %llu '%s' && mkfs.ext4 -q -F -E root_owner=0:0 -d '%s' '%s' "
			">/dev/null 2>&1", (unsigned long long)size, path, src_dir, path);
	if (rc) {
		fprintf(stderr, "fixture_ext4_vhd: mkfs.ext4 -d %s %s failed (%d)\n", src_dir, path,
			rc);
		return -1;
	}
	rc = lh_vhd_append_footer(path, &err);
	if (rc)
		fprintf(stderr, "fixture_ext4_vhd: %s\n", err.message);
	return rc;
}

char *fixture_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (buf) {
			buf[n] = '\0';
			if (len)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

bool fixture_files_equal(const char *a, const char *b)
{
	size_t la, lb;
	char *da = fixture_read(a, &la), *db = fixture_read(b, &lb);
	bool equal = da && db && la == lb && memcmp(da, db, la) == 0;

	free(da);
	free(db);
	return equal;
}
