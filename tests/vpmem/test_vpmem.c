/*
 * test_vpmem.c - the VPMem backend through its ops table on a recording
 * fake host, with real fixed-VHD fixtures.
 */
#include "test_vpmem.h"

#include <fakehost.h>
#include <fixtures.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)

struct path {
	char s[512];
};

/* A fixed VHD under the fixture dir (made once per name). */
static struct path layer_file(const char *name, uint64_t data_size)
{
	struct path p;
	char rel[256];

	snprintf(rel, sizeof(rel), "layers/%s.vhd", name);
	snprintf(p.s, sizeof(p.s), "%s", fixture_path(rel));
	if (access(p.s, F_OK) != 0)
		CU_ASSERT_EQUAL_FATAL(fixture_vhd(p.s, data_size), 0);
	return p;
}

/* The request text with the fixture directory written as "/x", so golden
 * files do not depend on where the test ran. */
static char *normalized(const char *text)
{
	const char *dir = fixture_dir();
	size_t dlen = strlen(dir);
	char *out = malloc(strlen(text) + 1);
	char *o = out;

	while (*text) {
		if (strncmp(text, dir, dlen) == 0) {
			memcpy(o, "/x", 2);
			o += 2;
			text += dlen;
		} else {
			*o++ = *text++;
		}
	}
	*o = '\0';
	return out;
}

static int golden_request(const struct fakehost *fh, size_t i, const char *golden)
{
	const char *req = fakehost_request(fh, i);
	char *text;
	int ok;

	if (!req)
		return 0;
	text = normalized(req);
	ok = golden_check(golden, text);
	free(text);
	return ok;
}

static int open_vpmem(struct fakehost *fh, const char *const *options)
{
	struct lh_error err = { 0 };
	int rc;

	fakehost_init(fh, LH_OS_LINUX);
	rc = fakehost_open(fh, "vpmem", options, &err);
	if (rc)
		fprintf(stderr, "open: %s\n", err.message);
	return rc;
}

static int attach(struct fakehost *fh, const char *path, struct lh_attach_result *res,
		  struct lh_error *err)
{
	struct lh_attach_request req = fakehost_request_init(path, LH_ATTACH_READ_ONLY | LH_ATTACH_LAYER);

	memset(res, 0, sizeof(*res));
	lh_error_clear(err);
	return fh->backend->attach(fh->priv, &req, res, err);
}

static int release(struct fakehost *fh, uint64_t handle)
{
	struct lh_error err = { 0 };

	return fh->backend->release(fh->priv, handle, &err);
}

/* ---- list capture ---------------------------------------------------------- */

struct listing {
	char lines[64][600];
	size_t n;
};

static int listing_visit(void *arg, const struct lh_attachment_info *info)
{
	struct listing *l = arg;

	if (l->n < 64)
		snprintf(l->lines[l->n], sizeof(l->lines[0]), "%s %s %s refs=%u%s%s", info->location,
			 info->host_path, info->uvm_path, info->refs, info->note ? " note=" : "",
			 info->note ? info->note : "");
	l->n++;
	return 0;
}

static void list_of(struct fakehost *fh, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	CU_ASSERT_EQUAL(fh->backend->list(fh->priv, listing_visit, l), 0);
}

/* ---- single mode -------------------------------------------------------------- */

static const char *const single_opts[] = { "multi_mapping", "false", NULL };

