/*
 * test_clone.c - build a UVM from a template host: read-only attachments
 * shared, writable disks copied, the compute-system document, records
 * carried over, a clone of a clone, and failures that leave nothing.
 *
 * The test backends (testb: clonable, testc: no clone slot) give exact
 * control; the real scsi / vpmem / vsmb plugins are cloned through real
 * LCOW and WCOW mounts.
 */
#include "clone.h"
#include "copy.h"
#include "cutest.h"
#include "testhost.h"
#include "fixtures.h"
#include "fakehost.h"
#include "pipeline.h"
#include "host_state.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MIB (1024ull * 1024)

static void world_open(struct testhost *w, bool with_c)
{
	testhost_open(w, LH_STATE_TEST_PLUGIN_DIR,
		      with_c ? "[pipeline]\nhost = testb\n[plugin.testc]\n" : "[pipeline]\nhost = testb\n",
		      "tpl");
}

static uint64_t attach(struct lh_host *host, const char *backend, const char *path, bool ro)
{
	struct lh_instance *inst = lh_host_instance(host, backend);
	struct lh_attach_request req = fakehost_request_init(path, ro ? LH_ATTACH_READ_ONLY : 0);
	struct lh_attach_result res;
	struct lh_error err = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(inst);
	CU_ASSERT_EQUAL_FATAL(inst->ops->attach(inst->priv, &req, &res, &err), 0);
	return res.handle;
}

/* A record holding one testb layer and a testb scratch. */
static void adopt(struct lh_host *host, const char *id, uint64_t layer, uint64_t scratch)
{
	struct lh_mounted *m = calloc(1, sizeof(*m));
	struct lh_error err = { 0 };

	m->id = strdup(id);
	m->kind = LH_KIND_HOST;
	m->rootfs = strdup("/rootfs");
	m->n_layers = 1;
	m->layers = calloc(1, sizeof(*m->layers));
	m->layers[0].backend = strdup("testb");
	m->layers[0].handle = layer;
	m->scratch.backend = strdup("testb");
	m->scratch.handle = scratch;
	CU_ASSERT_EQUAL_FATAL(lh_pipeline_adopt(host, m, &err), 0);
}

struct paths {
	char list[8][512];
	size_t n;
};

static int paths_visit(void *arg, const struct lh_attachment_info *info)
{
	struct paths *p = arg;

	if (p->n < 8)
		snprintf(p->list[p->n++], sizeof(p->list[0]), "%s", info->host_path);
	return 0;
}

static struct paths paths_of(struct lh_host *host, const char *backend)
{
	struct lh_instance *inst = lh_host_instance(host, backend);
	struct paths p = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(inst);
	inst->ops->list(inst->priv, paths_visit, &p);
	return p;
}

/* The document as compact JSON with the fixture folder as "@F". */
static char *document_text(const cJSON *doc)
{
	char *text = cJSON_PrintUnformatted(doc), *out = calloc(1, strlen(text) + 1), *o = out;
	const char *dir = fixture_dir(), *t = text;
	size_t n = strlen(dir);

	while (*t) {
		if (strncmp(t, dir, n) == 0) {
			memcpy(o, "@F", 2);
			o += 2;
			t += n;
		} else {
			*o++ = *t++;
		}
	}
	free(text);
	return out;
}

