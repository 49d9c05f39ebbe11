/* loader.c - see loader.h. */
#include "loader.h"

#include "backend_calls.h"
#include "plugin_image.h"
#include "plugin_trust.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <ltdl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;

/* The name a plugin file must give itself: its base name less ".so". */
static void plugin_file_name(const char *path, char *out, size_t cap)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 3 && strcmp(base + n - 3, ".so") == 0)
		n -= 3;
	snprintf(out, cap, "%.*s", (int)n, base);
}

/* The entry's table: readable where it lies, sane, and named as its file. */
static int check_table(const void *entry, const struct lh_backend *ops, const char *path,
		       struct lh_error *err)
{
	char want[256];
	int rc = lh_plugin_image_check(entry, ops, path, err);

	if (rc == 0)
		rc = lh_backend_check(ops, path, err);
	plugin_file_name(path, want, sizeof(want));
	/* [pipeline] and [plugin.NAME] name files: the backend a config
	 * names must be the one that answers. */
	if (rc == 0 && strcmp(ops->name, want) != 0)
		rc = LH_FAIL(err, -LH_EUNSUPPORTED, "%s: refusing plugin: its table names it '%s', "
			     "not '%s' (a plugin's name must match its file name)", path, ops->name,
			     want);
	return rc;
}

/* Whether path still names the file open at fd (the one the trust checks
 * approved). */
static bool same_file(const char *path, int fd)
{
	struct stat by_path, by_fd;

	return stat(path, &by_path) == 0 && fstat(fd, &by_fd) == 0 &&
	       by_path.st_dev == by_fd.st_dev && by_path.st_ino == by_fd.st_ino;
}

/*
 * Load the module at path, the file the trust checks approved and hold open
 * at fd. It is loaded by its path, not through a /proc/self/fd name: the
 * dynamic linker and libltdl both know a loaded module by its name, and an
 * fd number is reused by the next file opened, so that name would come to
 * mean another plugin. The path is safe to use again: every folder up to /
 * is one only root or this user can change, and the file is checked to be
 * the one approved before and after the load.
 */
