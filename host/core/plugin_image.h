/*
 * plugin_image.h - whether the table a plugin's entry point returned is
 * one the host can read without crashing.
 *
 * A table is only read where it lies: the table itself, its name and its
 * option table in the plugin's own mapped memory, its strings ended
 * within it and short, its slots in the plugin's code. An entry point
 * returning garbage is refused with one line naming the file instead of
 * taking the program down. What the fields mean is lh_backend_check's.
 */
#ifndef LH_PLUGIN_IMAGE_H
#define LH_PLUGIN_IMAGE_H

#include <layerhost/backend.h>

/* The longest name or option string a table may hold. */
#define LH_PLUGIN_STRING_MAX 1024

/*
 * Check `ops`, returned by the entry point at `entry` (an address in the
 * plugin, which says which loaded object the plugin is). A NULL or
 * misaligned pointer passes here: lh_backend_check names those. `file`
 * names the plugin in the message; refusals are -LH_EUNSUPPORTED.
 */
int lh_plugin_image_check(const void *entry, const struct lh_backend *ops, const char *file,
			  struct lh_error *err);

#endif
