/*
 * outoftree_driver.c - load the out-of-tree demo backend (built by run.sh
 * against the installed header, or the frozen ABI v1 one) from the folder
 * in argv[1], built for the ABI in argv[2], with the real
 * loader and drive it through the fake host: handle semantics and the
 * requests it issues.
 */
#include <CUnit/Basic.h>

#include "fakehost.h"
#include "loader.h"

#include <stdlib.h>

static const char *plugin_dir;
static unsigned expected_abi;

static void test_demo_attach_release(void)
{
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };
	struct fakehost fh;
	struct lh_attach_request a = fakehost_request_init("/layers/a.vhd", LH_ATTACH_READ_ONLY);
	struct lh_attach_request b = fakehost_request_init("/layers/b.vhd", LH_ATTACH_READ_ONLY);
	struct lh_attach_request c = fakehost_request_init("/layers/c.vhd", 0);
	struct lh_attach_result res;
	uint64_t ha1, ha2, hb;

	CU_ASSERT_EQUAL_FATAL(lh_plugin_load(plugin_dir, "demo", &plugin, &err), 0);
	CU_ASSERT_STRING_EQUAL(plugin->ops->name, "demo");
	CU_ASSERT_EQUAL(plugin->ops->abi_version, expected_abi);
	fakehost_init(&fh, LH_OS_LINUX);
	fh.plugin = plugin;
	fh.backend = plugin->ops;
	fh.priv = calloc(1, plugin->ops->priv_size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fh.priv);
	CU_ASSERT_EQUAL_FATAL(fh.backend->open(fh.priv, &fh.services, &err), 0);

	/* Fresh handles from 1; an equal path shares the device. */
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &a, &res, &err), 0);
	ha1 = res.handle;
	CU_ASSERT_EQUAL(ha1, 1);
	CU_ASSERT_FALSE(res.shared);
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &a, &res, &err), 0);
	ha2 = res.handle;
	CU_ASSERT_EQUAL(ha2, 2);
	CU_ASSERT_TRUE(res.shared);
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &b, &res, &err), 0);
	hb = res.handle;
	CU_ASSERT_EQUAL(hb, 3);
	CU_ASSERT_STRING_EQUAL(res.location, "d1");
	CU_ASSERT_EQUAL(fh.n_requests, 2);

	/* One of two references: nothing is removed yet. */
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, ha1, &err), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	/* Released twice, or never issued: refused, nothing changes. */
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, ha1, &err), -LH_ENOTATTACHED);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, 99, &err), -LH_ENOTATTACHED);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fh.n_requests, 2);

	/* A failed attach issues nothing and burns no handle visible later. */
	fh.fail_at = fh.n_attempts + 1;
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &c, &res, &err),
			-LH_EDRIVER);
	lh_error_clear(&err);
	fh.fail_at = 0;
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &a, &res, &err), 0);
	CU_ASSERT_EQUAL(res.handle, 4); /* never reused */
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), 0);

	/* The last references go: the devices are removed. */
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, ha2, &err), 0);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, hb, &err), 0);
	CU_ASSERT_EQUAL_FATAL(fh.n_requests, 4);
	CU_ASSERT_STRING_EQUAL(fakehost_request(&fh, 0),
			       "{\"ResourcePath\":\"VirtualMachine/Devices/Demo/0\",\"RequestType\":\"Add\"}");
	CU_ASSERT_STRING_EQUAL(fakehost_request(&fh, 1),
			       "{\"ResourcePath\":\"VirtualMachine/Devices/Demo/1\",\"RequestType\":\"Add\"}");
	CU_ASSERT_STRING_EQUAL(fakehost_request(&fh, 2),
			       "{\"ResourcePath\":\"VirtualMachine/Devices/Demo/0\",\"RequestType\":\"Remove\"}");
	CU_ASSERT_STRING_EQUAL(fakehost_request(&fh, 3),
			       "{\"ResourcePath\":\"VirtualMachine/Devices/Demo/1\",\"RequestType\":\"Remove\"}");
	CU_ASSERT_EQUAL(err.code, 0);
	fakehost_fini(&fh);
}

int main(int argc, char **argv)
{
	CU_pSuite suite;
	unsigned failed;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PLUGIN_DIR ABI\n", argv[0]);
		return 2;
	}
	plugin_dir = argv[1];
	expected_abi = (unsigned)atoi(argv[2]);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("outoftree", NULL, NULL);
	if (!suite || !CU_add_test(suite, "demo backend: attach/release", test_demo_attach_release))
		return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
