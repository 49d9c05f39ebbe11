/*
 * test_hostlayer.c - the host-layer backend mounting real overlays over
 * real ext4 layer images (as root), plus its retry loop compiled in
 * directly.
 *
 * Layers built per run:
 *   base (layer.vhd)  base.txt, shadow.txt = "lower", hidden.txt
 *   mid  (layer.vhd)  mid.txt, shadow.txt = "upper", whiteout for hidden.txt
 *   top  (layer/)     top.txt
 */
#include "fakehost.h"
#include "fixtures.h"

#include "../../plugins/hostlayer/hostlayer.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SIZE_8M (8ull << 20)

static char run_root[LH_PATH_CAP];
static char layer_base[LH_PATH_CAP], layer_mid[LH_PATH_CAP], layer_top[LH_PATH_CAP];
static const char *run_opts[3];

/* ---- helpers ------------------------------------------------------------ */

/* dir/name in a ring of buffers (valid for the next 8 calls) */
static const char *join(const char *dir, const char *name)
{
	static char ring[8][LH_PATH_CAP];
	static unsigned next;
	char *buf = ring[next++ % 8];

	if ((size_t)snprintf(buf, LH_PATH_CAP, "%s/%s", dir, name) >= LH_PATH_CAP)
		abort();
	return buf;
}

static void put_file(const char *rel, const char *text)
{
	CU_ASSERT_FATAL(fixture_write(fixture_path(rel), text, strlen(text)) == 0);
}

static void make_dir(const char *path)
{
	CU_ASSERT_FATAL(fixture_sh("mkdir -p '%s'", path) == 0);
}

/* Mount points under the fixture directory, from /proc/self/mountinfo. */
static size_t count_our_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	size_t n = 0;

	if (!f)
		return (size_t)-1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, fixture_dir()))
			n++;
	fclose(f);
	return n;
}

static bool is_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192], mnt[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strcmp(mnt, path) == 0)
			found = true;
	fclose(f);
	return found;
}

/* The filesystem type of the topmost mount at path, or "" (static buffer). */
static const char *top_fstype(const char *path)
{
	static char type[64];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192], mnt[4096], fstype[64];

	type[0] = '\0';
	if (!f)
		return type;
	/* later lines are mounted later: the last match is on top */
	while (fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strcmp(mnt, path) == 0 &&
		    dash && sscanf(dash, " - %63s", fstype) == 1)
			snprintf(type, sizeof(type), "%s", fstype);
	}
	fclose(f);
	return type;
}

/* Loop devices backed by a file under the fixture directory (sysfs files
 * claim a page of size, so they are read, not measured). */
