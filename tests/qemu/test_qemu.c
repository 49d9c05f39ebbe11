/*
 * test_qemu.c - the qemu driver and launcher against a real QEMU (TCG,
 * paused, no guest): placement checked by asking QEMU itself over a
 * second QMP connection.
 */
#include "cutest.h"
#include "backend_calls.h"
#include "registry.h"
#include "fixtures.h"
#include "pipeline.h"
#include "qmp.h"
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB 1024ull
#define MIB (1024ull * 1024)

struct vmt {
	struct lh_config *cfg;
	struct lh_driver *driver;
	struct lh_host *host;  /* the backends, which size the VM; on `driver` */
	struct lh_qmp *probe;  /* the test's own look at QEMU */
};

static char *vmt_ini(const char *uvm, const char *extra)
{
	char *text;

	if (asprintf(&text,
		     "[host]\nplugin_dir = %s\ndriver = qemu\nrun_dir = %s\njournal = %s/%s.journal\n"
		     "journal_fsync = never\n"
		     "[uvm]\nid = %s\nos = linux\nmemory = 128M\nguest = none\n"
		     "[plugin.vpmem]\nmulti_mapping = false\nmax_devices = 4\n%s",
		     LH_TEST_PLUGIN_DIR, fixture_path("run"), fixture_dir(), uvm, uvm, extra) < 0)
		abort();
	return text;
}

static struct lh_config *vmt_config(const char *uvm, const char *extra)
{
	struct lh_error err = { 0 };
	struct lh_config *cfg = NULL;
	char *text = vmt_ini(uvm, extra);

	if (lh_config_parse(text, "test.ini", fixture_dir(), &cfg, &err))
		fprintf(stderr, "\n  config: %s\n", err.message);
	free(text);
	return cfg;
}

static const char *vmt_qmp_path(const struct lh_config *cfg)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/%s.control", cfg->run_dir, cfg->uvm_id);
	return path;
}

/* The qemu driver for cfg, from the registry, and a host of cfg's
 * backends on it (which tells the driver what they need of the VM). */
static int vmt_open(struct vmt *t, struct lh_error *err)
{
	struct lh_driver_params params;
	int rc;

	lh_config_driver_params(t->cfg, &params);
	rc = lh_driver_open("qemu", &params, &t->driver, err);
	if (rc == 0)
		rc = lh_host_open(t->cfg, t->driver, NULL, &t->host, err);
	return rc;
}

static void vmt_close(struct vmt *t)
{
	lh_host_close(t->host);
	lh_driver_close(t->driver);
	t->host = NULL;
	t->driver = NULL;
}

static char *vmt_record_path(const struct lh_config *cfg)
{
	struct lh_driver_params params;

	lh_config_driver_params(cfg, &params);
	return lh_vm_record_path(&params, cfg->uvm_id);
}

/* Start a VM for `uvm` and open the driver and a probe connection. */
static void vmt_start(struct vmt *t, const char *uvm, const char *extra)
{
	struct lh_error err = { 0 };

	memset(t, 0, sizeof(*t));
	t->cfg = vmt_config(uvm, extra);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->cfg);
	if (vmt_open(t, &err) || lh_host_vm_start(t->host, &err))
		fprintf(stderr, "\n  vm start: %s\n", err.message);
	CU_ASSERT_EQUAL_FATAL(err.code, 0);
	CU_ASSERT_EQUAL_FATAL(lh_qmp_connect(vmt_qmp_path(t->cfg), 5000, &t->probe, &err), 0);
}

static void vmt_stop(struct vmt *t)
{
	struct lh_error err = { 0 };
	char *record = vmt_record_path(t->cfg);
	struct stat st;

	lh_qmp_close(t->probe);
	if (!t->host)
		CU_ASSERT_EQUAL(vmt_open(t, &err), 0);
	if (lh_host_vm_stop(t->host, &err))
		fprintf(stderr, "\n  vm stop: %s\n", err.message);
	CU_ASSERT_EQUAL(err.code, 0);
	CU_ASSERT_NOT_EQUAL(stat(record, &st), 0);
	vmt_close(t);
	free(record);
	lh_config_free(t->cfg);
}

static int vmt_modify(struct vmt *t, const char *json, struct lh_error *err)
{
	cJSON *req = cJSON_Parse(json);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	lh_error_clear(err);
	rc = t->driver->ops->modify(t->driver, t->cfg->uvm_id, req, err);
	/* As a command would before it reports: complete what was issued. */
	if (rc == 0)
		rc = t->driver->ops->flush(t->driver, err);
	cJSON_Delete(req);
	return rc;
}