static void test_single_numbering_and_sharing(void)
{
	struct fakehost fh;
	struct lh_attach_result r1, r2, r3, r4;
	struct lh_error err;
	struct path a = layer_file("single-a", 3 * MiB), b = layer_file("single-b", MiB);
	struct listing l;

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, single_opts), 0);
	CU_ASSERT_EQUAL_FATAL(attach(&fh, a.s, &r1, &err), 0);
	CU_ASSERT_EQUAL(r1.device, 0);
	CU_ASSERT_STRING_EQUAL(r1.location, "p0");
	CU_ASSERT_STRING_EQUAL(r1.uvm_path, "/run/layers/p0");
	CU_ASSERT_EQUAL(r1.offset, 0);
	CU_ASSERT_EQUAL(r1.size, 3 * MiB);
	CU_ASSERT_EQUAL(r1.controller, -1);
	CU_ASSERT_EQUAL(r1.lun, -1);
	CU_ASSERT_FALSE(r1.shared);
	CU_ASSERT(golden_request(&fh, 0, "vpmem/add_single.json"));

	CU_ASSERT_EQUAL_FATAL(attach(&fh, b.s, &r2, &err), 0);
	CU_ASSERT_EQUAL(r2.device, 1);
	CU_ASSERT_STRING_EQUAL(r2.uvm_path, "/run/layers/p1");
	CU_ASSERT(golden_request(&fh, 1, "vpmem/add_single_device1.json"));

	/* The same layer again: shared, one more handle, no request. */
	CU_ASSERT_EQUAL_FATAL(attach(&fh, a.s, &r3, &err), 0);
	CU_ASSERT_TRUE(r3.shared);
	CU_ASSERT_EQUAL(r3.device, 0);
	CU_ASSERT_STRING_EQUAL(r3.uvm_path, "/run/layers/p0");
	CU_ASSERT_NOT_EQUAL(r3.handle, r1.handle);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	list_of(&fh, &l);
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(l.lines[0], "refs=2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l.lines[1], "refs=1"));

	/* First release only drops a reference; the second removes device 0. */
	CU_ASSERT_EQUAL(release(&fh, r1.handle), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	CU_ASSERT_EQUAL(release(&fh, r1.handle), -LH_ENOTATTACHED);
	CU_ASSERT_EQUAL(release(&fh, r3.handle), 0);
	CU_ASSERT_EQUAL(fh.n_requests, 3);
	CU_ASSERT(golden_request(&fh, 2, "vpmem/remove_single.json"));
	CU_ASSERT_EQUAL(release(&fh, r3.handle), -LH_ENOTATTACHED);
	CU_ASSERT_EQUAL(release(&fh, 9999), -LH_ENOTATTACHED);
	CU_ASSERT_EQUAL(fh.n_requests, 3);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 1);

	/* Device 0 is free again: the first free number is reused, handles are not. */
	CU_ASSERT_EQUAL_FATAL(attach(&fh, a.s, &r4, &err), 0);
	CU_ASSERT_EQUAL(r4.device, 0);
	CU_ASSERT(r4.handle > r3.handle);
	fakehost_fini(&fh);
}

static void test_single_exhaustion(void)
{
	const char *const opts[] = { "multi_mapping", "false", "max_devices", "2", NULL };
	struct fakehost fh;
	struct lh_attach_result r;
	struct lh_error err;

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, opts), 0);
	CU_ASSERT_EQUAL(attach(&fh, layer_file("ex-a", MiB).s, &r, &err), 0);
	CU_ASSERT_EQUAL(attach(&fh, layer_file("ex-b", MiB).s, &r, &err), 0);
	CU_ASSERT_EQUAL(r.device, 1);
	CU_ASSERT_EQUAL(attach(&fh, layer_file("ex-c", MiB).s, &r, &err), -LH_ENOLOCATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "ex-c.vhd"));
	CU_ASSERT_EQUAL(fh.n_attempts, 2);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);
	fakehost_fini(&fh);
}

/* ---- limits and refusals ------------------------------------------------------ */

/* max: the largest layer data that fits; size: what it maps as. */
static void check_size_limit(const char *const *opts, uint64_t max, uint64_t size)
{
	struct fakehost fh;
	struct lh_attach_result r;
	struct lh_error err;
	char name[64];

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, opts), 0);
	snprintf(name, sizeof(name), "limit-%s-exact", opts[1]);
	CU_ASSERT_EQUAL(attach(&fh, layer_file(name, max).s, &r, &err), 0);
	CU_ASSERT_EQUAL(r.size, size);
	/* VHD data is whole sectors: one sector more is the smallest excess. */
	snprintf(name, sizeof(name), "limit-%s-over", opts[1]);
	CU_ASSERT_EQUAL(attach(&fh, layer_file(name, max + 512).s, &r, &err), -LH_ETOOLARGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, name));
	CU_ASSERT_EQUAL(fh.n_attempts, 1);
	fakehost_fini(&fh);
}

static void test_size_limit_boundary(void)
{
	const char *const single[] = { "multi_mapping", "false", "max_size_bytes", "8M", NULL };
	const char *const multi[] = { "multi_mapping", "true", "max_size_bytes", "4M", NULL };

	check_size_limit(single, 8 * MiB, 8 * MiB);
	/* Multi-mapping maps the whole file, footer included, in pages. */
	check_size_limit(multi, 4 * MiB - 512, 4 * MiB);
}