static bool same_inode(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
	       sa.st_dev == sb.st_dev;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- with the test backends ------------------------------------------------- */

static void test_clone_shares_ro_copies_rw(void)
{
	const char *ro = fixture_path("tb/layer.img"), *rw = fixture_path("tb/sandbox.img");
	char scratch[4096], copy[4200];
	struct lh_error err = { 0 };
	struct lh_host *clone = NULL, *clone2 = NULL;
	const struct lh_mounted *m;
	cJSON *doc = NULL, *doc2 = NULL;
	struct testhost w;
	struct paths p;
	uint64_t layer;
	char *text;

	CU_ASSERT_EQUAL_FATAL(fixture_write(ro, "layer", 5), 0);
	CU_ASSERT_EQUAL_FATAL(fixture_vhd(rw, 2 * MIB), 0);
	world_open(&w, false);
	layer = attach(w.host, "testb", ro, true);
	adopt(w.host, "c1", layer, attach(w.host, "testb", rw, false));
	atomic_store(&w.host->mount_counter, 7);
	w.host->uvm.is_template = true;
	snprintf(scratch, sizeof(scratch), "%s/clones/k1/scratch", fixture_dir());
	if (lh_clone_build(w.host, "k1", scratch, &w.driver->base, NULL, &clone, &doc, &err))
		fprintf(stderr, "\n  clone: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(clone->uvm.id, "k1");
	CU_ASSERT_TRUE(clone->uvm.is_clone);
	CU_ASSERT_FALSE(clone->uvm.is_template);
	CU_ASSERT_EQUAL(atomic_load(&clone->mount_counter), 7);
	p = paths_of(clone, "testb");
	CU_ASSERT_EQUAL_FATAL(p.n, 2);
	snprintf(copy, sizeof(copy), "%s/sandbox.img", scratch);
	CU_ASSERT_STRING_EQUAL(p.list[0], ro);
	CU_ASSERT_STRING_EQUAL(p.list[1], copy);
	CU_ASSERT_TRUE(fixture_files_equal(rw, copy));
	CU_ASSERT_FALSE(same_inode(rw, copy));
	m = lh_pipeline_find(clone, "c1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->layers[0].handle, 1);
	CU_ASSERT_EQUAL(m->scratch.handle, 2);
	text = document_text(doc);
	CU_ASSERT(golden_check("clone/testb_document.json", text));
	free(text);
	/* The clone owns its records: freeing the template's leaves them. */
	CU_ASSERT_EQUAL(lh_pipeline_unmount(w.host, "c1", &err), 0);
	CU_ASSERT_PTR_NOT_NULL(lh_pipeline_find(clone, "c1"));

	/* A clone of the clone: the copy is copied again, the layer shared. */
	snprintf(scratch, sizeof(scratch), "%s/clones/k2/scratch", fixture_dir());
	CU_ASSERT_EQUAL(lh_clone_build(clone, "k2", scratch, &w.driver->base, NULL, &clone2, &doc2,
				       &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone2);
	p = paths_of(clone2, "testb");
	CU_ASSERT_EQUAL(p.n, 2);
	CU_ASSERT_STRING_EQUAL(p.list[0], ro);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.list[1], "/clones/k2/scratch/sandbox.img"));
	CU_ASSERT_TRUE(fixture_files_equal(copy, p.list[1]));
	CU_ASSERT_FALSE(same_inode(copy, p.list[1]));
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
		cJSON_GetObjectItem(doc2, "VirtualMachine"), "RestoreState"), "TemplateSystemId")),
		"k1");
	CU_ASSERT_PTR_NOT_NULL(lh_pipeline_find(clone2, "c1"));
	cJSON_Delete(doc);
	cJSON_Delete(doc2);
	lh_host_close(clone2);
	lh_host_close(clone);
	testhost_close(&w);
}

/* Through the state file, as the CLI does it: template saved, loaded
 * into a fresh host, cloned; the clone saved and loaded as UVM k3. */
