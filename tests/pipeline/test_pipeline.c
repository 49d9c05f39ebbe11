/*
 * test_pipeline.c - the LCOW, WCOW and host pipelines driven through a
 * real host with the real plugins and a recording, fault-injecting driver.
 */
#include "cutest.h"
#include "fixtures.h"
#include "pipeline.h"
#include "testhost.h"

#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024ull
#define MIB (1024ull * 1024)

/* The real plugins of the build tree. */
static void world_open(struct testhost *w, const char *ini)
{
	testhost_open(w, LH_TEST_PLUGIN_DIR, ini, NULL);
}

static const struct lh_container_config *container(struct testhost *w, const char *name)
{
	const struct lh_container_config *c = lh_config_container(w->cfg, name);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

static int do_mount(struct testhost *w, const char *name, struct lh_error *err)
{
	lh_error_clear(err);
	return lh_pipeline_mount(w->host, container(w, name), err);
}

static void unmount_ok(struct testhost *w, const char *name)
{
	struct lh_error err = { 0 };
	int rc = lh_pipeline_unmount(w->host, name, &err);

	if (rc)
		fprintf(stderr, "\n  unmount %s: %s\n", name, err.message);
	CU_ASSERT_EQUAL(rc, 0);
}

/* layers/<name>/layer.vhd of `size` data bytes, once per process. */
static void lcow_layer(const char *name, uint64_t size)
{
	char rel[256];
	struct stat st;

	snprintf(rel, sizeof(rel), "layers/%s/layer.vhd", name);
	if (stat(fixture_path(rel), &st) == 0)
		return;
	CU_ASSERT_EQUAL_FATAL(fixture_vhd(fixture_path(rel), size), 0);
}

static void scratch_disk(const char *name)
{
	char rel[256];
	struct stat st;

	snprintf(rel, sizeof(rel), "scratch/%s/sandbox.vhdx", name);
	if (stat(fixture_path(rel), &st) == 0)
		return;
	CU_ASSERT_EQUAL_FATAL(fixture_vhdx(fixture_path(rel), 16 * MIB), 0);
}

/* n small layers named <prefix>0.. and a scratch for container `name`. */
static void lcow_fixture(const char *name, const char *prefix, int n)
{
	char layer[64];

	for (int i = 0; i < n; i++) {
		snprintf(layer, sizeof(layer), "%s%d", prefix, i);
		lcow_layer(layer, 512 * KIB);
	}
	scratch_disk(name);
}

static const cJSON *last_request(struct testhost *w)
{
	int n = cJSON_GetArraySize(w->driver->requests);

	return n ? cJSON_GetArrayItem(w->driver->requests, n - 1) : NULL;
}

/* ---- LCOW ---------------------------------------------------------------- */

static void test_lcow_all_on_vpmem(void)
{
	struct lh_error err = { 0 };
	const struct lh_mounted *m;
	const cJSON *req, *settings;
	struct testhost w;

	lcow_fixture("a1", "a", 3);
	world_open(&w, "[uvm]\nos = linux\n[plugin.vpmem]\nmulti_mapping = false\n"
		       "[container.a1]\nlayers = layers/a0, layers/a1, layers/a2\nscratch = scratch/a1\n");
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "a1", &err), 0);
	m = lh_pipeline_find(w.host, "a1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_STRING_EQUAL(m->layers[i].backend, "vpmem");
		CU_ASSERT_PTR_NOT_NULL(m->layers[i].uvm_path);
	}
	CU_ASSERT_STRING_EQUAL(m->layers[0].location, "p0");
	CU_ASSERT_STRING_EQUAL(m->scratch.backend, "scsi");
	CU_ASSERT_STRING_EQUAL(m->rootfs, "/run/gcs/c/a1/rootfs");
	/* hcsshim: the scratch mounts at the container's guest root, its
	 * directory is <root>/scratch/<id>. */
	CU_ASSERT_STRING_EQUAL(m->scratch.uvm_path, "/run/gcs/c/a1");
	CU_ASSERT_STRING_EQUAL(m->scratch_path, "/run/gcs/c/a1/scratch/a1");
	CU_ASSERT_EQUAL(strncmp(m->scratch_path, m->scratch.uvm_path, strlen(m->scratch.uvm_path)), 0);
	CU_ASSERT_TRUE(m->combined);
	/* The last request builds the rootfs from the three layers. */
	req = cJSON_GetObjectItemCaseSensitive(last_request(&w), "GuestRequest");
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(req, "ResourceType")),
			       "CombinedLayers");
	settings = cJSON_GetObjectItemCaseSensitive(req, "Settings");
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(settings, "ContainerID")),
			       "a1");
	CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(cJSON_GetObjectItem(settings, "Layers")), 3);
	/* Layers[0] is the topmost (hcsshim's guest makes it the first
	 * lowerdir): the config's last layer. */
	for (int i = 0; i < 3; i++)
		CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
					       cJSON_GetObjectItem(settings, "Layers"), i), "Path")),
				       m->layers[2 - i].uvm_path);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(settings, "ScratchPath")),
			       m->scratch_path);
	unmount_ok(&w, "a1");
	CU_ASSERT_PTR_NULL(lh_pipeline_find(w.host, "a1"));
	CU_ASSERT_EQUAL(testhost_live(&w, "vpmem"), 0);
	CU_ASSERT_EQUAL(testhost_live(&w, "scsi"), 0);
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	testhost_close(&w);
}