/* Issue a request and complete nothing yet (overlapped removals). */
static int vmt_modify_only(struct vmt *t, const char *json, struct lh_error *err)
{
	cJSON *req = cJSON_Parse(json);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	lh_error_clear(err);
	rc = t->driver->ops->modify(t->driver, t->cfg->uvm_id, req, err);
	cJSON_Delete(req);
	return rc;
}

static void vmt_modify_ok(struct vmt *t, const char *json)
{
	struct lh_error err = { 0 };

	if (vmt_modify(t, json, &err))
		fprintf(stderr, "\n  modify: %s\n", err.message);
	CU_ASSERT_EQUAL(err.code, 0);
}

static cJSON *vmt_query(struct vmt *t, const char *command, const char *args)
{
	struct lh_error err = { 0 };
	cJSON *ret = NULL;

	if (lh_qmp_execute(t->probe, command, args ? cJSON_Parse(args) : NULL, &ret, 10000, &err))
		fprintf(stderr, "\n  %s: %s\n", command, err.message);
	return ret;
}

/* The query-block entry whose node is `node`, or NULL. */
static const cJSON *block_node(const cJSON *blocks, const char *node)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, blocks) {
		const cJSON *name = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "inserted"), "node-name");

		if (cJSON_IsString(name) && strcmp(name->valuestring, node) == 0)
			return b;
	}
	return NULL;
}

/* Block nodes layerhost named for SCSI disks ("blk<c>-<l>"). */
static int count_disk_nodes(struct vmt *t)
{
	cJSON *nodes = vmt_query(t, "query-named-block-nodes", NULL), *n;
	int count = 0;

	cJSON_ArrayForEach(n, nodes) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(n, "node-name"));

		count += name && strncmp(name, "blk", 3) == 0;
	}
	cJSON_Delete(nodes);
	return count;
}

static int count_nodes(struct vmt *t)
{
	cJSON *blocks = vmt_query(t, "query-block", NULL);
	int n = cJSON_GetArraySize(blocks);

	cJSON_Delete(blocks);
	return n;
}

/* Whether QEMU has a device of that id (qom-list /machine/peripheral). */
static bool has_device(struct vmt *t, const char *id)
{
	cJSON *devices = vmt_query(t, "qom-list", "{\"path\":\"/machine/peripheral\"}");
	const cJSON *d;
	bool found = false;

	CU_ASSERT_PTR_NOT_NULL(devices);
	cJSON_ArrayForEach(d, devices)
		found = found || strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(d, "name")), id) == 0;
	cJSON_Delete(devices);
	return found;
}

/* Check disk<c>-<l> sits at controller c, LUN l, read-only as given. */
static void assert_disk(struct vmt *t, int c, int l, bool ro, const char *format)
{
	char node[32], dev[32], args[128];
	cJSON *blocks = vmt_query(t, "query-block", NULL), *v;
	const cJSON *b, *ins;

	snprintf(node, sizeof(node), "blk%d-%d", c, l);
	snprintf(dev, sizeof(dev), "disk%d-%d", c, l);
	b = block_node(blocks, node);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	ins = cJSON_GetObjectItem(b, "inserted");
	CU_ASSERT_EQUAL(cJSON_IsTrue(cJSON_GetObjectItem(ins, "ro")), ro);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(ins, "drv")->valuestring, format);
	cJSON_Delete(blocks);
	snprintf(args, sizeof(args), "{\"path\":\"%s\",\"property\":\"lun\"}", dev);
	v = vmt_query(t, "qom-get", args);
	CU_ASSERT(cJSON_IsNumber(v) && v->valueint == l);
	cJSON_Delete(v);
	snprintf(args, sizeof(args), "{\"path\":\"%s\",\"property\":\"parent_bus\"}", dev);
	v = vmt_query(t, "qom-get", args);
	snprintf(node, sizeof(node), "/scsi%d.0", c);
	CU_ASSERT(cJSON_IsString(v) && strstr(v->valuestring, node) != NULL);
	if (cJSON_IsString(v) && !strstr(v->valuestring, node))
		fprintf(stderr, "\n  parent_bus %s\n", v->valuestring);
	cJSON_Delete(v);
}