static void test_clone_through_state_files(void)
{
	const char *rw = fixture_path("ts/sandbox.img"), *tpl = fixture_path("ts/tpl.state");
	const char *cst = fixture_path("ts/k3.state");
	char scratch[4096];
	struct lh_error err = { 0 };
	struct lh_host *clone = NULL, *again = NULL;
	struct testhost w, t;
	cJSON *doc = NULL;

	CU_ASSERT_EQUAL_FATAL(fixture_vhd(rw, 1 * MIB), 0);
	world_open(&w, false);
	adopt(w.host, "c1", attach(w.host, "testb", "/layers/x", true),
	      attach(w.host, "testb", rw, false));
	w.host->uvm.is_template = true;
	w.host->template_name = strdup("tpl");
	CU_ASSERT_EQUAL_FATAL(lh_state_save(w.host, tpl, &err), 0);
	world_open(&t, false);
	CU_ASSERT_EQUAL_FATAL(lh_state_load(t.host, tpl, &err), 0);
	snprintf(scratch, sizeof(scratch), "%s/clones/k3", fixture_dir());
	CU_ASSERT_EQUAL_FATAL(lh_clone_build(t.host, "k3", scratch, &t.driver->base, NULL, &clone, &doc,
					     &err), 0);
	CU_ASSERT_EQUAL(lh_state_save(clone, cst, &err), 0);
	CU_ASSERT_EQUAL(lh_host_open(t.cfg, &t.driver->base, "k3", &again, &err), 0);
	if (lh_state_load(again, cst, &err))
		fprintf(stderr, "\n  load: %s\n", err.message);
	CU_ASSERT_EQUAL(err.code, 0);
	CU_ASSERT_TRUE(again->uvm.is_clone);
	CU_ASSERT_EQUAL(paths_of(again, "testb").n, 2);
	/* Unmount on the restored clone releases both handles. */
	CU_ASSERT_EQUAL(lh_pipeline_unmount(again, "c1", &err), 0);
	CU_ASSERT_EQUAL(paths_of(again, "testb").n, 0);
	cJSON_Delete(doc);
	lh_host_close(again);
	lh_host_close(clone);
	testhost_close(&t);
	testhost_close(&w);
}

static void test_clone_not_supported(void)
{
	char scratch[4096];
	struct lh_error err = { 0 };
	struct lh_host *clone = (struct lh_host *)1;
	cJSON *doc = (cJSON *)1;
	struct testhost w;

	world_open(&w, true);
	attach(w.host, "testc", "/layers/c", true);
	snprintf(scratch, sizeof(scratch), "%s/clones/ns/scratch", fixture_dir());
	CU_ASSERT_EQUAL(lh_clone_build(w.host, "ns", scratch, &w.driver->base, NULL, &clone, &doc, &err),
			-LH_EUNSUPPORTED);
	ASSERT_MSG_HAS(err, "clone is not supported by testc");
	CU_ASSERT_PTR_NULL(clone);
	CU_ASSERT_PTR_NULL(doc);
	CU_ASSERT_FALSE(exists(scratch));
	CU_ASSERT_FALSE(exists(fixture_path("clones/ns")));
	testhost_close(&w);
}

/* A file-size limit makes the second copy fail (EFBIG) after the first
 * succeeded: the first copy, and every folder the clone made, go; what
 * was in the scratch folder before stays. */
static void test_clone_copy_failure_leaves_nothing(void)
{
	const char *small = fixture_path("cf/a.img"), *big = fixture_path("cf/b.img");
	const char *keep = fixture_path("clones/cf/scratch/keep");
	char scratch[4096];
	struct lh_error err = { 0 };
	struct lh_host *clone = NULL;
	struct rlimit old, lim;
	cJSON *doc = NULL;
	struct testhost w;
	int rc;

	CU_ASSERT_EQUAL_FATAL(fixture_write(small, "small", 5), 0);
	CU_ASSERT_EQUAL_FATAL(fixture_vhd(big, 8 * MIB), 0);
	CU_ASSERT_EQUAL_FATAL(fixture_write(keep, "keep", 4), 0);
	world_open(&w, false);
	attach(w.host, "testb", small, false);
	attach(w.host, "testb", big, false);
	snprintf(scratch, sizeof(scratch), "%s/clones/cf/scratch", fixture_dir());
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 1 * MIB;
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = lh_clone_build(w.host, "cf", scratch, &w.driver->base, NULL, &clone, &doc, &err);
	setrlimit(RLIMIT_FSIZE, &old);
	CU_ASSERT_NOT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NULL(clone);
	CU_ASSERT_PTR_NULL(doc);
	CU_ASSERT_TRUE(exists(keep));
	CU_ASSERT_FALSE(exists(fixture_path("clones/cf/scratch/a.img")));
	CU_ASSERT_FALSE(exists(fixture_path("clones/cf/scratch/b.img")));
	CU_ASSERT_EQUAL(fixture_sh("test $(ls -A %s | wc -l) -eq 1", scratch), 0);
	/* And into a scratch folder that did not exist: it goes too. */
	snprintf(scratch, sizeof(scratch), "%s/clones/cf2/deep/scratch", fixture_dir());
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	lh_error_clear(&err);
	rc = lh_clone_build(w.host, "cf2", scratch, &w.driver->base, NULL, &clone, &doc, &err);
	setrlimit(RLIMIT_FSIZE, &old);
	CU_ASSERT_NOT_EQUAL(rc, 0);
	CU_ASSERT_FALSE(exists(fixture_path("clones/cf2")));
	CU_ASSERT_TRUE(exists(fixture_path("clones/cf/scratch")));
	testhost_close(&w);
}

