/* mount.c - the system side: loop devices through /dev/loop-control,
 * read-only ext4 layer mounts, the overlay, and the directories they need. */
#include "hostlayer.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HOSTLAYER_CAP_SYS_ADMIN 21

int hostlayer_check_privilege(struct lh_error *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	/* the calling thread's set: capabilities are per thread */
	if (syscall(SYS_capget, &hdr, data) != 0)
		return LH_FAIL(err, -errno, "capget: %s", strerror(errno));
	if (!(data[0].effective & (1u << HOSTLAYER_CAP_SYS_ADMIN)))
		return LH_FAIL(err, -EPERM,
			       "mounting host layers needs CAP_SYS_ADMIN, which this process "
			       "does not have in its effective set (run as root)");
	return 0;
}

bool hostlayer_valid_container_id(const char *id)
{
	size_t n = 0;

	if (!id || !isalnum((unsigned char)id[0]))
		return false;
	for (; id[n]; n++) {
		unsigned char ch = (unsigned char)id[n];

		if (n >= HOSTLAYER_ID_MAX || !(isalnum(ch) || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

int hostlayer_mkdirs(const char *path, mode_t mode, char *created_top, size_t cap,
		     struct lh_error *err)
{
	char buf[LH_PATH_CAP];
	struct stat st;
	size_t len = strlen(path);
	int rc = 0;

	created_top[0] = '\0';
	if (len == 0 || len >= sizeof(buf) || len >= cap)
		return LH_FAIL(err, -ENAMETOOLONG, "%s: path empty or too long", path);
	memcpy(buf, path, len + 1);
	/* components from the root down: the first one missing is the top */
	for (char *p = buf + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == 0) {
			if (!created_top[0])
				memcpy(created_top, buf, strlen(buf) + 1);
		} else if (errno != EEXIST) {
			rc = LH_FAIL(err, -errno, "mkdir %s: %s", buf, strerror(errno));
			break;
		} else if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
			rc = LH_FAIL(err, -ENOTDIR, "%s exists and is not a directory", buf);
			break;
		}
		if (last)
			break;
		*p = '/';
	}
	if (rc && created_top[0]) {
		hostlayer_rmdirs(buf, created_top, NULL);
		created_top[0] = '\0';
	}
	return rc;
}

int hostlayer_rmdirs(const char *path, const char *created_top, struct lh_error *err)
{
	char buf[LH_PATH_CAP];
	size_t top = strlen(created_top);
	int rc = 0;

	if (top == 0 || strlen(path) >= sizeof(buf) || strncmp(path, created_top, top) != 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s", path);
	for (bool leaf = true; strlen(buf) >= top; leaf = false) {
		char *slash;

		if (rmdir(buf) != 0) {
			if (errno == ENOENT)
				; /* already gone (a retry): carry on with the parents */
			else if (!leaf && (errno == ENOTEMPTY || errno == EEXIST || errno == EBUSY))
				break; /* another attachment still lives under it */
			else {
				rc = LH_FAIL(err, -errno, "rmdir %s: %s", buf, strerror(errno));
				break;
			}
		}
		slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			break;
		*slash = '\0';
	}
	return rc;
}

int hostlayer_check_mount_path(const char *path, struct lh_error *err)
{
	struct stat st;
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (path[0] != '/')
		return LH_FAIL(err, -LH_EREFUSED, "mount path %s is not absolute", path);
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return LH_FAIL(err, -LH_EREFUSED, "mount path %s exists and is not a directory",
			       path);
	dir = opendir(path);
	if (!dir)
		return LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			rc = LH_FAIL(err, -LH_EREFUSED,
				     "mount path %s exists and is not empty (holds %s)", path,
				     de->d_name);
			break;
		}
	}
	closedir(dir);
	return rc;
}

int hostlayer_check_scratch(const char *scratch, bool *marked, struct lh_error *err)
{
	char foreign[256] = "";
	struct dirent *de;
	struct stat st;
	char *real = realpath(scratch, NULL);
	DIR *dir = NULL;
	int rc = 0;

	*marked = false;
	if (!real)
		return LH_FAIL(err, -errno, "scratch folder %s: %s", scratch, strerror(errno));
	dir = opendir(real);
	if (!dir) {
		rc = LH_FAIL(err, -errno, "scratch folder %s: %s", scratch, strerror(errno));
		goto out;
	}
	while ((de = readdir(dir)) != NULL) {
		/* a UVM's scratch disk of the same container (layerhost import
		 * --scratch makes one for either use) is no overlay's business */
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "sandbox.vhdx") == 0)
			continue;
		if (strcmp(de->d_name, HOSTLAYER_SCRATCH_MARK) == 0)
			*marked = fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				  S_ISREG(st.st_mode);
		else if (!foreign[0])
			snprintf(foreign, sizeof(foreign), "%s", de->d_name);
	}
	/* the overlay writes into upper/ and empties work/work of whatever it is given */
	if (foreign[0] && !*marked)
		rc = LH_FAIL(err, -LH_EREFUSED, "scratch folder %s is not layerhost's: it holds %s "
			     "and no %s mark; give the container an empty folder of its own",
			     scratch, foreign, HOSTLAYER_SCRATCH_MARK);
