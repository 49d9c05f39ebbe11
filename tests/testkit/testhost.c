/* testhost.c - see testhost.h. */
#include "testhost.h"

#include "fixtures.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>

void testhost_open(struct testhost *t, const char *plugin_dir, const char *ini,
		   const char *uvm_id)
{
	struct lh_error err = { 0 };
	char *text;

	memset(t, 0, sizeof(*t));
	if (asprintf(&text, "[host]\nplugin_dir = %s\n%s", plugin_dir, ini) < 0)
		abort();
	if (lh_config_parse(text, "test.ini", fixture_dir(), &t->cfg, &err))
		fprintf(stderr, "\n  config: %s\n", err.message);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->cfg);
	t->driver = fault_driver_new();
	if (lh_host_open(t->cfg, &t->driver->base, uvm_id, &t->host, &err))
		fprintf(stderr, "\n  host: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->host);
}

void testhost_close(struct testhost *t)
{
	lh_host_close(t->host);
	lh_driver_close(&t->driver->base);
	lh_config_free(t->cfg);
	memset(t, 0, sizeof(*t));
}

struct refs_query {
	const char *host_path;
	uint32_t refs;
	size_t count;
};

static int refs_visit(void *arg, const struct lh_attachment_info *info)
{
	struct refs_query *q = arg;

	q->count++;
	if (q->host_path && strcmp(info->host_path, q->host_path) == 0)
		q->refs = info->refs;
	return 0;
}

static struct refs_query testhost_query(struct testhost *t, const char *backend,
					const char *host_path)
{
	struct lh_instance *inst = lh_host_instance(t->host, backend);
	struct refs_query q = { host_path, 0, 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(inst);
	inst->ops->list(inst->priv, refs_visit, &q);
	return q;
}

size_t testhost_live(struct testhost *t, const char *backend)
{
	return testhost_query(t, backend, NULL).count;
}

uint32_t testhost_refs(struct testhost *t, const char *backend, const char *host_path)
{
	return testhost_query(t, backend, host_path).refs;
}