static void test_lcow_overflow_to_scsi(void)
{
	struct lh_error err = { 0 };
	const struct lh_mounted *m;
	struct testhost w;

	lcow_fixture("b1", "b", 4);
	world_open(&w, "[uvm]\nos = linux\n[plugin.vpmem]\nmax_devices = 2\nmulti_mapping = false\n"
		       "[container.b1]\nlayers = layers/b0, layers/b1, layers/b2, layers/b3\n"
		       "scratch = scratch/b1\n");
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "b1", &err), 0);
	m = lh_pipeline_find(w.host, "b1");
	CU_ASSERT_STRING_EQUAL(m->layers[0].backend, "vpmem");
	CU_ASSERT_STRING_EQUAL(m->layers[1].backend, "vpmem");
	CU_ASSERT_STRING_EQUAL(m->layers[2].backend, "scsi");
	CU_ASSERT_STRING_EQUAL(m->layers[3].backend, "scsi");
	CU_ASSERT_STRING_EQUAL(m->layers[2].location, "0:0");
	CU_ASSERT_STRING_EQUAL(m->scratch.location, "0:2");
	CU_ASSERT_EQUAL(testhost_live(&w, "scsi"), 3);
	unmount_ok(&w, "b1");
	CU_ASSERT_EQUAL(testhost_live(&w, "vpmem") + testhost_live(&w, "scsi"), 0);
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	testhost_close(&w);
}

static void test_lcow_vpmem_skipped_when_physically_backed(void)
{
	struct lh_error err = { 0 };
	const struct lh_mounted *m;
	struct testhost w;

	lcow_fixture("c1", "c", 2);
	world_open(&w, "[uvm]\nos = linux\nphysically_backed = true\n"
		       "[container.c1]\nlayers = layers/c0, layers/c1\nscratch = scratch/c1\n");
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "c1", &err), 0);
	m = lh_pipeline_find(w.host, "c1");
	CU_ASSERT_STRING_EQUAL(m->layers[0].backend, "scsi");
	CU_ASSERT_STRING_EQUAL(m->layers[1].backend, "scsi");
	CU_ASSERT_EQUAL(testhost_live(&w, "vpmem"), 0);
	unmount_ok(&w, "c1");
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	testhost_close(&w);
}

