/*
 * test_scsi.c - the SCSI backend through its ops table, against the
 * recording fake host, real VHD/VHDX fixtures and golden files.
 */
#include "fakehost.h"
#include "fixtures.h"
#include "gob.h"

#include "../../plugins/scsi/scsi_private.h"

#include <cutest.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1024ull * 1024)

static const char *const small_slots[] = { "controllers", "2", "luns_per_controller", "2", NULL };

static void open_scsi(struct fakehost *fh, enum lh_uvm_os os, const char *const *options)
{
	struct lh_error err = { 0 };
	int rc;

	fakehost_init(fh, os);
	rc = fakehost_open(fh, "scsi", options, &err);
	if (rc)
		fprintf(stderr, "open scsi: %s\n", err.message);
	CU_ASSERT_FATAL(rc == 0);
}

/* A fresh fixed VHD under the fixture folder. */
static const char *vhd(const char *name)
{
	const char *path = fixture_path(name);

	if (access(path, F_OK) != 0)
		CU_ASSERT_FATAL(fixture_vhd(path, 1 * MiB) == 0);
	return path;
}

static int attach(struct fakehost *fh, struct lh_attach_request *req,
		  struct lh_attach_result *res, struct lh_error *err)
{
	memset(res, 0, sizeof(*res));
	lh_error_clear(err);
	return fh->backend->attach(fh->priv, req, res, err);
}

static int attach_path(struct fakehost *fh, const char *path, uint32_t flags,
		       struct lh_attach_result *res)
{
	struct lh_attach_request req = fakehost_request_init(path, flags);
	struct lh_error err;
	int rc = attach(fh, &req, res, &err);

	if (rc)
		fprintf(stderr, "attach %s: %s\n", path, err.message);
	return rc;
}

static int release(struct fakehost *fh, uint64_t handle)
{
	struct lh_error err = { 0 };

	return fh->backend->release(fh->priv, handle, &err);
}

/* Golden files must not depend on the fixture folder's random name. */
static char *scrub(const char *text)
{
	const char *dir = fixture_dir(), *p;
	size_t dlen = strlen(dir);
	char *out = malloc(strlen(text) + 1), *o = out;

	CU_ASSERT_FATAL(out != NULL);
	for (p = text; *p;) {
		if (strncmp(p, dir, dlen) == 0) {
			o += sprintf(o, "@F");
			p += dlen;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static void check_golden(const char *name, const char *text)
{
	char *scrubbed;

	CU_ASSERT_FATAL(text != NULL);
	scrubbed = scrub(text);
	CU_ASSERT(golden_check(name, scrubbed));
	free(scrubbed);
}

/* ---- slots ---------------------------------------------------------------- */

static void test_slot_order_and_exhaustion(void)
{
	struct fakehost fh;
	struct lh_attach_result res[4], extra;
	struct lh_attach_request req;
	struct lh_error err;
	const char *want[] = { "0:0", "0:1", "1:0", "1:1" };
	char name[32];

	open_scsi(&fh, LH_OS_LINUX, small_slots);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "slots/d%d.vhd", i);
		CU_ASSERT_FATAL(attach_path(&fh, vhd(name), 0, &res[i]) == 0);
		CU_ASSERT_STRING_EQUAL(res[i].location, want[i]);
		CU_ASSERT_EQUAL(res[i].controller, i / 2);
		CU_ASSERT_EQUAL(res[i].lun, i % 2);
		CU_ASSERT_EQUAL(res[i].device, -1);
		CU_ASSERT_EQUAL(res[i].handle, (uint64_t)i + 1);
		CU_ASSERT_FALSE(res[i].shared);
		CU_ASSERT_STRING_EQUAL(res[i].uvm_path, "");
	}
	CU_ASSERT_EQUAL(fh.n_requests, 4);
	req = fakehost_request_init(vhd("slots/d4.vhd"), 0);
	CU_ASSERT_EQUAL(attach(&fh, &req, &extra, &err), -LH_ENOLOCATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "2 controller(s) x 2 LUNs"));
	CU_ASSERT_EQUAL(fh.n_attempts, 4);

	/* A freed slot is the first free one again; handles are never reused. */
	CU_ASSERT_EQUAL(release(&fh, res[1].handle), 0);
	CU_ASSERT_EQUAL(attach_path(&fh, vhd("slots/d4.vhd"), 0, &extra), 0);
	CU_ASSERT_STRING_EQUAL(extra.location, "0:1");
	CU_ASSERT_EQUAL(extra.handle, 5);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 4);
	fakehost_fini(&fh);
}

static void test_no_controllers(void)
{
	static const char *const none[] = { "controllers", "0", NULL };
	struct fakehost fh;
	struct lh_attach_result res;
	struct lh_attach_request req;
	struct lh_error err;

	open_scsi(&fh, LH_OS_LINUX, none);
	req = fakehost_request_init(vhd("none/a.vhd"), 0);
	CU_ASSERT_EQUAL(attach(&fh, &req, &res, &err), -LH_ENOCONTROLLERS);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "a.vhd"));
	CU_ASSERT_EQUAL(fh.n_attempts, 0);
	fakehost_fini(&fh);
}

