/* test_vsmb.c - the VSMB backend through its ops table and a fake host. */
#include "fakehost.h"
#include "fixtures.h"
#include "gob.h"
#include "vsmb.h"

#include <cutest.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Golden requests name host paths: keep them at a fixed place. */
#define G "/tmp/lh-vsmb-golden"
#define PREFIX "\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\"

static const char *const no_dm[] = { "no_direct_map", "true", NULL };

static void open_vsmb(struct fakehost *fh, enum lh_uvm_os os, const char *const *options)
{
	struct lh_error err = { 0 };
	int rc;

	fakehost_init(fh, os);
	rc = fakehost_open(fh, "vsmb", options, &err);
	if (rc)
		fprintf(stderr, "open: %s\n", err.message);
	CU_ASSERT_FATAL(rc == 0);
}

static int attach(struct fakehost *fh, const char *path, uint32_t flags,
		  struct lh_attach_result *res, struct lh_error *err)
{
	struct lh_attach_request req = fakehost_request_init(path, flags);

	lh_error_clear(err);
	return fh->backend->attach(fh->priv, &req, res, err);
}

static uint64_t attach_ok(struct fakehost *fh, const char *path, uint32_t flags,
			  struct lh_attach_result *res)
{
	struct lh_error err;
	int rc = attach(fh, path, flags, res, &err);

	if (rc)
		fprintf(stderr, "attach %s: %d %s\n", path, rc, err.message);
	CU_ASSERT_FATAL(rc == 0);
	return res->handle;
}

static int release(struct fakehost *fh, uint64_t handle)
{
	struct lh_error err = { 0 };

	return fh->backend->release(fh->priv, handle, &err);
}

/* ---- list helpers -------------------------------------------------------- */

struct listed {
	size_t n;
	char host_path[8][LH_PATH_CAP];
	char uvm_path[8][LH_PATH_CAP];
	char location[8][32];
	uint32_t refs[8];
	bool read_only[8];
	char note[8][128];
};

static int collect(void *arg, const struct lh_attachment_info *info)
{
	struct listed *l = arg;

	if (l->n < 8) {
		snprintf(l->host_path[l->n], LH_PATH_CAP, "%s", info->host_path);
		snprintf(l->uvm_path[l->n], LH_PATH_CAP, "%s", info->uvm_path);
		snprintf(l->location[l->n], 32, "%s", info->location);
		l->refs[l->n] = info->refs;
		l->read_only[l->n] = info->read_only;
		snprintf(l->note[l->n], 128, "%s", info->note ? info->note : "");
	}
	l->n++;
	return 0;
}

static void list(struct fakehost *fh, struct listed *l)
{
	memset(l, 0, sizeof(*l));
	CU_ASSERT(fh->backend->list(fh->priv, collect, l) == 0);
}

static const char *dir(const char *name)
{
	const char *p = fixture_path(name);

	mkdir(p, 0755);
	return p;
}

/* ---- naming, keys and counts ------------------------------------------- */

static void test_naming(void)
{
	struct fakehost fh;
	struct lh_attach_result res;
	char path[64], want[256];

	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	attach_ok(&fh, G "/layer1", LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, &res);
	CU_ASSERT_EQUAL(res.handle, 1);
	CU_ASSERT_FALSE(res.shared);
	CU_ASSERT_STRING_EQUAL(res.location, "s1");
	CU_ASSERT_STRING_EQUAL(res.uvm_path, PREFIX "s1");
	CU_ASSERT_EQUAL(res.controller, -1);
	CU_ASSERT_EQUAL(res.lun, -1);
	CU_ASSERT_EQUAL(res.device, -1);
	CU_ASSERT_EQUAL_FATAL(fh.n_requests, 1);
	CU_ASSERT(golden_check("vsmb/add_layer.json", fakehost_request(&fh, 0)));
	/* Trailing slashes and dots name the same folder. */
	attach_ok(&fh, G "/./layer1/", LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, &res);
	CU_ASSERT_EQUAL(res.handle, 2);
	CU_ASSERT_TRUE(res.shared);
	CU_ASSERT_STRING_EQUAL(res.location, "s1");
	CU_ASSERT_EQUAL(fh.n_requests, 1);
	/* The counter is hex: share 10 is "sa", share 16 "s10". */
	for (int i = 2; i <= 16; i++) {
		snprintf(path, sizeof(path), "d%d", i);
		attach_ok(&fh, dir(path), LH_ATTACH_READ_ONLY, &res);
		snprintf(want, sizeof(want), "s%x", i);
		CU_ASSERT_STRING_EQUAL(res.location, want);
		snprintf(want, sizeof(want), PREFIX "s%x", i);
		CU_ASSERT_STRING_EQUAL(res.uvm_path, want);
		CU_ASSERT_EQUAL(res.handle, (uint64_t)i + 1);
	}
	CU_ASSERT_EQUAL(fh.n_requests, 16);
	fakehost_fini(&fh);
}