static void test_refusals(void)
{
	struct fakehost fh;
	struct lh_attach_result r;
	struct lh_attach_request req;
	struct lh_error err;
	struct path a = layer_file("refuse", MiB);
	const char *vhdx = fixture_path("layers/refuse.vhdx");
	const char *const bad_size[] = { "max_size_bytes", "10000", NULL };

	/* Physically backed: VPMem is skipped before any request. */
	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, NULL), 0);
	fh.uvm.physically_backed = true;
	CU_ASSERT_EQUAL(attach(&fh, a.s, &r, &err), -LH_ENOLOCATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "physically backed"));
	fh.uvm.physically_backed = false;

	/* Writable: a real error, not a fallback signal. */
	req = fakehost_request_init(a.s, LH_ATTACH_LAYER);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &req, &r, &err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "read-only"));

	/* Not a fixed VHD, or missing. */
	CU_ASSERT_EQUAL_FATAL(fixture_vhdx(vhdx, 4 * MiB), 0);
	CU_ASSERT_EQUAL(attach(&fh, vhdx, &r, &err), -LH_EBADDISK);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "VHDX"));
	CU_ASSERT_EQUAL(attach(&fh, fixture_path("layers/missing.vhd"), &r, &err), -ENOENT);

	/* Windows UVM. */
	fh.uvm.os = LH_OS_WINDOWS;
	CU_ASSERT_EQUAL(attach(&fh, a.s, &r, &err), -LH_EUNSUPPORTED);
	CU_ASSERT_EQUAL(fh.n_attempts, 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	fakehost_fini(&fh);

	/* hcsshim's rule: the device size is whole pages. */
	fakehost_init(&fh, LH_OS_LINUX);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_open(&fh, "vpmem", bad_size, &err), -LH_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "4096"));
	fakehost_fini(&fh);
}

/* ---- multi-mapping mode --------------------------------------------------------- */

static void test_multi_requests_and_kept_device(void)
{
	struct fakehost fh;
	struct lh_attach_result r1, r2, r3;
	struct lh_error err;
	struct listing l;
	struct path a = layer_file("multi-a", MiB - 512), b = layer_file("multi-b", 2 * MiB + 512);

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(attach(&fh, a.s, &r1, &err), 0);
	CU_ASSERT_EQUAL(r1.device, 0);
	CU_ASSERT_EQUAL(r1.offset, 0);
	CU_ASSERT_EQUAL(r1.size, MiB); /* page-aligned */
	CU_ASSERT_STRING_EQUAL(r1.location, "p0@0x0");
	CU_ASSERT_STRING_EQUAL(r1.uvm_path, "/run/layers/p0-0-1048576");
	CU_ASSERT(golden_request(&fh, 0, "vpmem/add_multi_device.json"));

	CU_ASSERT_EQUAL_FATAL(attach(&fh, b.s, &r2, &err), 0);
	CU_ASSERT_EQUAL(r2.device, 0);
	CU_ASSERT_EQUAL(r2.offset, 4 * MiB);
	CU_ASSERT_EQUAL(r2.size, 2 * MiB + 4096);
	CU_ASSERT_STRING_EQUAL(r2.location, "p0@0x400000");
	CU_ASSERT_STRING_EQUAL(r2.uvm_path, "/run/layers/p0-4194304-2101248");
	CU_ASSERT(golden_request(&fh, 1, "vpmem/add_multi_mapping.json"));

	CU_ASSERT_EQUAL_FATAL(attach(&fh, b.s, &r3, &err), 0);
	CU_ASSERT_TRUE(r3.shared);
	CU_ASSERT_EQUAL(r3.offset, r2.offset);
	CU_ASSERT_EQUAL(fh.n_requests, 2);

	CU_ASSERT_EQUAL(release(&fh, r2.handle), 0);
	CU_ASSERT_EQUAL(release(&fh, r3.handle), 0);
	CU_ASSERT(golden_request(&fh, 2, "vpmem/remove_multi_mapping.json"));
	CU_ASSERT_EQUAL(release(&fh, r1.handle), 0);
	CU_ASSERT(golden_request(&fh, 3, "vpmem/remove_multi_device_layer.json"));
	CU_ASSERT_EQUAL(fh.n_requests, 4);

	/* The device stays and says so. */
	list_of(&fh, &l);
	CU_ASSERT_EQUAL_FATAL(l.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(l.lines[0], "p0 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(l.lines[0], "refs=0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(l.lines[0], "#1456"));

	/* The next layer maps onto the kept device at offset 0: a mapping add. */
	CU_ASSERT_EQUAL_FATAL(attach(&fh, b.s, &r1, &err), 0);
	CU_ASSERT_EQUAL(r1.device, 0);
	CU_ASSERT_EQUAL(r1.offset, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&fh, 4), "Devices/0/Mappings/0\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&fh, 4), "\"Settings\":{\"HostPath\""));
	CU_ASSERT_PTR_NULL(strstr(fakehost_request(&fh, 4), "ReadOnly"));
	fakehost_fini(&fh);
}