static void test_wcow_reserved_scratch_slot(void)
{
	struct fakehost fh;
	struct lh_attach_result a, b, scratch;
	struct lh_attach_request req;
	struct lh_error err;

	open_scsi(&fh, LH_OS_WINDOWS, NULL);
	CU_ASSERT_FATAL(attach_path(&fh, vhd("wcow/a.vhd"), 0, &a) == 0);
	CU_ASSERT_STRING_EQUAL(a.location, "0:1");
	req = fakehost_request_init(vhd("wcow/sandbox.vhd"), 0);
	req.controller = 0;
	req.lun = 0;
	CU_ASSERT_FATAL(attach(&fh, &req, &scratch, &err) == 0);
	CU_ASSERT_STRING_EQUAL(scratch.location, "0:0");

	req = fakehost_request_init(vhd("wcow/other.vhd"), 0);
	req.controller = 0;
	req.lun = 0;
	CU_ASSERT_EQUAL(attach(&fh, &req, &b, &err), -LH_ENOLOCATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "slot 0:0 is taken"));

	/* Released, 0:0 is still kept for the scratch. */
	CU_ASSERT_EQUAL(release(&fh, scratch.handle), 0);
	CU_ASSERT_EQUAL(attach_path(&fh, vhd("wcow/other.vhd"), 0, &b), 0);
	CU_ASSERT_STRING_EQUAL(b.location, "0:2");
	fakehost_fini(&fh);
}

/* ---- sharing ---------------------------------------------------------------- */

struct seen {
	uint32_t refs[8];
	char locations[8][16];
	char host_paths[8][256];
	size_t n;
};

static int record_visit(void *arg, const struct lh_attachment_info *info)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->refs[s->n] = info->refs;
		snprintf(s->locations[s->n], sizeof(s->locations[0]), "%s", info->location);
		snprintf(s->host_paths[s->n], sizeof(s->host_paths[0]), "%s", info->host_path);
	}
	s->n++;
	return 0;
}

static void test_sharing_and_double_release(void)
{
	struct fakehost fh;
	struct lh_attach_result a, b;
	struct lh_error err = { 0 };
	struct seen seen = { 0 };
	const char *layer = vhd("share/layer.vhd");

	open_scsi(&fh, LH_OS_LINUX, NULL);
	CU_ASSERT_FATAL(attach_path(&fh, layer, LH_ATTACH_READ_ONLY, &a) == 0);
	CU_ASSERT_FATAL(attach_path(&fh, layer, LH_ATTACH_READ_ONLY, &b) == 0);
	CU_ASSERT_TRUE(b.shared);
	CU_ASSERT_FALSE(a.shared);
	CU_ASSERT_STRING_EQUAL(a.location, b.location);
	CU_ASSERT_NOT_EQUAL(a.handle, b.handle);
	CU_ASSERT_EQUAL(fh.n_requests, 1);
	fh.backend->list(fh.priv, record_visit, &seen);
	CU_ASSERT_EQUAL(seen.n, 1);
	CU_ASSERT_EQUAL(seen.refs[0], 2);

	CU_ASSERT_EQUAL(release(&fh, a.handle), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 1); /* still used by b */
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, a.handle, &err), -LH_ENOTATTACHED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "handle 1"));
	CU_ASSERT_EQUAL(fh.n_requests, 1);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 1);
	CU_ASSERT_EQUAL(release(&fh, b.handle), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&fh, 1), "\"RequestType\":\"Remove\""));
	CU_ASSERT_EQUAL(release(&fh, b.handle), -LH_ENOTATTACHED);
	CU_ASSERT_EQUAL(release(&fh, 999), -LH_ENOTATTACHED);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	fakehost_fini(&fh);
}

static void test_ro_and_rw_never_merged(void)
{
	struct fakehost fh;
	struct lh_attach_result ro, rw;
	const char *disk = vhd("merge/disk.vhd");

	open_scsi(&fh, LH_OS_LINUX, NULL);
	CU_ASSERT_FATAL(attach_path(&fh, disk, LH_ATTACH_READ_ONLY, &ro) == 0);
	CU_ASSERT_FATAL(attach_path(&fh, disk, 0, &rw) == 0);
	CU_ASSERT_FALSE(rw.shared);
	CU_ASSERT_STRING_NOT_EQUAL(ro.location, rw.location);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&fh, 0), "\"ReadOnly\":true"));
	CU_ASSERT_PTR_NULL(strstr(fakehost_request(&fh, 1), "ReadOnly"));
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);
	fakehost_fini(&fh);
}

/* hcsshim #2278 and #804: a shared guest mount keeps its path and both counts. */
static void test_shared_mount_counts_and_path(void)
{
	struct fakehost fh;
	struct lh_attach_request req;
	struct lh_attach_result a, b, c;
	struct lh_error err;
	const char *layer = vhd("mount/layer.vhd");

	open_scsi(&fh, LH_OS_LINUX, NULL);
	req = fakehost_request_init(layer, LH_ATTACH_READ_ONLY | LH_ATTACH_GUEST_MOUNT);
	CU_ASSERT_FATAL(attach(&fh, &req, &a, &err) == 0);
	CU_ASSERT_STRING_EQUAL(a.uvm_path, "/run/mounts/m0");
	/* The second user names its own path; it gets the live mount's. */
	req.uvm_path = "/run/gcs/c/other/layer0";
	CU_ASSERT_FATAL(attach(&fh, &req, &b, &err) == 0);
	CU_ASSERT_TRUE(b.shared);
	CU_ASSERT_STRING_EQUAL(b.uvm_path, "/run/mounts/m0");
	CU_ASSERT_EQUAL(fh.mount_counter, 1);
	CU_ASSERT_EQUAL(fh.n_requests, 1);

	CU_ASSERT_EQUAL(release(&fh, b.handle), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 1);
	CU_ASSERT_EQUAL(release(&fh, a.handle), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&fh, 1),
				      "\"GuestRequest\":{\"RequestType\":\"Remove\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&fh, 1), "/run/mounts/m0"));

	/* Nothing leaked: the next user mounts afresh. */
	req.uvm_path = NULL;
	CU_ASSERT_FATAL(attach(&fh, &req, &c, &err) == 0);
	CU_ASSERT_FALSE(c.shared);
	CU_ASSERT_STRING_EQUAL(c.uvm_path, "/run/mounts/m1");
	CU_ASSERT_EQUAL(fh.n_requests, 3);

	/* A mount cannot ride on an attachment that was made without one. */
	req = fakehost_request_init(vhd("mount/plain.vhd"), LH_ATTACH_READ_ONLY);
	CU_ASSERT_FATAL(attach(&fh, &req, &a, &err) == 0);
	req.flags |= LH_ATTACH_GUEST_MOUNT;
	CU_ASSERT_EQUAL(attach(&fh, &req, &b, &err), -LH_EREFUSED);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);
	fakehost_fini(&fh);
}