/* The commit that records a clone (its state, its document) failing is a
 * failed clone like any other: no copy stays, and the clone made again
 * succeeds (a copy left behind would be "File exists"). */
static int commit_fails(void *arg, struct lh_host *clone, const cJSON *document,
			struct lh_error *err)
{
	(void)clone;
	(void)document;
	++*(int *)arg;
	return LH_FAIL(err, -ENOSPC, "clone state: No space left on device");
}

static void test_clone_commit_failure_leaves_nothing(void)
{
	const char *disk = fixture_path("cc/w.img");
	char scratch[4096];
	struct lh_error err = { 0 };
	struct lh_host *clone = NULL;
	int calls = 0;
	struct lh_clone_commit commit = { commit_fails, &calls };
	cJSON *doc = NULL;
	struct testhost w;

	CU_ASSERT_EQUAL_FATAL(fixture_write(disk, "writable", 8), 0);
	world_open(&w, false);
	attach(w.host, "testb", disk, false);
	snprintf(scratch, sizeof(scratch), "%s/clones/cc/scratch", fixture_dir());
	CU_ASSERT_EQUAL(lh_clone_build(w.host, "cc", scratch, &w.driver->base, &commit, &clone,
				       &doc, &err), -ENOSPC);
	CU_ASSERT_EQUAL(calls, 1);
	ASSERT_MSG_HAS(err, "No space left on device");
	CU_ASSERT_PTR_NULL(clone);
	CU_ASSERT_PTR_NULL(doc);
	CU_ASSERT_FALSE(exists(fixture_path("clones/cc")));
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_clone_build(w.host, "cc", scratch, &w.driver->base, NULL, &clone,
				       &doc, &err), 0);
	if (err.code)
		fprintf(stderr, "\n  clone again: %s\n", err.message);
	lh_host_close(clone);
	cJSON_Delete(doc);
	testhost_close(&w);
}

/* cachestat(2), Linux 6.5; the C library of Debian 12 has no wrapper. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
struct page_cache_range {
	uint64_t off, len;
};
struct page_cache_stat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

/* Pages of path not yet on disk (dirty or under writeback); -errno when
 * the kernel cannot tell. */
static long unflushed_pages(const char *path)
{
	struct page_cache_range range = { 0, 0 }; /* len 0: to the end */
	struct page_cache_stat st;
	int fd = open(path, O_RDONLY);
	long rc;

	if (fd < 0)
		return -errno;
	rc = syscall(__NR_cachestat, fd, &range, &st, 0);
	rc = rc < 0 ? -errno : (long)(st.nr_dirty + st.nr_writeback);
	close(fd);
	return rc;
}

/* Clone a template holding path writable on backend; the clone's copy
 * of it must have no page left to write back. */
