/* registry.c - see registry.h. */
#include "registry.h"

#include "qemu.h"

#include <stdio.h>

struct driver_entry {
	const char *name;
	lh_driver_open_fn open;
	bool selectable; /* a configuration may choose it */
};

static const struct driver_entry drivers[] = {
	{ "journal", lh_journal_driver_open, true },
	{ "null", lh_null_driver_open, true },
	{ "qemu", lh_qemu_driver_open, true },
	/* Records requests in memory for `plan`; realises nothing. */
	{ "plan", lh_plan_driver_open, false },
};

#define N_DRIVERS (sizeof(drivers) / sizeof(drivers[0]))

static const struct driver_entry *driver_find(const char *name)
{
	for (size_t i = 0; i < N_DRIVERS; i++)
		if (strcmp(drivers[i].name, name) == 0)
			return &drivers[i];
	return NULL;
}

bool lh_driver_selectable(const char *name)
{
	const struct driver_entry *e = driver_find(name);

	return e && e->selectable;
}

const char *lh_driver_selectable_names(char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_DRIVERS && len < cap; i++)
		if (drivers[i].selectable)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "",
						drivers[i].name);
	return buf;
}

int lh_driver_open(const char *name, const struct lh_driver_params *params,
		   struct lh_driver **out, struct lh_error *err)
{
	const struct driver_entry *e = driver_find(name);
	char names[128];

	*out = NULL;
	if (!e)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: driver '%s' is not available in this "
			       "build (%s)", params->source ? params->source : "layerhost", name,
			       lh_driver_selectable_names(names, sizeof(names)));
	return e->open(params, out, err);
}