static size_t count_our_loops(void)
{
	glob_t g;
	size_t n = 0;

	if (glob("/sys/block/loop*/loop/backing_file", 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char text[4097];
		int fd = open(g.gl_pathv[i], O_RDONLY);
		ssize_t len = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;

		if (fd >= 0)
			close(fd);
		text[len > 0 ? len : 0] = '\0';
		if (strstr(text, fixture_dir()))
			n++;
	}
	globfree(&g);
	return n;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool file_has(const char *path, const char *text)
{
	char *got = fixture_read(path, NULL);
	bool equal = got && strcmp(got, text) == 0;

	free(got);
	return equal;
}

static int open_host(struct fakehost *fh)
{
	struct lh_error err = { 0 };
	int rc;

	fakehost_init(fh, LH_OS_NONE);
	rc = fakehost_open(fh, "hostlayer", run_opts, &err);
	if (rc)
		fprintf(stderr, "open: %s\n", err.message);
	return rc;
}

static struct lh_attach_request container_req(const char *id, const char *const *layers,
					      size_t n, const char *scratch)
{
	struct lh_attach_request req = fakehost_request_init(NULL, 0);

	req.container_id = id;
	req.layers = layers;
	req.n_layers = n;
	req.scratch_dir = scratch;
	return req;
}

static const char *scratch_dir(const char *name)
{
	const char *path = fixture_path(name);

	make_dir(path);
	return path;
}

struct layer_refs {
	const char *vhd;
	uint32_t refs;
	size_t n_layers, n_overlays;
};

static int refs_visit(void *arg, const struct lh_attachment_info *info)
{
	struct layer_refs *r = arg;

	if (info->read_only)
		r->n_layers++;
	else
		r->n_overlays++;
	if (info->read_only && strcmp(info->host_path, r->vhd) == 0)
		r->refs = info->refs;
	return 0;
}

static struct layer_refs layer_refs_of(struct fakehost *fh, const char *folder)
{
	static char vhd[LH_PATH_CAP];
	struct layer_refs r = { .vhd = vhd };

	snprintf(vhd, sizeof(vhd), "%s", join(folder, "layer.vhd"));
	fh->backend->list(fh->priv, refs_visit, &r);
	return r;
}

static void assert_nothing_left(void)
{
	CU_ASSERT_EQUAL(count_our_mounts(), 0);
	CU_ASSERT_EQUAL(count_our_loops(), 0);
	CU_ASSERT_FALSE(path_exists(run_root));
}

/* ---- suite ---------------------------------------------------------------- */

static int suite_init(void)
{
	const char *src;

	snprintf(run_root, sizeof(run_root), "%s", fixture_path("run"));
	run_opts[0] = "run_root";
	run_opts[1] = run_root;
	run_opts[2] = NULL;
	if (geteuid() != 0)
		return 0;

	if (fixture_write(fixture_path("src/base/base.txt"), "base", 4) ||
	    fixture_write(fixture_path("src/base/shadow.txt"), "lower", 5) ||
	    fixture_write(fixture_path("src/base/hidden.txt"), "hidden", 6) ||
	    fixture_write(fixture_path("src/mid/mid.txt"), "mid", 3) ||
	    fixture_write(fixture_path("src/mid/shadow.txt"), "upper", 5) ||
	    fixture_write(fixture_path("layers/top/layer/top.txt"), "top", 3))
		return -1;
	/* a whiteout: character device 0/0 named like the hidden file */
	if (mknod(fixture_path("src/mid/hidden.txt"), S_IFCHR | 0644, makedev(0, 0)) != 0)
		return -1;
	src = fixture_path("src/base");
	if (fixture_ext4_vhd(fixture_path("layers/base/layer.vhd"), src, SIZE_8M))
		return -1;
	src = fixture_path("src/mid");
	if (fixture_ext4_vhd(fixture_path("layers/mid/layer.vhd"), src, SIZE_8M))
		return -1;
	snprintf(layer_base, sizeof(layer_base), "%s", fixture_path("layers/base"));
	snprintf(layer_mid, sizeof(layer_mid), "%s", fixture_path("layers/mid"));
	snprintf(layer_top, sizeof(layer_top), "%s", fixture_path("layers/top"));
	return 0;
}

/* Whatever a failed test left mounted goes before the files do. */
static int suite_cleanup(void)
{
	for (int pass = 0; pass < 8 && count_our_mounts() > 0; pass++)
		fixture_sh("grep -F '%s' /proc/self/mountinfo | awk '{print $5}' | sort -r | "
			   "xargs -r -n1 umount -l", fixture_dir());
	fixture_sh("for f in /sys/block/loop*/loop/backing_file; do "
		   "grep -qF '%s' \"$f\" 2>/dev/null && losetup -d /dev/$(basename $(dirname "
		   "$(dirname $f))); done; true", fixture_dir());
	fixture_cleanup();
	return 0;
}

/* ---- tests that need root -------------------------------------------------- */

static void test_overlay_contents(void)
{
	struct fakehost fh;
	const char *layers[] = { layer_base, layer_mid, layer_top };
	const char *scratch = scratch_dir("scratch1");
	struct lh_attach_request req = container_req("c1", layers, 3, scratch);
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	char want[LH_PATH_CAP], path[LH_PATH_CAP];
	int rc;

	CU_ASSERT_FATAL(open_host(&fh) == 0);
	rc = fh.backend->attach(fh.priv, &req, &res, &err);
	if (rc)
		fprintf(stderr, "attach: %s\n", err.message);
	CU_ASSERT_FATAL(rc == 0);
	snprintf(want, sizeof(want), "%s", join(run_root, "c1/rootfs"));
	CU_ASSERT_STRING_EQUAL(res.uvm_path, want);
	CU_ASSERT_STRING_EQUAL(res.location, want);
	CU_ASSERT_EQUAL(res.handle, 1);
	CU_ASSERT_FALSE(res.shared);
	CU_ASSERT_EQUAL(res.controller, -1);
	CU_ASSERT_EQUAL(res.lun, -1);
	CU_ASSERT_EQUAL(res.device, -1);
	CU_ASSERT_TRUE(is_mounted(want));
	CU_ASSERT_EQUAL(count_our_loops(), 2);
	/* overlay + two layer mounts */
	CU_ASSERT_EQUAL(count_our_mounts(), 3);

	snprintf(path, sizeof(path), "%s", join(want, "base.txt"));
	CU_ASSERT_TRUE(file_has(path, "base"));
	snprintf(path, sizeof(path), "%s", join(want, "mid.txt"));
	CU_ASSERT_TRUE(file_has(path, "mid"));
	snprintf(path, sizeof(path), "%s", join(want, "top.txt"));
	CU_ASSERT_TRUE(file_has(path, "top"));
	snprintf(path, sizeof(path), "%s", join(want, "shadow.txt"));
	CU_ASSERT_TRUE(file_has(path, "upper"));
	snprintf(path, sizeof(path), "%s", join(want, "hidden.txt"));
	CU_ASSERT_FALSE(path_exists(path));

	snprintf(path, sizeof(path), "%s", join(want, "written.txt"));
	CU_ASSERT_EQUAL(fixture_write(path, "new", 3), 0);
	snprintf(path, sizeof(path), "%s", join(scratch, "upper/written.txt"));
	CU_ASSERT_TRUE(file_has(path, "new"));
	snprintf(path, sizeof(path), "%s", join(scratch, "work"));
	CU_ASSERT_TRUE(path_exists(path));

	/* host mounts: no HCS request, no clone */
	CU_ASSERT_EQUAL(fh.n_requests, 0);
	CU_ASSERT_EQUAL(fh.n_attempts, 0);
	CU_ASSERT_PTR_NULL(fh.backend->clone);

	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), 0);
	assert_nothing_left();
	/* the container's writes stay in its scratch */
	CU_ASSERT_TRUE(file_has(join(scratch, "upper/written.txt"), "new"));
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), -LH_ENOTATTACHED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "handle 1"));
	fakehost_fini(&fh);
}

