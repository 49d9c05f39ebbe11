/* faultdriver.c - see faultdriver.h. */
#include "faultdriver.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int fault_modify(struct lh_driver *drv, const char *uvm_id, const cJSON *request,
			struct lh_error *err)
{
	struct fault_driver *fd = (struct fault_driver *)drv;
	size_t attempt;
	int rc = 0;

	(void)uvm_id;
	pthread_mutex_lock(&fd->lock);
	attempt = ++fd->attempts;
	if (fd->fail_at && attempt == fd->fail_at)
		rc = LH_FAIL(err, fd->fail_code ? fd->fail_code : -LH_EDRIVER,
			     "fault driver: request %zu failed on purpose", attempt);
	else
		cJSON_AddItemToArray(fd->requests, cJSON_Duplicate(request, true));
	pthread_mutex_unlock(&fd->lock);
	return rc;
}

static void fault_close(struct lh_driver *drv)
{
	struct fault_driver *fd = (struct fault_driver *)drv;

	cJSON_Delete(fd->requests);
	pthread_mutex_destroy(&fd->lock);
	free(fd);
}

static const struct lh_driver_ops fault_ops = {
	.name = "fault",
	.modify = fault_modify,
	.close = fault_close,
};

struct fault_driver *fault_driver_new(void)
{
	struct fault_driver *fd = calloc(1, sizeof(*fd));

	if (!fd)
		abort();
	fd->base.ops = &fault_ops;
	fd->requests = cJSON_CreateArray();
	pthread_mutex_init(&fd->lock, NULL);
	return fd;
}

void fault_driver_reset(struct fault_driver *fd)
{
	cJSON_Delete(fd->requests);
	fd->requests = cJSON_CreateArray();
	fd->attempts = 0;
	fd->fail_at = 0;
}

/* The key a request adds or removes, and +1 / -1 (0: neither). */
static int request_key(const cJSON *req, char *key, size_t cap)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(req, "ResourcePath");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(req, "RequestType");
	const cJSON *guest = cJSON_GetObjectItemCaseSensitive(req, "GuestRequest");

	if (!cJSON_IsString(path) && guest) {
		const cJSON *settings = cJSON_GetObjectItemCaseSensitive(guest, "Settings");
		const cJSON *root = cJSON_GetObjectItemCaseSensitive(settings, "ContainerRootPath");

		type = cJSON_GetObjectItemCaseSensitive(guest, "RequestType");
		snprintf(key, cap, "guest:%s:%s",
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(guest, "ResourceType")),
			 cJSON_IsString(root) ? root->valuestring : "?");
	} else if (cJSON_IsString(path)) {
		snprintf(key, cap, "%s", path->valuestring);
		/* A VSMB share is added at the collection path: key by name. */
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(req, "Settings"), "Name");

		if (cJSON_IsString(name))
			snprintf(key + strlen(key), cap - strlen(key), "#%s", name->valuestring);
	} else {
		return 0;
	}
	if (cJSON_IsString(type) && strcmp(type->valuestring, "Add") == 0)
		return 1;
	if (cJSON_IsString(type) && strcmp(type->valuestring, "Remove") == 0)
		return -1;
	return 0;
}

bool fault_driver_balanced(const struct fault_driver *fd)
{
	struct {
		char key[512];
		int count;
	} *keys;
	size_t n = 0, total = (size_t)cJSON_GetArraySize(fd->requests);
	const cJSON *req;
	bool ok = true;

	keys = calloc(total ? total : 1, sizeof(*keys));
	cJSON_ArrayForEach(req, fd->requests) {
		char key[512];
		int delta = request_key(req, key, sizeof(key));
		size_t i;

		if (!delta)
			continue;
		for (i = 0; i < n && strcmp(keys[i].key, key); i++)
			;
		if (i == n)
			snprintf(keys[n++].key, sizeof(keys[0].key), "%s", key);
		keys[i].count += delta;
	}
	for (size_t i = 0; i < n; i++)
		if (keys[i].count != 0) {
			fprintf(stderr, "unbalanced: %s (%+d)\n", keys[i].key, keys[i].count);
			ok = false;
			break;
		}
	free(keys);
	return ok;
}
