/* mnt.c - see mnt.h. */
#include "mnt.h"

#include "guest_protocol.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define MNT_RETRY_STEP_MS 5
#define MNT_PROBE_BYTES (128 * 1024)
#define MNT_MKFS_TIMEOUT_MS 120000

int ga_mkdir_p(const char *path, struct ga_error *err)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return GA_FAIL(err, -ENAMETOOLONG, "mkdir '%s': bad path", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return GA_SYSFAIL(err, errno, "mkdir %s", buf);
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

static const struct {
	const char *word;
	unsigned long set, clear;
} mnt_flags[] = {
	{ "ro", MS_RDONLY, 0 },         { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },     { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },       { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },     { "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },  { "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },   { "noatime", MS_NOATIME, 0 },
	{ "atime", 0, MS_NOATIME },     { "nodiratime", MS_NODIRATIME, 0 },
	{ "relatime", MS_RELATIME, 0 }, { "strictatime", MS_STRICTATIME, 0 },
	{ "lazytime", MS_LAZYTIME, 0 }, { "defaults", 0, 0 },
};

int ga_mount_options(const struct ga_json *options, unsigned long *flags, struct ga_buf *data,
		     struct ga_error *err)
{
	if (options && options->kind != GA_JSON_ARRAY)
		return GA_FAIL(err, -EINVAL, "Options is not an array of strings");
	for (const struct ga_json *o = options ? options->child : NULL; o; o = o->next) {
		size_t i;

		if (o->kind != GA_JSON_STRING || strlen(o->string) != o->len || o->len == 0 ||
		    strchr(o->string, ','))
			return GA_FAIL(err, -EINVAL, "Options: each option must be one non-empty "
				       "string without ','");
		for (i = 0; i < sizeof(mnt_flags) / sizeof(mnt_flags[0]); i++)
			if (strcmp(o->string, mnt_flags[i].word) == 0)
				break;
		if (i < sizeof(mnt_flags) / sizeof(mnt_flags[0])) {
			*flags = (*flags | mnt_flags[i].set) & ~mnt_flags[i].clear;
			continue;
		}
		if (data->len)
			ga_buf_puts(data, ",");
		ga_buf_puts(data, o->string);
	}
	return data->failed ? GA_FAIL(err, -ENOMEM, "out of memory") : 0;
}

int ga_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
	     const char *data, int retry_errno, int wait_ms, struct ga_error *err)
{
	int64_t deadline = ga_now_ms() + wait_ms;
	int e;

	for (;;) {
		if (mount(source, target, fstype, flags, data && *data ? data : NULL) == 0)
			return 0;
		e = errno;
		if (e != retry_errno || retry_errno == 0 || ga_now_ms() >= deadline)
			break;
		ga_sleep_ms(MNT_RETRY_STEP_MS);
	}
	if (e == retry_errno && retry_errno)
		return GA_SYSFAIL(err, e, "mount %s on %s (%s%s%s%s), still failing after %d ms",
				  source, target, fstype, flags & MS_RDONLY ? ", ro" : "",
				  data && *data ? ", " : "", data ? data : "", wait_ms);
	return GA_SYSFAIL(err, e, "mount %s on %s (%s%s%s%s)", source, target, fstype,
			  flags & MS_RDONLY ? ", ro" : "", data && *data ? ", " : "",
			  data ? data : "");
}

enum ga_mounted ga_mounted_at(const char *path, const char *device)
{
	char parent[4096];
	struct stat st, up, dev;

	if (stat(path, &st) < 0 || snprintf(parent, sizeof(parent), "%s/..", path) >=
					   (int)sizeof(parent) || stat(parent, &up) < 0)
		return GA_MOUNTED_NONE;
	/* A mount point sits on another device than its parent folder. */
	if (st.st_dev == up.st_dev && st.st_ino != up.st_ino)
		return GA_MOUNTED_NONE;
	if (device && stat(device, &dev) == 0 && S_ISBLK(dev.st_mode) && st.st_dev == dev.st_rdev)
		return GA_MOUNTED_DEVICE;
	return GA_MOUNTED_OTHER;
}

int ga_mount_target_check(const char *path, const char *device, struct ga_error *err)
{
	switch (ga_mounted_at(path, device)) {
	case GA_MOUNTED_DEVICE:
		return 1;
	case GA_MOUNTED_OTHER:
		return GA_FAIL(err, -EBUSY, "%s: something else is mounted there already", path);
	default:
		return 0;
	}
}