static void test_custom_mount_path(void)
{
	struct fakehost fh;
	const char *layers[] = { layer_base };
	struct lh_attach_request req = container_req("custom", layers, 1, scratch_dir("scratch2"));
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	char mnt[LH_PATH_CAP];

	make_dir(fixture_path("mnt"));
	snprintf(mnt, sizeof(mnt), "%s", join(fixture_path("mnt"), "deep/rootfs"));
	CU_ASSERT_FATAL(open_host(&fh) == 0);
	req.mount_path = mnt;
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &req, &res, &err) == 0);
	CU_ASSERT_STRING_EQUAL(res.uvm_path, mnt);
	CU_ASSERT_TRUE(is_mounted(mnt));
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), 0);
	/* mnt/ existed (fixture_path made it), deep/ and rootfs/ were ours */
	CU_ASSERT_FALSE(path_exists(fixture_path("mnt/deep")));
	CU_ASSERT_TRUE(path_exists(fixture_path("mnt")));
	assert_nothing_left();
	fakehost_fini(&fh);
}

static void test_shared_layer_counts(void)
{
	struct fakehost fh;
	const char *two[] = { layer_base, layer_mid };
	const char *one[] = { layer_base };
	const char *other[] = { layer_mid };
	const char *s1 = scratch_dir("shared1"), *s2 = scratch_dir("shared2");
	struct lh_attach_request r1 = container_req("one", two, 2, s1);
	struct lh_attach_request r2 = container_req("two", one, 1, s2);
	struct lh_attach_request bad = container_req("one", other, 1, s1);
	struct lh_attach_result a, b, c;
	struct lh_error err = { 0 };
	struct layer_refs refs;

	CU_ASSERT_FATAL(open_host(&fh) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &r1, &a, &err) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &r2, &b, &err) == 0);
	CU_ASSERT_NOT_EQUAL(a.handle, b.handle);
	refs = layer_refs_of(&fh, layer_base);
	CU_ASSERT_EQUAL(refs.refs, 2);
	CU_ASSERT_EQUAL(refs.n_layers, 2);
	CU_ASSERT_EQUAL(refs.n_overlays, 2);
	CU_ASSERT_EQUAL(layer_refs_of(&fh, layer_mid).refs, 1);
	/* one loop device and one mount per layer, shared */
	CU_ASSERT_EQUAL(count_our_loops(), 2);
	CU_ASSERT_EQUAL(count_our_mounts(), 4);

	/* the same container again: another handle on the same overlay */
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &r1, &c, &err) == 0);
	CU_ASSERT_TRUE(c.shared);
	CU_ASSERT_STRING_EQUAL(c.uvm_path, a.uvm_path);
	CU_ASSERT_TRUE(c.handle != a.handle && c.handle != b.handle);
	CU_ASSERT_EQUAL(count_our_mounts(), 4);
	/* the same id with other layers */
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &bad, &c, &err), -LH_EREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "one"));
	lh_error_clear(&err);

	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, a.handle, &err), 0);
	CU_ASSERT_TRUE(is_mounted(c.uvm_path));
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, c.handle, &err), 0);
	CU_ASSERT_FALSE(is_mounted(c.uvm_path));
	refs = layer_refs_of(&fh, layer_base);
	CU_ASSERT_EQUAL(refs.refs, 1);
	CU_ASSERT_EQUAL(refs.n_layers, 1);
	CU_ASSERT_EQUAL(count_our_loops(), 1);
	CU_ASSERT_EQUAL(count_our_mounts(), 2);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, b.handle, &err), 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	assert_nothing_left();
	fakehost_fini(&fh);
}

struct thread_attach {
	struct fakehost *fh;
	struct lh_attach_request req;
	struct lh_attach_result res;
	struct lh_error err;
	int rc;
};

static void *attach_thread(void *arg)
{
	struct thread_attach *t = arg;

	t->rc = t->fh->backend->attach(t->fh->priv, &t->req, &t->res, &t->err);
	return NULL;
}

static void test_concurrent_attach(void)
{
	struct fakehost fh;
	const char *layers[] = { layer_base, layer_mid, layer_top };
	struct thread_attach t[4];
	pthread_t th[4];
	size_t n_shared = 0;

	CU_ASSERT_FATAL(open_host(&fh) == 0);
	for (int i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].fh = &fh;
		/* two ids, two threads each: identical configs share one overlay */
		t[i].req = container_req(i % 2 ? "par1" : "par0", layers, 3,
					 scratch_dir(i % 2 ? "par1" : "par0"));
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, attach_thread, &t[i]) == 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(t[i].rc, 0);
		n_shared += t[i].res.shared;
		for (int j = 0; j < i; j++)
			CU_ASSERT_NOT_EQUAL(t[i].res.handle, t[j].res.handle);
	}
	CU_ASSERT_EQUAL(n_shared, 2);
	CU_ASSERT_EQUAL(layer_refs_of(&fh, layer_base).refs, 2);
	CU_ASSERT_EQUAL(count_our_mounts(), 4);
	CU_ASSERT_EQUAL(count_our_loops(), 2);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(fh.backend->release(fh.priv, t[i].res.handle, &t[i].err), 0);
	assert_nothing_left();
	fakehost_fini(&fh);
}

/* Expect attach to fail with code and a message holding needle, leaving
 * nothing mounted. */