static void test_lcow_layer_too_large_for_vpmem(void)
{
	struct lh_error err = { 0 };
	const struct lh_mounted *m;
	struct testhost w;

	lcow_layer("d-small", 512 * KIB);
	lcow_layer("d-big", 2 * MIB);
	scratch_disk("d1");
	world_open(&w, "[uvm]\nos = linux\n[plugin.vpmem]\nmax_size_bytes = 1M\n"
		       "[container.d1]\nlayers = layers/d-small, layers/d-big\nscratch = scratch/d1\n");
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "d1", &err), 0);
	m = lh_pipeline_find(w.host, "d1");
	CU_ASSERT_STRING_EQUAL(m->layers[0].backend, "vpmem");
	CU_ASSERT_STRING_EQUAL(m->layers[1].backend, "scsi");
	unmount_ok(&w, "d1");
	testhost_close(&w);
}

static void test_scsi_exhaustion_leaves_nothing(void)
{
	struct lh_error err = { 0 };
	struct testhost w;
	int rc;

	lcow_fixture("e1", "e", 4);
	world_open(&w, "[uvm]\nos = linux\n[plugin.vpmem]\nmax_devices = 1\nmulti_mapping = false\n"
		       "[plugin.scsi]\nluns_per_controller = 3\n"
		       "[container.e1]\nlayers = layers/e0, layers/e1, layers/e2, layers/e3\n"
		       "scratch = scratch/e1\n");
	rc = do_mount(&w, "e1", &err);
	CU_ASSERT_EQUAL(rc, -LH_ENOLOCATION);
	ASSERT_MSG_HAS(err, "sandbox.vhdx");
	CU_ASSERT_PTR_NULL(lh_pipeline_find(w.host, "e1"));
	CU_ASSERT_EQUAL(testhost_live(&w, "vpmem") + testhost_live(&w, "scsi"), 0);
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	/* Nothing held: the id can be mounted once there is room. */
	CU_ASSERT_EQUAL(w.host->pipeline->n, 0);
	testhost_close(&w);
}

static void test_shared_scratch_through_symlink(void)
{
	struct lh_error err = { 0 };
	const struct lh_mounted *m1, *m2;
	char target[4096];
	struct testhost w;

	lcow_fixture("f1", "f", 1);
	snprintf(target, sizeof(target), "%s", fixture_path("scratch/f1/sandbox.vhdx"));
	mkdir(fixture_path("scratch/f2"), 0755);
	unlink(fixture_path("scratch/f2/sandbox.vhdx"));
	CU_ASSERT_EQUAL_FATAL(symlink(target, fixture_path("scratch/f2/sandbox.vhdx")), 0);
	world_open(&w, "[uvm]\nos = linux\n[plugin.vpmem]\nmulti_mapping = false\n"
		       "[container.f1]\nlayers = layers/f0\nscratch = scratch/f1\n"
		       "[container.f2]\nlayers = layers/f0\nscratch = scratch/f2\n");
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "f1", &err), 0);
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "f2", &err), 0);
	m1 = lh_pipeline_find(w.host, "f1");
	m2 = lh_pipeline_find(w.host, "f2");
	/* One disk, one slot, two users, each with its own directory. */
	CU_ASSERT_STRING_EQUAL(m1->scratch.location, m2->scratch.location);
	CU_ASSERT_STRING_EQUAL(m1->scratch.host_path, target);
	CU_ASSERT_STRING_EQUAL(m2->scratch.host_path, target);
	CU_ASSERT_STRING_NOT_EQUAL(m1->scratch_path, m2->scratch_path);
	/* hcsshim: the shared disk stays at the first user's root. */
	CU_ASSERT_STRING_EQUAL(m2->scratch_path, "/run/gcs/c/f1/scratch/f2");
	CU_ASSERT_EQUAL(testhost_refs(&w, "scsi", target), 2);
	unmount_ok(&w, "f1");
	CU_ASSERT_EQUAL(testhost_refs(&w, "scsi", target), 1);
	unmount_ok(&w, "f2");
	CU_ASSERT_EQUAL(testhost_live(&w, "scsi") + testhost_live(&w, "vpmem"), 0);
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	testhost_close(&w);
}