static void check_clone_flushed(const char *ini, const char *backend, const char *path,
				const char *id)
{
	char scratch[4096], copy[4200];
	struct lh_error err = { 0 };
	struct lh_host *clone = NULL;
	cJSON *doc = NULL;
	struct testhost w;

	testhost_open(&w, LH_STATE_TEST_PLUGIN_DIR, ini, "tpl");
	attach(w.host, backend, path, false);
	snprintf(scratch, sizeof(scratch), "%s/clones/%s/scratch", fixture_dir(), id);
	if (lh_clone_build(w.host, id, scratch, &w.driver->base, NULL, &clone, &doc, &err))
		fprintf(stderr, "\n  clone: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
	snprintf(copy, sizeof(copy), "%s/%s", scratch, strrchr(path, '/') + 1);
	CU_ASSERT_TRUE(fixture_files_equal(path, copy));
	CU_ASSERT_EQUAL(unflushed_pages(copy), 0);
	cJSON_Delete(doc);
	lh_host_close(clone);
	testhost_close(&w);
}

/*
 * A clone's copies are on disk when lh_clone_build returns, before the
 * caller records the clone: testb's copy is found through its list slot;
 * testd has no list slot, so its filesystem is flushed. lh_copy_file
 * alone leaves a copy in the page cache, which shows the probe can see
 * unflushed pages here.
 */
static void test_clone_copies_are_flushed(void)
{
	const char *b = fixture_path("fl/b.img"), *d = fixture_path("fl/d.img");
	const char *probe = fixture_path("fl/probe.img");
	struct lh_error err = { 0 };
	enum lh_copy_method used;
	long before;

	CU_ASSERT_EQUAL_FATAL(fixture_vhd(b, 8 * MIB), 0);
	CU_ASSERT_EQUAL_FATAL(fixture_vhd(d, 8 * MIB), 0);
	CU_ASSERT_EQUAL_FATAL(lh_copy_file(b, probe, LH_COPY_ALLOW_ALL, &used, &err), 0);
	before = unflushed_pages(probe);
	if (before <= 0 || used == LH_COPY_REFLINK) {
		fprintf(stderr, "\n  SKIPPED flush check: %s\n",
			before < 0 ? "the kernel has no cachestat(2) (Linux 6.5+) to count dirty pages"
			: used == LH_COPY_REFLINK ? "copies here are reflinks, with no pages to flush"
						  : "a fresh copy shows no dirty pages here");
		return;
	}
	check_clone_flushed("[pipeline]\nhost = testb\n", "testb", b, "flb");
	check_clone_flushed("[pipeline]\nhost = testb\n[plugin.testd]\n", "testd", d, "fld");
}

/* ---- with the real plugins ------------------------------------------------------ */

/* An LCOW template: two layers on vpmem (read-only), the scratch on scsi
 * (writable). */
static void test_clone_lcow_real_plugins(void)
{
	char scratch[4096], ini[1024];
	struct lh_error err = { 0 };
	struct lh_host *clone = NULL, *clone2 = NULL;
	const struct lh_mounted *m;
	cJSON *doc = NULL, *doc2 = NULL;
	struct testhost w;
	struct paths p;
	char *text;

	CU_ASSERT_EQUAL_FATAL(fixture_vhd(fixture_path("lc/l0/layer.vhd"), 512 * 1024), 0);
	CU_ASSERT_EQUAL_FATAL(fixture_vhd(fixture_path("lc/l1/layer.vhd"), 512 * 1024), 0);
	CU_ASSERT_EQUAL_FATAL(fixture_vhdx(fixture_path("lc/s1/sandbox.vhdx"), 16 * MIB), 0);
	snprintf(ini, sizeof(ini), "[uvm]\nos = linux\nid = tpl\n[plugin.vpmem]\nmulti_mapping = "
		 "false\n[container.a1]\nlayers = lc/l0, lc/l1\nscratch = lc/s1\n");
	testhost_open(&w, LH_TEST_PLUGIN_DIR, ini, NULL);
	if (lh_pipeline_mount(w.host, lh_config_container(w.cfg, "a1"), &err))
		fprintf(stderr, "\n  mount: %s\n", err.message);
	CU_ASSERT_EQUAL_FATAL(err.code, 0);
	w.host->uvm.is_template = true;
	snprintf(scratch, sizeof(scratch), "%s/lclones/k1/scratch", fixture_dir());
	if (lh_clone_build(w.host, "k1", scratch, &w.driver->base, NULL, &clone, &doc, &err))
		fprintf(stderr, "\n  clone: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
	p = paths_of(clone, "vpmem");
	CU_ASSERT_EQUAL(p.n, 2);
	for (size_t i = 0; i < p.n; i++)
		CU_ASSERT_PTR_NOT_NULL(strstr(p.list[i], "/lc/l"));
	p = paths_of(clone, "scsi");
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.list[0], "/lclones/k1/scratch/"));
	CU_ASSERT_TRUE(fixture_files_equal(fixture_path("lc/s1/sandbox.vhdx"), p.list[0]));
	CU_ASSERT_FALSE(same_inode(fixture_path("lc/s1/sandbox.vhdx"), p.list[0]));
	m = lh_pipeline_find(clone, "a1");
	CU_ASSERT_PTR_NOT_NULL(m);
	text = document_text(doc);
	CU_ASSERT(golden_check("clone/lcow_document.json", text));
	free(text);

	/* Clone of the clone. */
	snprintf(scratch, sizeof(scratch), "%s/lclones/k2/scratch", fixture_dir());
	if (lh_clone_build(clone, "k2", scratch, &w.driver->base, NULL, &clone2, &doc2, &err))
		fprintf(stderr, "\n  clone 2: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone2);
	p = paths_of(clone2, "scsi");
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.list[0], "/lclones/k2/scratch/"));
	CU_ASSERT_TRUE(fixture_files_equal(fixture_path("lc/s1/sandbox.vhdx"), p.list[0]));
	CU_ASSERT_EQUAL(paths_of(clone2, "vpmem").n, 2);
	cJSON_Delete(doc);
	cJSON_Delete(doc2);
	lh_host_close(clone2);
	lh_host_close(clone);
	testhost_close(&w);
}

