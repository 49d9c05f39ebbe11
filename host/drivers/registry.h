/*
 * registry.h - the drivers this build has, by name: the one place that
 * names them. The core opens its driver here from the name the INI file
 * gives; nothing above the drivers knows which drivers exist.
 */
#ifndef LH_DRIVER_REGISTRY_H
#define LH_DRIVER_REGISTRY_H

#include "driver.h"

/*
 * Open the driver called `name`. An unknown name is -LH_EUNSUPPORTED with
 * err listing the drivers a configuration may name.
 */
int lh_driver_open(const char *name, const struct lh_driver_params *params,
		   struct lh_driver **out, struct lh_error *err);

/* Whether a configuration may name `name` ([host] driver). */
bool lh_driver_selectable(const char *name);

/* The names a configuration may give, ", "-separated, into buf; returns buf. */
const char *lh_driver_selectable_names(char *buf, size_t cap);

#endif
