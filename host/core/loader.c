/* loader.c - see loader.h. */
#include "loader.h"

#include "backend_calls.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <ltdl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;

/* Refuse files anyone but the owner could have replaced, and symlinks that
 * lead out of the plugin directory. */
static int check_file(const char *dir, const char *path, struct lh_error *err)
{
	char real_dir[PATH_MAX], real_file[PATH_MAX];
	struct stat lst, st;
	size_t dlen;

	if (lstat(path, &lst) < 0) {
		if (errno == ENOENT)
			return -ENOENT; /* not an error while searching */
		return LH_FAIL(err, -errno, "%s: cannot stat: %s", path, strerror(errno));
	}
	if (S_ISLNK(lst.st_mode)) {
		if (!realpath(dir, real_dir) || !realpath(path, real_file))
			return LH_FAIL(err, -errno, "%s: cannot resolve symlink: %s", path,
				       strerror(errno));
		dlen = strlen(real_dir);
		if (strncmp(real_file, real_dir, dlen) != 0 || real_file[dlen] != '/' ||
		    strchr(real_file + dlen + 1, '/'))
			return LH_FAIL(err, -EPERM,
				       "%s: refusing plugin: symlink to %s leads out of the plugin "
				       "directory %s", path, real_file, real_dir);
	}
	if (stat(path, &st) < 0)
		return LH_FAIL(err, -errno, "%s: cannot stat: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return LH_FAIL(err, -EPERM, "%s: refusing plugin: not a regular file", path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return LH_FAIL(err, -EPERM,
			       "%s: refusing plugin: file is %s-writable (mode %04o); "
			       "run chmod go-w on it", path,
			       (st.st_mode & S_IWOTH) ? "world" : "group", st.st_mode & 07777);
	return 0;
}

static int open_module(const char *path, struct lh_plugin **out, struct lh_error *err)
{
	lt_dladvise advise;
	lt_dlhandle handle = NULL;
	struct lh_plugin *plugin = NULL;
	lh_backend_entry_fn entry;
	void *sym;
	int rc = 0;

	pthread_mutex_lock(&loader_lock);
	if (lt_dlinit() != 0) {
		rc = LH_FAIL(err, -ELIBACC, "libltdl: cannot initialise: %s", lt_dlerror());
		goto unlock;
	}
	if (lt_dladvise_init(&advise) == 0) {
		lt_dladvise_local(&advise);
		handle = lt_dlopenadvise(path, advise);
		lt_dladvise_destroy(&advise);
	}
	if (!handle) {
		const char *why = lt_dlerror();
		char detail[512] = "";
		void *probe;

		/* libltdl says "file not found" for a file that is there but does
		 * not load (not ELF, wrong architecture, missing library); the
		 * dynamic linker's own message says which. */
		probe = dlopen(path, RTLD_NOW | RTLD_LOCAL);
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
	memcpy(&entry, &sym, sizeof(entry));
	plugin = calloc(1, sizeof(*plugin));
	if (!plugin || !(plugin->path = strdup(path))) {
		rc = LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	plugin->handle = handle;
	plugin->ops = entry();
	rc = lh_backend_check(plugin->ops, path, err);
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
	rc = check_file(dir, path, err);
	if (rc == -ENOENT)
		return LH_FAIL(err, rc, "%s: no such plugin file", path);
	return rc ? rc : open_module(path, out, err);
}

int lh_plugin_load(const char *dirs, const char *name, struct lh_plugin **out,
		   struct lh_error *err)
{
	static const char *const suffixes[] = { ".so", ".la" };
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
			for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
				if (snprintf(path, sizeof(path), "%s/%s%s", dir, name, suffixes[i]) >=
				    (int)sizeof(path))
					continue;
				rc = check_file(dir, path, err);
				if (rc == -ENOENT)
					continue;
				return rc ? rc : open_module(path, out, err);
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