static void test_two_containers_share_base_layers(void)
{
	struct lh_error err = { 0 };
	char base[4096];
	struct testhost w;

	lcow_layer("g-base", 512 * KIB);
	lcow_layer("g-mid", 512 * KIB);
	lcow_layer("g-top1", 512 * KIB);
	lcow_layer("g-top2", 512 * KIB);
	scratch_disk("g1");
	scratch_disk("g2");
	snprintf(base, sizeof(base), "%s", fixture_path("layers/g-base/layer.vhd"));
	world_open(&w, "[uvm]\nos = linux\n[plugin.vpmem]\nmulti_mapping = false\n"
		       "[container.g1]\nlayers = layers/g-base, layers/g-mid, layers/g-top1\n"
		       "scratch = scratch/g1\n"
		       "[container.g2]\nlayers = layers/g-base, layers/g-mid, layers/g-top2\n"
		       "scratch = scratch/g2\n");
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "g1", &err), 0);
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "g2", &err), 0);
	CU_ASSERT_EQUAL(testhost_live(&w, "vpmem"), 4);
	CU_ASSERT_EQUAL(testhost_refs(&w, "vpmem", base), 2);
	CU_ASSERT_STRING_EQUAL(lh_pipeline_find(w.host, "g1")->layers[0].location,
			       lh_pipeline_find(w.host, "g2")->layers[0].location);
	unmount_ok(&w, "g1");
	CU_ASSERT_EQUAL(testhost_live(&w, "vpmem"), 3);
	CU_ASSERT_EQUAL(testhost_refs(&w, "vpmem", base), 1);
	CU_ASSERT_EQUAL(testhost_live(&w, "scsi"), 1);
	unmount_ok(&w, "g2");
	CU_ASSERT_EQUAL(testhost_live(&w, "vpmem") + testhost_live(&w, "scsi"), 0);
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	testhost_close(&w);
}

/* A fault at every request index of a 10-layer mount leaves nothing. */
static void test_fault_at_every_request(void)
{
	static const char ini[] =
		"[uvm]\nos = linux\n[plugin.vpmem]\nmax_devices = 4\nmulti_mapping = false\n"
		"[container.h1]\nlayers = layers/h0, layers/h1, layers/h2, layers/h3, layers/h4,\n"
		"  layers/h5, layers/h6, layers/h7, layers/h8, layers/h9\nscratch = scratch/h1\n";
	struct lh_error err = { 0 };
	struct testhost w;
	size_t total;

	lcow_fixture("h1", "h", 10);
	world_open(&w, ini);
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "h1", &err), 0);
	total = w.driver->attempts;
	CU_ASSERT_EQUAL(total, 12); /* 10 layers, scratch, combined layers */
	unmount_ok(&w, "h1");
	for (size_t k = 1; k <= total; k++) {
		fault_driver_reset(w.driver);
		w.driver->fail_at = k;
		CU_ASSERT_EQUAL(do_mount(&w, "h1", &err), -LH_EDRIVER);
		CU_ASSERT_PTR_NULL(lh_pipeline_find(w.host, "h1"));
		CU_ASSERT_EQUAL(w.host->pipeline->n, 0);
		CU_ASSERT_EQUAL(testhost_live(&w, "vpmem") + testhost_live(&w, "scsi"), 0);
		if (!fault_driver_balanced(w.driver))
			fprintf(stderr, "  after a fault at request %zu\n", k);
		CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	}
	/* And it still mounts cleanly afterwards. */
	fault_driver_reset(w.driver);
	CU_ASSERT_EQUAL(do_mount(&w, "h1", &err), 0);
	unmount_ok(&w, "h1");
	testhost_close(&w);
}

/* A failed step of an unmount is reported; the rest is still released, and
 * a second unmount finishes the job. */
static void test_unmount_tries_every_step(void)
{
	struct lh_error err = { 0 };
	const struct lh_mounted *m;
	struct testhost w;

	lcow_fixture("i1", "i", 2);
	world_open(&w, "[uvm]\nos = linux\n[plugin.vpmem]\nmulti_mapping = false\n"
		       "[container.i1]\nlayers = layers/i0, layers/i1\nscratch = scratch/i1\n");
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "i1", &err), 0);
	w.driver->fail_at = w.driver->attempts + 1; /* the combined-layers removal */
	CU_ASSERT_EQUAL(lh_pipeline_unmount(w.host, "i1", &err), -LH_EDRIVER);
	ASSERT_MSG_HAS(err, "failed on purpose");
	m = lh_pipeline_find(w.host, "i1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_TRUE(m->combined);
	CU_ASSERT_PTR_NULL(m->scratch.backend);
	CU_ASSERT_EQUAL(testhost_live(&w, "vpmem") + testhost_live(&w, "scsi"), 0);
	unmount_ok(&w, "i1");
	CU_ASSERT_PTR_NULL(lh_pipeline_find(w.host, "i1"));
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	testhost_close(&w);
}