static void test_ro_rw_keys_and_counts(void)
{
	struct fakehost fh;
	struct lh_attach_result res;
	struct listed l;
	const char *d = dir("keys");
	uint64_t ro1, ro2, rw;

	open_vsmb(&fh, LH_OS_WINDOWS, no_dm);
	ro1 = attach_ok(&fh, d, LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s1");
	rw = attach_ok(&fh, d, 0, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s2");
	CU_ASSERT_FALSE(res.shared);
	ro2 = attach_ok(&fh, d, LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s1");
	CU_ASSERT_TRUE(res.shared);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	list(&fh, &l);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_EQUAL(l.refs[0], 2);
	CU_ASSERT_TRUE(l.read_only[0]);
	CU_ASSERT_EQUAL(l.refs[1], 1);
	CU_ASSERT_FALSE(l.read_only[1]);
	CU_ASSERT_STRING_EQUAL(l.host_path[0], d);

	/* The first release only drops a reference. */
	CU_ASSERT_EQUAL(release(&fh, ro1), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	CU_ASSERT_EQUAL(release(&fh, ro1), -LH_ENOTATTACHED);
	CU_ASSERT_EQUAL(release(&fh, 999), -LH_ENOTATTACHED);
	CU_ASSERT_EQUAL(release(&fh, 0), -LH_ENOTATTACHED);
	list(&fh, &l);
	CU_ASSERT_EQUAL(l.refs[0], 1);
	CU_ASSERT_EQUAL(release(&fh, ro2), 0);
	CU_ASSERT_EQUAL_FATAL(fh.n_requests, 3);
	CU_ASSERT_STRING_EQUAL(fakehost_request(&fh, 2),
			       "{\"ResourcePath\":\"VirtualMachine/Devices/VirtualSmb/Shares\","
			       "\"RequestType\":\"Remove\",\"Settings\":{\"Name\":\"s1\"}}");
	CU_ASSERT(golden_check("vsmb/remove.json", fakehost_request(&fh, 2)));
	CU_ASSERT_EQUAL(release(&fh, rw), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 4);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	/* Handles are never reused; the next share takes the next name. */
	attach_ok(&fh, d, LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_EQUAL(res.handle, 4);
	CU_ASSERT_STRING_EQUAL(res.location, "s3");
	fakehost_fini(&fh);
}

/* ---- file shares ---------------------------------------------------------- */

static void test_file_shares(void)
{
	struct fakehost fh;
	struct lh_attach_result res;
	struct listed l;
	uint64_t a1, a2, b, dir_handle;

	open_vsmb(&fh, LH_OS_WINDOWS, no_dm);
	a1 = attach_ok(&fh, G "/files/a.txt", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s1");
	CU_ASSERT_STRING_EQUAL(res.uvm_path, PREFIX "s1\\a.txt");
	CU_ASSERT_EQUAL_FATAL(fh.n_requests, 1);
	CU_ASSERT(golden_check("vsmb/add_file.json", fakehost_request(&fh, 0)));
	b = attach_ok(&fh, G "/files/b.txt", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s1");
	CU_ASSERT_STRING_EQUAL(res.uvm_path, PREFIX "s1\\b.txt");
	CU_ASSERT_FALSE(res.shared);
	CU_ASSERT_EQUAL_FATAL(fh.n_requests, 2);
	CU_ASSERT(golden_check("vsmb/update_file.json", fakehost_request(&fh, 1)));
	/* The same file again: no request. */
	a2 = attach_ok(&fh, G "/files/a.txt", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_TRUE(res.shared);
	CU_ASSERT_STRING_EQUAL(res.uvm_path, PREFIX "s1\\a.txt");
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	/* The folder itself is a different (directory) share. */
	dir_handle = attach_ok(&fh, G "/files", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s2");
	CU_ASSERT_EQUAL(fh.n_requests, 3);
	CU_ASSERT(strstr(fakehost_request(&fh, 2), "AllowedFiles") == NULL);

	list(&fh, &l);
	CU_ASSERT_EQUAL_FATAL(l.n, 3);
	CU_ASSERT_STRING_EQUAL(l.host_path[0], G "/files/a.txt");
	CU_ASSERT_STRING_EQUAL(l.uvm_path[0], PREFIX "s1\\a.txt");
	CU_ASSERT_EQUAL(l.refs[0], 2);
	CU_ASSERT_STRING_EQUAL(l.host_path[1], G "/files/b.txt");
	CU_ASSERT_EQUAL(l.refs[1], 1);
	CU_ASSERT_STRING_EQUAL(l.host_path[2], G "/files");

	/* The share goes with its last handle, whichever file it holds. */
	CU_ASSERT_EQUAL(release(&fh, b), 0);
	CU_ASSERT_EQUAL(release(&fh, a1), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 3);
	CU_ASSERT_EQUAL(release(&fh, a2), 0);
	CU_ASSERT_EQUAL_FATAL(fh.n_requests, 4);
	CU_ASSERT(strstr(fakehost_request(&fh, 3), "\"Remove\",\"Settings\":{\"Name\":\"s1\"}") != NULL);
	CU_ASSERT_EQUAL(release(&fh, dir_handle), 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	fakehost_fini(&fh);
}

/* ---- option sets ---------------------------------------------------------- */

static void test_option_sets(void)
{
	struct fakehost fh;
	struct lh_attach_result res;
	static const char *const keep_dm[] = { "no_direct_map", "false", NULL };

	/* Writable directory, direct map allowed: every option false. */
	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	attach_ok(&fh, G "/layer2", 0, &res);
	CU_ASSERT(golden_check("vsmb/add_writable.json", fakehost_request(&fh, 0)));
	CU_ASSERT(strstr(fakehost_request(&fh, 0), "\"Options\":{}") != NULL);
	/* Read-only, not a layer: no backup privilege. */
	attach_ok(&fh, G "/layer1", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT(strstr(fakehost_request(&fh, 1),
			 "\"Options\":{\"ReadOnly\":true,\"ShareRead\":true,\"CacheIo\":true,"
			 "\"PseudoOplocks\":true}") != NULL);
	fakehost_fini(&fh);

	/* The INI option, the UVM's setting and physical backing each turn
	 * direct mapping off. */
	for (int way = 0; way < 3; way++) {
		fakehost_init(&fh, LH_OS_WINDOWS);
		fh.uvm.no_direct_map = way == 1;
		fh.uvm.physically_backed = way == 2;
		CU_ASSERT_FATAL(fakehost_open(&fh, "vsmb", way == 0 ? no_dm : keep_dm, NULL) == 0);
		attach_ok(&fh, G "/layer1", LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, &res);
		CU_ASSERT(golden_check("vsmb/add_layer_nodirectmap.json", fakehost_request(&fh, 0)));
		fakehost_fini(&fh);
	}

	/* A template UVM only gets what a saved VM can keep. */
	fakehost_init(&fh, LH_OS_WINDOWS);
	fh.uvm.is_template = true;
	CU_ASSERT_FATAL(fakehost_open(&fh, "vsmb", NULL, NULL) == 0);
	attach_ok(&fh, G "/layer1", LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, &res);
	attach_ok(&fh, G "/layer2", 0, &res);
	CU_ASSERT(golden_check("vsmb/add_template_ro.json", fakehost_request(&fh, 0)));
	CU_ASSERT(golden_check("vsmb/add_template_rw.json", fakehost_request(&fh, 1)));
	fakehost_fini(&fh);

	/* Linux UVMs are served too (virtio-fs in the QEMU driver). */
	open_vsmb(&fh, LH_OS_LINUX, NULL);
	attach_ok(&fh, G "/layer1", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s1");
	fakehost_fini(&fh);
}

/* ---- refusals --------------------------------------------------------------- */

static void test_refusals(void)
{
	struct fakehost fh;
	struct lh_attach_result res;
	struct lh_error err;
	const char *fifo = fixture_path("refuse/fifo");
	static const char *const no_rw[] = { "no_writable_file_shares", "true", NULL };

	CU_ASSERT_FATAL(mkfifo(fifo, 0600) == 0);
	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	CU_ASSERT_EQUAL(attach(&fh, "relative/dir", LH_ATTACH_READ_ONLY, &res, &err), -EINVAL);
	CU_ASSERT(strstr(err.message, "relative/dir") != NULL);
	CU_ASSERT_EQUAL(attach(&fh, fixture_path("refuse/missing"), 0, &res, &err), -ENOENT);
	CU_ASSERT(strstr(err.message, "refuse/missing") != NULL);
	CU_ASSERT_EQUAL(attach(&fh, "/dev/null", 0, &res, &err), -EINVAL);
	CU_ASSERT(strstr(err.message, "/dev/null") != NULL);
	CU_ASSERT_EQUAL(attach(&fh, fifo, 0, &res, &err), -EINVAL);
	CU_ASSERT(strstr(err.message, "fifo") != NULL);
	CU_ASSERT_EQUAL(attach(&fh, "", 0, &res, &err), -EINVAL);
	CU_ASSERT_EQUAL(fh.n_attempts, 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	fakehost_fini(&fh);

	open_vsmb(&fh, LH_OS_WINDOWS, no_rw);
	CU_ASSERT_EQUAL(attach(&fh, G "/files/a.txt", 0, &res, &err), -LH_EREFUSED);
	CU_ASSERT(strstr(err.message, "a.txt") != NULL);
	CU_ASSERT_EQUAL(attach(&fh, G "/layer1", 0, &res, &err), -LH_EREFUSED);
	CU_ASSERT_EQUAL(fh.n_attempts, 0);
	attach_ok(&fh, G "/files/a.txt", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_EQUAL(fh.n_requests, 1);
	fakehost_fini(&fh);
}

/* ---- driver failures --------------------------------------------------------- */

static void test_driver_failures(void)
{
	struct fakehost fh;
	struct lh_attach_result res;
	struct lh_error err;
	uint64_t a, d;

	open_vsmb(&fh, LH_OS_WINDOWS, no_dm);
	fh.fail_at = 1;
	CU_ASSERT_EQUAL(attach(&fh, G "/layer1", LH_ATTACH_READ_ONLY, &res, &err), -LH_EDRIVER);
	CU_ASSERT_EQUAL(err.code, -LH_EDRIVER);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	/* Nothing was kept: the next share is s1 and its handle 1. */
	d = attach_ok(&fh, G "/layer1", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s1");
	CU_ASSERT_EQUAL(d, 1);

	/* A failed Update leaves AllowedFiles as they were. */
	a = attach_ok(&fh, G "/files/a.txt", LH_ATTACH_READ_ONLY, &res);
	fh.fail_at = fh.n_attempts + 1;
	CU_ASSERT_EQUAL(attach(&fh, G "/files/b.txt", LH_ATTACH_READ_ONLY, &res, &err),
			-LH_EDRIVER);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);
	fh.fail_at = 0;
	attach_ok(&fh, G "/files/b.txt", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT(strstr(fakehost_request(&fh, fh.n_requests - 1),
			 "\"AllowedFiles\":[\"" G "/files/a.txt\",\"" G "/files/b.txt\"]") != NULL);

	/* A failed Remove keeps the handle valid. */
	fh.fail_at = fh.n_attempts + 1;
	CU_ASSERT_EQUAL(release(&fh, d), -LH_EDRIVER);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 3);
	fh.fail_at = 0;
	CU_ASSERT_EQUAL(release(&fh, d), 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);
	(void)a;
	fakehost_fini(&fh);
}

/* ---- direct-mapped shares are removed ---------------------------------------- */

/* hcsshim (d816cbe89) removes a share when its last reference goes, the
 * direct-mapped ones too: a default WCOW unmount sends a Remove per share. */
static void test_direct_map_removed(void)
{
	struct fakehost fh;
	struct lh_attach_result res;
	uint64_t h;

	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	h = attach_ok(&fh, G "/layer1", LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, &res);
	CU_ASSERT(strstr(fakehost_request(&fh, 0), "NoDirectmap") == NULL);
	CU_ASSERT_EQUAL(release(&fh, h), 0);
	CU_ASSERT_EQUAL_FATAL(fh.n_requests, 2);
	CU_ASSERT(golden_check("vsmb/remove.json", fakehost_request(&fh, 1)));
	CU_ASSERT_EQUAL(release(&fh, h), -LH_ENOTATTACHED);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	/* The next share takes the next name: hcsshim never reuses one. */
	attach_ok(&fh, G "/layer1", LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s2");
	fakehost_fini(&fh);
}

/* ---- hcsshim's share records against Go's bytes ------------------------------ */

/* The oracle's long path: "/layers/" and 150 x's, and a file in it. */
static char long_path[160], long_file[192];
static const char *const long_files[] = { long_file };

/* The cases tests/vsmb/oracle/vsmbshare_oracle.go encodes with Go. */
static const struct {
	const char *name;
	const char *host_path, *share;
	const char *files[3];
	size_t n_files;
	uint32_t options;
} record_cases[] = {
	{ "facts_dir", "/layers/base", "s1", { NULL }, 0,
	  VSMB_BIT(VSMB_READ_ONLY) | VSMB_BIT(VSMB_SHARE_READ) | VSMB_BIT(VSMB_CACHE_IO) |
		  VSMB_BIT(VSMB_TAKE_BACKUP_PRIVILEGE) | VSMB_BIT(VSMB_PSEUDO_OPLOCKS) },
	{ "facts_files", "/layers/f", "s2", { "a.txt", "b.txt" }, 2,
	  VSMB_BIT(VSMB_READ_ONLY) | VSMB_BIT(VSMB_SINGLE_FILE_MAPPING) },
	{ "layer", "/layers/l1", "s1", { NULL }, 0,
	  VSMB_BIT(VSMB_READ_ONLY) | VSMB_BIT(VSMB_SHARE_READ) | VSMB_BIT(VSMB_CACHE_IO) |
		  VSMB_BIT(VSMB_TAKE_BACKUP_PRIVILEGE) | VSMB_BIT(VSMB_PSEUDO_OPLOCKS) },
	{ "layer_nodirectmap", "/layers/l2", "sa", { NULL }, 0,
	  VSMB_BIT(VSMB_READ_ONLY) | VSMB_BIT(VSMB_SHARE_READ) | VSMB_BIT(VSMB_CACHE_IO) |
		  VSMB_BIT(VSMB_TAKE_BACKUP_PRIVILEGE) | VSMB_BIT(VSMB_NO_DIRECTMAP) |
		  VSMB_BIT(VSMB_PSEUDO_OPLOCKS) },
	{ "template_rw", "/layers/rw", "s3", { NULL }, 0,
	  VSMB_BIT(VSMB_NO_OPLOCKS) | VSMB_BIT(VSMB_NO_DIRECTMAP) | VSMB_BIT(VSMB_NO_LOCKS) |
		  VSMB_BIT(VSMB_PSEUDO_DIRNOTIFY) },
	{ "file_share", "/data/files", "s4", { "/data/files/a.txt", "/data/files/b.txt" }, 2,
	  VSMB_BIT(VSMB_READ_ONLY) | VSMB_BIT(VSMB_SHARE_READ) | VSMB_BIT(VSMB_CACHE_IO) |
		  VSMB_BIT(VSMB_RESTRICT_FILE_ACCESS) | VSMB_BIT(VSMB_PSEUDO_OPLOCKS) |
		  VSMB_BIT(VSMB_SINGLE_FILE_MAPPING) },
	{ "no_options", "/data/rw", "s5", { NULL }, 0, 0 },
	{ "all_options", NULL, "s1f", { NULL }, 1, (1u << VSMB_OPTION_COUNT) - 1 },
};

static void case_record(size_t i, struct vsmb_record *rec, char *guest, size_t cap)
{
	snprintf(guest, cap, PREFIX "%s", record_cases[i].share);
	memcpy(long_path, "/layers/", 8);
	memset(long_path + 8, 'x', 150);
	long_path[158] = '\0';
	snprintf(long_file, sizeof(long_file), "%s/f", long_path);
	*rec = (struct vsmb_record){
		.host_path = (char *)(record_cases[i].host_path ? record_cases[i].host_path : long_path),
		.name = (char *)record_cases[i].share,
		.files = (char **)(record_cases[i].host_path ? record_cases[i].files : long_files),
		.n_files = record_cases[i].n_files,
		.guest_path = guest,
		.options = record_cases[i].options,
	};
}

static uint8_t *read_golden(const char *name, size_t *len)
{
	char path[4096];
	uint8_t *data = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/golden/%s", LH_TEST_SOURCE_DIR, name);
	f = fopen(path, "rb");
	CU_ASSERT_FATAL(f != NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc(n > 0 ? (size_t)n : 1);
	CU_ASSERT_FATAL(data && fread(data, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* Each record, as the backend's codec writes it, is the stream Go writes
 * for the same values (golden files from the oracle, rebuilt by
 * test_vsmb_oracle when Go is there); each golden stream reads back to
 * its values. Never LH_UPDATE_GOLDEN here: only Go writes these files. */
static void test_records_golden(void)
{
	for (size_t i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		char name[128], guest[256];
		struct vsmb_record rec, back;
		struct lh_gob_encoder enc;
		struct lh_gob_decoder dec;
		struct lh_error err = { 0 };
		uint8_t *want;
		size_t want_len;

		snprintf(name, sizeof(name), "vsmb/share_%s.gob", record_cases[i].name);
		want = read_golden(name, &want_len);
		case_record(i, &rec, guest, sizeof(guest));
		lh_gob_encoder_init(&enc);
		CU_ASSERT_EQUAL(vsmb_record_write(&lh_gob_codec, &enc, &rec), 0);
		if (enc.len != want_len || memcmp(enc.data, want, want_len))
			fprintf(stderr, "\n%s: layerhost's bytes differ from Go's\n", name);
		CU_ASSERT(enc.len == want_len && memcmp(enc.data, want, want_len) == 0);
		lh_gob_encoder_free(&enc);

		lh_gob_decoder_init(&dec, want, want_len, 0);
		if (vsmb_record_read(&lh_gob_codec, &dec, &back, &err))
			fprintf(stderr, "\n%s: %s\n", name, err.message);
		CU_ASSERT_FATAL(err.code == 0);
		CU_ASSERT_STRING_EQUAL(back.host_path, rec.host_path);
		CU_ASSERT_STRING_EQUAL(back.name, rec.name);
		CU_ASSERT_STRING_EQUAL(back.guest_path, guest);
		CU_ASSERT_EQUAL(back.options, rec.options);
		CU_ASSERT_EQUAL_FATAL(back.n_files, rec.n_files);
		for (size_t k = 0; k < rec.n_files; k++)
			CU_ASSERT_STRING_EQUAL(back.files[k], rec.files[k]);
		vsmb_record_free(&back);
		/* A cut record is refused, never read short. */
		for (size_t cut = 0; cut < want_len; cut++) {
			lh_error_clear(&err);
			lh_gob_decoder_init(&dec, want, cut, 0);
			CU_ASSERT(vsmb_record_read(&lh_gob_codec, &dec, &back, &err) < 0);
		}
		free(want);
	}
}

/* A blob of serial version 2 holding records hcsshim's encoder wrote:
 * restore reads them, and saving again writes the same bytes. */
static void test_restore_hcsshim_records(void)
{
	struct fakehost fh;
	struct lh_gob_encoder enc;
	struct lh_error err = { 0 };
	uint8_t *layer, *files, *again;
	size_t layer_len, files_len, again_len;
	struct listed l;
	int rc;

	layer = read_golden("vsmb/share_layer.gob", &layer_len);
	files = read_golden("vsmb/share_file_share.gob", &files_len);
	lh_gob_encoder_init(&enc);
	lh_gob_put_uint(&enc, 4);  /* share counter */
	lh_gob_put_uint(&enc, 10); /* next handle */
	lh_gob_put_uint(&enc, 2);
	lh_gob_put_bytes(&enc, layer, layer_len);
	lh_gob_put_uint(&enc, 1);
	lh_gob_put_uint(&enc, 3);
	lh_gob_put_uint(&enc, 0);
	lh_gob_put_bytes(&enc, files, files_len);
	lh_gob_put_uint(&enc, 2);
	lh_gob_put_uint(&enc, 5);
	lh_gob_put_uint(&enc, 1);
	lh_gob_put_uint(&enc, 7);
	lh_gob_put_uint(&enc, 0);
	CU_ASSERT_FATAL(!enc.failed);

	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	rc = fakehost_decode_version(&fh, enc.data, enc.len, 2, &err);
	if (rc)
		fprintf(stderr, "decode: %s\n", err.message);
	CU_ASSERT_FATAL(rc == 0);
	list(&fh, &l);
	CU_ASSERT_EQUAL_FATAL(l.n, 3);
	CU_ASSERT_STRING_EQUAL(l.host_path[0], "/layers/l1");
	CU_ASSERT_STRING_EQUAL(l.location[0], "s1");
	CU_ASSERT_EQUAL(l.refs[0], 1);
	CU_ASSERT_STRING_EQUAL(l.host_path[1], "/data/files/a.txt");
	CU_ASSERT_STRING_EQUAL(l.uvm_path[1], PREFIX "s4\\a.txt");
	CU_ASSERT_EQUAL(l.refs[1], 1);
	CU_ASSERT_STRING_EQUAL(l.host_path[2], "/data/files/b.txt");
	CU_ASSERT_TRUE(l.read_only[2]);
	CU_ASSERT_FATAL(fakehost_encode(&fh, &again, &again_len, &err) == 0);
	CU_ASSERT(again_len == enc.len && memcmp(again, enc.data, enc.len) == 0);
	/* Their handles work: the last release removes the share by name. */
	CU_ASSERT_EQUAL(release(&fh, 3), 0);
	CU_ASSERT(golden_check("vsmb/remove.json", fakehost_request(&fh, 0)));
	CU_ASSERT_EQUAL(release(&fh, 5), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 1);
	CU_ASSERT_EQUAL(release(&fh, 7), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	CU_ASSERT(strstr(fakehost_request(&fh, 1), "{\"Name\":\"s4\"}") != NULL);
	free(again);
	fakehost_fini(&fh);

	/* hcsshim's own examples do not pass the backend's checks (a file
	 * share's files are full paths under it): refused, not misread. */
	lh_gob_encoder_free(&enc);
	free(files);
	files = read_golden("vsmb/share_facts_files.gob", &files_len);
	lh_gob_encoder_init(&enc);
	lh_gob_put_uint(&enc, 2);
	lh_gob_put_uint(&enc, 2);
	lh_gob_put_uint(&enc, 1);
	lh_gob_put_bytes(&enc, files, files_len);
	lh_gob_put_uint(&enc, 1);
	lh_gob_put_uint(&enc, 1);
	lh_gob_put_uint(&enc, 0);
	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_decode_version(&fh, enc.data, enc.len, 2, &err), -LH_ECORRUPT);
	CU_ASSERT(strstr(err.message, "allowed files do not match") != NULL);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	fakehost_fini(&fh);
	lh_gob_encoder_free(&enc);
	free(layer);
	free(files);
}

/* ---- encode / decode ------------------------------------------------------------ */

/* A state with a directory share (two handles), a file share (two
 * files) and a writable share. */
static void build_state(struct fakehost *fh, uint64_t *handles)
{
	struct lh_attach_result res;

	handles[0] = attach_ok(fh, G "/layer1", LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, &res);
	handles[1] = attach_ok(fh, G "/layer1", LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, &res);
	handles[2] = attach_ok(fh, G "/files/a.txt", LH_ATTACH_READ_ONLY, &res);
	handles[3] = attach_ok(fh, G "/files/b.txt", LH_ATTACH_READ_ONLY, &res);
	handles[4] = attach_ok(fh, G "/layer2", 0, &res);
}

static void test_encode_decode(void)
{
	struct fakehost fh, back;
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	uint64_t handles[5];
	uint8_t *data, *again;
	size_t len, again_len;
	struct listed l;

	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	build_state(&fh, handles);
	CU_ASSERT_FATAL(fakehost_encode(&fh, &data, &len, &err) == 0);
	CU_ASSERT(golden_check_bytes("vsmb/state_v2.gob", data, len));

	open_vsmb(&back, LH_OS_WINDOWS, NULL);
	CU_ASSERT_FATAL(fakehost_decode(&back, data, len, &err) == 0);
	CU_ASSERT_EQUAL(back.n_attempts, 0);
	CU_ASSERT_FATAL(fakehost_encode(&back, &again, &again_len, &err) == 0);
	CU_ASSERT_EQUAL(again_len, len);
	CU_ASSERT(again_len == len && memcmp(again, data, len) == 0);
	free(again);
	list(&back, &l);
	CU_ASSERT_EQUAL_FATAL(l.n, 4);
	CU_ASSERT_EQUAL(l.refs[0], 2);
	CU_ASSERT_STRING_EQUAL(l.uvm_path[1], PREFIX "s2\\a.txt");

	/* Handles survive: counts, file identity, the next handle and name. */
	attach_ok(&back, G "/files/b.txt", LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_TRUE(res.shared);
	CU_ASSERT_EQUAL(res.handle, 6);
	CU_ASSERT_STRING_EQUAL(res.uvm_path, PREFIX "s2\\b.txt");
	attach_ok(&back, dir("fresh"), LH_ATTACH_READ_ONLY, &res);
	CU_ASSERT_STRING_EQUAL(res.location, "s4");
	CU_ASSERT_EQUAL(back.n_requests, 1);
	CU_ASSERT_EQUAL(release(&back, handles[4]), 0);
	CU_ASSERT_EQUAL(back.n_requests, 2); /* its Remove */
	CU_ASSERT_EQUAL(release(&back, handles[4]), -LH_ENOTATTACHED);
	CU_ASSERT_EQUAL(release(&back, handles[0]), 0);
	CU_ASSERT_EQUAL(release(&back, handles[1]), 0);
	CU_ASSERT_EQUAL(back.n_requests, 3);
	fakehost_fini(&back);

	/* Every truncation is refused cleanly. */
	for (size_t cut = 0; cut < len; cut++) {
		open_vsmb(&back, LH_OS_WINDOWS, NULL);
		lh_error_clear(&err);
		CU_ASSERT(fakehost_decode(&back, data, cut, &err) < 0);
		CU_ASSERT_EQUAL(fakehost_count_attachments(&back), 0);
		fakehost_fini(&back);
	}
	/* Flipped bytes never crash; what decodes must list sanely. */
	for (size_t at = 0; at < len; at++) {
		uint8_t *bad = malloc(len);

		memcpy(bad, data, len);
		bad[at] ^= 0x5a;
		open_vsmb(&back, LH_OS_WINDOWS, NULL);
		if (fakehost_decode(&back, bad, len, NULL) != 0)
			CU_ASSERT_EQUAL(fakehost_count_attachments(&back), 0);
		fakehost_fini(&back);
		free(bad);
	}
	free(data);
	fakehost_fini(&fh);
}

/* A template's state records its shares with the options a saved VM can
 * keep, as hcsshim adds a template's shares with them. */
static void test_template_state(void)
{
	struct fakehost fh, back;
	struct lh_attach_result res;
	struct lh_error err = { 0 };
	uint8_t *data;
	size_t len;
	char *json;

	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	attach_ok(&fh, G "/layer1", LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER, &res);
	attach_ok(&fh, G "/layer2", 0, &res);
	fh.uvm.is_template = true;
	CU_ASSERT_FATAL(fakehost_encode(&fh, &data, &len, &err) == 0);
	CU_ASSERT(golden_check_bytes("vsmb/state_template.gob", data, len));
	fakehost_init(&back, LH_OS_WINDOWS);
	back.uvm.is_template = true;
	CU_ASSERT_FATAL(fakehost_open(&back, "vsmb", NULL, &err) == 0);
	CU_ASSERT_FATAL(fakehost_decode(&back, data, len, &err) == 0);
	/* What a clone of it would add, read back from the state. */
	fakehost_enable_document(&fh);
	free(data);
	json = NULL;
	{
		struct fakehost cl;
		struct lh_clone_request creq = { .scratch_dir = fixture_path("clone") };

		fakehost_init(&cl, LH_OS_WINDOWS);
		fakehost_enable_document(&cl);
		CU_ASSERT_FATAL(fakehost_open_like(&cl, &back, NULL, &err) == 0);
		CU_ASSERT_FATAL(back.backend->clone(back.priv, cl.priv, &creq, &err) == 0);
		json = cJSON_PrintUnformatted(cl.document);
		CU_ASSERT(strstr(json, "\"Options\":{\"ReadOnly\":true,\"ShareRead\":true,"
				 "\"CacheIo\":true,\"TakeBackupPrivilege\":true,\"NoDirectmap\":true,"
				 "\"NoLocks\":true,\"PseudoOplocks\":true,\"PseudoDirnotify\":true}") != NULL);
		CU_ASSERT(strstr(json, "\"Options\":{\"NoOplocks\":true,\"NoDirectmap\":true,"
				 "\"NoLocks\":true,\"PseudoDirnotify\":true}") != NULL);
		free(json);
		fakehost_fini(&cl);
	}
	fakehost_fini(&back);
	fakehost_fini(&fh);
}

/* A state of serial version 1 (count + strings, 17 bools, kept shares)
 * still loads, and is saved again in version 2. */
static void test_v1_state_loads(void)
{
	struct fakehost fh, back;
	struct lh_error err = { 0 };
	uint8_t *old, *data;
	size_t old_len, len;
	struct listed l, l2;
	int rc;

	old = read_golden("vsmb/state_v1.gob", &old_len);
	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	rc = fakehost_decode_version(&fh, old, old_len, 1, &err);
	if (rc)
		fprintf(stderr, "v1: %s\n", err.message);
	CU_ASSERT_FATAL(rc == 0);
	list(&fh, &l);
	CU_ASSERT_EQUAL_FATAL(l.n, 5);
	CU_ASSERT_EQUAL(l.refs[0], 2);
	CU_ASSERT_STRING_EQUAL(l.uvm_path[1], PREFIX "s2\\a.txt");
	CU_ASSERT_STRING_EQUAL(l.note[4], "kept: direct-mapped share");
	/* As version 2, and back. */
	CU_ASSERT_FATAL(fakehost_encode(&fh, &data, &len, &err) == 0);
	open_vsmb(&back, LH_OS_WINDOWS, NULL);
	CU_ASSERT_FATAL(fakehost_decode(&back, data, len, &err) == 0);
	list(&back, &l2);
	CU_ASSERT(memcmp(&l, &l2, sizeof(l)) == 0);
	/* The old bytes are not taken for version 2, nor the new for 1. */
	fakehost_fini(&back);
	open_vsmb(&back, LH_OS_WINDOWS, NULL);
	CU_ASSERT(fakehost_decode_version(&back, old, old_len, 2, NULL) < 0);
	fakehost_fini(&back);
	open_vsmb(&back, LH_OS_WINDOWS, NULL);
	CU_ASSERT(fakehost_decode_version(&back, data, len, 1, NULL) < 0);
	fakehost_fini(&back);
	free(data);
	free(old);
	fakehost_fini(&fh);
}

/* A host whose codec predates ABI v3 cannot hold hcsshim's records: the
 * backend refuses to open rather than write another format. */
static void test_needs_v3_codec(void)
{
	struct fakehost fh;
	struct lh_error err = { 0 };

	fakehost_init(&fh, LH_OS_WINDOWS);
	fh.services.gob_size = offsetof(struct lh_gob_codec, encoder_new);
	CU_ASSERT_EQUAL(fakehost_open(&fh, "vsmb", NULL, &err), -LH_EVERSION);
	CU_ASSERT(strstr(err.message, "ABI v3") != NULL);
	fakehost_fini(&fh);
}

static void test_version_refusal(void)
{
	struct fakehost fh;
	struct lh_error err = { 0 };
	/* uint 0 (share counter), uint 1 (next handle), uint 0 (shares) */
	static const uint8_t empty[] = { 3, 6, 0, 0, 3, 6, 0, 1, 3, 6, 0, 0 };

	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	CU_ASSERT_EQUAL(fakehost_decode_version(&fh, empty, sizeof(empty), 3, &err),
			-LH_EVERSION);
	CU_ASSERT(strstr(err.message, "3") != NULL && strstr(err.message, "knows 1..2") != NULL);
	CU_ASSERT_EQUAL(fh.backend->serial_version, 2);
	for (uint32_t v = 1; v <= 2; v++) {
		lh_error_clear(&err);
		CU_ASSERT_EQUAL(fakehost_decode_version(&fh, empty, sizeof(empty), v, &err), 0);
		CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	}
	fakehost_fini(&fh);
}

/* ---- clone ---------------------------------------------------------------------- */

static void test_clone(void)
{
	struct fakehost fh, cl;
	struct lh_error err = { 0 };
	struct lh_clone_request creq = { .scratch_dir = fixture_path("clone") };
	uint64_t handles[5];
	struct listed l;
	char *doc;
	int rc;

	open_vsmb(&fh, LH_OS_WINDOWS, NULL);
	build_state(&fh, handles);
	fakehost_init(&cl, LH_OS_WINDOWS);
	fakehost_enable_document(&cl);
	CU_ASSERT_FATAL(fakehost_open_like(&cl, &fh, NULL, &err) == 0);
	rc = fh.backend->clone(fh.priv, cl.priv, &creq, &err);
	if (rc)
		fprintf(stderr, "clone: %s\n", err.message);
	CU_ASSERT_FATAL(rc == 0);
	CU_ASSERT_EQUAL(cl.n_attempts, 0);
	doc = cJSON_PrintUnformatted(cl.document);
	CU_ASSERT(golden_check("vsmb/clone_document.json", doc));
	free(doc);
	list(&cl, &l);
	CU_ASSERT_EQUAL(l.n, 4);
	CU_ASSERT_STRING_EQUAL(l.location[1], "s2");

	/* Same handles; the clone's shares are not direct-mapped, so the
	 * last release removes them. */
	CU_ASSERT_EQUAL(release(&cl, handles[0]), 0);
	CU_ASSERT_EQUAL(release(&cl, handles[1]), 0);
	CU_ASSERT_EQUAL_FATAL(cl.n_requests, 1);
	CU_ASSERT(strstr(fakehost_request(&cl, 0), "{\"Name\":\"s1\"}") != NULL);
	CU_ASSERT_EQUAL(fh.n_requests, 4); /* the template is untouched */
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 4);

	/* A clone instance that already has shares is refused. */
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fh.backend->clone(fh.priv, cl.priv, &creq, &err), -LH_EREFUSED);
	fakehost_fini(&cl);

	/* Without a document nothing is left behind. */
	fakehost_init(&cl, LH_OS_WINDOWS);
	CU_ASSERT_FATAL(fakehost_open_like(&cl, &fh, NULL, &err) == 0);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fh.backend->clone(fh.priv, cl.priv, &creq, &err), -LH_EUNSUPPORTED);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&cl), 0);
	fakehost_fini(&cl);
	fakehost_fini(&fh);
}

/* ---- concurrency ------------------------------------------------------------------ */

#define N_WORKERS 8

/* A driver that answers only once every worker is on its way, so identical
 * attaches overlap the request in flight. */
static int (*real_modify)(void *, const char *, struct lh_error *);
static pthread_mutex_t started_lock = PTHREAD_MUTEX_INITIALIZER;
static int started;

static int slow_modify(void *ctx, const char *json, struct lh_error *err)
{
	for (int i = 0; i < 1000; i++) {
		int n;

		pthread_mutex_lock(&started_lock);
		n = started;
		pthread_mutex_unlock(&started_lock);
		if (n >= N_WORKERS)
			break;
		usleep(1000);
	}
	/* Time for the last ones to get from `started` into the plugin's wait;
	 * generous, as valgrind on a loaded machine took more than 200 ms. */
	usleep(1000 * 1000);
	return real_modify(ctx, json, err);
}

struct worker {
	struct fakehost *fh;
	const char *path;
	uint32_t flags;
	int rc;
	uint64_t handle;
	char location[128];
};

static void *attach_worker(void *arg)
{
	struct worker *w = arg;
	struct lh_attach_result res;
	struct lh_error err;

	pthread_mutex_lock(&started_lock);
	started++;
	pthread_mutex_unlock(&started_lock);
	w->rc = attach(w->fh, w->path, w->flags, &res, &err);
	if (w->rc == 0) {
		w->handle = res.handle;
		snprintf(w->location, sizeof(w->location), "%s", res.location);
	}
	return NULL;
}

static void *release_worker(void *arg)
{
	struct worker *w = arg;

	w->rc = release(w->fh, w->handle);
	return NULL;
}

static void run_workers(struct worker *w, void *(*fn)(void *))
{
	pthread_t t[N_WORKERS];

	started = 0;
	for (int i = 0; i < N_WORKERS; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, fn, &w[i]) == 0);
	for (int i = 0; i < N_WORKERS; i++)
		pthread_join(t[i], NULL);
}

static void test_concurrency(void)
{
	struct fakehost fh;
	struct worker w[N_WORKERS];
	char names[N_WORKERS][64];

	open_vsmb(&fh, LH_OS_WINDOWS, no_dm);
	real_modify = fh.services.modify;
	fh.services.modify = slow_modify;

	/* Identical attaches in flight together: one Add, N handles. */
	for (int i = 0; i < N_WORKERS; i++)
		w[i] = (struct worker){ .fh = &fh, .path = G "/layer1", .flags = LH_ATTACH_READ_ONLY };
	run_workers(w, attach_worker);
	CU_ASSERT_EQUAL(fh.n_requests, 1);
	for (int i = 0; i < N_WORKERS; i++) {
		CU_ASSERT_EQUAL(w[i].rc, 0);
		CU_ASSERT_STRING_EQUAL(w[i].location, "s1");
		for (int j = 0; j < i; j++)
			CU_ASSERT_NOT_EQUAL(w[i].handle, w[j].handle);
	}
	run_workers(w, release_worker);
	for (int i = 0; i < N_WORKERS; i++)
		CU_ASSERT_EQUAL(w[i].rc, 0);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);

	/* A failing Add fails every identical attach waiting for it. */
	fakehost_clear_requests(&fh);
	fh.fail_at = 1;
	for (int i = 0; i < N_WORKERS; i++)
		w[i] = (struct worker){ .fh = &fh, .path = G "/layer2", .flags = LH_ATTACH_READ_ONLY };
	run_workers(w, attach_worker);
	for (int i = 0; i < N_WORKERS; i++)
		CU_ASSERT_EQUAL(w[i].rc, -LH_EDRIVER);
	CU_ASSERT_EQUAL(fh.n_attempts, 1);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	fh.fail_at = 0;

	/* Different folders in parallel: distinct names, one Add each. */
	fakehost_clear_requests(&fh);
	fh.services.modify = real_modify;
	for (int i = 0; i < N_WORKERS; i++) {
		snprintf(names[i], sizeof(names[i]), "par%d", i);
		w[i] = (struct worker){ .fh = &fh, .path = dir(names[i]), .flags = 0 };
	}
	run_workers(w, attach_worker);
	CU_ASSERT_EQUAL(fh.n_requests, N_WORKERS);
	for (int i = 0; i < N_WORKERS; i++) {
		CU_ASSERT_EQUAL(w[i].rc, 0);
		for (int j = 0; j < i; j++)
			CU_ASSERT_STRING_NOT_EQUAL(w[i].location, w[j].location);
	}
	run_workers(w, release_worker);
	CU_ASSERT_EQUAL(fh.n_requests, 2 * N_WORKERS);
	fakehost_fini(&fh);
}

/* ---- main ------------------------------------------------------------------------- */

/* The golden requests name the share folders, so they sit at one fixed
 * path; two runs of this suite at once (several build trees on a machine)
 * take turns on it instead of removing each other's folders. */
static int golden_lock = -1;

static int suite_init(void)
{
	golden_lock = open(G ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (golden_lock < 0 || flock(golden_lock, LOCK_EX) < 0)
		return -1;
	if (fixture_sh("rm -rf %s && mkdir -p %s/layer1 %s/layer2 %s/files && "
		       "printf a > %s/files/a.txt && printf b > %s/files/b.txt",
		       G, G, G, G, G, G) != 0)
		return -1;
	fixture_dir();
	return 0;
}

static int suite_clean(void)
{
	fixture_sh("rm -rf %s", G);
	fixture_cleanup();
	if (golden_lock >= 0)
		close(golden_lock); /* and with it the lock */
	return 0;
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "naming", test_naming },
		{ "ro_rw_keys_and_counts", test_ro_rw_keys_and_counts },
		{ "file_shares", test_file_shares },
		{ "option_sets", test_option_sets },
		{ "refusals", test_refusals },
		{ "driver_failures", test_driver_failures },
		{ "direct_map_removed", test_direct_map_removed },
		{ "records_golden", test_records_golden },
		{ "restore_hcsshim_records", test_restore_hcsshim_records },
		{ "encode_decode", test_encode_decode },
		{ "template_state", test_template_state },
		{ "v1_state_loads", test_v1_state_loads },
		{ "version_refusal", test_version_refusal },
		{ "needs the ABI v3 codec", test_needs_v3_codec },
		{ "clone", test_clone },
		{ "concurrency", test_concurrency },
		{ NULL, NULL },
	};
	static const struct cutest_suite suites[] = {
		{ "vsmb", cases, suite_init, suite_clean },
		{ NULL, NULL, NULL, NULL },
	};

	return cutest_run_suites(suites, NULL);
}
