/* plan.c - records requests in memory: what a command would do. */
#include "driver.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct plan_driver {
	struct lh_driver base;
	pthread_mutex_t lock;
	cJSON *requests;
};

static int plan_modify(struct lh_driver *drv, const char *uvm_id, const cJSON *request,
		       struct lh_error *err)
{
	struct plan_driver *p = (struct plan_driver *)drv;
	cJSON *record = cJSON_CreateObject();
	cJSON *copy = cJSON_Duplicate(request, true);

	if (!record || !copy || !cJSON_AddStringToObject(record, "uvm", uvm_id)) {
		cJSON_Delete(record);
		cJSON_Delete(copy);
		return LH_FAIL(err, -ENOMEM, "plan: out of memory");
	}
	cJSON_AddItemToObject(record, "request", copy);
	pthread_mutex_lock(&p->lock);
	cJSON_AddItemToArray(p->requests, record);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void plan_close(struct lh_driver *drv)
{
	struct plan_driver *p = (struct plan_driver *)drv;

	cJSON_Delete(p->requests);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const cJSON *plan_recorded(const struct lh_driver *drv)
{
	return ((const struct plan_driver *)drv)->requests;
}

static const struct lh_driver_ops plan_ops = {
	.name = "plan",
	.modify = plan_modify,
	.recorded = plan_recorded,
	.close = plan_close,
};

int lh_plan_driver_open(const struct lh_driver_params *params, struct lh_driver **out,
			struct lh_error *err)
{
	struct plan_driver *p = calloc(1, sizeof(*p));

	(void)params;
	if (!p || !(p->requests = cJSON_CreateArray())) {
		free(p);
		return LH_FAIL(err, -ENOMEM, "plan: out of memory");
	}
	pthread_mutex_init(&p->lock, NULL);
	p->base.ops = &plan_ops;
	*out = &p->base;
	return 0;
}