static void expect_refusal(struct fakehost *fh, const struct lh_attach_request *req, int code,
			   const char *needle)
{
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	int rc = fh->backend->attach(fh->priv, req, &res, &err);

	CU_ASSERT_EQUAL(rc, code);
	CU_ASSERT_EQUAL(err.code, code);
	if (!strstr(err.message, needle)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", err.message, needle);
		CU_FAIL("message does not name the object at fault");
	}
	CU_ASSERT_EQUAL(fakehost_count_attachments(fh), 0);
	assert_nothing_left();
}

struct unprivileged {
	struct fakehost *fh;
	struct lh_attach_request req;
	struct lh_error err;
	int rc;
};

/* Capabilities are per thread: drop CAP_SYS_ADMIN in a thread of its own. */
static void *unprivileged_thread(void *arg)
{
	struct unprivileged *u = arg;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	struct lh_attach_result res;

	u->rc = -1;
	if (syscall(SYS_capget, &hdr, data) != 0)
		return NULL;
	data[0].effective &= ~(1u << CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &hdr, data) != 0)
		return NULL;
	u->rc = u->fh->backend->attach(u->fh->priv, &u->req, &res, &u->err);
	return NULL;
}

static void test_refusals(void)
{
	struct fakehost fh;
	const char *scratch = scratch_dir("refused");
	const char *empty = fixture_path("layers/empty");
	const char *badvhd = fixture_path("layers/bad");
	const char *layers[] = { layer_base, layer_mid };
	const char *with_empty[] = { layer_base, empty };
	const char *with_bad[] = { layer_base, badvhd };
	struct lh_attach_request req = container_req("r1", with_empty, 2, scratch);
	char busy[LH_PATH_CAP], long_id[140], vhd[LH_PATH_CAP];
	struct unprivileged u = { .fh = &fh };
	pthread_t th;

	make_dir(empty);
	make_dir(badvhd);
	/* a vhd whose footer cookie is damaged */
	snprintf(vhd, sizeof(vhd), "%s", join(badvhd, "layer.vhd"));
	CU_ASSERT_FATAL(fixture_sh("cp '%s/layer.vhd' '%s' && printf garbage! | dd of='%s' "
				   "bs=1 seek=$(( $(stat -c %%s '%s') - 512 )) conv=notrunc "
				   "2>/dev/null", layer_mid, vhd, vhd, vhd) == 0);
	snprintf(busy, sizeof(busy), "%s", fixture_path("busy/rootfs"));
	make_dir(busy);
	put_file("busy/rootfs/someone.txt", "x");

	CU_ASSERT_FATAL(open_host(&fh) == 0);
	expect_refusal(&fh, &req, -ENOENT, empty);

	req.layers = with_bad;
	expect_refusal(&fh, &req, -LH_EBADDISK, "layers/bad/layer.vhd");

	req.layers = layers;
	req.mount_path = busy;
	expect_refusal(&fh, &req, -LH_EREFUSED, "not empty");
	put_file("busy/file", "x");
	req.mount_path = fixture_path("busy/file");
	expect_refusal(&fh, &req, -LH_EREFUSED, "not a directory");
	req.mount_path = "relative/path";
	expect_refusal(&fh, &req, -LH_EREFUSED, "relative/path");
	req.mount_path = NULL;

	req.container_id = "-leading-dash";
	expect_refusal(&fh, &req, -LH_EREFUSED, "-leading-dash");
	req.container_id = "a/b";
	expect_refusal(&fh, &req, -LH_EREFUSED, "a/b");
	req.container_id = "";
	expect_refusal(&fh, &req, -LH_EREFUSED, "container id");
	memset(long_id, 'a', 129);
	long_id[129] = '\0';
	req.container_id = long_id;
	expect_refusal(&fh, &req, -LH_EREFUSED, "container id");
	long_id[128] = '\0'; /* 128 characters is the longest allowed */
	req.container_id = long_id;
	req.layers = with_empty; /* valid id: reaches the layer check */
	expect_refusal(&fh, &req, -ENOENT, empty);

	u.req = container_req("unprivileged", layers, 2, scratch);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, unprivileged_thread, &u) == 0);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(u.rc, -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(u.err.message, "CAP_SYS_ADMIN"));
	assert_nothing_left();

	/* nothing refused left a half-made scratch either */
	CU_ASSERT_FALSE(path_exists(fixture_path("refused/upper")));
	fakehost_fini(&fh);
}

/* A process inside the rootfs makes the overlay busy: release retries,
 * then fails and changes nothing; once it leaves, release succeeds. */
static void test_release_busy_retry(void)
{
	struct fakehost fh;
	const char *layers[] = { layer_base };
	struct lh_attach_request req = container_req("busy1", layers, 1, scratch_dir("busy1"));
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	char path[LH_PATH_CAP];
	int fd;

	CU_ASSERT_FATAL(open_host(&fh) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &req, &res, &err) == 0);
	snprintf(path, sizeof(path), "%s", join(res.uvm_path, "base.txt"));
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "after 5 attempts"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, res.uvm_path));
	CU_ASSERT_TRUE(is_mounted(res.uvm_path));
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);
	close(fd);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), 0);
	assert_nothing_left();
	fakehost_fini(&fh);
}

