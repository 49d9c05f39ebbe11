/*
 * test_concurrency.c - many threads mounting and unmounting containers
 * that share layers on one UVM, through the real plugins. Afterwards every
 * count is back to zero, no slot is held and every request that added a
 * resource was matched by its removal. Run in a ThreadSanitizer build by CI.
 *
 * LH_STRESS_THREADS and LH_STRESS_CYCLES override the defaults (8 x 2000).
 */
#include "cutest.h"
#include "driver.h"
#include "fixtures.h"
#include "pipeline.h"

#include <pthread.h>
#include <stdlib.h>

#define MAX_KEYS 4096

/* A driver that keeps, per resource, the number of Adds minus Removes. */
struct balance_driver {
	struct lh_driver base;
	pthread_mutex_t lock;
	struct {
		char key[256];
		long count;
	} keys[MAX_KEYS];
	size_t n_keys;
	unsigned long requests;
};

static int balance_modify(struct lh_driver *drv, const char *uvm_id, const cJSON *req,
			  struct lh_error *err)
{
	struct balance_driver *b = (struct balance_driver *)drv;
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(req, "ResourcePath");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(req, "RequestType");
	const cJSON *guest = cJSON_GetObjectItemCaseSensitive(req, "GuestRequest");
	char key[256];
	int delta;
	size_t i;

	(void)uvm_id;
	if (cJSON_IsString(path)) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(req, "Settings"), "Name");

		snprintf(key, sizeof(key), "%s#%s", path->valuestring,
			 cJSON_IsString(name) ? name->valuestring : "");
	} else {
		const cJSON *settings = cJSON_GetObjectItemCaseSensitive(guest, "Settings");

		type = cJSON_GetObjectItemCaseSensitive(guest, "RequestType");
		snprintf(key, sizeof(key), "combined:%s",
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(settings,
									     "ContainerRootPath")));
	}
	delta = strcmp(cJSON_GetStringValue(type), "Add") == 0 ? 1 : -1;
	pthread_mutex_lock(&b->lock);
	b->requests++;
	for (i = 0; i < b->n_keys && strcmp(b->keys[i].key, key); i++)
		;
	if (i == b->n_keys && b->n_keys < MAX_KEYS)
		snprintf(b->keys[b->n_keys++].key, sizeof(b->keys[0].key), "%s", key);
	if (i < MAX_KEYS)
		b->keys[i].count += delta;
	pthread_mutex_unlock(&b->lock);
	return i < MAX_KEYS ? 0 : LH_FAIL(err, -ENOSPC, "balance driver: too many resources");
}

static void balance_close(struct lh_driver *drv)
{
	(void)drv;
}

static const struct lh_driver_ops balance_ops = {
	.name = "balance",
	.modify = balance_modify,
	.close = balance_close,
};

struct worker {
	pthread_t thread;
	struct lh_host *host;
	const struct lh_container_config *container;
	int cycles;
	int failures;
	char first_error[LH_ERROR_MESSAGE_MAX];
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->cycles; i++) {
		struct lh_error err = { 0 };

		if (lh_pipeline_mount(w->host, w->container, &err) ||
		    lh_pipeline_unmount(w->host, w->container->name, &err)) {
			if (!w->failures++)
				snprintf(w->first_error, sizeof(w->first_error), "%s", err.message);
		}
	}
	return NULL;
}

static int count_visit(void *arg, const struct lh_attachment_info *info)
{
	(void)info;
	(*(size_t *)arg)++;
	return 0;
}

static int env_int(const char *name, int fallback)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? atoi(v) : fallback;
}