static void test_multi_region_exhaustion_and_reuse(void)
{
	/* One 4 MiB device: four 1 MiB regions. */
	const char *const opts[] = { "max_devices", "1", "max_size_bytes", "4M", NULL };
	struct fakehost fh;
	struct lh_attach_result r[5];
	struct lh_error err;
	char name[32];

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, opts), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "region-%d", i);
		CU_ASSERT_EQUAL_FATAL(attach(&fh, layer_file(name, 100 * 1024).s, &r[i], &err), 0);
		CU_ASSERT_EQUAL(r[i].device, 0);
		CU_ASSERT_EQUAL(r[i].offset, (uint64_t)i * MiB);
		CU_ASSERT_EQUAL(r[i].size, 104 * 1024); /* 100 KiB + the footer, in pages */
	}
	CU_ASSERT_EQUAL(attach(&fh, layer_file("region-4", 4096).s, &r[4], &err), -LH_ENOLOCATION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "region-4.vhd"));
	/* A 2 MiB layer needs a 4 MiB region: it fits the device, but no
	 * such region is free. */
	CU_ASSERT_EQUAL(attach(&fh, layer_file("region-big", 2 * MiB).s, &r[4], &err),
			-LH_ENOLOCATION);
	CU_ASSERT_EQUAL(fh.n_attempts, 4);

	/* A released region is reused. */
	CU_ASSERT_EQUAL(release(&fh, r[2].handle), 0);
	CU_ASSERT_EQUAL_FATAL(attach(&fh, layer_file("region-4", 4096).s, &r[4], &err), 0);
	CU_ASSERT_EQUAL(r[4].offset, 2 * MiB);
	CU_ASSERT_STRING_EQUAL(r[4].uvm_path, "/run/layers/p0-2097152-8192");
	fakehost_fini(&fh);
}

static void test_multi_alignment_mixed_sizes(void)
{
	static const uint64_t sizes[] = { 4096, 3 * MiB, 512 * 1024, 17 * MiB, MiB, 70 * MiB,
					  5 * MiB + 512, 12800, 64 * MiB, 2 * MiB };
	struct fakehost fh;
	struct lh_attach_result r[10];
	struct lh_error err;
	char name[32];

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, NULL), 0);
	for (int i = 0; i < 10; i++) {
		uint64_t region = MiB;

		snprintf(name, sizeof(name), "align-%d", i);
		CU_ASSERT_EQUAL_FATAL(attach(&fh, layer_file(name, sizes[i]).s, &r[i], &err), 0);
		while (region < r[i].size)
			region *= 4;
		CU_ASSERT_EQUAL(r[i].size % 4096, 0);
		CU_ASSERT(r[i].size >= sizes[i] + 512 && r[i].size < sizes[i] + 512 + 4096);
		CU_ASSERT_EQUAL(r[i].device, 0);
		CU_ASSERT_EQUAL(r[i].offset % region, 0);
		for (int j = 0; j < i; j++) {
			CU_ASSERT(r[i].offset + r[i].size <= r[j].offset ||
				  r[j].offset + r[j].size <= r[i].offset);
		}
	}
	fakehost_fini(&fh);
}