static void test_restore_then_release(void)
{
	struct fakehost fh, fresh, again;
	const char *l1[] = { layer_base, layer_mid, layer_top };
	const char *l2[] = { layer_base };
	struct lh_attach_request r1 = container_req("keep1", l1, 3, scratch_dir("keep1"));
	struct lh_attach_request r2 = container_req("keep2", l2, 1, scratch_dir("keep2"));
	struct lh_attach_result a, b, c;
	struct lh_error err = { 0 };
	uint8_t *blob = NULL, *blob2 = NULL;
	size_t len = 0, len2 = 0;
	uint64_t first;
	int rc;

	CU_ASSERT_FATAL(open_host(&fh) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &r1, &a, &err) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &r2, &b, &err) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &r2, &c, &err) == 0);
	CU_ASSERT_FATAL(fakehost_encode(&fh, &blob, &len, &err) == 0);
	/* the first host goes away without unmounting anything */
	fakehost_fini(&fh);
	CU_ASSERT_EQUAL(count_our_mounts(), 4);

	CU_ASSERT_FATAL(open_host(&fresh) == 0);
	rc = fakehost_decode(&fresh, blob, len, &err);
	if (rc)
		fprintf(stderr, "decode: %s\n", err.message);
	CU_ASSERT_FATAL(rc == 0);
	CU_ASSERT_EQUAL(fresh.n_requests, 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fresh), 4);
	CU_ASSERT_EQUAL(layer_refs_of(&fresh, layer_base).refs, 2);
	/* the restored state encodes to the same bytes */
	CU_ASSERT_FATAL(fakehost_encode(&fresh, &blob2, &len2, &err) == 0);
	CU_ASSERT_TRUE(len == len2 && memcmp(blob, blob2, len) == 0);
	CU_ASSERT_EQUAL(fresh.backend->release(fresh.priv, 999, &err), -LH_ENOTATTACHED);
	lh_error_clear(&err);

	/* handles keep counting from where the first host stopped */
	first = a.handle;
	CU_ASSERT_FATAL(fresh.backend->attach(fresh.priv, &r2, &a, &err) == 0);
	CU_ASSERT_EQUAL(a.handle, c.handle + 1);
	CU_ASSERT_TRUE(a.shared);
	CU_ASSERT_EQUAL(fresh.backend->release(fresh.priv, a.handle, &err), 0);

	CU_ASSERT_EQUAL(fresh.backend->release(fresh.priv, first, &err), 0);
	CU_ASSERT_EQUAL(fresh.backend->release(fresh.priv, b.handle, &err), 0);
	CU_ASSERT_EQUAL(count_our_mounts(), 2);
	CU_ASSERT_EQUAL(fresh.backend->release(fresh.priv, c.handle, &err), 0);
	if (err.code)
		fprintf(stderr, "release: %s\n", err.message);
	assert_nothing_left();
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fresh), 0);

	/* decode is strict: every truncation of the blob is refused, cleanly */
	fakehost_fini(&fresh);
	CU_ASSERT_FATAL(open_host(&again) == 0);
	for (size_t cut = 0; cut < len; cut++) {
		lh_error_clear(&err);
		rc = fakehost_decode(&again, blob, cut, &err);
		CU_ASSERT_TRUE(rc == -LH_ECORRUPT);
		if (rc != -LH_ECORRUPT)
			fprintf(stderr, "cut %zu: rc %d %s\n", cut, rc, err.message);
		CU_ASSERT_EQUAL(fakehost_count_attachments(&again), 0);
	}
	fakehost_fini(&again);
	free(blob);
	free(blob2);
}

/* A scratch folder must be layerhost's own: empty, or marked by an
 * earlier mount. The kernel empties <scratch>/work/work of whatever
 * scratch it is given. */
static void test_scratch_must_be_ours(void)
{
	struct fakehost fh;
	const char *layers[] = { layer_base };
	const char *foreign = scratch_dir("foreign"), *ours = scratch_dir("ours");
	struct lh_attach_request req = container_req("s3", layers, 1, foreign);
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	char precious[LH_PATH_CAP];

	put_file("foreign/settings.conf", "x");
	put_file("foreign/work/work/precious", "keep");
	snprintf(precious, sizeof(precious), "%s", join(foreign, "work/work/precious"));
	CU_ASSERT_FATAL(open_host(&fh) == 0);
	expect_refusal(&fh, &req, -LH_EREFUSED, foreign);
	/* Fatal: what follows names system folders, which a scratch that is
	 * taken as it is would have written into. */
	CU_ASSERT_FATAL(file_has(precious, "keep"));
	CU_ASSERT_FALSE(path_exists(join(foreign, "upper")));
	/* only upper/ and work/, but work/ holds files of someone else's */
	CU_ASSERT_FATAL(unlink(join(foreign, "settings.conf")) == 0);
	make_dir(join(foreign, "upper"));
	expect_refusal(&fh, &req, -LH_EREFUSED, "no " HOSTLAYER_SCRATCH_MARK " mark");
	CU_ASSERT_TRUE(file_has(precious, "keep"));
	/* system folders (which the host refuses by name before) */
	req.scratch_dir = "/";
	expect_refusal(&fh, &req, -LH_EREFUSED, "is not layerhost's");
	req.scratch_dir = "/etc";
	expect_refusal(&fh, &req, -LH_EREFUSED, "is not layerhost's");
	CU_ASSERT_FALSE(path_exists("/etc/upper"));

	/* a scratch layerhost made is taken again, writes and all; a UVM
	 * scratch disk of the container's (layerhost import --scratch) is no
	 * reason to refuse one */
	put_file("ours/sandbox.vhdx", "disk");
	req.scratch_dir = ours;
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &req, &res, &err) == 0);
	CU_ASSERT_EQUAL(fixture_write(join(res.uvm_path, "kept.txt"), "k", 1), 0);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &req, &res, &err) == 0);
	CU_ASSERT_TRUE(file_has(join(res.uvm_path, "kept.txt"), "k"));
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), 0);
	assert_nothing_left();
	fakehost_fini(&fh);
}