/* A Windows UVM: layer shares over VSMB, the scratch on SCSI at 0:1 (0:0
 * is the UVM's own scratch). The clone re-adds every share with options a
 * saved VM can keep and copies the scratch beside its scratch folder. */
static void test_clone_wcow_real_plugins(void)
{
	char scratch[4096], ini[1024];
	struct lh_error err = { 0 };
	struct lh_host *clone = NULL, *clone2 = NULL;
	const cJSON *shares, *share, *options;
	cJSON *doc = NULL, *doc2 = NULL;
	struct testhost w;
	struct paths p;
	char *text;

	mkdir(fixture_path("wc/base/Files/"), 0755);
	mkdir(fixture_path("wc/app/Files/"), 0755);
	CU_ASSERT_EQUAL_FATAL(fixture_vhdx(fixture_path("wc/s1/sandbox.vhdx"), 16 * MIB), 0);
	snprintf(ini, sizeof(ini), "[uvm]\nos = windows\nid = tpl\n"
		 "[container.w1]\nlayers = wc/base, wc/app\nscratch = wc/s1\n");
	testhost_open(&w, LH_TEST_PLUGIN_DIR, ini, NULL);
	if (lh_pipeline_mount(w.host, lh_config_container(w.cfg, "w1"), &err))
		fprintf(stderr, "\n  mount: %s\n", err.message);
	CU_ASSERT_EQUAL_FATAL(err.code, 0);
	w.host->uvm.is_template = true;
	snprintf(scratch, sizeof(scratch), "%s/wclones/k1/scratch", fixture_dir());
	if (lh_clone_build(w.host, "k1", scratch, &w.driver->base, NULL, &clone, &doc, &err))
		fprintf(stderr, "\n  clone: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);

	/* Shares: the same folders, re-added with saveable options. */
	p = paths_of(clone, "vsmb");
	CU_ASSERT_EQUAL(p.n, 2);
	shares = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
		cJSON_GetObjectItem(doc, "VirtualMachine"), "Devices"), "VirtualSmb"), "Shares");
	CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(shares), 2);
	cJSON_ArrayForEach(share, shares) {
		options = cJSON_GetObjectItem(share, "Options");
		CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(options, "ReadOnly")));
		CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(options, "NoDirectmap")));
		CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(options, "NoLocks")));
		CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(options, "PseudoDirnotify")));
	}
	/* The writable scratch: copied beside the clone's scratch folder. */
	p = paths_of(clone, "scsi");
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.list[0], "/wclones/k1/clone-mount-0-1/sandbox.vhdx"));
	CU_ASSERT_TRUE(fixture_files_equal(fixture_path("wc/s1/sandbox.vhdx"), p.list[0]));
	CU_ASSERT_FALSE(same_inode(fixture_path("wc/s1/sandbox.vhdx"), p.list[0]));
	CU_ASSERT_PTR_NOT_NULL(lh_pipeline_find(clone, "w1"));
	text = document_text(doc);
	CU_ASSERT(golden_check("clone/wcow_document.json", text));
	free(text);

	/* Clone of the clone. */
	snprintf(scratch, sizeof(scratch), "%s/wclones/k2/scratch", fixture_dir());
	if (lh_clone_build(clone, "k2", scratch, &w.driver->base, NULL, &clone2, &doc2, &err))
		fprintf(stderr, "\n  clone 2: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone2);
	p = paths_of(clone2, "scsi");
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.list[0], "/wclones/k2/clone-mount-0-1/"));
	CU_ASSERT_TRUE(fixture_files_equal(fixture_path("wc/s1/sandbox.vhdx"), p.list[0]));
	CU_ASSERT_EQUAL(paths_of(clone2, "vsmb").n, 2);
	cJSON_Delete(doc);
	cJSON_Delete(doc2);
	lh_host_close(clone2);
	lh_host_close(clone);
	testhost_close(&w);
}