static int open_module(const char *path, int fd, struct lh_plugin **out, struct lh_error *err)
{
	lt_dladvise advise;
	lt_dlhandle handle = NULL;
	struct lh_plugin *plugin = NULL;
	lh_backend_entry_fn entry;
	const char *target = path;
	void *sym;
	int rc = 0;

	if (!same_file(path, fd))
		return LH_FAIL(err, -EPERM, "%s: refusing plugin: the file changed while it was "
			       "being checked", path);
	pthread_mutex_lock(&loader_lock);
	if (lt_dlinit() != 0) {
		rc = LH_FAIL(err, -ELIBACC, "libltdl: cannot initialise: %s", lt_dlerror());
		goto unlock;
	}
	if (lt_dladvise_init(&advise) == 0) {
		lt_dladvise_local(&advise);
		handle = lt_dlopenadvise(target, advise);
		lt_dladvise_destroy(&advise);
	}
	if (!handle) {
		const char *why = lt_dlerror();
		char detail[512] = "";
		void *probe;

		/* libltdl says "file not found" for a file that is there but does
		 * not load (not ELF, wrong architecture, missing library); the
		 * dynamic linker's own message says which. */
		probe = dlopen(target, RTLD_NOW | RTLD_LOCAL);
		if (probe)
			dlclose(probe);
		else
			snprintf(detail, sizeof(detail), " (%s)", dlerror());
		rc = LH_FAIL(err, -ELIBBAD, "%s: cannot load: %s%s (run 'ldd %s' to see missing "
			     "libraries)", path, why ? why : "unknown error", detail, path);
		lt_dlexit();
		goto unlock;
	}
	sym = lt_dlsym(handle, LH_BACKEND_ENTRY_SYMBOL);
	if (!sym) {
		rc = LH_FAIL(err, -ELIBBAD, "%s: not a layerhost backend: no symbol '%s' (%s)",
			     path, LH_BACKEND_ENTRY_SYMBOL, lt_dlerror());
		goto fail;
	}
	if (!same_file(path, fd)) {
		rc = LH_FAIL(err, -EPERM, "%s: refusing plugin: the file changed while it was "
			     "being loaded", path);
		goto fail;
	}
	memcpy(&entry, &sym, sizeof(entry));
	plugin = calloc(1, sizeof(*plugin));
	if (!plugin || !(plugin->path = strdup(path))) {
		rc = LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	plugin->handle = handle;
	plugin->ops = entry();
	rc = check_table(sym, plugin->ops, path, err);
	if (rc)
		goto fail;
	*out = plugin;
	goto unlock;
fail:
	if (plugin)
		free(plugin->path);
	free(plugin);
	lt_dlclose(handle);
	lt_dlexit();
unlock:
	pthread_mutex_unlock(&loader_lock);
	return rc;
}

/* Check, open and load path, found in dir. */
static int load_checked(const char *dir, const char *path, struct lh_plugin **out,
			struct lh_error *err)
{
	int fd = -1;
	int rc = lh_plugin_trust_open(dir, path, &fd, err);

	if (rc == 0)
		rc = open_module(path, fd, out, err);
	if (fd >= 0)
		close(fd);
	return rc;
}

int lh_plugin_load_file(const char *path, struct lh_plugin **out, struct lh_error *err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int rc;

	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else {
		size_t n = (size_t)(slash - path);

		if (n >= sizeof(dir))
			return LH_FAIL(err, -ENAMETOOLONG, "%s: path too long", path);
		memcpy(dir, path, n);
		dir[n ? n : 1] = '\0';
		if (!n)
			dir[0] = '/';
	}
	rc = load_checked(dir, path, out, err);
	if (rc == -ENOENT && !(err && err->code))
		return LH_FAIL(err, rc, "%s: no such plugin file", path);
	return rc;
}

/* A libtool archive names another file for libltdl to open, which none of
 * the checks would have seen: say so rather than "not found". */
static int refuse_archive(const char *dir, const char *name, struct lh_error *err)
{
	char la[PATH_MAX];
	struct stat st;

	if (snprintf(la, sizeof(la), "%s/%s.la", dir, name) >= (int)sizeof(la) ||
	    lstat(la, &st) < 0)
		return 0;
	return LH_FAIL(err, -EPERM, "%s: refusing plugin: libtool archives (.la) are not loaded, "
		       "as they name another file to open; put %s.so in %s", la, name, dir);
}

int lh_plugin_load(const char *dirs, const char *name, struct lh_plugin **out,
		   struct lh_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX], searched[2048] = "";
	const char *p = dirs;
	int rc;

	if (!name[0] || strchr(name, '/') || name[0] == '.')
		return LH_FAIL(err, -EINVAL, "plugin name '%s' is not a plain name", name);
	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n && n < sizeof(dir)) {
			memcpy(dir, p, n);
			dir[n] = '\0';
			if (snprintf(path, sizeof(path), "%s/%s.so", dir, name) < (int)sizeof(path)) {
				rc = load_checked(dir, path, out, err);
				if (rc != -ENOENT || (err && err->code))
					return rc;
				rc = refuse_archive(dir, name, err);
				if (rc)
					return rc;
			}
			size_t used = strlen(searched);

			snprintf(searched + used, sizeof(searched) - used, "%s%.*s",
				 used ? ", " : "", (int)(sizeof(searched) / 2), dir);
		}
		p = end ? end + 1 : NULL;
	}
	return LH_FAIL(err, -ENOENT, "plugin '%s' not found (looked for %s.so in: %s)", name, name,
		       searched[0] ? searched : "no directories");
}

void lh_plugin_unload(struct lh_plugin *plugin)
{
	if (!plugin)
		return;
	pthread_mutex_lock(&loader_lock);
	lt_dlclose(plugin->handle);
	lt_dlexit();
	pthread_mutex_unlock(&loader_lock);
	free(plugin->path);
	free(plugin);
}