/* Unmount only what layerhost mounted. The overlay unmounted by hand,
 * with the mount path a mount point of the user's: release leaves the
 * user's filesystem alone. A filesystem mounted over the overlay: release
 * refuses and changes nothing. */
static void test_unmount_only_ours(void)
{
	struct fakehost fh;
	const char *layers[] = { layer_base };
	struct lh_attach_request req = container_req("m4", layers, 1, scratch_dir("m4"));
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	char mnt[LH_PATH_CAP];

	snprintf(mnt, sizeof(mnt), "%s", fixture_path("user-mnt"));
	make_dir(mnt);
	CU_ASSERT_FATAL(mount("user", mnt, "tmpfs", 0, "size=1m") == 0);
	req.mount_path = mnt;
	CU_ASSERT_FATAL(open_host(&fh) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &req, &res, &err) == 0);
	CU_ASSERT_STRING_EQUAL(top_fstype(mnt), "overlay");
	CU_ASSERT_FATAL(umount2(mnt, 0) == 0); /* by hand: the overlay goes */
	CU_ASSERT_STRING_EQUAL(top_fstype(mnt), "tmpfs");
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), 0);
	CU_ASSERT_STRING_EQUAL(top_fstype(mnt), "tmpfs");
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);

	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &req, &res, &err) == 0);
	CU_ASSERT_FATAL(mount("over", mnt, "tmpfs", 0, "size=1m") == 0);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "mounted over"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, mnt));
	CU_ASSERT_STRING_EQUAL(top_fstype(mnt), "tmpfs");
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);
	CU_ASSERT_FATAL(umount2(mnt, 0) == 0);
	CU_ASSERT_STRING_EQUAL(top_fstype(mnt), "overlay");
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), 0);
	CU_ASSERT_STRING_EQUAL(top_fstype(mnt), "tmpfs");
	CU_ASSERT_EQUAL(umount2(mnt, 0), 0);
	assert_nothing_left();
	fakehost_fini(&fh);
}

/* Two containers on one scratch would share upper/ and work/, which
 * overlayfs leaves undefined: in one instance, through another name for
 * the folder, or under another state's overlay. */
static void test_same_scratch_refused(void)
{
	struct fakehost fh, other;
	const char *layers[] = { layer_base };
	const char *scratch = scratch_dir("one-scratch");
	const char *alias = fixture_path("alias-scratch");
	const char *run2_opts[] = { "run_root", fixture_path("run2"), NULL };
	struct lh_attach_request r1 = container_req("first", layers, 1, scratch);
	struct lh_attach_request r2 = container_req("second", layers, 1, scratch);
	struct lh_attach_result a, b;
	struct lh_error err = { 0 };

	CU_ASSERT_FATAL(symlink(scratch, alias) == 0);
	CU_ASSERT_FATAL(open_host(&fh) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &r1, &a, &err) == 0);
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &r2, &b, &err), -LH_EREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "first"));
	lh_error_clear(&err);
	r2.scratch_dir = alias;
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &r2, &b, &err), -LH_EREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "first"));
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);

	fakehost_init(&other, LH_OS_NONE);
	CU_ASSERT_FATAL(fakehost_open(&other, "hostlayer", run2_opts, &err) == 0);
	CU_ASSERT_EQUAL(other.backend->attach(other.priv, &r2, &b, &err), -LH_EREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, a.uvm_path));
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&other), 0);
	CU_ASSERT_FALSE(path_exists(fixture_path("run2")));
	fakehost_fini(&other);

	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, a.handle, &err), 0);
	CU_ASSERT_EQUAL(unlink(alias), 0);
	assert_nothing_left();
	fakehost_fini(&fh);
}

struct layer_dir {
	char path[LH_PATH_CAP];
};

static int layer_dir_visit(void *arg, const struct lh_attachment_info *info)
{
	if (info->read_only)
		snprintf(((struct layer_dir *)arg)->path, LH_PATH_CAP, "%s", info->uvm_path);
	return 0;
}

/* A layer mount still in use when its last container is released: the
 * release fails naming it, forgets nothing, and a later release (in this
 * process or after a restore) finishes the job. Meanwhile the container
 * cannot be attached again. */