out:
	if (dir)
		closedir(dir);
	free(real);
	return rc;
}

/* ---- loop devices ---------------------------------------------------------- */

struct hostlayer_loop_op {
	const char *vhd;
	int backing;
	uint64_t size;
	uint32_t loop;
	int fd;
};

static void hostlayer_loop_info(struct loop_info64 *info, const struct hostlayer_loop_op *op)
{
	memset(info, 0, sizeof(*info));
	info->lo_sizelimit = op->size;
	info->lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
	snprintf((char *)info->lo_file_name, sizeof(info->lo_file_name), "%s", op->vhd);
}

/* One attempt: a free device may be taken by someone else before we
 * configure it, which shows as EBUSY and is worth another attempt. */
static int hostlayer_loop_try(void *arg, struct lh_error *err)
{
	struct hostlayer_loop_op *op = arg;
	struct loop_config config;
	char dev[64];
	int ctl, nr, fd, rc = 0;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return LH_FAIL(err, -errno, "/dev/loop-control: %s", strerror(errno));
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (nr < 0) {
		rc = LH_FAIL(err, -errno, "LOOP_CTL_GET_FREE: %s", strerror(errno));
		goto out_ctl;
	}
	snprintf(dev, sizeof(dev), "/dev/loop%d", nr);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = LH_FAIL(err, -errno, "%s: %s", dev, strerror(errno));
		goto out_ctl;
	}
	memset(&config, 0, sizeof(config));
	config.fd = (uint32_t)op->backing;
	hostlayer_loop_info(&config.info, op);
	if (ioctl(fd, LOOP_CONFIGURE, &config) != 0) {
		if (errno != EINVAL && errno != ENOTTY) {
			rc = LH_FAIL(err, -errno, "%s: attaching %s: %s", dev, op->vhd,
				     strerror(errno));
			goto out_fd;
		}
		/* kernels before 5.8 know only the two-step attach */
		if (ioctl(fd, LOOP_SET_FD, op->backing) != 0) {
			rc = LH_FAIL(err, -errno, "%s: attaching %s: %s", dev, op->vhd,
				     strerror(errno));
			goto out_fd;
		}
		if (ioctl(fd, LOOP_SET_STATUS64, &config.info) != 0) {
			rc = LH_FAIL(err, -errno, "%s: limiting %s to its data: %s", dev, op->vhd,
				     strerror(errno));
			ioctl(fd, LOOP_CLR_FD, 0);
			goto out_fd;
		}
	}
	op->loop = (uint32_t)nr;
	op->fd = fd;
	goto out_ctl;
out_fd:
	close(fd);
out_ctl:
	close(ctl);
	return rc;
}

int hostlayer_loop_attach(const char *vhd, uint64_t data_size, uint32_t *loop, int *fd,
			  struct lh_error *err)
{
	struct hostlayer_loop_op op = { .vhd = vhd, .size = data_size, .fd = -1 };
	int rc;

	op.backing = open(vhd, O_RDONLY | O_CLOEXEC);
	if (op.backing < 0)
		return LH_FAIL(err, -errno, "%s: %s", vhd, strerror(errno));
	rc = hostlayer_retry(vhd, hostlayer_loop_try, &op, HOSTLAYER_RETRY_ATTEMPTS,
			     HOSTLAYER_RETRY_DELAY_MS, err);
	close(op.backing);
	if (rc == 0) {
		*loop = op.loop;
		*fd = op.fd;
	}
	return rc;
}

int hostlayer_loop_detach(uint32_t loop, uint64_t dev, uint64_t ino, struct lh_error *err)
{
	struct loop_info64 info;
	char path[64];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/dev/loop%u", loop);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENXIO
			       ? 0
			       : LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
	if (ioctl(fd, LOOP_GET_STATUS64, &info) != 0) {
		/* ENXIO: nothing attached any more (autoclear did it) */
		if (errno != ENXIO)
			rc = LH_FAIL(err, -errno, "%s: LOOP_GET_STATUS64: %s", path,
				     strerror(errno));
	} else if (info.lo_device == dev && info.lo_inode == ino) {
		if (ioctl(fd, LOOP_CLR_FD, 0) != 0 && errno != ENXIO)
			rc = LH_FAIL(err, -errno, "%s: LOOP_CLR_FD: %s", path, strerror(errno));
	}
	close(fd);
	return rc;
}