static void test_failed_add_leaves_nothing(void)
{
	struct fakehost fh;
	struct lh_attach_request req;
	struct lh_attach_result res;
	struct lh_error err;

	open_scsi(&fh, LH_OS_LINUX, NULL);
	fh.fail_at = 1;
	req = fakehost_request_init(vhd("fail/a.vhd"), LH_ATTACH_READ_ONLY);
	CU_ASSERT_EQUAL(attach(&fh, &req, &res, &err), -LH_EDRIVER);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	CU_ASSERT_EQUAL(attach(&fh, &req, &res, &err), 0);
	CU_ASSERT_STRING_EQUAL(res.location, "0:0");
	CU_ASSERT_FALSE(res.shared);
	CU_ASSERT_EQUAL(res.handle, 1);

	/* A failed remove keeps the handle valid. */
	fh.fail_at = 3;
	CU_ASSERT_EQUAL(release(&fh, res.handle), -LH_EDRIVER);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 1);
	CU_ASSERT_EQUAL(release(&fh, res.handle), 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	fakehost_fini(&fh);
}

/* ---- in flight (hcsshim #1483) --------------------------------------------- */

/* A modify that parks until the test lets it go. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered;
	bool go;
	int (*real)(void *ctx, const char *json, struct lh_error *err);
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, NULL };

static int gated_modify(void *ctx, const char *json, struct lh_error *err)
{
	pthread_mutex_lock(&gate.lock);
	gate.entered++;
	pthread_cond_broadcast(&gate.cond);
	while (!gate.go)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
	return gate.real(ctx, json, err);
}

struct attach_job {
	struct fakehost *fh;
	const char *path;
	struct lh_attach_result res;
	struct lh_error err;
	int rc;
	bool done;
};

static void *attach_thread(void *arg)
{
	struct attach_job *job = arg;
	struct lh_attach_request req = fakehost_request_init(job->path, LH_ATTACH_READ_ONLY);

	job->rc = attach(job->fh, &req, &job->res, &job->err);
	__atomic_store_n(&job->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void run_in_flight(bool fail)
{
	struct fakehost fh;
	struct attach_job first = { 0 }, second = { 0 };
	pthread_t t1, t2;

	open_scsi(&fh, LH_OS_LINUX, NULL);
	gate.real = fh.services.modify;
	gate.entered = 0;
	gate.go = false;
	fh.services.modify = gated_modify;
	if (fail)
		fh.fail_at = 1;
	first.fh = second.fh = &fh;
	first.path = second.path = vhd("flight/layer.vhd");

	CU_ASSERT_FATAL(pthread_create(&t1, NULL, attach_thread, &first) == 0);
	pthread_mutex_lock(&gate.lock);
	while (gate.entered == 0)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
	CU_ASSERT_FATAL(pthread_create(&t2, NULL, attach_thread, &second) == 0);
	usleep(100 * 1000);
	/* The second attach neither returned early nor issued its own add. */
	CU_ASSERT_FALSE(__atomic_load_n(&second.done, __ATOMIC_SEQ_CST));
	CU_ASSERT_EQUAL(gate.entered, 1);

	pthread_mutex_lock(&gate.lock);
	gate.go = true;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);

	CU_ASSERT_EQUAL(gate.entered, 1);
	if (fail) {
		CU_ASSERT_EQUAL(first.rc, -LH_EDRIVER);
		CU_ASSERT_EQUAL(second.rc, -LH_EDRIVER);
		CU_ASSERT_STRING_EQUAL(first.err.message, second.err.message);
		CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	} else {
		CU_ASSERT_EQUAL(first.rc, 0);
		CU_ASSERT_EQUAL(second.rc, 0);
		CU_ASSERT_TRUE(second.res.shared);
		CU_ASSERT_STRING_EQUAL(first.res.location, second.res.location);
		CU_ASSERT_NOT_EQUAL(first.res.handle, second.res.handle);
		CU_ASSERT_EQUAL(fh.n_requests, 1);
	}
	fakehost_fini(&fh);
}

static void test_in_flight_success(void)
{
	run_in_flight(false);
}

static void test_in_flight_failure(void)
{
	run_in_flight(true);
}

/* Many threads, many disks: counts and slots stay consistent. */
static void test_concurrent_churn(void)
{
	enum { THREADS = 8 };
	struct fakehost fh;
	struct attach_job jobs[THREADS];
	pthread_t t[THREADS];
	char name[32];

	open_scsi(&fh, LH_OS_LINUX, NULL);
	for (int i = 0; i < THREADS; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].fh = &fh;
		snprintf(name, sizeof(name), "churn/d%d.vhd", i % 3);
		jobs[i].path = vhd(name);
	}
	for (int i = 0; i < THREADS; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, attach_thread, &jobs[i]) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL(jobs[i].rc, 0);
	CU_ASSERT_EQUAL(fh.n_requests, 3);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 3);
	for (int i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL(release(&fh, jobs[i].res.handle), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 6);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	fakehost_fini(&fh);
}