static void test_threads_share_layers(void)
{
	int threads = env_int("LH_STRESS_THREADS", 8);
	int cycles = env_int("LH_STRESS_CYCLES", 2000);
	struct balance_driver *driver = calloc(1, sizeof(*driver));
	struct worker *workers = calloc((size_t)threads, sizeof(*workers));
	struct lh_config *cfg = NULL;
	struct lh_host *host = NULL;
	struct lh_error err = { 0 };
	char *ini = NULL, name[64], rel[128];
	size_t len = 0, live;
	FILE *text = open_memstream(&ini, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(driver);
	CU_ASSERT_PTR_NOT_NULL_FATAL(workers);
	driver->base.ops = &balance_ops;
	pthread_mutex_init(&driver->lock, NULL);
	/* Three base layers every container shares, one layer and one
	 * scratch of each thread's own. */
	for (int i = 0; i < 3; i++) {
		snprintf(rel, sizeof(rel), "layers/base%d/layer.vhd", i);
		CU_ASSERT_EQUAL_FATAL(fixture_vhd(fixture_path(rel), 1 << 20), 0);
	}
	fprintf(text, "[host]\nplugin_dir = %s\n[uvm]\nos = linux\n"
		"[plugin.vpmem]\nmax_devices = 16\nmulti_mapping = false\n"
		"[plugin.scsi]\ncontrollers = 4\n", LH_TEST_PLUGIN_DIR);
	for (int t = 0; t < threads; t++) {
		snprintf(rel, sizeof(rel), "layers/own%d/layer.vhd", t);
		CU_ASSERT_EQUAL_FATAL(fixture_vhd(fixture_path(rel), 1 << 20), 0);
		snprintf(rel, sizeof(rel), "scratch/t%d/sandbox.vhdx", t);
		CU_ASSERT_EQUAL_FATAL(fixture_vhd(fixture_path(rel), 1 << 20), 0);
		fprintf(text, "[container.t%d]\nlayers = layers/base0, layers/base1, layers/base2, "
			"layers/own%d\nscratch = scratch/t%d\n", t, t, t);
	}
	fclose(text);
	if (lh_config_parse(ini, "stress.ini", fixture_dir(), &cfg, &err) == 0)
		lh_host_open(cfg, &driver->base, NULL, &host, &err);
	if (!host)
		fprintf(stderr, "\n  %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(host);

	for (int t = 0; t < threads; t++) {
		snprintf(name, sizeof(name), "t%d", t);
		workers[t].host = host;
		workers[t].container = lh_config_container(cfg, name);
		workers[t].cycles = cycles;
		pthread_create(&workers[t].thread, NULL, worker_run, &workers[t]);
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(workers[t].thread, NULL);
		if (workers[t].failures)
			fprintf(stderr, "\n  thread %d: %d failures, first: %s\n", t,
				workers[t].failures, workers[t].first_error);
		CU_ASSERT_EQUAL(workers[t].failures, 0);
	}
	printf("\n  %d threads x %d mount/unmount cycles: %lu requests\n", threads, cycles,
	       driver->requests);

	/* Invariants: nothing held, nothing recorded, every Add removed. */
	CU_ASSERT_EQUAL(host->pipeline->n, 0);
	for (size_t i = 0; i < host->n_instances; i++) {
		live = 0;
		host->instances[i]->ops->list(host->instances[i]->priv, count_visit, &live);
		if (live)
			fprintf(stderr, "\n  %s still holds %zu attachments\n",
				host->instances[i]->name, live);
		CU_ASSERT_EQUAL(live, 0);
	}
	for (size_t i = 0; i < driver->n_keys; i++) {
		if (driver->keys[i].count)
			fprintf(stderr, "\n  unbalanced: %s (%+ld)\n", driver->keys[i].key,
				driver->keys[i].count);
		CU_ASSERT_EQUAL(driver->keys[i].count, 0);
	}
	CU_ASSERT_TRUE(driver->requests >= (unsigned long)threads * cycles * 4);
	lh_host_close(host);
	lh_config_free(cfg);
	pthread_mutex_destroy(&driver->lock);
	free(driver);
	free(workers);
	free(ini);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "threads mount and unmount containers sharing layers", test_threads_share_layers },
		{ NULL, NULL },
	};

	return cutest_run("concurrency", cases, fixture_cleanup);
}