static void scsi_add_json(char *buf, size_t cap, int c, int l, const char *path, bool ro)
{
	snprintf(buf, cap,
		 "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/%d/Attachments/%d\","
		 "\"RequestType\":\"Add\",\"Settings\":{\"Type\":\"VirtualDisk\",\"Path\":\"%s\"%s}}",
		 c, l, path, ro ? ",\"ReadOnly\":true" : "");
}

static void scsi_remove_json(char *buf, size_t cap, int c, int l)
{
	snprintf(buf, cap,
		 "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/%d/Attachments/%d\","
		 "\"RequestType\":\"Remove\"}", c, l);
}

static const char *disk(const char *rel, bool vhdx)
{
	const char *path = fixture_path(rel);
	struct stat st;

	if (stat(path, &st) != 0)
		CU_ASSERT_EQUAL_FATAL(vhdx ? fixture_vhdx(path, 16 * MIB) : fixture_vhd(path, MIB), 0);
	return path;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_multi_mapping_refused(void)
{
	struct lh_error err = { 0 };
	struct lh_config *cfg = NULL;
	struct lh_host *host = NULL;
	char *text;

	if (asprintf(&text, "[host]\nplugin_dir = %s\ndriver = qemu\nrun_dir = %s\n[uvm]\n"
		     "os = linux\n[pipeline]\nlcow.layers = vpmem, scsi\n", LH_TEST_PLUGIN_DIR,
		     fixture_path("run")) < 0)
		abort();
	CU_ASSERT_EQUAL_FATAL(lh_config_parse(text, "mm.ini", fixture_dir(), &cfg, &err), 0);
	CU_ASSERT_EQUAL(lh_host_open(cfg, NULL, NULL, &host, &err), -LH_ECONFIG);
	CU_ASSERT_PTR_NULL(host);
	ASSERT_MSG_HAS(err, "mm.ini");
	ASSERT_MSG_HAS(err, "multi_mapping");
	ASSERT_MSG_HAS(err, "one whole file");
	lh_config_free(cfg);
	free(text);
}

static void test_not_started(void)
{
	struct lh_error err = { 0 };
	struct vmt t = { 0 };
	char req[512];

	t.cfg = vmt_config("nostart", "");
	CU_ASSERT_EQUAL_FATAL(vmt_open(&t, &err), 0);
	scsi_add_json(req, sizeof(req), 0, 0, "/nonexistent.vhd", true);
	CU_ASSERT_EQUAL(vmt_modify(&t, req, &err), -ENOENT);
	ASSERT_MSG_HAS(err, "vm start");
	CU_ASSERT_EQUAL(lh_host_vm_stop(t.host, &err), -ENOENT);
	vmt_close(&t);
	lh_config_free(t.cfg);
}

/* The VM is sized from the SCSI backend's own options: every
 * luns_per_controller the plugin accepts (up to 256) is a machine QEMU
 * starts, and the last LUN of the last controller takes a disk. */
static void test_largest_scsi_layout(void)
{
	struct lh_error err = { 0 };
	struct vmt t;
	char req[1024];

	vmt_start(&t, "wide", "[plugin.scsi]\ncontrollers = 4\nluns_per_controller = 256\n");
	scsi_add_json(req, sizeof(req), 3, 255, disk("w/ro.vhd", false), true);
	vmt_modify_ok(&t, req);
	assert_disk(&t, 3, 255, true, "vpc");
	scsi_add_json(req, sizeof(req), 3, 256, disk("w/ro.vhd", false), true);
	CU_ASSERT_EQUAL(vmt_modify(&t, req, &err), -LH_ENOLOCATION);
	ASSERT_MSG_HAS(err, "4 controllers x 256 LUNs");
	scsi_remove_json(req, sizeof(req), 3, 255);
	vmt_modify_ok(&t, req);
	vmt_stop(&t);
}

static void test_scsi_placement_and_errors(void)
{
	struct lh_error err = { 0 };
	struct vmt t;
	char req[1024];
	int before;

	vmt_start(&t, "scsi", "[plugin.scsi]\ncontrollers = 2\n");
	before = count_nodes(&t);
	scsi_add_json(req, sizeof(req), 1, 7, disk("d/ro.vhd", false), true);
	vmt_modify_ok(&t, req);
	assert_disk(&t, 1, 7, true, "vpc");
	scsi_add_json(req, sizeof(req), 0, 0, disk("d/rw.vhdx", true), false);
	vmt_modify_ok(&t, req);
	assert_disk(&t, 0, 0, false, "vhdx");
	CU_ASSERT_EQUAL(count_nodes(&t), before + 2);

	/* The slot is taken: QEMU's words and the request both show. */
	scsi_add_json(req, sizeof(req), 1, 7, disk("d/ro.vhd", false), true);
	CU_ASSERT_EQUAL(vmt_modify(&t, req, &err), -LH_EDRIVER);
	ASSERT_MSG_HAS(err, "Add VirtualMachine/Devices/Scsi/1/Attachments/7");
	ASSERT_MSG_HAS(err, "blockdev-add");
	CU_ASSERT(has_device(&t, "disk1-7"));
	/* A block node of the slot's name left in QEMU (not layerhost's
	 * doing): the add is refused with QEMU's words, and the device the
	 * add sent along with its node (plugged on that stale node, another
	 * disk) is taken out again. */
	snprintf(req, sizeof(req), "{\"driver\":\"vpc\",\"node-name\":\"blk0-5\","
		 "\"read-only\":true,\"file\":{\"driver\":\"file\",\"filename\":\"%s\","
		 "\"read-only\":true}}", disk("d/ro.vhd", false));
	cJSON_Delete(vmt_query(&t, "blockdev-add", req));
	scsi_add_json(req, sizeof(req), 0, 5, disk("d/rw.vhdx", true), false);
	CU_ASSERT_EQUAL(vmt_modify(&t, req, &err), -LH_EDRIVER);
	ASSERT_MSG_HAS(err, "blockdev-add");
	CU_ASSERT(!has_device(&t, "disk0-5"));
	cJSON_Delete(vmt_query(&t, "blockdev-del", "{\"node-name\":\"blk0-5\"}"));
	/* A missing file is named. */
	scsi_add_json(req, sizeof(req), 1, 8, fixture_path("d/missing.vhd"), true);
	CU_ASSERT_NOT_EQUAL(vmt_modify(&t, req, &err), 0);
	ASSERT_MSG_HAS(err, "missing.vhd");
	/* Outside the machine. */
	scsi_add_json(req, sizeof(req), 3, 0, disk("d/ro.vhd", false), true);
	CU_ASSERT_EQUAL(vmt_modify(&t, req, &err), -LH_ENOLOCATION);
	CU_ASSERT_EQUAL(vmt_modify(&t, "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/0/"
				   "Attachments/1\",\"RequestType\":\"Add\",\"Settings\":{\"Type\":"
				   "\"ExtensibleVirtualDisk\",\"Path\":\"x\"}}", &err),
			-LH_EUNSUPPORTED);
	CU_ASSERT_EQUAL(count_nodes(&t), before + 2);

	scsi_remove_json(req, sizeof(req), 1, 7);
	vmt_modify_ok(&t, req);
	scsi_remove_json(req, sizeof(req), 0, 0);
	vmt_modify_ok(&t, req);
	CU_ASSERT_EQUAL(count_nodes(&t), before);
	/* A retried remove (after a crash) is harmless. */
	vmt_modify_ok(&t, req);
	vmt_stop(&t);
}

static void test_scsi_fill_4x64(void)
{
	struct lh_error err = { 0 };
	struct vmt t;
	char req[1024], rel[64];
	int before;

	vmt_start(&t, "fill", "[plugin.scsi]\ncontrollers = 4\n");
	before = count_nodes(&t);
	for (int c = 0; c < 4; c++) {
		for (int l = 0; l < 64; l++) {
			snprintf(rel, sizeof(rel), "fill/%d-%d.vhd", c, l);
			scsi_add_json(req, sizeof(req), c, l, disk(rel, false), true);
			vmt_modify_ok(&t, req);
		}
	}
	CU_ASSERT_EQUAL(count_nodes(&t), before + 256);
	assert_disk(&t, 3, 63, true, "vpc");
	assert_disk(&t, 2, 17, true, "vpc");
	/* All 256 removals issued first, as one unmount does: the devices
	 * go while the rest are asked for, the block nodes at the flush. */
	for (int c = 3; c >= 0; c--) {
		for (int l = 63; l >= 0; l--) {
			scsi_remove_json(req, sizeof(req), c, l);
			CU_ASSERT_EQUAL(vmt_modify_only(&t, req, &err), 0);
		}
	}
	CU_ASSERT_EQUAL(count_disk_nodes(&t), 256);
	CU_ASSERT_EQUAL(t.driver->ops->flush(t.driver, &err), 0);
	CU_ASSERT_EQUAL(count_disk_nodes(&t), 0);
	CU_ASSERT_EQUAL(count_nodes(&t), before);
	vmt_stop(&t);
}

static void lcow_fixture(const char *name, int n)
{
	char rel[256];
	struct stat st;

	for (int i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "layers/%s%d/layer.vhd", name, i);
		if (stat(fixture_path(rel), &st) != 0)
			CU_ASSERT_EQUAL_FATAL(fixture_vhd(fixture_path(rel), 512 * KIB), 0);
	}
	snprintf(rel, sizeof(rel), "scratch/%s/sandbox.vhdx", name);
	if (stat(fixture_path(rel), &st) != 0)
		CU_ASSERT_EQUAL_FATAL(fixture_vhdx(fixture_path(rel), 16 * MIB), 0);
}