/* ---- disks ------------------------------------------------------------------- */

static void expect_refused(struct fakehost *fh, const char *path, const char *attach_type,
			   int code, const char *words)
{
	struct lh_attach_request req = fakehost_request_init(path, LH_ATTACH_READ_ONLY);
	struct lh_attach_result res;
	struct lh_error err;

	req.attach_type = attach_type;
	CU_ASSERT_EQUAL(attach(fh, &req, &res, &err), code);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, path));
	if (!strstr(err.message, words))
		fprintf(stderr, "expected \"%s\" in \"%s\"\n", words, err.message);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, words));
}

static void test_bad_disks(void)
{
	struct fakehost fh;
	struct lh_attach_result res;
	const char *bad_sum = fixture_path("bad/checksum.vhd");
	const char *truncated = fixture_path("bad/truncated.vhd");
	const char *text = fixture_path("bad/notes.txt");
	const char *dir = fixture_path("bad/folder/x");
	char *bytes;
	size_t len;

	open_scsi(&fh, LH_OS_LINUX, NULL);
	CU_ASSERT_FATAL(fixture_vhd(bad_sum, 1 * MiB) == 0);
	bytes = fixture_read(bad_sum, &len);
	CU_ASSERT_FATAL(bytes != NULL && len == 1 * MiB + 512);
	bytes[len - 512 + 64] ^= 0x5a; /* a checksum byte of the footer */
	CU_ASSERT_FATAL(fixture_write(bad_sum, bytes, len) == 0);
	CU_ASSERT_FATAL(fixture_write(truncated, bytes + len - 512, 300) == 0);
	free(bytes);
	bytes = calloc(1, 2048);
	CU_ASSERT_FATAL(bytes != NULL);
	for (size_t i = 0; i < 2048; i++)
		bytes[i] = "just some text, no footer\n"[i % 26];
	CU_ASSERT_FATAL(fixture_write(text, bytes, 2048) == 0);
	free(bytes);
	*strrchr((char *)dir, '/') = '\0';
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);

	expect_refused(&fh, fixture_path("bad/missing.vhd"), NULL, -ENOENT, "no such");
	expect_refused(&fh, dir, NULL, -LH_EBADDISK, "directory");
	expect_refused(&fh, text, NULL, -LH_EBADDISK, "conectix");
	expect_refused(&fh, bad_sum, NULL, -LH_EBADDISK, "checksum");
	expect_refused(&fh, truncated, NULL, -LH_EBADDISK, "too short");
	expect_refused(&fh, vhd("bad/good.vhd"), "PassThru", -LH_EBADDISK, "block device");
	expect_refused(&fh, vhd("bad/good.vhd"), "Iso", -EINVAL, "Iso");
	CU_ASSERT_EQUAL(fh.n_attempts, 0);
	CU_ASSERT_EQUAL(fh.n_grants, 0);

	/* Both VHDX and dynamic-free fixed VHD are accepted. */
	CU_ASSERT_FATAL(fixture_vhdx(fixture_path("bad/ok.vhdx"), 4 * MiB) == 0);
	CU_ASSERT_EQUAL(attach_path(&fh, fixture_path("bad/ok.vhdx"), 0, &res), 0);
	CU_ASSERT_EQUAL(fh.n_grants, 1);
	fakehost_fini(&fh);
}

static void test_access_grant(void)
{
	struct fakehost fh;
	struct lh_attach_request req;
	struct lh_attach_result res;
	struct lh_error err;
	const char *disk = vhd("grant/a.vhd");

	open_scsi(&fh, LH_OS_LINUX, NULL);
	req = fakehost_request_init(disk, 0);
	req.access = LH_ACCESS_THIS_VM;
	CU_ASSERT_EQUAL(attach(&fh, &req, &res, &err), 0);
	CU_ASSERT_EQUAL(fh.n_grants, 1);
	CU_ASSERT_EQUAL(fh.last_grant, LH_ACCESS_THIS_VM);
	CU_ASSERT_STRING_EQUAL(fh.last_grant_path, disk);
	fakehost_fini(&fh);
}

/* ---- request JSON ------------------------------------------------------------- */

static void test_lcow_requests_golden(void)
{
	static const char *const ro[] = { "ro" };
	struct fakehost fh;
	struct lh_attach_request req;
	struct lh_attach_result first, res;
	struct lh_error err;

	open_scsi(&fh, LH_OS_LINUX, NULL);
	CU_ASSERT_FATAL(attach_path(&fh, vhd("json/scratch.vhd"), 0, &first) == 0);
	check_golden("scsi/add_rw_lcow.json", fakehost_request(&fh, 0));
	req = fakehost_request_init(vhd("json/layer.vhd"),
				    LH_ATTACH_READ_ONLY | LH_ATTACH_GUEST_MOUNT);
	req.guest_options = ro;
	req.n_guest_options = 1;
	CU_ASSERT_FATAL(attach(&fh, &req, &res, &err) == 0);
	CU_ASSERT_STRING_EQUAL(res.uvm_path, "/run/mounts/m0");
	check_golden("scsi/add_lcow.json", fakehost_request(&fh, 1));
	CU_ASSERT_EQUAL(release(&fh, res.handle), 0);
	check_golden("scsi/remove_lcow.json", fakehost_request(&fh, 2));
	CU_ASSERT_EQUAL(release(&fh, first.handle), 0);
	check_golden("scsi/remove_rw_lcow.json", fakehost_request(&fh, 3));

	/* Controller 0 and LUN 0 are omitted, as Go's omitempty does. */
	req = fakehost_request_init(vhd("json/layer.vhd"), LH_ATTACH_READ_ONLY);
	req.uvm_path = "/run/gcs/c/abc/layer";
	CU_ASSERT_FATAL(attach(&fh, &req, &res, &err) == 0);
	CU_ASSERT_STRING_EQUAL(res.location, "0:0");
	check_golden("scsi/add_lcow_slot0.json", fakehost_request(&fh, 4));
	fakehost_fini(&fh);
}