static void test_multi_mapping_cap(void)
{
	const char *const opts[] = { "max_devices", "2", NULL };
	struct fakehost fh;
	struct lh_attach_result r;
	struct lh_error err;
	char name[32];

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, opts), 0);
	for (int i = 0; i < 1024; i++) {
		snprintf(name, sizeof(name), "cap-%d", i);
		CU_ASSERT_EQUAL_FATAL(attach(&fh, layer_file(name, 4096).s, &r, &err), 0);
		CU_ASSERT_EQUAL_FATAL(r.device, 0);
	}
	/* Device 0 still has 3 GiB free, but holds 1024 mappings. */
	CU_ASSERT_EQUAL_FATAL(attach(&fh, layer_file("cap-1024", 4096).s, &r, &err), 0);
	CU_ASSERT_EQUAL(r.device, 1);
	CU_ASSERT_EQUAL(r.offset, 0);
	/* A released mapping makes room on device 0 again. */
	CU_ASSERT_EQUAL(release(&fh, 7), 0);
	CU_ASSERT_EQUAL_FATAL(attach(&fh, layer_file("cap-1025", 4096).s, &r, &err), 0);
	CU_ASSERT_EQUAL(r.device, 0);
	CU_ASSERT_EQUAL(r.offset, 6 * MiB);
	fakehost_fini(&fh);
}

/* ---- failures ------------------------------------------------------------------- */

static void test_add_failure_undo(void)
{
	struct fakehost fh;
	struct lh_attach_result r1, r2;
	struct lh_error err;
	struct path a = layer_file("fail-a", MiB), b = layer_file("fail-b", MiB);

	/* Creating the device fails: nothing is left, the retry creates it. */
	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, NULL), 0);
	fh.fail_at = 1;
	CU_ASSERT_EQUAL(attach(&fh, a.s, &r1, &err), -LH_EDRIVER);
	CU_ASSERT_EQUAL(fh.n_requests, 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 0);
	CU_ASSERT_EQUAL_FATAL(attach(&fh, a.s, &r1, &err), 0);
	CU_ASSERT_EQUAL(r1.device, 0);
	CU_ASSERT_EQUAL(r1.offset, 0);
	CU_ASSERT_FALSE(r1.shared);
	CU_ASSERT_PTR_NOT_NULL(strstr(fakehost_request(&fh, 0), "Devices/0/Mappings/0\""));

	/* A mapping add fails: its region is free for the next layer (1 MiB
	 * of data and the footer take a 4 MiB region). */
	fh.fail_at = 3;
	CU_ASSERT_EQUAL(attach(&fh, b.s, &r2, &err), -LH_EDRIVER);
	CU_ASSERT_EQUAL(fh.n_requests, 1);
	CU_ASSERT_EQUAL_FATAL(attach(&fh, b.s, &r2, &err), 0);
	CU_ASSERT_EQUAL(r2.offset, 4 * MiB);
	CU_ASSERT_EQUAL(fh.n_requests, 2);

	/* A failed remove keeps the layer and its handle. */
	fh.fail_at = 5;
	CU_ASSERT_EQUAL(release(&fh, r2.handle), -LH_EDRIVER);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 2);
	CU_ASSERT_EQUAL(release(&fh, r2.handle), 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), 1);
	fakehost_fini(&fh);

	/* Single mode: the device number is free again after a failed add. */
	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, single_opts), 0);
	fh.fail_at = 1;
	CU_ASSERT_EQUAL(attach(&fh, a.s, &r1, &err), -LH_EDRIVER);
	CU_ASSERT_EQUAL_FATAL(attach(&fh, b.s, &r2, &err), 0);
	CU_ASSERT_EQUAL(r2.device, 0);
	fakehost_fini(&fh);
}

/* ---- encode / decode / clone ------------------------------------------------------ */

/* Three layers on device 0 (one shared), the last one released. Paths are
 * relative to the fixture dir so the bytes do not depend on it. */
static void build_state(struct fakehost *fh, const char *const *opts, uint64_t *handles)
{
	struct lh_attach_result r;
	struct lh_error err;

	CU_ASSERT_EQUAL_FATAL(open_vpmem(fh, opts), 0);
	layer_file("state-a", MiB);
	layer_file("state-b", 3 * MiB);
	layer_file("state-c", 8192);
	CU_ASSERT_EQUAL_FATAL(attach(fh, "layers/state-a.vhd", &r, &err), 0);
	handles[0] = r.handle;
	CU_ASSERT_EQUAL_FATAL(attach(fh, "layers/state-b.vhd", &r, &err), 0);
	handles[1] = r.handle;
	CU_ASSERT_EQUAL_FATAL(attach(fh, "layers/state-a.vhd", &r, &err), 0);
	handles[2] = r.handle;
	CU_ASSERT_EQUAL_FATAL(attach(fh, "layers/state-c.vhd", &r, &err), 0);
	handles[3] = r.handle;
	CU_ASSERT_EQUAL(release(fh, handles[3]), 0);
}

