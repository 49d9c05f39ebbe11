/*
 * test_fidelity.c - what layerhost sends, scenario by scenario, against
 * golden files (tests/golden/fidelity/) that were reviewed field by field
 * against hcsshim at the reference revision (d816cbe89) and HCS-FACTS:
 * LCOW on VPMem, multi-mapped VPMem, the fall back to SCSI, two SCSI
 * controllers, a rollback; WCOW with and without direct map; a template
 * and its clone, for both. Each golden file holds the requests in order
 * (fixture folder as "@F") and, for clones, the compute-system document.
 */
#include "clone.h"
#include "cutest.h"
#include "fakehost.h"
#include "fixtures.h"
#include "pipeline.h"
#include "testhost.h"

#include <stdlib.h>
#include <sys/stat.h>

#define KIB 1024ull
#define MIB (1024ull * 1024)

/* The text with the fixture folder written as "@F". */
static char *scrubbed(const char *text)
{
	const char *dir = fixture_dir();
	size_t dlen = strlen(dir);
	char *out = malloc(strlen(text) + 1), *o = out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	while (*text) {
		if (strncmp(text, dir, dlen) == 0) {
			memcpy(o, "@F", 2);
			o += 2;
			text += dlen;
		} else {
			*o++ = *text++;
		}
	}
	*o = '\0';
	return out;
}

/* The requests recorded so far (and a document), as one golden file. */
static void check(const char *name, struct testhost *w, const cJSON *document)
{
	cJSON *all = cJSON_CreateObject();
	char golden[128], *text, *clean;

	cJSON_AddItemReferenceToObject(all, "requests", w->driver->requests);
	if (document)
		cJSON_AddItemReferenceToObject(all, "document", (cJSON *)document);
	text = cJSON_Print(all);
	clean = scrubbed(text);
	snprintf(golden, sizeof(golden), "fidelity/%s.json", name);
	CU_ASSERT(golden_check(golden, clean));
	free(clean);
	free(text);
	cJSON_Delete(all);
}

/* Whether some recorded request holds `text` (after scrubbing). */
static bool sent(struct testhost *w, const char *text)
{
	char *all = cJSON_PrintUnformatted(w->driver->requests), *clean = scrubbed(all);
	bool found = strstr(clean, text) != NULL;

	free(clean);
	free(all);
	return found;
}

static void layer(const char *name, uint64_t data)
{
	char rel[256];
	struct stat st;

	snprintf(rel, sizeof(rel), "%s/layer.vhd", name);
	if (stat(fixture_path(rel), &st) != 0)
		CU_ASSERT_EQUAL_FATAL(fixture_vhd(fixture_path(rel), data), 0);
}

static void scratch(const char *name)
{
	char rel[256];
	struct stat st;

	snprintf(rel, sizeof(rel), "%s/sandbox.vhdx", name);
	if (stat(fixture_path(rel), &st) != 0)
		CU_ASSERT_EQUAL_FATAL(fixture_vhdx(fixture_path(rel), 16 * MIB), 0);
}

static void wcow_layer(const char *name, const char *id)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "%s/Files", name);
	fixture_sh("mkdir -p %s", fixture_path(rel));
	snprintf(rel, sizeof(rel), "%s/layerid", name);
	CU_ASSERT_EQUAL_FATAL(fixture_write(fixture_path(rel), id, strlen(id)), 0);
}

