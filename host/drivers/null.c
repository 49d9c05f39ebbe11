/* null.c - discards every request: the cost floor for benchmarks. */
#include "driver.h"

#include <errno.h>
#include <stdlib.h>

static int null_modify(struct lh_driver *drv, const char *uvm_id, const cJSON *request,
		       struct lh_error *err)
{
	(void)drv;
	(void)uvm_id;
	(void)request;
	(void)err;
	return 0;
}

static void null_close(struct lh_driver *drv)
{
	free(drv);
}

static const struct lh_driver_ops null_ops = {
	.name = "null",
	.modify = null_modify,
	.close = null_close,
};

int lh_null_driver_open(const struct lh_driver_params *params, struct lh_driver **out,
			struct lh_error *err)
{
	struct lh_driver *drv = calloc(1, sizeof(*drv));

	(void)params;
	if (!drv)
		return LH_FAIL(err, -ENOMEM, "null driver: out of memory");
	drv->ops = &null_ops;
	*out = drv;
	return 0;
}
