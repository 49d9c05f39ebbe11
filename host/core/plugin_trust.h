/*
 * plugin_trust.h - whether a plugin file may be loaded, decided before any
 * of its code runs.
 *
 * The rule is sudo's for its plugins: the file and every folder from it up
 * to / are owned by root or by the user the program runs as (its effective
 * uid), and none is writable by its group or by others, so nobody else
 * could have put code there. A world-writable folder with the sticky bit
 * (/tmp) is allowed on the way: there only an entry's owner may replace it,
 * and the entry below it is checked in turn. A symlink in the plugin
 * folder may name a file in that same folder, nothing else.
 */
#ifndef LH_PLUGIN_TRUST_H
#define LH_PLUGIN_TRUST_H

#include <layerhost/backend.h>

/*
 * Check `path`, the plugin file found in folder `dir`, and open it. On
 * success *fd is the open file (O_RDONLY, close-on-exec; the caller
 * closes it): the loader holds it to make sure the file it loads is the
 * file checked. A missing path is -ENOENT with nothing in err (not an error
 * while searching); a refusal is -EPERM naming the file and what is wrong
 * with it or with which folder.
 */
int lh_plugin_trust_open(const char *dir, const char *path, int *fd, struct lh_error *err);

#endif