static void mount_ok(struct testhost *w, const char *name)
{
	struct lh_error err = { 0 };
	int rc = lh_pipeline_mount(w->host, lh_config_container(w->cfg, name), &err);

	if (rc)
		fprintf(stderr, "\n  mount %s: %s\n", name, err.message);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void unmount_ok(struct testhost *w, const char *name)
{
	struct lh_error err = { 0 };
	int rc = lh_pipeline_unmount(w->host, name, &err);

	if (rc)
		fprintf(stderr, "\n  unmount %s: %s\n", name, err.message);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(fault_driver_balanced(w->driver));
}

/* Mount and unmount one container of `ini`; the requests as `name`. */
static void scenario(const char *name, const char *ini, struct testhost *w)
{
	testhost_open(w, LH_TEST_PLUGIN_DIR, ini, NULL);
	mount_ok(w, "c1");
	unmount_ok(w, "c1");
	check(name, w, NULL);
}

/* ---- LCOW ------------------------------------------------------------------ */

static void test_lcow_vpmem(void)
{
	struct testhost w;

	layer("lv/l0", 512 * KIB);
	layer("lv/l1", 512 * KIB);
	scratch("lv/s");
	scenario("lcow_vpmem", "[uvm]\nos = linux\n[plugin.vpmem]\nmulti_mapping = false\n"
		 "[container.c1]\nlayers = lv/l0, lv/l1\nscratch = lv/s\n", &w);
	CU_ASSERT_TRUE(sent(&w, "\"MountPath\":\"/run/layers/p1\""));
	/* The scratch at the container's root, its directory below it. */
	CU_ASSERT_TRUE(sent(&w, "\"MountPath\":\"/run/gcs/c/c1\""));
	CU_ASSERT_TRUE(sent(&w, "\"ScratchPath\":\"/run/gcs/c/c1/scratch/c1\""));
	testhost_close(&w);
}

static void test_lcow_multi_mapping(void)
{
	struct testhost w;

	/* 8 MiB of data: the file is 8389120 bytes, mapped as 8392704. */
	layer("lm/l0", 8 * MIB);
	layer("lm/l1", 512 * KIB);
	scratch("lm/s");
	scenario("lcow_multi_mapping", "[uvm]\nos = linux\n"
		 "[container.c1]\nlayers = lm/l0, lm/l1\nscratch = lm/s\n", &w);
	CU_ASSERT_TRUE(sent(&w, "\"ResourcePath\":\"VirtualMachine/Devices/VirtualPMem/Devices/0/"
			    "Mappings/0\""));
	CU_ASSERT_TRUE(sent(&w, "\"MountPath\":\"/run/layers/p0-0-8392704\""));
	CU_ASSERT_TRUE(sent(&w, "\"DeviceSizeInBytes\":8392704"));
	CU_ASSERT_FALSE(sent(&w, "\"ResourcePath\":\"VirtualMachine/Devices/VirtualPMem/Devices/0\""));
	testhost_close(&w);
}

static void test_lcow_scsi_fallback(void)
{
	struct testhost w;

	layer("lf/l0", 512 * KIB);
	layer("lf/l1", 512 * KIB);
	layer("lf/l2", 512 * KIB);
	scratch("lf/s");
	scenario("lcow_scsi_fallback", "[uvm]\nos = linux\n[plugin.vpmem]\nmulti_mapping = false\n"
		 "max_devices = 1\n[container.c1]\nlayers = lf/l0, lf/l1, lf/l2\nscratch = lf/s\n",
		 &w);
	CU_ASSERT_TRUE(sent(&w, "\"MountPath\":\"/run/mounts/m0\""));
	CU_ASSERT_TRUE(sent(&w, "\"MountPath\":\"/run/mounts/m1\""));
	testhost_close(&w);
}

static void test_lcow_two_controllers(void)
{
	struct testhost w;

	layer("l2/l0", 512 * KIB);
	layer("l2/l1", 512 * KIB);
	layer("l2/l2", 512 * KIB);
	scratch("l2/s");
	/* Physically backed: no VPMem; two controllers of two LUNs. */
	scenario("lcow_two_controllers", "[uvm]\nos = linux\nphysically_backed = true\n"
		 "[plugin.scsi]\ncontrollers = 2\nluns_per_controller = 2\n"
		 "[container.c1]\nlayers = l2/l0, l2/l1, l2/l2\nscratch = l2/s\n", &w);
	/* The seed's resource paths name the controller by index. */
	CU_ASSERT_TRUE(sent(&w, "\"ResourcePath\":\"VirtualMachine/Devices/Scsi/1/Attachments/1\""));
	CU_ASSERT_TRUE(sent(&w, "\"Lun\":1,\"Controller\":1"));
	testhost_close(&w);
}

static void test_lcow_rollback(void)
{
	struct lh_error err = { 0 };
	struct testhost w;

	layer("lr/l0", 512 * KIB);
	layer("lr/l1", 512 * KIB);
	scratch("lr/s");
	testhost_open(&w, LH_TEST_PLUGIN_DIR, "[uvm]\nos = linux\n[plugin.vpmem]\n"
		      "multi_mapping = false\n[container.c1]\nlayers = lr/l0, lr/l1\nscratch = lr/s\n",
		      NULL);
	/* The combine fails: the scratch and the layers go again. */
	w.driver->fail_at = 4;
	CU_ASSERT_EQUAL(lh_pipeline_mount(w.host, lh_config_container(w.cfg, "c1"), &err),
			-LH_EDRIVER);
	CU_ASSERT_TRUE(fault_driver_balanced(w.driver));
	check("lcow_rollback", &w, NULL);
	testhost_close(&w);
}

/* ---- WCOW ------------------------------------------------------------------ */

static const char wcow_ini[] = "[container.c1]\nlayers = wl/base, wl/app\nscratch = wl/s\n";

static void wcow_fixture(void)
{
	wcow_layer("wl/base", "11111111-2222-4333-8444-555555555555");
	wcow_layer("wl/app", "0f1e2d3c-4b5a-4697-8877-665544332211");
	scratch("wl/s");
}

static void test_wcow_default(void)
{
	char ini[512];
	struct testhost w;

	wcow_fixture();
	snprintf(ini, sizeof(ini), "[uvm]\nos = windows\n%s", wcow_ini);
	scenario("wcow_default", ini, &w);
	/* Direct-mapped shares are removed too, by name. */
	CU_ASSERT_TRUE(sent(&w, "\"RequestType\":\"Remove\",\"Settings\":{\"Name\":\"s1\"}"));
	CU_ASSERT_FALSE(sent(&w, "ScratchPath"));
	testhost_close(&w);
}

static void test_wcow_no_direct_map(void)
{
	char ini[512];
	struct testhost w;

	wcow_fixture();
	snprintf(ini, sizeof(ini), "[uvm]\nos = windows\nno_direct_map = true\n%s", wcow_ini);
	scenario("wcow_no_direct_map", ini, &w);
	CU_ASSERT_TRUE(sent(&w, "\"NoDirectmap\":true"));
	testhost_close(&w);
}

/* ---- templates and clones ------------------------------------------------------ */

/* Mount c1, save the UVM as a template, clone it as k1. */
static void template_and_clone(const char *name, const char *ini, const char *dir)
{
	char path[4096];
	struct lh_error err = { 0 };
	struct lh_host *clone = NULL;
	cJSON *doc = NULL;
	struct testhost w;

	testhost_open(&w, LH_TEST_PLUGIN_DIR, ini, NULL);
	mount_ok(&w, "c1");
	CU_ASSERT_EQUAL_FATAL(lh_host_mark_template(w.host, "base", &err), 0);
	snprintf(path, sizeof(path), "%s/%s/k1/scratch", fixture_dir(), dir);
	if (lh_clone_build(w.host, "k1", path, &w.driver->base, NULL, &clone, &doc, &err))
		fprintf(stderr, "\n  clone: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
	check(name, &w, doc);
	cJSON_Delete(doc);
	lh_host_close(clone);
	testhost_close(&w);
}

static void test_wcow_template_clone(void)
{
	char ini[512];

	wcow_fixture();
	snprintf(ini, sizeof(ini), "[uvm]\nos = windows\nid = tpl\n%s", wcow_ini);
	template_and_clone("wcow_template_clone", ini, "wclones");
}

static void test_lcow_template_clone(void)
{
	layer("lt/l0", 512 * KIB);
	layer("lt/l1", 3 * MIB);
	scratch("lt/s");
	/* Multi-mapped: the document lists each device, not its mappings. */
	template_and_clone("lcow_template_clone", "[uvm]\nos = linux\nid = tpl\n"
			   "[container.c1]\nlayers = lt/l0, lt/l1\nscratch = lt/s\n", "lclones");
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "lcow: vpmem", test_lcow_vpmem },
		{ "lcow: multi-mapped vpmem", test_lcow_multi_mapping },
		{ "lcow: scsi fallback", test_lcow_scsi_fallback },
		{ "lcow: two scsi controllers", test_lcow_two_controllers },
		{ "lcow: rollback", test_lcow_rollback },
		{ "wcow: default", test_wcow_default },
		{ "wcow: no direct map", test_wcow_no_direct_map },
		{ "wcow: template and clone", test_wcow_template_clone },
		{ "lcow: template and clone", test_lcow_template_clone },
		{ NULL, NULL },
	};

	return cutest_run("fidelity", cases, fixture_cleanup);
}