static void test_encode_decode_round_trip(void)
{
	struct fakehost fh, fh2;
	uint8_t *data = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	struct lh_error err = { 0 };
	struct listing l1, l2;
	struct lh_attach_result r;
	uint64_t h[4];
	const char *const modes[2][3] = { { "multi_mapping", "true", NULL },
					  { "multi_mapping", "false", NULL } };
	const char *golden[2] = { "vpmem/state_multi.gob", "vpmem/state_single.gob" };

	CU_ASSERT_EQUAL_FATAL(chdir(fixture_dir()), 0);
	for (int m = 0; m < 2; m++) {
		build_state(&fh, modes[m], h);
		CU_ASSERT_EQUAL_FATAL(fakehost_encode(&fh, &data, &len, &err), 0);
		CU_ASSERT(golden_check_bytes(golden[m], data, len));
		list_of(&fh, &l1);

		CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh2, modes[m]), 0);
		CU_ASSERT_EQUAL(fakehost_decode(&fh2, data, len, &err), 0);
		CU_ASSERT_EQUAL(fh2.n_attempts, 0);
		list_of(&fh2, &l2);
		CU_ASSERT_EQUAL(l1.n, l2.n);
		for (size_t i = 0; i < l1.n && i < l2.n; i++)
			CU_ASSERT_STRING_EQUAL(l1.lines[i], l2.lines[i]);
		CU_ASSERT_EQUAL(fakehost_encode(&fh2, &again, &len2, &err), 0);
		CU_ASSERT(len == len2 && memcmp(data, again, len) == 0);

		/* Handles survive: the shared one drops a reference, the other
		 * removes its layer with the same request the original would. */
		CU_ASSERT_EQUAL(release(&fh2, h[3]), -LH_ENOTATTACHED);
		CU_ASSERT_EQUAL(release(&fh2, h[0]), 0);
		CU_ASSERT_EQUAL(fh2.n_requests, 0);
		CU_ASSERT_EQUAL(release(&fh2, h[1]), 0);
		CU_ASSERT_EQUAL(release(&fh, h[1]), 0);
		CU_ASSERT_STRING_EQUAL(fakehost_request(&fh2, 0), fakehost_request(&fh, 4));
		/* New handles continue after the saved ones. */
		CU_ASSERT_EQUAL(attach(&fh2, "layers/state-c.vhd", &r, &err), 0);
		CU_ASSERT_EQUAL(r.handle, h[3] + 1);

		free(data);
		free(again);
		data = again = NULL;
		fakehost_fini(&fh2);
		fakehost_fini(&fh);
	}
}

static void test_decode_refusals(void)
{
	struct fakehost fh, fh2;
	uint8_t *data = NULL, *copy;
	size_t len = 0;
	struct lh_error err = { 0 };
	uint64_t h[4];
	const char *const single[] = { "multi_mapping", "false", NULL };

	CU_ASSERT_EQUAL_FATAL(chdir(fixture_dir()), 0);
	build_state(&fh, NULL, h);
	CU_ASSERT_EQUAL_FATAL(fakehost_encode(&fh, &data, &len, &err), 0);
	copy = malloc(len);

	/* A newer serial version (the host tells it) is refused, naming both
	 * numbers. */
	memcpy(copy, data, len);
	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh2, NULL), 0);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_decode_version(&fh2, copy, len, 2, &err), -LH_EVERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "version 2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "up to 1"));
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh2), 0);
	fakehost_fini(&fh2);

	/* A multi-mapping state in a single-mode instance. */
	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh2, single), 0);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(fakehost_decode(&fh2, data, len, &err), -LH_ECONFIG);
	fakehost_fini(&fh2);

	/* Every truncation, and every single-byte change, fails cleanly or
	 * decodes to something consistent; never a crash. */
	for (size_t cut = 0; cut < len; cut++) {
		CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh2, NULL), 0);
		lh_error_clear(&err);
		CU_ASSERT_NOT_EQUAL(fakehost_decode(&fh2, data, cut, &err), 0);
		CU_ASSERT_EQUAL(fakehost_count_attachments(&fh2), 0);
		fakehost_fini(&fh2);
	}
	for (size_t i = 0; i < len; i++) {
		static const uint8_t flips[] = { 0x01, 0x80, 0xff };

		for (size_t f = 0; f < sizeof(flips); f++) {
			memcpy(copy, data, len);
			copy[i] ^= flips[f];
			CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh2, NULL), 0);
			lh_error_clear(&err);
			if (fakehost_decode(&fh2, copy, len, &err) != 0)
				CU_ASSERT_EQUAL(fakehost_count_attachments(&fh2), 0);
			fakehost_fini(&fh2);
		}
	}
	free(copy);
	free(data);
	fakehost_fini(&fh);
}