static int count_pmem(struct vmt *t)
{
	cJSON *devs = vmt_query(t, "query-memory-devices", NULL), *d;
	int n = 0;

	cJSON_ArrayForEach(d, devs)
		n += strcmp(cJSON_GetObjectItem(d, "type")->valuestring, "virtio-pmem") == 0;
	cJSON_Delete(devs);
	return n;
}

static void test_lcow_mount(void)
{
	struct lh_error err = { 0 };
	struct lh_host *host = NULL;
	const struct lh_mounted *m;
	struct vmt t;
	cJSON *st = NULL;
	int before;

	lcow_fixture("a", 3);
	vmt_start(&t, "lcow", "[plugin.scsi]\ncontrollers = 1\n"
		  "[pipeline]\nlcow.layers = vpmem, scsi\n"
		  "[container.c1]\nlayers = layers/a0, layers/a1, layers/a2\nscratch = scratch/a\n");
	before = count_nodes(&t);
	CU_ASSERT_EQUAL_FATAL(lh_host_open(t.cfg, t.driver, NULL, &host, &err), 0);
	if (lh_pipeline_mount(host, lh_config_container(t.cfg, "c1"), &err))
		fprintf(stderr, "\n  mount: %s\n", err.message);
	CU_ASSERT_EQUAL_FATAL(err.code, 0);
	m = lh_pipeline_find(host, "c1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(count_pmem(&t), 3);
	for (size_t i = 0; i < m->n_layers; i++)
		CU_ASSERT_STRING_EQUAL(m->layers[i].backend, "vpmem");
	/* The scratch: writable, on SCSI, where the plugin said. */
	CU_ASSERT_STRING_EQUAL(m->scratch.backend, "scsi");
	CU_ASSERT_EQUAL(count_nodes(&t), before + 1);
	assert_disk(&t, 0, 0, false, "vhdx");

	CU_ASSERT_EQUAL(lh_pipeline_unmount(host, "c1", &err), 0);
	CU_ASSERT_EQUAL(count_nodes(&t), before);
	/* virtio-pmem stays plugged, marked for removal. */
	CU_ASSERT_EQUAL(count_pmem(&t), 3);
	CU_ASSERT_EQUAL_FATAL(lh_host_vm_status(t.host, &st, &err), 0);
	CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(st, "running")));
	CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(st, "pending_removal")), 3);
	cJSON_Delete(st);

	/* Mount again: devices 0-2 await removal, still mapping these very
	 * layers, so the layers take them back (no new device, none on SCSI). */
	lh_error_clear(&err);
	if (lh_pipeline_mount(host, lh_config_container(t.cfg, "c1"), &err))
		fprintf(stderr, "\n  mount 2: %s\n", err.message);
	CU_ASSERT_EQUAL_FATAL(err.code, 0);
	m = lh_pipeline_find(host, "c1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (size_t i = 0; i < m->n_layers; i++)
		CU_ASSERT_STRING_EQUAL(m->layers[i].backend, "vpmem");
	CU_ASSERT_EQUAL(count_pmem(&t), 3);
	CU_ASSERT_EQUAL(count_nodes(&t), before + 1);
	CU_ASSERT_EQUAL(lh_pipeline_unmount(host, "c1", &err), 0);
	CU_ASSERT_EQUAL(count_nodes(&t), before);
	lh_host_close(host);
	vmt_stop(&t);
}