static void test_wcow_requests_golden(void)
{
	struct fakehost fh;
	struct lh_attach_request req;
	struct lh_attach_result res;
	struct lh_error err;

	open_scsi(&fh, LH_OS_WINDOWS, NULL);
	req = fakehost_request_init(vhd("json/wcow.vhd"), LH_ATTACH_GUEST_MOUNT);
	CU_ASSERT_FATAL(attach(&fh, &req, &res, &err) == 0);
	CU_ASSERT_STRING_EQUAL(res.uvm_path, "C:\\mounts\\m0");
	CU_ASSERT_STRING_EQUAL(res.location, "0:1");
	check_golden("scsi/add_wcow.json", fakehost_request(&fh, 0));
	CU_ASSERT_EQUAL(release(&fh, res.handle), 0);
	check_golden("scsi/remove_wcow.json", fakehost_request(&fh, 1));
	fakehost_fini(&fh);
}

static void test_evd_requests_golden(void)
{
	struct fakehost fh;
	struct lh_attach_request req;
	struct lh_attach_result a, b;
	struct lh_error err;

	open_scsi(&fh, LH_OS_LINUX, NULL);
	req = fakehost_request_init("evd://space/C:\\disks\\data.vhdx", LH_ATTACH_READ_ONLY);
	CU_ASSERT_FATAL(attach(&fh, &req, &a, &err) == 0);
	check_golden("scsi/add_evd.json", fakehost_request(&fh, 0));
	CU_ASSERT_STRING_EQUAL(fh.last_grant_path, "C:\\disks\\data.vhdx");
	/* The same disk named by evd_type + path is the same config. */
	req = fakehost_request_init("C:\\disks\\data.vhdx", LH_ATTACH_READ_ONLY);
	req.evd_type = "space";
	CU_ASSERT_FATAL(attach(&fh, &req, &b, &err) == 0);
	CU_ASSERT_TRUE(b.shared);
	req = fakehost_request_init("evd://nopath", LH_ATTACH_READ_ONLY);
	CU_ASSERT_EQUAL(attach(&fh, &req, &b, &err), -EINVAL);
	fakehost_fini(&fh);
}

static void test_passthru_block_device(void)
{
	struct fakehost fh;
	struct lh_attach_request req;
	struct lh_attach_result res;
	struct lh_disk_info info;
	struct lh_error err = { 0 };

	open_scsi(&fh, LH_OS_LINUX, NULL);
	if (fh.services.probe_disk(&fh, "/dev/loop0", &info, &err) != 0) {
		/* Say so rather than pass silently. */
		fprintf(stderr, "test_passthru_block_device: no usable block device (%s)\n",
			err.message);
		CU_FAIL("no block device to test PassThru with");
		fakehost_fini(&fh);
		return;
	}
	req = fakehost_request_init("/dev/loop0", 0);
	req.attach_type = "PassThru";
	CU_ASSERT_EQUAL(attach(&fh, &req, &res, &err), 0);
	check_golden("scsi/add_passthru.json", fakehost_request(&fh, 0));
	/* A block device is not a VirtualDisk. */
	req.attach_type = NULL;
	CU_ASSERT_EQUAL(attach(&fh, &req, &res, &err), -LH_EBADDISK);
	fakehost_fini(&fh);
}

/* ---- gob --------------------------------------------------------------------- */

/* Go 1.19 encoding/gob of hcsshim's SCSIMount, serial version 1. */
static const uint8_t golden_v1[] = {
	0x03, 0x06, 0x00, 0x01,
	0x14, 0x0c, 0x00, 0x11, 'C', ':', '\\', 'a', '\\', 's', 'a', 'n', 'd', 'b', 'o', 'x',
	'.', 'v', 'h', 'd', 'x',
	0x0a, 0x0c, 0x00, 0x07, 'C', ':', '\\', 'c', '\\', 'm', '0',
	0x03, 0x04, 0x00, 0x00,
	0x03, 0x04, 0x00, 0x02,
	0x03, 0x02, 0x00, 0x01,
	0x0e, 0x0c, 0x00, 0x0b, 'V', 'i', 'r', 't', 'u', 'a', 'l', 'D', 'i', 's', 'k',
};

