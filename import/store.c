/* store.c - see store.h. */
#include "store.h"

#include "disk.h"    /* lh_vhd_make_footer, lh_disk_probe (lh_core) */
#include "durable.h" /* lh_fsync_parent (lh_core) */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMP_PREFIX ".layer.vhd.tmp-"

extern char **environ;

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* mkdir, saying whether this call made it; an existing folder is fine. */
static int make_dir(const char *path, bool *made, struct lh_error *err)
{
	struct stat st;

	*made = false;
	if (mkdir(path, 0755) == 0) {
		*made = true;
		return 0;
	}
	if (errno != EEXIST)
		return LH_FAIL(err, -errno, "%s: cannot make the folder: %s", path, strerror(errno));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return LH_FAIL(err, -ENOTDIR, "%s: exists and is not a folder", path);
	return 0;
}

int lh_store_open(const char *dir, struct lh_store *s, struct lh_error *err)
{
	char real[PATH_MAX];
	int rc;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	rc = make_dir(dir, &s->made, err);
	if (rc)
		return rc;
	if (!realpath(dir, real)) {
		rc = LH_FAIL(err, -errno, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	s->dir = strdup(real);
	s->lock_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!s->dir || s->lock_fd < 0) {
		rc = LH_FAIL(err, s->dir ? -errno : -ENOMEM, "%s: cannot open: %s", dir,
			     s->dir ? strerror(errno) : "out of memory");
		goto fail;
	}
	/* another import into this store finishes first: two never race for a
	 * layer's folder, nor roll back one the other made */
	while (flock(s->lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			rc = LH_FAIL(err, -errno, "%s: cannot lock the store: %s", dir,
				     strerror(errno));
			goto fail;
		}
	}
	return 0;
fail:
	lh_store_close(s);
	return rc;
}

void lh_store_close(struct lh_store *s)
{
	if (s->made && s->dir)
		rmdir(s->dir); /* only when empty: this run's import failed */
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
}

int lh_store_has_layer(struct lh_store *s, const char *hex, bool *has, uint64_t *image_bytes,
		       struct lh_error *err)
{
	char *folder = path_join(s->dir, hex), *path = folder ? path_join(folder, LH_STORE_LAYER_FILE)
							      : NULL;
	struct lh_disk_info info;
	struct lh_error probe = { 0 };
	struct stat st;
	int rc = 0;

	*has = false;
	*image_bytes = 0;
	if (!path) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (lstat(path, &st) != 0) {
		if (errno != ENOENT)
			rc = LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (lh_disk_probe(path, &info, &probe) != 0 || info.format != LH_DISK_VHD_FIXED) {
		rc = LH_FAIL(err, -LH_EBADDISK,
			     "%s: in the store but not a fixed VHD (%s); remove it to import the "
			     "layer again",
			     path, probe.code ? probe.message : "another disk format");
		goto out;
	}
	*has = true;
	*image_bytes = info.file_size;
out:
	free(path);
	free(folder);
	return rc;
}

/* Temp files a crashed import left in a layer's folder (the store is
 * locked: nobody else is writing one). */
static void remove_stale_temps(const char *folder)
{
	DIR *d = opendir(folder);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
			char *p = path_join(folder, e->d_name);

			if (p)
				unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
}

int lh_store_layer_begin(struct lh_store *s, const char *hex, struct lh_store_layer *l,
			 struct lh_error *err)
{
	char name[64];
	int fd, rc;

	memset(l, 0, sizeof(*l));
	snprintf(name, sizeof(name), TMP_PREFIX "%ld", (long)getpid());
	l->folder = path_join(s->dir, hex);
	l->final = l->folder ? path_join(l->folder, LH_STORE_LAYER_FILE) : NULL;
	l->tmp = l->folder ? path_join(l->folder, name) : NULL;
	if (!l->tmp || !l->final) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = make_dir(l->folder, &l->made_folder, err);
	if (rc)
		goto fail;
	remove_stale_temps(l->folder);
	fd = open(l->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = LH_FAIL(err, -errno, "%s: cannot create: %s", l->tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	return 0;
fail:
	if (l->made_folder)
		rmdir(l->folder);
	l->made_folder = false;
	lh_store_layer_free(l);
	return rc;
}

int lh_store_layer_commit(struct lh_store_layer *l, uint64_t image_bytes, struct lh_error *err)
{
	uint8_t footer[LH_VHD_FOOTER_SIZE];
	int fd = open(l->tmp, O_WRONLY | O_CLOEXEC), rc = 0;
	const char *step = "open";

	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	lh_vhd_make_footer(footer, image_bytes);
	step = "write the VHD footer";
	if (pwrite(fd, footer, sizeof(footer), (off_t)image_bytes) != (ssize_t)sizeof(footer)) {
		rc = errno ? -errno : -EIO;
		goto out;
	}
	step = "flush";
	if (fsync(fd) != 0) {
		rc = -errno;
		goto out;
	}
	close(fd);
	fd = -1;
	step = "rename";
	if (rename(l->tmp, l->final) != 0) {
		rc = -errno;
		goto out;
	}
	l->committed = true;
	/* the name in the layer's folder, and the folder's in the store */
	step = "flush the folder";
	rc = lh_fsync_parent(l->final);
	if (rc == 0 && l->made_folder)
		rc = lh_fsync_parent(l->folder);
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		return LH_FAIL(err, rc, "%s: cannot %s: %s", l->committed ? l->final : l->tmp, step,
			       strerror(-rc));
	return 0;
}

void lh_store_layer_abort(struct lh_store_layer *l, bool rollback)
{
	if (!l->folder)
		return;
	if (!l->committed)
		unlink(l->tmp);
	else if (rollback)
		unlink(l->final);
	if (l->made_folder && (!l->committed || rollback))
		rmdir(l->folder);
}

void lh_store_layer_free(struct lh_store_layer *l)
{
	free(l->folder);
	free(l->tmp);
	free(l->final);
	l->folder = l->tmp = l->final = NULL;
}

/* ---- scratch ----------------------------------------------------------------- */

static int run_qemu_img(const char *path, uint64_t size, struct lh_error *err)
{
	char size_arg[32];
	char *argv[] = { "qemu-img", "create", "-q", "-f", "vhdx", (char *)path, size_arg, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, status;

	snprintf(size_arg, sizeof(size_arg), "%llu", (unsigned long long)size);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, "qemu-img", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return LH_FAIL(err, -rc,
			       "qemu-img: %s (it makes the blank %s; apt-get install qemu-utils)",
			       strerror(rc), LH_STORE_SCRATCH_FILE);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return LH_FAIL(err, -errno, "qemu-img: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return LH_FAIL(err, -EIO, "qemu-img create %s failed (%s %d)", path,
			       WIFEXITED(status) ? "exit status" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

int lh_store_scratch(struct lh_store *s, const char *name, bool create, uint64_t size_bytes,
		     char **path, bool *created, struct lh_error *err)
{
	char *parent = path_join(s->dir, "scratch"), *folder = NULL, *disk = NULL, *tmp = NULL;
	bool made_parent = false, made_folder = false;
	struct stat st;
	int rc = 0;

	*created = false;
	*path = NULL;
	folder = parent ? path_join(parent, name) : NULL;
	disk = folder ? path_join(folder, LH_STORE_SCRATCH_FILE) : NULL;
	tmp = folder ? path_join(folder, "." LH_STORE_SCRATCH_FILE ".tmp") : NULL;
	if (!tmp) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (!create || lstat(disk, &st) == 0)
		goto out;
	rc = make_dir(parent, &made_parent, err);
	if (rc == 0)
		rc = make_dir(folder, &made_folder, err);
	if (rc)
		goto out;
	unlink(tmp);
	rc = run_qemu_img(tmp, size_bytes, err);
	if (rc == 0 && (rc = lh_fsync_file(tmp)) != 0)
		LH_FAIL(err, rc, "%s: cannot flush: %s", tmp, strerror(-rc));
	if (rc == 0 && rename(tmp, disk) != 0)
		rc = LH_FAIL(err, -errno, "%s: cannot rename into place: %s", disk, strerror(errno));
	if (rc == 0 && (rc = lh_fsync_parent(disk)) != 0)
		LH_FAIL(err, rc, "%s: cannot flush its folder: %s", disk, strerror(-rc));
	if (rc == 0) {
		*created = true;
		if (made_folder)
			lh_fsync_parent(folder);
	}
out:
	if (rc) {
		if (tmp)
			unlink(tmp);
		if (made_folder)
			rmdir(folder);
		if (made_parent)
			rmdir(parent);
	} else {
		*path = folder;
		folder = NULL;
	}
	free(tmp);
	free(disk);
	free(folder);
	free(parent);
	return rc;
}