/* A mount that fails after its layers went to VPMem rolls them back, but
 * QEMU cannot unplug virtio-pmem: the retry of that mount must get the
 * same devices back (they still map its files), not lose them to SCSI
 * until the next VM start. */
static void test_failed_mount_keeps_pmem_slots(void)
{
	struct lh_error err = { 0 };
	struct lh_host *host = NULL;
	const struct lh_mounted *m;
	struct vmt t;
	cJSON *st = NULL;

	lcow_fixture("f", 3);
	CU_ASSERT_FATAL(fixture_write(fixture_path("scratch/fbad/sandbox.vhdx"), "not a disk", 10)
			== 0);
	vmt_start(&t, "failed", "[plugin.scsi]\ncontrollers = 1\n"
		  "[pipeline]\nlcow.layers = vpmem, scsi\n"
		  "[container.c1]\nlayers = layers/f0, layers/f1, layers/f2\nscratch = scratch/fbad\n"
		  "[container.c2]\nlayers = layers/f0, layers/f1, layers/f2\nscratch = scratch/f\n");
	CU_ASSERT_EQUAL_FATAL(lh_host_open(t.cfg, t.driver, NULL, &host, &err), 0);
	/* The scratch is refused after the three layers were plugged. */
	CU_ASSERT_NOT_EQUAL(lh_pipeline_mount(host, lh_config_container(t.cfg, "c1"), &err), 0);
	CU_ASSERT_PTR_NULL(lh_pipeline_find(host, "c1"));
	CU_ASSERT_EQUAL(count_pmem(&t), 3);
	/* The same layers again: on the same three devices, none pending. */
	lh_error_clear(&err);
	if (lh_pipeline_mount(host, lh_config_container(t.cfg, "c2"), &err))
		fprintf(stderr, "\n  mount: %s\n", err.message);
	m = lh_pipeline_find(host, "c2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (size_t i = 0; i < m->n_layers; i++) {
		char want[32];

		snprintf(want, sizeof(want), "p%zu", i);
		CU_ASSERT_STRING_EQUAL(m->layers[i].backend, "vpmem");
		CU_ASSERT_STRING_EQUAL(m->layers[i].location, want);
	}
	CU_ASSERT_EQUAL(count_pmem(&t), 3);
	CU_ASSERT_EQUAL_FATAL(lh_host_vm_status(t.host, &st, &err), 0);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(st, "pending_removal")), 0);
	cJSON_Delete(st);
	CU_ASSERT_EQUAL(lh_pipeline_unmount(host, "c2", &err), 0);
	lh_host_close(host);
	vmt_stop(&t);
}