static void test_validation_before_any_request(void)
{
	struct lh_error err = { 0 };
	struct testhost w;

	lcow_fixture("j1", "j", 1);
	mkdir(fixture_path("layers/j-empty"), 0755);
	mkdir(fixture_path("scratch/j-none"), 0755);
	world_open(&w, "[uvm]\nos = linux\n"
		       "[container.j1]\nlayers = layers/j0\nscratch = scratch/j1\n"
		       "[container.j2]\nlayers = layers/j0, layers/j-empty\nscratch = scratch/j1\n"
		       "[container.j3]\nlayers = layers/j0\nscratch = scratch/j-none\n");
	CU_ASSERT_EQUAL(do_mount(&w, "j2", &err), -ENOENT);
	ASSERT_MSG_HAS(err, "j-empty/layer.vhd");
	CU_ASSERT_EQUAL(do_mount(&w, "j3", &err), -ENOENT);
	ASSERT_MSG_HAS(err, "j-none/sandbox.vhdx");
	CU_ASSERT_EQUAL(w.driver->attempts, 0);
	CU_ASSERT_EQUAL(do_mount(&w, "j1", &err), 0);
	CU_ASSERT_EQUAL(do_mount(&w, "j1", &err), -EEXIST);
	ASSERT_MSG_HAS(err, "already mounted");
	unmount_ok(&w, "j1");
	CU_ASSERT_EQUAL(lh_pipeline_unmount(w.host, "j1", &err), -LH_ENOTATTACHED);
	testhost_close(&w);
}

/* A disk in two roles would be attached read-only and writable at once: a
 * scratch sandbox.vhdx that is a symlink to a layer of the same container,
 * or to a layer another container holds, and a layer that is another
 * container's scratch. Refused before any request. */
static void test_disk_in_two_roles_refused(void)
{
	struct lh_error err = { 0 };
	char target[4096];
	struct testhost w;

	lcow_fixture("k1", "k", 2);
	scratch_disk("k4");
	mkdir(fixture_path("scratch/k-own"), 0755);
	mkdir(fixture_path("scratch/k-other"), 0755);
	mkdir(fixture_path("layers/k-scratch"), 0755);
	snprintf(target, sizeof(target), "%s", fixture_path("layers/k1/layer.vhd"));
	CU_ASSERT_EQUAL_FATAL(symlink(target, fixture_path("scratch/k-own/sandbox.vhdx")), 0);
	snprintf(target, sizeof(target), "%s", fixture_path("layers/k0/layer.vhd"));
	CU_ASSERT_EQUAL_FATAL(symlink(target, fixture_path("scratch/k-other/sandbox.vhdx")), 0);
	snprintf(target, sizeof(target), "%s", fixture_path("scratch/k1/sandbox.vhdx"));
	CU_ASSERT_EQUAL_FATAL(symlink(target, fixture_path("layers/k-scratch/layer.vhd")), 0);
	world_open(&w, "[uvm]\nos = linux\n[plugin.vpmem]\nmulti_mapping = false\n"
		       "[container.k1]\nlayers = layers/k0\nscratch = scratch/k1\n"
		       "[container.k2]\nlayers = layers/k0, layers/k1\nscratch = scratch/k-own\n"
		       "[container.k3]\nlayers = layers/k1\nscratch = scratch/k-other\n"
		       "[container.k4]\nlayers = layers/k1, layers/k-scratch\nscratch = scratch/k4\n");
	CU_ASSERT_EQUAL(do_mount(&w, "k2", &err), -LH_EREFUSED);
	ASSERT_MSG_HAS(err, "container k2: scratch disk");
	ASSERT_MSG_HAS(err, "is layer 2");
	CU_ASSERT_EQUAL(w.driver->attempts, 0);
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "k1", &err), 0);
	CU_ASSERT_EQUAL(do_mount(&w, "k3", &err), -LH_EREFUSED);
	ASSERT_MSG_HAS(err, "is a layer of container k1");
	CU_ASSERT_EQUAL(do_mount(&w, "k4", &err), -LH_EREFUSED);
	ASSERT_MSG_HAS(err, "layer 2");
	ASSERT_MSG_HAS(err, "is the scratch disk of container k1");
	CU_ASSERT_EQUAL(lh_pipeline_count(w.host), 1);
	unmount_ok(&w, "k1");
	CU_ASSERT_EQUAL(testhost_live(&w, "scsi") + testhost_live(&w, "vpmem"), 0);
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	testhost_close(&w);
}