static void test_release_busy_layer_resumes(void)
{
	struct fakehost fh, fresh;
	const char *layers[] = { layer_base };
	struct lh_attach_request req = container_req("c7", layers, 1, scratch_dir("c7"));
	struct lh_attach_result res, again;
	struct lh_error err = { 0 };
	struct layer_dir dir = { "" };
	uint8_t *blob = NULL;
	size_t len = 0;
	int fd;

	CU_ASSERT_FATAL(open_host(&fh) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &req, &res, &err) == 0);
	fh.backend->list(fh.priv, layer_dir_visit, &dir);
	CU_ASSERT_FATAL(is_mounted(dir.path));
	fd = open(dir.path, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(fd >= 0);

	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, res.handle, &err), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, dir.path));
	CU_ASSERT_FALSE(is_mounted(res.uvm_path));
	CU_ASSERT_TRUE(is_mounted(dir.path));
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &req, &again, &err), -LH_EREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "c7"));
	lh_error_clear(&err);

	/* a new process: what is left comes back with the state */
	CU_ASSERT_FATAL(fakehost_encode(&fh, &blob, &len, &err) == 0);
	fakehost_fini(&fh);
	CU_ASSERT_FATAL(open_host(&fresh) == 0);
	CU_ASSERT_FATAL(fakehost_decode(&fresh, blob, len, &err) == 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fresh), 2);
	CU_ASSERT_EQUAL(fresh.backend->release(fresh.priv, res.handle, &err), -EBUSY);
	lh_error_clear(&err);
	close(fd);
	CU_ASSERT_EQUAL(fresh.backend->release(fresh.priv, res.handle, &err), 0);
	if (err.code)
		fprintf(stderr, "release: %s\n", err.message);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fresh), 0);
	assert_nothing_left();
	fakehost_fini(&fresh);
	free(blob);
}

/* Two states (two instances) on one run root would stack their layer
 * mounts on the same folders, and one's unmount would take the other's:
 * the second is refused while the first holds mounts there. */
static void test_shared_run_root_refused(void)
{
	struct fakehost a, b;
	const char *two[] = { layer_base, layer_mid };
	const char *one[] = { layer_base };
	struct lh_attach_request ra = container_req("state-a", two, 2, scratch_dir("state-a"));
	struct lh_attach_request rb = container_req("state-b", one, 1, scratch_dir("state-b"));
	struct lh_attach_result x, y;
	struct lh_error err = { 0 };

	CU_ASSERT_FATAL(open_host(&a) == 0);
	CU_ASSERT_FATAL(open_host(&b) == 0);
	CU_ASSERT_FATAL(a.backend->attach(a.priv, &ra, &x, &err) == 0);
	CU_ASSERT_EQUAL(b.backend->attach(b.priv, &rb, &y, &err), -LH_EREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, run_root));
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&b), 0);
	CU_ASSERT_EQUAL(count_our_mounts(), 3);
	CU_ASSERT_EQUAL(a.backend->release(a.priv, x.handle, &err), 0);
	assert_nothing_left();
	/* the run root is free again */
	CU_ASSERT_FATAL(b.backend->attach(b.priv, &rb, &y, &err) == 0);
	CU_ASSERT_EQUAL(b.backend->release(b.priv, y.handle, &err), 0);
	assert_nothing_left();
	fakehost_fini(&b);
	fakehost_fini(&a);
}

/* The bytes of one gob message (its length prefix included) at data. */
static size_t gob_message_size(const uint8_t *data)
{
	size_t len = 0, n = 1;

	if (data[0] < 0x80)
		return 1 + data[0];
	n += (size_t)(0x100 - data[0]);
	for (size_t i = 1; i < n; i++)
		len = len << 8 | data[i];
	return n + len;
}

/* A state of serial version 1 recorded no mount identities: it loads, and
 * its mounts are told by path and type, unmounted all the same. */
static void test_decode_version_1(void)
{
	struct fakehost fh, old;
	const char *layers[] = { layer_base };
	struct lh_attach_request req = container_req("v1", layers, 1, scratch_dir("v1"));
	/* the v2 fields: a layer's mounted, id, major, minor; the same of the
	 * container (see codec.c) */
	static const bool drop[] = { [11] = 1, [12] = 1, [13] = 1, [14] = 1,
				     [20] = 1, [21] = 1, [22] = 1, [23] = 1 };
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	uint8_t *blob = NULL, *v1;
	size_t len = 0, v1_len = 0, msg = 0;

	CU_ASSERT_FATAL(open_host(&fh) == 0);
	CU_ASSERT_FATAL(fh.backend->attach(fh.priv, &req, &res, &err) == 0);
	CU_ASSERT_FATAL(fakehost_encode(&fh, &blob, &len, &err) == 0);
	fakehost_fini(&fh);
	v1 = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
	for (size_t at = 0, n; at < len; at += n, msg++) {
		n = gob_message_size(blob + at);
		if (msg >= sizeof(drop) || !drop[msg]) {
			memcpy(v1 + v1_len, blob + at, n);
			v1_len += n;
		}
	}
	CU_ASSERT_EQUAL(msg, 30);
	CU_ASSERT_FATAL(open_host(&old) == 0);
	CU_ASSERT_FATAL(fakehost_decode_version(&old, v1, v1_len, 1, &err) == 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&old), 2);
	CU_ASSERT_EQUAL(old.backend->release(old.priv, res.handle, &err), 0);
	if (err.code)
		fprintf(stderr, "release: %s\n", err.message);
	assert_nothing_left();
	fakehost_fini(&old);
	free(v1);
	free(blob);
}

/* ---- tests that run anywhere ------------------------------------------------- */