/* Whether the daemon sees dir through a read-only mount. mountinfo shows
 * mount points from the process's root, which virtiofsd chroots into dir. */
static bool daemon_ro_mounted(pid_t pid, const char *dir)
{
	char path[64], line[4096];
	bool ro = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char mnt[1024], opts[256];

		/* "id parent maj:min root mountpoint options ..." */
		if (sscanf(line, "%*s %*s %*s %*s %1023s %255s", mnt, opts) != 2)
			continue;
		if ((strcmp(mnt, dir) == 0 || strcmp(mnt, "/") == 0) && strncmp(opts, "ro", 2) == 0 &&
		    (opts[2] == ',' || opts[2] == '\0'))
			ro = true;
	}
	if (f)
		fclose(f);
	return ro;
}

static pid_t share_pid(struct vmt *t, const char *name)
{
	char *path = vmt_record_path(t->cfg);
	cJSON *rec = NULL;
	const cJSON *pid;
	pid_t out = 0;

	if (lh_vm_record_load(path, &rec, NULL) == 0) {
		pid = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
			cJSON_GetObjectItem(rec, "driver"), "shares"), name), "pid");
		out = cJSON_IsNumber(pid) ? (pid_t)pid->valuedouble : 0;
	}
	cJSON_Delete(rec);
	free(path);
	return out;
}