static void test_record_golden_both_ways(void)
{
	struct scsi_record rec = {
		.serial_version = 1,
		.host_path = "C:\\a\\sandbox.vhdx",
		.uvm_path = "C:\\c\\m0",
		.controller = 0,
		.lun = 1,
		.read_only = true,
		.attach_type = "VirtualDisk",
	};
	struct lh_gob_encoder enc;
	struct lh_gob_decoder dec;
	struct scsi_record back;
	struct lh_error err = { 0 };

	lh_gob_encoder_init(&enc);
	CU_ASSERT_FATAL(scsi_record_encode(&lh_gob_codec, &enc, &rec) == 0);
	CU_ASSERT_EQUAL(enc.len, sizeof(golden_v1));
	CU_ASSERT(enc.len == sizeof(golden_v1) && memcmp(enc.data, golden_v1, enc.len) == 0);
	lh_gob_encoder_free(&enc);

	lh_gob_decoder_init(&dec, golden_v1, sizeof(golden_v1), 0);
	CU_ASSERT_FATAL(scsi_record_decode(&lh_gob_codec, &dec, &back, &err) == 0);
	CU_ASSERT_EQUAL(lh_gob_remaining(&dec), 0);
	CU_ASSERT_EQUAL(back.serial_version, 1);
	CU_ASSERT_STRING_EQUAL(back.host_path, "C:\\a\\sandbox.vhdx");
	CU_ASSERT_STRING_EQUAL(back.uvm_path, "C:\\c\\m0");
	CU_ASSERT_EQUAL(back.controller, 0);
	CU_ASSERT_EQUAL(back.lun, 1);
	CU_ASSERT_TRUE(back.read_only);
	CU_ASSERT_STRING_EQUAL(back.attach_type, "VirtualDisk");
	CU_ASSERT_STRING_EQUAL(back.evd_type, "");
	scsi_record_free(&back);

	/* Version 2 is version 1 plus the EVD type string. */
	rec.serial_version = 2;
	rec.attach_type = "ExtensibleVirtualDisk";
	rec.evd_type = "space";
	lh_gob_encoder_init(&enc);
	CU_ASSERT_FATAL(scsi_record_encode(&lh_gob_codec, &enc, &rec) == 0);
	CU_ASSERT(golden_check_bytes("scsi/record_v2.gob", enc.data, enc.len));
	lh_gob_decoder_init(&dec, enc.data, enc.len, 0);
	CU_ASSERT_FATAL(scsi_record_decode(&lh_gob_codec, &dec, &back, &err) == 0);
	CU_ASSERT_EQUAL(back.serial_version, 2);
	CU_ASSERT_STRING_EQUAL(back.evd_type, "space");
	scsi_record_free(&back);
	lh_gob_encoder_free(&enc);
}

static void test_record_version_refused(void)
{
	uint8_t bytes[sizeof(golden_v1)];
	struct lh_gob_decoder dec;
	struct scsi_record back;
	struct lh_error err = { 0 };

	memcpy(bytes, golden_v1, sizeof(bytes));
	bytes[3] = 3;
	lh_gob_decoder_init(&dec, bytes, sizeof(bytes), 0);
	CU_ASSERT_EQUAL(scsi_record_decode(&lh_gob_codec, &dec, &back, &err), -LH_EVERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "2"));
	CU_ASSERT_PTR_NULL(back.host_path);
}

static uint8_t *encode_state(struct fakehost *fh, size_t *len)
{
	struct lh_error err = { 0 };
	uint8_t *data = NULL;

	CU_ASSERT_FATAL(fakehost_encode(fh, &data, len, &err) == 0);
	return data;
}

static void test_state_roundtrip(void)
{
	static const char *const opts[] = { "discard" };
	struct fakehost fh, back;
	struct lh_attach_request req;
	struct lh_attach_result a, b, c, d;
	struct lh_error err = { 0 };
	uint8_t *data, *again;
	size_t len, len2;

	open_scsi(&fh, LH_OS_LINUX, NULL);
	req = fakehost_request_init("evd://space/C:\\l\\layer.vhdx",
				    LH_ATTACH_READ_ONLY | LH_ATTACH_GUEST_MOUNT);
	req.guest_options = opts;
	req.n_guest_options = 1;
	CU_ASSERT_FATAL(attach(&fh, &req, &a, &err) == 0);
	CU_ASSERT_FATAL(attach(&fh, &req, &b, &err) == 0);
	req = fakehost_request_init("evd://space/C:\\s\\sandbox.vhdx", 0);
	CU_ASSERT_FATAL(attach(&fh, &req, &c, &err) == 0);
	CU_ASSERT_EQUAL(release(&fh, a.handle), 0);
	data = encode_state(&fh, &len);
	CU_ASSERT(golden_check_bytes("scsi/state_v2.gob", data, len));

	open_scsi(&back, LH_OS_LINUX, NULL);
	CU_ASSERT_EQUAL(fakehost_decode(&back, data, len, &err), 0);
	CU_ASSERT_EQUAL(back.n_attempts, 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&back), 2);
	again = encode_state(&back, &len2);
	CU_ASSERT(len == len2 && memcmp(data, again, len) == 0);
	/* Handles survive; the next one continues the sequence. */
	CU_ASSERT_EQUAL(release(&back, a.handle), -LH_ENOTATTACHED);
	req = fakehost_request_init("evd://space/C:\\l\\layer.vhdx", LH_ATTACH_READ_ONLY);
	CU_ASSERT_FATAL(attach(&back, &req, &d, &err) == 0);
	CU_ASSERT_TRUE(d.shared);
	CU_ASSERT_EQUAL(d.handle, 4);
	CU_ASSERT_STRING_EQUAL(d.uvm_path, "/run/mounts/m0");
	CU_ASSERT_EQUAL(release(&back, b.handle), 0);
	CU_ASSERT_EQUAL(release(&back, d.handle), 0);
	/* The remove names the disk only (hcsshim RemoveSCSI): no options. */
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&back, 0), "\"MountPath\":\"/run/mounts/m"));
	CU_ASSERT_PTR_NULL(strstr(fakehost_request(&back, 0), "Options"));
	CU_ASSERT_EQUAL(release(&back, c.handle), 0);
	CU_ASSERT_EQUAL(back.n_requests, 2);

	/* Decode only into an empty instance. */
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_decode(&fh, data, len, &err), -LH_EREFUSED);
	free(again);
	free(data);
	fakehost_fini(&back);
	fakehost_fini(&fh);
}

