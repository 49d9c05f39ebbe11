/*
 * loader.h - find, check and load backend plugins with libltdl.
 *
 * A plugin named NAME is the file NAME.so in one of the plugin directories
 * (a libtool NAME.la is refused: it names another file to open). Before
 * any of its code runs the loader refuses a file it cannot trust
 * (plugin_trust.h: owner, write bits, the folders above it, symlinks) and
 * loads the module through the very file it checked. After loading it
 * refuses a missing entry symbol, a table that does not lie in the
 * plugin's memory (plugin_image.h), an unknown ABI version, a table
 * smaller than ABI v1, a missing mandatory slot, and a table whose name
 * is not its file's. Every refusal is one line naming the file.
 */
#ifndef LH_LOADER_H
#define LH_LOADER_H

#include <layerhost/backend.h>

struct lh_plugin {
	char *path;                   /* the file loaded */
	void *handle;                 /* lt_dlhandle */
	const struct lh_backend *ops; /* the plugin's static table */
};

/*
 * Load plugin `name` from `dirs`, a ':'-separated list searched in order.
 * On success *out is a new plugin (free with lh_plugin_unload).
 */
int lh_plugin_load(const char *dirs, const char *name, struct lh_plugin **out,
		   struct lh_error *err);

/* Load a plugin from an explicit file path (same checks). */
int lh_plugin_load_file(const char *path, struct lh_plugin **out, struct lh_error *err);

/* Close the module and free the plugin. NULL-safe. */
void lh_plugin_unload(struct lh_plugin *plugin);

#endif