static void test_share(void)
{
	struct lh_error err = { 0 };
	char req[1024], args[128];
	const char *dir = fixture_path("share/layer1");
	cJSON *v;
	struct vmt t;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
	vmt_start(&t, "wcow", "");
	snprintf(req, sizeof(req),
		 "{\"ResourcePath\":\"VirtualMachine/Devices/VirtualSmb/Shares\",\"RequestType\":"
		 "\"Add\",\"Settings\":{\"Name\":\"s1\",\"Path\":\"%s\",\"Options\":{\"ReadOnly\":"
		 "true,\"ShareRead\":true,\"CacheIo\":true}}}", dir);
	vmt_modify_ok(&t, req);
	pid = share_pid(&t, "s1");
	CU_ASSERT(pid > 0 && lh_pid_alive(pid));
	CU_ASSERT(daemon_ro_mounted(pid, dir));
	snprintf(args, sizeof(args), "{\"path\":\"fs-s1\",\"property\":\"tag\"}");
	v = vmt_query(&t, "qom-get", args);
	CU_ASSERT(cJSON_IsString(v) && strcmp(v->valuestring, "s1") == 0);
	cJSON_Delete(v);
	/* A second share of the same name is refused; Update is recorded. */
	CU_ASSERT_EQUAL(vmt_modify(&t, req, &err), -EEXIST);
	vmt_modify_ok(&t, "{\"ResourcePath\":\"VirtualMachine/Devices/VirtualSmb/Shares\","
		      "\"RequestType\":\"Update\",\"Settings\":{\"Name\":\"s1\"}}");
	vmt_modify_ok(&t, "{\"ResourcePath\":\"VirtualMachine/Devices/VirtualSmb/Shares\","
		      "\"RequestType\":\"Remove\",\"Settings\":{\"Name\":\"s1\"}}");
	CU_ASSERT(!lh_pid_alive(pid));
	CU_ASSERT_EQUAL(share_pid(&t, "s1"), 0);
	v = vmt_query(&t, "qom-list", "{\"path\":\"/machine/peripheral\"}");
	CU_ASSERT_PTR_NOT_NULL(v);
	{
		const cJSON *p;

		cJSON_ArrayForEach(p, v)
			CU_ASSERT(strcmp(cJSON_GetObjectItem(p, "name")->valuestring, "fs-s1") != 0);
	}
	cJSON_Delete(v);
	/* A share left attached is ended with the VM. */
	vmt_modify_ok(&t, req);
	pid = share_pid(&t, "s1");
	CU_ASSERT(pid > 0);
	vmt_stop(&t);
	CU_ASSERT(!lh_pid_alive(pid));
}

static void test_reconnect_in_new_process(void)
{
	struct lh_error err = { 0 };
	char req[1024];
	struct vmt t;
	pid_t child;
	int status, before;

	vmt_start(&t, "recon", "");
	before = count_nodes(&t);
	scsi_add_json(req, sizeof(req), 0, 5, disk("d/recon.vhd", false), true);
	vmt_modify_ok(&t, req);
	CU_ASSERT_EQUAL(count_nodes(&t), before + 1);
	/* The first process ends: its driver lets go of the monitor. */
	vmt_close(&t);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		/* A new process: a fresh driver finds the VM by its record. */
		cJSON *rm;
		int rc;

		scsi_remove_json(req, sizeof(req), 0, 5);
		rm = cJSON_Parse(req);
		rc = vmt_open(&t, &err);
		if (!rc)
			rc = t.driver->ops->modify(t.driver, "recon", rm, &err);
		if (!rc)
			rc = t.driver->ops->flush(t.driver, &err);
		if (rc)
			fprintf(stderr, "child: %s\n", err.message);
		_exit(rc ? 1 : 0);
	}
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(count_nodes(&t), before);
	vmt_stop(&t);
}

/* Forwards to the qemu driver and kills QEMU before request `kill_at`. */
struct killer {
	struct lh_driver base;
	struct lh_driver *inner;
	pid_t qemu;
	int seen, kill_at;
};

static int killer_modify(struct lh_driver *drv, const char *uvm_id, const cJSON *request,
			 struct lh_error *err)
{
	struct killer *k = (struct killer *)drv;

	if (++k->seen == k->kill_at) {
		kill(k->qemu, SIGKILL);
		while (lh_pid_alive(k->qemu))
			usleep(1000);
	}
	return k->inner->ops->modify(k->inner, uvm_id, request, err);
}

static void killer_close(struct lh_driver *drv)
{
	(void)drv;
}

static const struct lh_driver_ops killer_ops = {
	.name = "killer",
	.modify = killer_modify,
	.close = killer_close,
};

static size_t live_count(struct lh_host *host, const char *backend);