static void test_decode_version_and_garbage(void)
{
	struct fakehost fh;
	struct lh_error err = { 0 };
	/* "", next 0, a layer count far beyond the input */
	const uint8_t huge[] = { 0x03, 0x0c, 0x00, 0x00,
				 0x03, 0x06, 0x00, 0x00, 0x06, 0x06, 0x00, 0xfd,
				 0x01, 0x00, 0x00 };
	/* "", next handle 0, 0 layers, 1 container "x", relative mount path */
	const uint8_t relative[] = { 0x03, 0x0c, 0x00, 0x00,
				     0x03, 0x06, 0x00, 0x00, 0x03, 0x06, 0x00, 0x00,
				     0x03, 0x06, 0x00, 0x01, 0x04, 0x0c, 0x00, 0x01,
				     'x',  0x04, 0x0c, 0x00, 0x01, 'm' };
	uint8_t *blob = NULL;
	size_t len = 0;

	CU_ASSERT_FATAL(open_host(&fh) == 0);
	/* A serial version newer than the plugin's, as the host tells it. */
	CU_ASSERT_EQUAL(fakehost_decode_version(&fh, huge, sizeof(huge), 3, &err), -LH_EVERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "versions 1..2"));
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_decode(&fh, huge, sizeof(huge), &err), -LH_ECORRUPT);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_decode(&fh, relative, sizeof(relative), &err), -LH_ECORRUPT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not absolute"));
	lh_error_clear(&err);
	/* an empty instance encodes to: "", 0, 0, 0 */
	CU_ASSERT_FATAL(fakehost_encode(&fh, &blob, &len, &err) == 0);
	CU_ASSERT_TRUE(golden_check_bytes("hostlayer/empty.gob", blob, len));
	CU_ASSERT_EQUAL(fakehost_decode(&fh, blob, len, &err), 0);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, 1, &err), -LH_ENOTATTACHED);
	free(blob);
	fakehost_fini(&fh);
}

struct retry_op {
	int fail_with;
	int failures; /* fail this many times, then succeed */
	int calls;
};

static int retry_op_run(void *arg, struct lh_error *err)
{
	struct retry_op *op = arg;

	op->calls++;
	if (op->calls <= op->failures)
		return LH_FAIL(err, op->fail_with, "attempt %d failed", op->calls);
	return 0;
}

static void test_retry_loop(void)
{
	struct retry_op busy_twice = { .fail_with = -EBUSY, .failures = 2 };
	struct retry_op again = { .fail_with = -EAGAIN, .failures = 100 };
	struct retry_op invalid = { .fail_with = -EINVAL, .failures = 100 };
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(hostlayer_retry("op", retry_op_run, &busy_twice, 5, 1, &err), 0);
	CU_ASSERT_EQUAL(busy_twice.calls, 3);
	CU_ASSERT_EQUAL(err.code, 0);

	CU_ASSERT_EQUAL(hostlayer_retry("/dev/loop7", retry_op_run, &again, 5, 1, &err), -EAGAIN);
	CU_ASSERT_EQUAL(again.calls, 5);
	CU_ASSERT_EQUAL(err.code, -EAGAIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "/dev/loop7"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "after 5 attempts"));
	/* the last attempt's error, not the first */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "attempt 5 failed"));

	lh_error_clear(&err);
	CU_ASSERT_EQUAL(hostlayer_retry("op", retry_op_run, &invalid, 5, 1, &err), -EINVAL);
	CU_ASSERT_EQUAL(invalid.calls, 1);
	CU_ASSERT_STRING_EQUAL(err.message, "attempt 1 failed");
}

/* ---- main ---------------------------------------------------------------- */

struct test_entry {
	const char *name;
	CU_TestFunc fn;
	bool needs_root;
};

static const struct test_entry tests[] = {
	{ "overlay of vhd and directory layers", test_overlay_contents, true },
	{ "custom mount path", test_custom_mount_path, true },
	{ "two containers share layer mounts", test_shared_layer_counts, true },
	{ "concurrent identical attaches", test_concurrent_attach, true },
	{ "refusals leave nothing mounted", test_refusals, true },
	{ "busy release retries and changes nothing", test_release_busy_retry, true },
	{ "restore in a fresh host, then release", test_restore_then_release, true },
	{ "a scratch must be layerhost's own", test_scratch_must_be_ours, true },
	{ "unmount only what layerhost mounted", test_unmount_only_ours, true },
	{ "two containers on one scratch refused", test_same_scratch_refused, true },
	{ "a busy layer's release resumes", test_release_busy_layer_resumes, true },
	{ "two states on one run root refused", test_shared_run_root_refused, true },
	{ "a state of serial version 1 loads and unmounts", test_decode_version_1, true },
	{ "decode: version and garbage", test_decode_version_and_garbage, false },
	{ "retry loop", test_retry_loop, false },
};

int main(void)
{
	CU_pSuite suite;
	unsigned failures;
	bool skipped = false;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("hostlayer", suite_init, suite_cleanup);
	for (size_t i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++) {
		CU_pTest t = CU_add_test(suite, tests[i].name, tests[i].fn);

		if (t && tests[i].needs_root && geteuid() != 0) {
			CU_set_test_active(t, CU_FALSE);
			printf("SKIPPED: %s: needs root (mounts, loop devices); euid is %u\n",
			       tests[i].name, (unsigned)geteuid());
			skipped = true;
		}
	}
	/* skipped tests are reported as inactive, not as failures or passes */
	CU_set_fail_on_inactive(CU_FALSE);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (failures)
		return 1;
	/* ctest reports 77 as "skipped" (SKIP_RETURN_CODE) */
	return skipped ? 77 : 0;
}