static void put_header(struct lh_gob_encoder *enc, uint64_t next, uint64_t count)
{
	lh_gob_put_uint(enc, next);
	lh_gob_put_uint(enc, count);
}

static void test_state_v1_and_versions(void)
{
	struct fakehost fh;
	struct lh_gob_encoder enc;
	struct lh_error err = { 0 };
	struct seen seen = { 0 };

	/* A version 1 blob around hcsshim's version 1 record. */
	open_scsi(&fh, LH_OS_WINDOWS, NULL);
	lh_gob_encoder_init(&enc);
	put_header(&enc, 8, 1);
	{
		size_t at = enc.len;
		uint8_t *grown = realloc(enc.data, at + sizeof(golden_v1));

		CU_ASSERT_FATAL(grown != NULL);
		memcpy(grown + at, golden_v1, sizeof(golden_v1));
		enc.data = grown;
		enc.len = enc.cap = at + sizeof(golden_v1);
	}
	lh_gob_put_uint(&enc, 0); /* no guest options */
	lh_gob_put_uint(&enc, 1);
	lh_gob_put_uint(&enc, 7);
	CU_ASSERT_EQUAL(fakehost_decode_version(&fh, enc.data, enc.len, 1, &err), 0);
	fh.backend->list(fh.priv, record_visit, &seen);
	CU_ASSERT_EQUAL(seen.n, 1);
	CU_ASSERT_STRING_EQUAL(seen.locations[0], "0:1");
	CU_ASSERT_EQUAL(release(&fh, 7), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&fh, 0), "\"ContainerPath\":\"C:\\\\c\\\\m0\""));
	lh_gob_encoder_free(&enc);
	fakehost_fini(&fh);

	/* A newer blob is refused with both numbers. */
	open_scsi(&fh, LH_OS_LINUX, NULL);
	lh_gob_encoder_init(&enc);
	put_header(&enc, 1, 0);
	CU_ASSERT_EQUAL(fakehost_decode_version(&fh, enc.data, enc.len, 3, &err), -LH_EVERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "version 3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "build's 2"));
	lh_gob_encoder_free(&enc);
	fakehost_fini(&fh);
}

/* Every truncation and every single-byte corruption of a real blob fails
 * cleanly or decodes to something consistent; never a crash or a leak. */
static void test_state_garbage(void)
{
	struct fakehost fh, back;
	struct lh_attach_request req;
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	uint8_t *data;
	size_t len;

	open_scsi(&fh, LH_OS_LINUX, NULL);
	req = fakehost_request_init("evd://t/x", LH_ATTACH_READ_ONLY | LH_ATTACH_GUEST_MOUNT);
	CU_ASSERT_FATAL(attach(&fh, &req, &res, &err) == 0);
	CU_ASSERT_FATAL(attach(&fh, &req, &res, &err) == 0);
	data = encode_state(&fh, &len);
	for (size_t cut = 0; cut < len; cut++) {
		open_scsi(&back, LH_OS_LINUX, NULL);
		lh_error_clear(&err);
		CU_ASSERT_NOT_EQUAL(fakehost_decode(&back, data, cut, &err), 0);
		CU_ASSERT_EQUAL(fakehost_count_attachments(&back), 0);
		fakehost_fini(&back);
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t saved = data[i];

		data[i] ^= 0xa5;
		open_scsi(&back, LH_OS_LINUX, NULL);
		lh_error_clear(&err);
		if (fakehost_decode(&back, data, len, &err) != 0)
			CU_ASSERT_EQUAL(fakehost_count_attachments(&back), 0);
		fakehost_fini(&back);
		data[i] = saved;
	}
	free(data);
	fakehost_fini(&fh);
}

/* ---- clone -------------------------------------------------------------------- */