static void test_qemu_killed_mid_mount(void)
{
	struct lh_error err = { 0 };
	struct lh_host *host = NULL;
	struct killer k = { .base.ops = &killer_ops, .kill_at = 2 };
	char *record;
	cJSON *rec = NULL, *st = NULL;
	struct vmt t;

	lcow_fixture("k", 2);
	vmt_start(&t, "killed", "[pipeline]\nlcow.layers = scsi\n"
		  "[container.k1]\nlayers = layers/k0, layers/k1\nscratch = scratch/k\n");
	record = vmt_record_path(t.cfg);
	CU_ASSERT_EQUAL_FATAL(lh_vm_record_load(record, &rec, &err), 0);
	k.qemu = (pid_t)cJSON_GetObjectItem(rec, "pid")->valuedouble;
	cJSON_Delete(rec);
	k.inner = t.driver;
	CU_ASSERT_EQUAL_FATAL(lh_host_open(t.cfg, &k.base, NULL, &host, &err), 0);
	CU_ASSERT_NOT_EQUAL(lh_pipeline_mount(host, lh_config_container(t.cfg, "k1"), &err), 0);
	ASSERT_MSG_HAS(err, "exited");
	ASSERT_MSG_HAS(err, "Scsi/0/Attachments/1");
	/* Nothing is left attached in the plugins' books. */
	CU_ASSERT_EQUAL(live_count(host, "scsi"), 0);
	CU_ASSERT_PTR_NULL(lh_pipeline_find(host, "k1"));
	lh_host_close(host);
	CU_ASSERT_EQUAL_FATAL(lh_host_vm_status(t.host, &st, &err), 0);
	CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(st, "running")));
	cJSON_Delete(st);
	/* A new add says the VM is gone rather than hanging; a remove
	 * succeeds, since the device went with the VM. */
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(vmt_modify(&t, "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/0/"
				   "Attachments/0\",\"RequestType\":\"Add\",\"Settings\":{"
				   "\"Type\":\"VirtualDisk\",\"Path\":\"/x.vhd\"}}", &err),
			-LH_EDRIVER);
	ASSERT_MSG_HAS(err, "not running");
	vmt_modify_ok(&t, "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/0/Attachments/0\","
		      "\"RequestType\":\"Remove\"}");
	lh_qmp_close(t.probe);
	t.probe = NULL;
	free(record);
	vmt_stop(&t);
}

static int live_visit(void *arg, const struct lh_attachment_info *info)
{
	(void)info;
	(*(size_t *)arg)++;
	return 0;
}

static size_t live_count(struct lh_host *host, const char *backend)
{
	struct lh_instance *inst = lh_host_instance(host, backend);
	size_t n = 0;

	if (inst)
		lh_backend_list(inst, live_visit, &n);
	return n;
}

static void test_vm_start_twice_and_bad_binary(void)
{
	struct lh_error err = { 0 };
	struct vmt t, again = { 0 };

	vmt_start(&t, "twice", "");
	again.cfg = vmt_config("twice", "");
	CU_ASSERT_EQUAL_FATAL(vmt_open(&again, &err), 0);
	CU_ASSERT_EQUAL(lh_host_vm_start(again.host, &err), -EEXIST);
	ASSERT_MSG_HAS(err, "already running");
	vmt_close(&again);
	lh_config_free(again.cfg);
	vmt_stop(&t);

	memset(&again, 0, sizeof(again));
	again.cfg = vmt_config("badbin", "");
	free(again.cfg->qemu_binary);
	again.cfg->qemu_binary = strdup("/nonexistent/qemu");
	lh_error_clear(&err);
	CU_ASSERT_EQUAL_FATAL(vmt_open(&again, &err), 0);
	CU_ASSERT_NOT_EQUAL(lh_host_vm_start(again.host, &err), 0);
	ASSERT_MSG_HAS(err, "/nonexistent/qemu");
	vmt_close(&again);
	lh_config_free(again.cfg);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "multi-mapping refused at open", test_multi_mapping_refused },
		{ "request before vm start", test_not_started },
		{ "vm start twice, bad binary", test_vm_start_twice_and_bad_binary },
		{ "the largest SCSI layout the plugin takes", test_largest_scsi_layout },
		{ "scsi placement and errors", test_scsi_placement_and_errors },
		{ "scsi 4 x 64 filled and emptied", test_scsi_fill_4x64 },
		{ "lcow mount on vpmem and scsi", test_lcow_mount },
		{ "a failed mount keeps its VPMem slots for the retry", test_failed_mount_keeps_pmem_slots },
		{ "share with virtiofsd", test_share },
		{ "reconnect in a new process", test_reconnect_in_new_process },
		{ "qemu killed mid-mount", test_qemu_killed_mid_mount },
		{ NULL, NULL },
	};

	if (fixture_sh("command -v qemu-system-x86_64 >/dev/null && command -v qemu-img "
		       ">/dev/null && test -x /usr/lib/qemu/virtiofsd") != 0) {
		printf("SKIPPED: qemu-system-x86_64, qemu-img or /usr/lib/qemu/virtiofsd missing "
		       "(apt-get install --no-install-recommends qemu-system-x86 qemu-utils)\n");
		fixture_cleanup();
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cutest_run("qemu", cases, fixture_cleanup);
}