static void test_clone(void)
{
	struct fakehost fh, cl;
	struct lh_error err = { 0 };
	struct lh_clone_request req = { .scratch_dir = NULL };
	struct listing l1, l2;
	uint64_t h[4];
	char *doc, *text;

	CU_ASSERT_EQUAL_FATAL(chdir(fixture_dir()), 0);
	build_state(&fh, NULL, h);
	fakehost_clear_requests(&fh);
	req.scratch_dir = fixture_path("clone-scratch");
	fakehost_init(&cl, LH_OS_LINUX);
	fakehost_enable_document(&cl);
	CU_ASSERT_EQUAL_FATAL(fakehost_open_like(&cl, &fh, NULL, &err), 0);
	CU_ASSERT_EQUAL_FATAL(fh.backend->clone(fh.priv, cl.priv, &req, &err), 0);
	CU_ASSERT_EQUAL(fh.n_attempts, 0);
	CU_ASSERT_EQUAL(cl.n_attempts, 0);
	list_of(&fh, &l1);
	list_of(&cl, &l2);
	CU_ASSERT_EQUAL(l1.n, l2.n);
	for (size_t i = 0; i < l1.n && i < l2.n; i++)
		CU_ASSERT_STRING_EQUAL(l1.lines[i], l2.lines[i]);
	doc = cJSON_PrintUnformatted(cl.document);
	text = normalized(doc);
	CU_ASSERT(golden_check("vpmem/clone_document.json", text));
	free(text);
	free(doc);
	/* The clone's handles are the template's. */
	CU_ASSERT_EQUAL(cl.backend->release(cl.priv, h[1], &err), 0);
	CU_ASSERT_EQUAL(cl.n_requests, 1);
	fakehost_fini(&cl);
	fakehost_fini(&fh);
}

/* ---- packing and concurrency ---------------------------------------------------- */

static void test_two_hundred_layers(void)
{
	struct fakehost fh;
	struct lh_attach_result r;
	struct lh_error err;
	bool used[128] = { false };
	int devices = 0;
	char name[32];

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, NULL), 0);
	for (int i = 0; i < 200; i++) {
		/* Small layers: 64 KiB to about 6 MiB. */
		snprintf(name, sizeof(name), "small-%d", i);
		CU_ASSERT_EQUAL_FATAL(attach(&fh, layer_file(name, 65536 + (uint64_t)i * 30208).s,
					     &r, &err), 0);
		if (!used[r.device]) {
			used[r.device] = true;
			devices++;
		}
	}
	printf("\n  200 small layers (64 KiB .. 6 MiB) in multi-mapping mode use %d VPMem "
	       "device(s) (single mode: 200 > 64 devices)\n", devices);
	CU_ASSERT(devices >= 1 && devices <= 2);
	fakehost_fini(&fh);
}

struct racer {
	struct fakehost *fh;
	const char *path;
	struct lh_attach_result res;
	int rc;
};

static void *racer_run(void *arg)
{
	struct racer *r = arg;
	struct lh_error err;

	r->rc = attach(r->fh, r->path, &r->res, &err);
	return NULL;
}