int ga_unmount(const char *target, bool remove, struct ga_error *err)
{
	struct stat st;

	if (umount2(target, 0) < 0 && errno != EINVAL && errno != ENOENT)
		return GA_SYSFAIL(err, errno, "umount %s", target);
	/* EINVAL: not a mount point, so nothing of ours is there. */
	if (remove && lstat(target, &st) == 0) {
		int r = S_ISDIR(st.st_mode) ? rmdir(target) : unlink(target);

		/* A folder something else put files in stays; the unmount,
		 * which is what was asked, is done. */
		if (r < 0)
			ga_log("%s: left in place after the unmount: %s", target, strerror(errno));
	}
	return 0;
}

int ga_fs_probe(const char *device, struct ga_fs_probe *out, struct ga_error *err)
{
	int64_t deadline = ga_now_ms() + LH_GUEST_ENXIO_WAIT_MS;
	unsigned char *buf = calloc(1, MNT_PROBE_BYTES);
	size_t got = 0;
	int fd = -1, rc = 0;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return GA_FAIL(err, -ENOMEM, "%s: out of memory", device);
	for (;;) {
		fd = open(device, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENXIO || ga_now_ms() >= deadline)
			break;
		ga_sleep_ms(MNT_RETRY_STEP_MS);
	}
	if (fd < 0) {
		rc = GA_SYSFAIL(err, errno, "open %s", device);
		goto out;
	}
	while (got < MNT_PROBE_BYTES) {
		ssize_t n = read(fd, buf + got, MNT_PROBE_BYTES - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = GA_SYSFAIL(err, errno, "read %s", device);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	out->blank = true;
	for (size_t i = 0; i < got && out->blank; i++)
		out->blank = buf[i] == 0;
	/* The ext superblock: 1024 bytes in, magic 0xef53 at its byte 56,
	 * log2(block size / 1024) at byte 24. */
	if (got >= 2048 && buf[1024 + 56] == 0x53 && buf[1024 + 57] == 0xef) {
		unsigned log = buf[1024 + 24] | buf[1024 + 25] << 8;

		out->ext = true;
		out->block_size = log < 7 ? 1024u << log : 0;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* A random UUID, text form. GRND_INSECURE never blocks: early in a boot
 * under emulation without RDRAND the kernel's pool is not ready for
 * seconds, and a filesystem id needs uniqueness, not secrecy. */
static void mnt_uuid(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), GRND_INSECURE) != (ssize_t)sizeof(b)) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b))
			for (size_t i = 0; i < sizeof(b); i++)
				b[i] = (unsigned char)(ga_now_ms() >> (i % 8) ^ i * 131);
		if (fd >= 0)
			close(fd);
	}
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

int ga_mkfs_ext4(const char *device, struct ga_error *err)
{
	char uuid[37], seed[37], ext[160];
	/* Lazy tables and no discard: a fresh sparse disk needs neither,
	 * and both cost seconds under emulation. 4 KiB blocks whatever the
	 * size (mke2fs picks 1 KiB for small disks). The ids come from here:
	 * mke2fs's own (libuuid) wait up to a second each for the kernel's
	 * random pool. */
	char *argv[] = { "/sbin/mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-U", uuid, "-E",
			 ext, (char *)device, NULL };
	struct ga_run_spec spec = { .argv = argv, .timeout_ms = MNT_MKFS_TIMEOUT_MS,
				    .max_output = 2048 };
	struct ga_run_result res;
	int rc;

	mnt_uuid(uuid);
	mnt_uuid(seed);
	snprintf(ext, sizeof(ext), "lazy_itable_init=1,lazy_journal_init=1,nodiscard,hash_seed=%s",
		 seed);
	rc = ga_run(&spec, &res, err);
	if (rc == 0 && (res.exit_code != 0 || res.timed_out)) {
		while (res.err.len && res.err.data[res.err.len - 1] == '\n')
			res.err.data[--res.err.len] = '\0';
		rc = GA_FAIL(err, -EIO, "mke2fs %s %s: %s", device,
			     res.timed_out ? "timed out" : "failed",
			     res.err.len ? res.err.data : "(no message)");
	}
	ga_buf_free(&res.out);
	ga_buf_free(&res.err);
	return rc;
}

int ga_wait_node(const char *path, int wait_ms, struct ga_error *err)
{
	int64_t deadline = ga_now_ms() + wait_ms;
	struct stat st;

	while (stat(path, &st) < 0) {
		if (errno != ENOENT || ga_now_ms() >= deadline)
			return GA_SYSFAIL(err, errno, "%s (waited %d ms)", path, wait_ms);
		ga_sleep_ms(MNT_RETRY_STEP_MS);
	}
	return 0;
}