/* The scsi copy of the scratch fails: nothing of the clone stays. */
static void test_clone_lcow_copy_failure(void)
{
	char scratch[4096], ini[1024];
	struct lh_error err = { 0 };
	struct lh_host *clone = NULL;
	struct rlimit old, lim;
	cJSON *doc = NULL;
	struct testhost w;
	int rc;

	CU_ASSERT_EQUAL_FATAL(fixture_vhd(fixture_path("lf/l0/layer.vhd"), 512 * 1024), 0);
	CU_ASSERT_EQUAL_FATAL(fixture_vhdx(fixture_path("lf/s1/sandbox.vhdx"), 16 * MIB), 0);
	snprintf(ini, sizeof(ini), "[uvm]\nos = linux\nid = tpl\n"
		 "[container.f1]\nlayers = lf/l0\nscratch = lf/s1\n");
	testhost_open(&w, LH_TEST_PLUGIN_DIR, ini, NULL);
	CU_ASSERT_EQUAL_FATAL(lh_pipeline_mount(w.host, lh_config_container(w.cfg, "f1"), &err), 0);
	snprintf(scratch, sizeof(scratch), "%s/lfail/k1/scratch", fixture_dir());
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 64 * 1024;
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = lh_clone_build(w.host, "k1", scratch, &w.driver->base, NULL, &clone, &doc, &err);
	setrlimit(RLIMIT_FSIZE, &old);
	CU_ASSERT_NOT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NULL(clone);
	CU_ASSERT_FALSE(exists(fixture_path("lfail/k1")));
	testhost_close(&w);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "testb: ro shared, rw copied, document, clone of clone",
		  test_clone_shares_ro_copies_rw },
		{ "testb: template and clone through state files", test_clone_through_state_files },
		{ "a backend without clone holding attachments", test_clone_not_supported },
		{ "testb: copy failure leaves nothing", test_clone_copy_failure_leaves_nothing },
		{ "testb: a failed commit leaves nothing", test_clone_commit_failure_leaves_nothing },
		{ "testb and testd (no list slot): copies flushed", test_clone_copies_are_flushed },
		{ "lcow with scsi and vpmem, clone of clone", test_clone_lcow_real_plugins },
		{ "lcow: copy failure leaves nothing", test_clone_lcow_copy_failure },
		{ "wcow with vsmb and scsi, clone of clone", test_clone_wcow_real_plugins },
		{ NULL, NULL },
	};

	/* The file-size limit tests want EFBIG, not the signal. */
	signal(SIGXFSZ, SIG_IGN);
	return cutest_run("clone", cases, fixture_cleanup);
}