/* ---- WCOW ---------------------------------------------------------------- */

static void test_wcow_isolated(void)
{
	static const char uuid_text[] = "0f1e2d3c-4b5a-4697-8877-665544332211\n";
	struct lh_error err = { 0 };
	const struct lh_mounted *m;
	const cJSON *settings, *layers, *l0, *l1;
	char expected_id[37];
	struct testhost w;

	mkdir(fixture_path("wlayers/base/Files"), 0755);
	mkdir(fixture_path("wlayers/app/Files"), 0755);
	CU_ASSERT_EQUAL_FATAL(fixture_write(fixture_path("wlayers/app/layerid"), uuid_text,
					    strlen(uuid_text)), 0);
	scratch_disk("w1");
	/* The default (direct-mapped shares): hcsshim removes them too at
	 * the last release, so the unmount leaves nothing. */
	world_open(&w, "[uvm]\nos = windows\n"
		       "[container.w1]\nlayers = wlayers/base, wlayers/app\nscratch = scratch/w1\n");
	CU_ASSERT_EQUAL_FATAL(do_mount(&w, "w1", &err), 0);
	m = lh_pipeline_find(w.host, "w1");
	CU_ASSERT_STRING_EQUAL(m->layers[0].backend, "vsmb");
	CU_ASSERT_PTR_NOT_NULL(strstr(m->layers[0].uvm_path,
				      "\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\"));
	CU_ASSERT_STRING_EQUAL(m->scratch.backend, "scsi");
	CU_ASSERT_STRING_EQUAL(m->scratch.uvm_path, "C:\\c\\w1");
	CU_ASSERT_STRING_EQUAL(m->rootfs, "C:\\c\\w1");
	/* WCOW's UVM scratch slot 0:0 is reserved: containers start at 0:1. */
	CU_ASSERT_STRING_EQUAL(m->scratch.location, "0:1");
	settings = cJSON_GetObjectItem(cJSON_GetObjectItem(last_request(&w), "GuestRequest"),
				       "Settings");
	layers = cJSON_GetObjectItem(settings, "Layers");
	CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(layers), 2);
	/* Topmost first, as hcsshim sends them: the app layer, then the base. */
	l0 = cJSON_GetArrayItem(layers, 0);
	l1 = cJSON_GetArrayItem(layers, 1);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(l0, "Path")),
			       m->layers[1].uvm_path);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(l1, "Path")),
			       m->layers[0].uvm_path);
	CU_ASSERT_EQUAL_FATAL(lh_wcow_layer_id(fixture_path("wlayers/base"), expected_id, &err), 0);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(l1, "Id")), expected_id);
	CU_ASSERT_EQUAL(expected_id[14], '5'); /* a name-based (v5) UUID */
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(l0, "Id")),
			       "0f1e2d3c-4b5a-4697-8877-665544332211");
	/* hcsshim's CombineLayersWCOW: ContainerRootPath and Layers only. */
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(settings,
									 "ContainerRootPath")),
			       "C:\\c\\w1");
	CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(settings, "ScratchPath"));
	unmount_ok(&w, "w1");
	CU_ASSERT_EQUAL(testhost_live(&w, "vsmb") + testhost_live(&w, "scsi"), 0);
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	testhost_close(&w);
}