static void test_clone(void)
{
	struct fakehost fh, clone;
	struct lh_attach_request req;
	struct lh_attach_result scratch, layer, data_disk;
	struct lh_clone_request creq = { .scratch_dir = fixture_path("clone/c1/scratch") };
	struct lh_error err = { 0 };
	const char *scratch_src = fixture_path("clone/tpl/sandbox.vhdx");
	const char *scratch_copy = fixture_path("clone/c1/scratch/sandbox.vhdx");
	const char *data_copy = fixture_path("clone/c1/clone-mount-0-2/data.vhd");
	struct seen seen = { 0 };
	char *doc;

	CU_ASSERT_FATAL(fixture_vhdx(scratch_src, 8 * MiB) == 0);
	open_scsi(&fh, LH_OS_LINUX, NULL);
	req = fakehost_request_init(scratch_src, 0);
	req.controller = 0;
	req.lun = 0;
	CU_ASSERT_FATAL(attach(&fh, &req, &scratch, &err) == 0);
	CU_ASSERT_FATAL(attach_path(&fh, vhd("clone/tpl/layer.vhd"),
				    LH_ATTACH_READ_ONLY | LH_ATTACH_GUEST_MOUNT, &layer) == 0);
	CU_ASSERT_FATAL(fixture_sh("head -c 4096 /dev/urandom | dd of='%s' conv=notrunc "
				   "status=none", vhd("clone/tpl/data.vhd")) == 0);
	CU_ASSERT_FATAL(attach_path(&fh, vhd("clone/tpl/data.vhd"), 0, &data_disk) == 0);
	CU_ASSERT_STRING_EQUAL(data_disk.location, "0:2");

	fakehost_init(&clone, LH_OS_LINUX);
	fakehost_enable_document(&clone);
	CU_ASSERT_FATAL(fakehost_open_like(&clone, &fh, NULL, &err) == 0);
	CU_ASSERT_FATAL(fh.backend->clone(fh.priv, clone.priv, &creq, &err) == 0);

	CU_ASSERT_TRUE(fixture_files_equal(scratch_src, scratch_copy));
	CU_ASSERT_TRUE(fixture_files_equal(vhd("clone/tpl/data.vhd"), data_copy));
	CU_ASSERT_EQUAL(access(fixture_path("clone/c1/clone-mount-0-1"), F_OK), -1);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&clone), 3);
	CU_ASSERT_EQUAL(clone.n_requests, 0);
	doc = cJSON_PrintUnformatted(clone.document);
	check_golden("scsi/clone_document.json", doc);
	free(doc);

	/* Its writable disks are the copies, the read-only one the template's. */
	clone.backend->list(clone.priv, record_visit, &seen);
	CU_ASSERT_FATAL(seen.n == 3);
	CU_ASSERT_STRING_EQUAL(seen.host_paths[0], scratch_copy);
	CU_ASSERT_STRING_EQUAL(seen.host_paths[1], fixture_path("clone/tpl/layer.vhd"));
	CU_ASSERT_STRING_EQUAL(seen.host_paths[2], data_copy);
	/* The clone owns the same handles. */
	CU_ASSERT_EQUAL(release(&clone, data_disk.handle), 0);
	CU_ASSERT_STRING_EQUAL(fakehost_request(&clone, 0),
			       "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/0/Attachments/2\","
			       "\"RequestType\":\"Remove\",\"GuestRequest\":{\"RequestType\":\"Remove\","
			       "\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{\"Lun\":2}}}");
	CU_ASSERT_EQUAL(release(&clone, layer.handle), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&clone, 1), "/run/mounts/m0"));
	CU_ASSERT_EQUAL(release(&clone, scratch.handle), 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&clone), 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 3);
	fakehost_fini(&clone);
	fakehost_fini(&fh);
}

static void test_clone_failed_copy(void)
{
	struct fakehost fh, clone;
	struct lh_attach_request req;
	struct lh_attach_result res;
	struct lh_clone_request creq = { .scratch_dir = fixture_path("clone/c2/scratch") };
	struct lh_error err = { 0 };
	char *doc;

	open_scsi(&fh, LH_OS_LINUX, NULL);
	req = fakehost_request_init(vhd("clone/tpl2/sandbox.vhd"), 0);
	req.controller = 0;
	req.lun = 0;
	CU_ASSERT_FATAL(attach(&fh, &req, &res, &err) == 0);
	CU_ASSERT_FATAL(attach_path(&fh, vhd("clone/tpl2/a.vhd"), 0, &res) == 0);
	CU_ASSERT_FATAL(attach_path(&fh, vhd("clone/tpl2/b.vhd"), 0, &res) == 0);

	fakehost_init(&clone, LH_OS_LINUX);
	fakehost_enable_document(&clone);
	CU_ASSERT_FATAL(fakehost_open_like(&clone, &fh, NULL, &err) == 0);
	clone.fail_copy_at = 3;
	CU_ASSERT_EQUAL(fh.backend->clone(fh.priv, clone.priv, &creq, &err), -ENOSPC);
	CU_ASSERT_EQUAL(clone.n_copies, 3);
	/* What the clone made is gone: copies, their folders, the scratch folder. */
	CU_ASSERT_EQUAL(access(fixture_path("clone/c2/scratch"), F_OK), -1);
	CU_ASSERT_EQUAL(access(fixture_path("clone/c2/clone-mount-0-1"), F_OK), -1);
	CU_ASSERT_EQUAL(access(fixture_path("clone/c2/clone-mount-0-2"), F_OK), -1);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&clone), 0);
	doc = cJSON_PrintUnformatted(clone.document);
	CU_ASSERT_STRING_EQUAL(doc, "{}");
	free(doc);
	fakehost_fini(&clone);
	fakehost_fini(&fh);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "slot order and exhaustion", test_slot_order_and_exhaustion },
		{ "no controllers", test_no_controllers },
		{ "WCOW reserved 0:0", test_wcow_reserved_scratch_slot },
		{ "sharing and double release", test_sharing_and_double_release },
		{ "RO and RW never merged", test_ro_and_rw_never_merged },
		{ "shared mount counts and path (#2278, #804)", test_shared_mount_counts_and_path },
		{ "failed add and remove", test_failed_add_leaves_nothing },
		{ "in-flight wait, success (#1483)", test_in_flight_success },
		{ "in-flight wait, failure (#1483)", test_in_flight_failure },
		{ "concurrent churn", test_concurrent_churn },
		{ "bad disks", test_bad_disks },
		{ "access grant", test_access_grant },
		{ "LCOW request JSON", test_lcow_requests_golden },
		{ "WCOW request JSON", test_wcow_requests_golden },
		{ "EVD request JSON", test_evd_requests_golden },
		{ "PassThru block device", test_passthru_block_device },
		{ "SCSIMount gob golden both ways", test_record_golden_both_ways },
		{ "SCSIMount version refused", test_record_version_refused },
		{ "state roundtrip", test_state_roundtrip },
		{ "state v1 and versions", test_state_v1_and_versions },
		{ "state garbage", test_state_garbage },
		{ "clone", test_clone },
		{ "clone failed copy", test_clone_failed_copy },
		{ NULL, NULL },
	};

	return cutest_run("scsi", cases, fixture_cleanup);
}