/* ---- mounts ------------------------------------------------------------------ */

struct hostlayer_mount_op {
	const char *source, *target, *fstype, *data;
	unsigned long flags;
};

static int hostlayer_mount_try(void *arg, struct lh_error *err)
{
	const struct hostlayer_mount_op *op = arg;

	if (mount(op->source, op->target, op->fstype, op->flags, op->data) != 0)
		return LH_FAIL(err, -errno, "mount -t %s %s on %s: %s", op->fstype, op->source,
			       op->target, strerror(errno));
	return 0;
}

int hostlayer_mount_layer(uint32_t loop, const char *dir, struct lh_error *err)
{
	char dev[64];
	struct hostlayer_mount_op op = {
		.source = dev,
		.target = dir,
		.fstype = "ext4",
		.flags = MS_RDONLY | MS_NODEV | MS_NOSUID,
	};

	snprintf(dev, sizeof(dev), "/dev/loop%u", loop);
	return hostlayer_retry(dir, hostlayer_mount_try, &op, HOSTLAYER_RETRY_ATTEMPTS,
			       HOSTLAYER_RETRY_DELAY_MS, err);
}

/* Overlay splits its options on ',' and lowerdir on ':'; escaping differs
 * between kernels, so such paths are refused rather than guessed at. */
static int hostlayer_append_path(char *buf, size_t cap, size_t *len, const char *prefix,
				 const char *path, struct lh_error *err)
{
	int n;

	if (strpbrk(path, ",:\\"))
		return LH_FAIL(err, -LH_EREFUSED,
			       "%s: overlay cannot take a path holding ',', ':' or '\\'", path);
	n = snprintf(buf + *len, cap - *len, "%s%s", prefix, path);
	if (n < 0 || (size_t)n >= cap - *len)
		return LH_FAIL(err, -E2BIG,
			       "overlay options for %s exceed the kernel's %zu-byte limit", path,
			       cap - 1);
	*len += (size_t)n;
	return 0;
}

int hostlayer_mount_overlay(const struct hostlayer_lower *lowers, size_t n, const char *upper,
			    const char *work, const char *target, struct lh_error *err)
{
	/* mount(2) copies at most one page of options */
	char data[4096];
	size_t len = 0;
	int rc = 0;
	struct hostlayer_mount_op op = {
		.source = "overlay",
		.target = target,
		.fstype = "overlay",
		.data = data,
		.flags = MS_NODEV,
	};

	data[0] = '\0';
	for (size_t i = n; rc == 0 && i-- > 0;)
		rc = hostlayer_append_path(data, sizeof(data), &len,
					   i == n - 1 ? "lowerdir=" : ":", lowers[i].path, err);
	if (rc == 0)
		rc = hostlayer_append_path(data, sizeof(data), &len, ",upperdir=", upper, err);
	if (rc == 0)
		rc = hostlayer_append_path(data, sizeof(data), &len, ",workdir=", work, err);
	if (rc == 0)
		rc = hostlayer_retry(target, hostlayer_mount_try, &op, HOSTLAYER_RETRY_ATTEMPTS,
				     HOSTLAYER_RETRY_DELAY_MS, err);
	return rc;
}

static int hostlayer_umount_try(void *arg, struct lh_error *err)
{
	const char *path = arg;

	if (umount2(path, UMOUNT_NOFOLLOW) != 0) {
		/* EINVAL: not a mount point any more; ENOENT: gone altogether */
		if (errno == EINVAL || errno == ENOENT)
			return 0;
		return LH_FAIL(err, -errno, "umount %s: %s", path, strerror(errno));
	}
	return 0;
}

int hostlayer_umount(const char *path, const char *fstype, const struct hostlayer_mount_id *id,
		     struct lh_error *err)
{
	enum hostlayer_mount_place place;
	int rc = hostlayer_mount_where(path, fstype, id, &place, err);

	if (rc || place == HOSTLAYER_MOUNT_ABSENT)
		return rc;
	if (place == HOSTLAYER_MOUNT_COVERED)
		return LH_FAIL(err, -EBUSY, "%s: another filesystem is mounted over layerhost's %s "
			       "mount; unmount that first", path, fstype);
	return hostlayer_retry(path, hostlayer_umount_try, (void *)path, HOSTLAYER_RETRY_ATTEMPTS,
			       HOSTLAYER_RETRY_DELAY_MS, err);
}