/* ---- host ---------------------------------------------------------------- */

static void test_host_mode_real_overlay(void)
{
	struct lh_error err = { 0 };
	const struct lh_mounted *m;
	char path[4096], *text, *ini;
	struct testhost w;

	mkdir(fixture_path("hlayers/base/layer/etc"), 0755);
	mkdir(fixture_path("hlayers/top/layer/etc"), 0755);
	fixture_write(fixture_path("hlayers/base/layer/etc/motd"), "base\n", 5);
	fixture_write(fixture_path("hlayers/base/layer/etc/base-only"), "b\n", 2);
	fixture_write(fixture_path("hlayers/top/layer/etc/motd"), "top\n", 4);
	mkdir(fixture_path("hscratch/k1"), 0755);
	if (asprintf(&ini, "[uvm]\nos = none\n[plugin.hostlayer]\nrun_root = %s\n"
		     "[container.k1]\nlayers = hlayers/base, hlayers/top\nscratch = hscratch/k1\n",
		     fixture_path("hrun")) < 0)
		abort();
	world_open(&w, ini);
	free(ini);
	if (do_mount(&w, "k1", &err))
		fprintf(stderr, "\n  host mount: %s\n", err.message);
	m = lh_pipeline_find(w.host, "k1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->kind, LH_KIND_HOST);
	snprintf(path, sizeof(path), "%s/etc/motd", m->rootfs);
	text = fixture_read(path, NULL);
	CU_ASSERT_PTR_NOT_NULL(text);
	if (text)
		CU_ASSERT_STRING_EQUAL(text, "top\n");
	free(text);
	snprintf(path, sizeof(path), "%s/etc/base-only", m->rootfs);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT_EQUAL(w.driver->attempts, 0); /* no UVM, no HCS requests */
	snprintf(path, sizeof(path), "%s", m->rootfs);
	unmount_ok(&w, "k1");
	CU_ASSERT_EQUAL(testhost_live(&w, "hostlayer"), 0);
	CU_ASSERT_NOT_EQUAL(fixture_sh("grep -q ' %s ' /proc/self/mountinfo", path), 0);
	testhost_close(&w);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "lcow: every layer on vpmem", test_lcow_all_on_vpmem },
		{ "lcow: vpmem full, layers overflow to scsi", test_lcow_overflow_to_scsi },
		{ "lcow: vpmem skipped on a physically backed uvm",
		  test_lcow_vpmem_skipped_when_physically_backed },
		{ "lcow: a layer too large for vpmem goes to scsi", test_lcow_layer_too_large_for_vpmem },
		{ "lcow: scsi exhausted, nothing left behind", test_scsi_exhaustion_leaves_nothing },
		{ "lcow: shared scratch through a symlink", test_shared_scratch_through_symlink },
		{ "lcow: two containers share base layers", test_two_containers_share_base_layers },
		{ "lcow: fault at every request of a 10-layer mount", test_fault_at_every_request },
		{ "lcow: unmount tries every step", test_unmount_tries_every_step },
		{ "validation before any request", test_validation_before_any_request },
		{ "lcow: a disk in two roles refused", test_disk_in_two_roles_refused },
		{ "wcow: hypervisor-isolated container", test_wcow_isolated },
		{ "host: a real overlay mount", test_host_mode_real_overlay },
		{ NULL, NULL },
	};
	struct cutest_case runnable[sizeof(cases) / sizeof(cases[0])];
	size_t n = 0;

	for (const struct cutest_case *c = cases; c->name; c++) {
		if (c->fn == test_host_mode_real_overlay && geteuid() != 0) {
			printf("SKIPPED: %s: needs root (CAP_SYS_ADMIN) to mount\n", c->name);
			continue;
		}
		runnable[n++] = *c;
	}
	runnable[n] = (struct cutest_case){ NULL, NULL };
	return cutest_run("pipeline", runnable, fixture_cleanup);
}