static void test_concurrent_attach(void)
{
	struct fakehost fh;
	struct racer racers[8];
	pthread_t threads[8];
	struct path a = layer_file("race-a", MiB), b = layer_file("race-b", MiB);

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, NULL), 0);
	for (int i = 0; i < 8; i++) {
		racers[i] = (struct racer){ .fh = &fh, .path = i % 2 ? a.s : b.s };
		pthread_create(&threads[i], NULL, racer_run, &racers[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(threads[i], NULL);
	/* One add per layer; every attach of a layer sees the same mapping. */
	CU_ASSERT_EQUAL(fh.n_requests, 2);
	for (int i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(racers[i].rc, 0);
		CU_ASSERT_EQUAL(racers[i].res.offset, racers[i % 2].res.offset);
		for (int j = 0; j < i; j++)
			CU_ASSERT_NOT_EQUAL(racers[i].res.handle, racers[j].res.handle);
	}
	CU_ASSERT_NOT_EQUAL(racers[0].res.offset, racers[1].res.offset);
	fakehost_fini(&fh);
}

/* A modify that holds each request until `want` of them are in flight, so
 * the attaches behind them have all reserved their room before any of them
 * commits (or 10 s have passed: `met` tells which). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int in_flight, want;
	bool met;
	int (*modify)(void *ctx, const char *json, struct lh_error *err);
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, false, NULL };

static int gated_modify(void *ctx, const char *json, struct lh_error *err)
{
	struct timespec deadline;

	pthread_mutex_lock(&gate.lock);
	gate.in_flight++;
	pthread_cond_broadcast(&gate.cond);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	while (gate.in_flight < gate.want &&
	       pthread_cond_timedwait(&gate.cond, &gate.lock, &deadline) == 0)
		;
	if (gate.in_flight >= gate.want)
		gate.met = true;
	pthread_mutex_unlock(&gate.lock);
	return gate.modify(ctx, json, err);
}

/* New layers attached at once when the layer list is one short of full:
 * each attach reserves its room before its request and fills it after, so
 * the room must count the attaches in flight. (ASan and valgrind see an
 * overflow otherwise.) */
static void test_concurrent_first_attaches(void)
{
	enum { BEFORE = 15, RACERS = 4 };
	struct fakehost fh;
	struct racer racers[RACERS];
	pthread_t threads[RACERS];
	struct path paths[BEFORE + RACERS];
	struct lh_attach_result r;
	struct lh_error err;
	char name[32];

	CU_ASSERT_EQUAL_FATAL(open_vpmem(&fh, NULL), 0);
	for (int i = 0; i < BEFORE + RACERS; i++) {
		snprintf(name, sizeof(name), "room-%d", i);
		paths[i] = layer_file(name, MiB);
	}
	for (int i = 0; i < BEFORE; i++)
		CU_ASSERT_EQUAL_FATAL(attach(&fh, paths[i].s, &r, &err), 0);
	gate.in_flight = 0;
	gate.want = RACERS;
	gate.met = false;
	gate.modify = fh.services.modify;
	fh.services.modify = gated_modify;
	for (int i = 0; i < RACERS; i++) {
		racers[i] = (struct racer){ .fh = &fh, .path = paths[BEFORE + i].s };
		pthread_create(&threads[i], NULL, racer_run, &racers[i]);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(threads[i], NULL);
	fh.services.modify = gate.modify;
	CU_ASSERT_TRUE(gate.met);
	for (int i = 0; i < RACERS; i++)
		CU_ASSERT_EQUAL(racers[i].rc, 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), BEFORE + RACERS);
	for (int i = 0; i < RACERS; i++)
		CU_ASSERT_EQUAL(release(&fh, racers[i].res.handle), 0);
	CU_ASSERT_EQUAL(fakehost_count_attachments(&fh), BEFORE);
	fakehost_fini(&fh);
}

static const struct cutest_case vpmem_cases[] = {
	{ "single: numbering, sharing, requests", test_single_numbering_and_sharing },
	{ "single: device exhaustion", test_single_exhaustion },
	{ "size limit: exactly max, max+1", test_size_limit_boundary },
	{ "refusals: physically backed, writable, format, os", test_refusals },
	{ "multi: requests, shared mapping, kept device", test_multi_requests_and_kept_device },
	{ "multi: region exhaustion and reuse", test_multi_region_exhaustion_and_reuse },
	{ "multi: alignment of every offset", test_multi_alignment_mixed_sizes },
	{ "multi: 1024 mappings a device", test_multi_mapping_cap },
	{ "add failure undo, remove failure", test_add_failure_undo },
	{ "encode/decode round trip", test_encode_decode_round_trip },
	{ "decode: version refusal, corrupt input", test_decode_refusals },
	{ "clone: shared state and document", test_clone },
	{ "multi: 200 small layers", test_two_hundred_layers },
	{ "concurrent attaches of one layer", test_concurrent_attach },
	{ "concurrent first attaches at the list's capacity", test_concurrent_first_attaches },
	{ NULL, NULL },
};

int main(void)
{
	static const struct cutest_suite suites[] = {
		{ "vpmem_alloc", vpmem_alloc_cases, NULL, NULL },
		{ "vpmem", vpmem_cases, NULL, NULL },
		{ NULL, NULL, NULL, NULL },
	};

	return cutest_run_suites(suites, fixture_cleanup);
}
