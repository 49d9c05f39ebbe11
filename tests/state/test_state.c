/*
 * test_state.c - the state file: golden bytes, round trip, every refusal,
 * every byte corrupted, every truncation, atomic save, the lock.
 *
 * The hosts here run the two deterministic test backends (testb, testc)
 * from their own plugin folder, so the bytes do not depend on the real
 * backends' formats.
 */
#include "cutest.h"
#include "testhost.h"
#include "fixtures.h"
#include "fakehost.h"
#include "pipeline.h"
#include "host_state.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* A host of UVM `id` (NULL: the config's "host") with testb, and testc
 * unless without_c. */
static void world_open(struct testhost *w, const char *id, bool without_c)
{
	testhost_open(w, LH_STATE_TEST_PLUGIN_DIR,
		      without_c ? "[pipeline]\nhost = testb\n" : "[pipeline]\nhost = testb\n[plugin.testc]\n",
		      id);
}

static uint64_t attach(struct testhost *w, const char *backend, const char *path, bool ro,
		       struct lh_attached *rec)
{
	struct lh_instance *inst = lh_host_instance(w->host, backend);
	struct lh_attach_request req = fakehost_request_init(path, ro ? LH_ATTACH_READ_ONLY : 0);
	struct lh_attach_result res;
	struct lh_error err = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(inst);
	CU_ASSERT_EQUAL_FATAL(inst->ops->attach(inst->priv, &req, &res, &err), 0);
	if (rec) {
		rec->backend = strdup(backend);
		rec->handle = res.handle;
		rec->host_path = strdup(path);
		rec->uvm_path = strdup(res.uvm_path);
		rec->location = strdup(res.location);
	}
	return res.handle;
}

/* A small, fixed state: two layers and a scratch over both backends, one
 * container holding them, a mount counter of 3. */
static void populate(struct testhost *w)
{
	struct lh_mounted *m = calloc(1, sizeof(*m));
	struct lh_error err = { 0 };

	m->id = strdup("c1");
	m->kind = LH_KIND_HOST;
	m->rootfs = strdup("/run/c1/rootfs");
	m->scratch_path = strdup("/scratch/c1");
	m->combined = true;
	m->n_layers = 2;
	m->layers = calloc(2, sizeof(*m->layers));
	attach(w, "testb", "/layers/base", true, &m->layers[0]);
	attach(w, "testc", "/layers/app", true, &m->layers[1]);
	attach(w, "testb", "/scratch/c1/sandbox.vhdx", false, &m->scratch);
	CU_ASSERT_EQUAL(lh_pipeline_adopt(w->host, m, &err), 0);
	atomic_store(&w->host->mount_counter, 3);
}

static uint8_t *encode(struct testhost *w, size_t *len)
{
	struct lh_gob_encoder enc;
	struct lh_error err = { 0 };
	uint8_t *copy;

	lh_gob_encoder_init(&enc);
	CU_ASSERT_EQUAL_FATAL(lh_state_encode(w->host, &enc, &err), 0);
	copy = malloc(enc.len ? enc.len : 1);
	memcpy(copy, enc.data, enc.len);
	*len = enc.len;
	lh_gob_encoder_free(&enc);
	return copy;
}

static void fix_crc(uint8_t *data, size_t len)
{
	uLong crc = crc32(0L, data, (uInt)(len - 4));

	data[len - 4] = (uint8_t)(crc >> 24);
	data[len - 3] = (uint8_t)(crc >> 16);
	data[len - 2] = (uint8_t)(crc >> 8);
	data[len - 1] = (uint8_t)crc;
}

/* Offset just past the first occurrence of needle (n bytes). */
static size_t find_after_n(const uint8_t *data, size_t len, const char *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(data + i, needle, n) == 0)
			return i + n;
	CU_FAIL_FATAL("needle not found");
	return 0;
}

static size_t find_after(const uint8_t *data, size_t len, const char *needle)
{
	return find_after_n(data, len, needle, strlen(needle));
}

/*
 * Write bytes to a file, load it into an empty host, expect a refusal
 * whose message holds `needle` (and the path), the file untouched and the
 * host still empty. Returns the code.
 */
static int expect_refused(struct testhost *w, const uint8_t *data, size_t len, const char *needle)
{
	const char *path = fixture_path("refused/state");
	struct lh_error err = { 0 };
	size_t before_len, after_len, file_len;
	uint8_t *before = encode(w, &before_len), *after;
	char *file;
	int rc;

	CU_ASSERT_EQUAL_FATAL(fixture_write(path, data, len), 0);
	rc = lh_state_load(w->host, path, &err);
	CU_ASSERT_NOT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(rc, err.code);
	if (needle)
		ASSERT_MSG_HAS(err, needle);
	ASSERT_MSG_HAS(err, path);
	file = fixture_read(path, &file_len);
	CU_ASSERT_EQUAL(file_len, len);
	CU_ASSERT(file && memcmp(file, data, len) == 0);
	after = encode(w, &after_len);
	CU_ASSERT(before_len == after_len && memcmp(before, after, after_len) == 0);
	free(file);
	free(before);
	free(after);
	return rc;
}

/* ---- golden, round trip ---------------------------------------------------- */

static void test_golden_bytes(void)
{
	struct testhost w;
	uint8_t *data;
	size_t len;

	world_open(&w, NULL, false);
	populate(&w);
	data = encode(&w, &len);
	CU_ASSERT(golden_check_bytes("state/small.state", data, len));
	CU_ASSERT_EQUAL(memcmp(data, "LHSTATE\n", 8), 0);
	/* format version 2, then the UVM id "host" */
	CU_ASSERT_EQUAL(memcmp(data + 8, "\x03\x06\x00\x02\x07\x0c\x00\x04host", 12), 0);
	free(data);
	testhost_close(&w);
}

/* A state written in format 1 (before serial versions lived only beside
 * the blobs) loads; saved again it is the format 2 golden: the blobs of
 * these ABI v1 backends come back exactly as they wrote them. */
static void test_format1_state_loads(void)
{
	const char *file = LH_TEST_SOURCE_DIR "/golden/state/small_format1.state";
	struct lh_error err = { 0 };
	struct testhost w;
	uint8_t *data;
	size_t len;

	world_open(&w, NULL, false);
	if (lh_state_load(w.host, file, &err))
		fprintf(stderr, "\n  load: %s\n", err.message);
	CU_ASSERT_EQUAL(err.code, 0);
	CU_ASSERT_PTR_NOT_NULL(lh_pipeline_find(w.host, "c1"));
	data = encode(&w, &len);
	CU_ASSERT(golden_check_bytes("state/small.state", data, len));
	free(data);
	testhost_close(&w);
}

static void test_round_trip(void)
{
	const char *path = fixture_path("rt/layerhost.state");
	struct lh_error err = { 0 };
	const struct lh_mounted *m;
	struct testhost a, b;
	uint8_t *da, *db;
	size_t la, lb;

	world_open(&a, NULL, false);
	populate(&a);
	CU_ASSERT_EQUAL(lh_host_mark_template(a.host, "tpl", &err), 0);
	CU_ASSERT_EQUAL_FATAL(lh_state_save(a.host, path, &err), 0);
	world_open(&b, NULL, false);
	if (lh_state_load(b.host, path, &err))
		fprintf(stderr, "\n  load: %s\n", err.message);
	CU_ASSERT_EQUAL(err.code, 0);
	da = encode(&a, &la);
	db = encode(&b, &lb);
	CU_ASSERT(la == lb && memcmp(da, db, la) == 0);
	CU_ASSERT_TRUE(b.host->uvm.is_template);
	CU_ASSERT_STRING_EQUAL(b.host->template_name, "tpl");
	CU_ASSERT_EQUAL(atomic_load(&b.host->mount_counter), 3);
	m = lh_pipeline_find(b.host, "c1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->n_layers, 2);
	CU_ASSERT_STRING_EQUAL(m->layers[1].backend, "testc");
	CU_ASSERT_STRING_EQUAL(m->scratch.host_path, "/scratch/c1/sandbox.vhdx");
	CU_ASSERT_STRING_EQUAL(m->scratch.location, "t2");
	CU_ASSERT_TRUE(m->combined);
	/* The restored handles release in the restored backends, once. */
	CU_ASSERT_EQUAL(lh_pipeline_unmount(b.host, "c1", &err), 0);
	CU_ASSERT_PTR_NULL(lh_pipeline_find(b.host, "c1"));
	CU_ASSERT_EQUAL(testhost_live(&b, "testb") + testhost_live(&b, "testc"), 0);
	free(da);
	free(db);
	testhost_close(&a);
	testhost_close(&b);
}

/* ---- refusals ------------------------------------------------------------- */

static void test_refuse_bad_magic(void)
{
	struct testhost a, b;
	uint8_t *data;
	size_t len;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	data[0] = 'X';
	world_open(&b, NULL, false);
	CU_ASSERT_EQUAL(expect_refused(&b, data, len, "bad magic"), -LH_ECORRUPT);
	free(data);
	testhost_close(&a);
	testhost_close(&b);
}

static void test_refuse_format_version(void)
{
	struct testhost a, b;
	uint8_t *data;
	size_t len;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	data[11] = 3; /* 03 06 00 02: format version 2 -> 3 */
	fix_crc(data, len);
	world_open(&b, NULL, false);
	CU_ASSERT_EQUAL(expect_refused(&b, data, len, "unknown state format version 3 (this "
				       "build reads 1..2)"), -LH_EVERSION);
	free(data);
	testhost_close(&a);
	testhost_close(&b);
}

static void test_refuse_checksum(void)
{
	struct testhost a, b;
	uint8_t *data;
	size_t len, at;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	at = find_after(data, len, "/layers/base") - 1;
	data[at] = 'X'; /* same length, still parses: only the checksum knows */
	world_open(&b, NULL, false);
	CU_ASSERT_EQUAL(expect_refused(&b, data, len, "checksum mismatch"), -LH_ECORRUPT);
	data[at] = 'e';
	data[len - 1] ^= 1;
	CU_ASSERT_EQUAL(expect_refused(&b, data, len, "checksum mismatch"), -LH_ECORRUPT);
	free(data);
	testhost_close(&a);
	testhost_close(&b);
}

static void test_refuse_backend_not_loaded(void)
{
	struct testhost a, b;
	uint8_t *data;
	size_t len;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	world_open(&b, NULL, true);
	CU_ASSERT_EQUAL(expect_refused(&b, data, len, "backend 'testc', which is not loaded"),
			-LH_EREFUSED);
	free(data);
	testhost_close(&a);
	testhost_close(&b);
}

static void test_refuse_serial_version(void)
{
	struct testhost a, b;
	uint8_t *data;
	size_t len, at;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	at = find_after(data, len, "testb");
	CU_ASSERT_EQUAL_FATAL(memcmp(data + at, "\x03\x06\x00\x01", 4), 0);
	data[at + 3] = 5;
	fix_crc(data, len);
	world_open(&b, NULL, false);
	CU_ASSERT_EQUAL(expect_refused(&b, data, len, "backend testb state is serial version 5, "
				       "this build of testb reads up to 1"), -LH_EVERSION);
	free(data);
	testhost_close(&a);
	testhost_close(&b);
}

static void test_refuse_other_uvm(void)
{
	struct testhost a, b;
	uint8_t *data;
	size_t len;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	world_open(&b, "other", false);
	CU_ASSERT_EQUAL(expect_refused(&b, data, len, "the state is of UVM 'host', not of UVM "
				       "'other'"), -LH_EREFUSED);
	free(data);
	testhost_close(&a);
	testhost_close(&b);
}

/* testb's blob decodes, testc's does not: testb must not be half loaded. */
static void test_refuse_backend_decode_nothing_applied(void)
{
	struct testhost a, b;
	uint8_t *data;
	size_t len, at;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	/* After "testc": its serial 03 06 00 01, then the []byte message whose
	 * blob opens with testc's own version 03 06 00 01. */
	at = find_after(data, len, "testc");
	at = find_after_n(data + at, len - at, "\x03\x06\x00\x01", 4) + at;
	at = find_after_n(data + at, len - at, "\x03\x06\x00\x01", 4) + at;
	CU_ASSERT_EQUAL_FATAL(data[at - 7], 0x0a); /* []byte type id, tag, length */
	CU_ASSERT_EQUAL_FATAL(data[at - 6], 0x00);
	data[at - 1] = 9;
	fix_crc(data, len);
	world_open(&b, NULL, false);
	CU_ASSERT_EQUAL(expect_refused(&b, data, len, "backend testc: testc: state version 9"),
			-LH_EVERSION);
	CU_ASSERT_EQUAL(testhost_live(&b, "testb"), 0);
	CU_ASSERT_PTR_NULL(lh_pipeline_find(b.host, "c1"));
	free(data);
	testhost_close(&a);
	testhost_close(&b);
}

static void test_refuse_busy_host(void)
{
	struct testhost a;
	uint8_t *data;
	size_t len;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	CU_ASSERT_EQUAL(expect_refused(&a, data, len, "already holds"), -EBUSY);
	free(data);
	testhost_close(&a);
}

static void test_missing_file(void)
{
	struct lh_error err = { 0 };
	struct testhost w;

	world_open(&w, NULL, false);
	CU_ASSERT_EQUAL(lh_state_load(w.host, fixture_path("none/state"), &err), -ENOENT);
	ASSERT_MSG_HAS(err, "none/state");
	testhost_close(&w);
}

/* Every byte flipped, in turn (two ways): refused, file and host as before. */
static void test_every_byte_corrupted(void)
{
	struct testhost a, b;
	uint8_t *data;
	size_t len;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	world_open(&b, NULL, false);
	for (size_t i = 0; i < len; i++) {
		static const uint8_t flips[] = { 0xff, 0x01 };

		for (size_t f = 0; f < sizeof(flips); f++) {
			data[i] ^= flips[f];
			if (expect_refused(&b, data, len, NULL) == 0)
				fprintf(stderr, "\n  byte %zu ^ %02x was accepted\n", i, flips[f]);
			data[i] ^= flips[f];
		}
	}
	CU_ASSERT_EQUAL(testhost_live(&b, "testb") + testhost_live(&b, "testc"), 0);
	free(data);
	testhost_close(&a);
	testhost_close(&b);
}

static void test_every_truncation(void)
{
	struct testhost a, b;
	uint8_t *data;
	size_t len;

	world_open(&a, NULL, false);
	populate(&a);
	data = encode(&a, &len);
	world_open(&b, NULL, false);
	for (size_t n = 0; n < len; n++)
		CU_ASSERT_EQUAL(expect_refused(&b, data, n, "truncated state file"), -LH_ECORRUPT);
	free(data);
	testhost_close(&a);
	testhost_close(&b);
}

/* ---- files and the lock ------------------------------------------------------ */

static void test_atomic_save(void)
{
	const char *dir = fixture_path("atomic"), *path = fixture_path("atomic/layerhost.state");
	struct lh_error err = { 0 };
	struct dirent *e;
	struct stat st;
	struct testhost w;
	char missing[4096];
	size_t entries = 0;
	DIR *d;

	mkdir(dir, 0755);
	world_open(&w, NULL, false);
	CU_ASSERT_EQUAL(lh_state_save(w.host, path, &err), 0);
	populate(&w);
	/* Over an existing, world-readable file: replaced, 0600. */
	chmod(path, 0644);
	CU_ASSERT_EQUAL(lh_state_save(w.host, path, &err), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	d = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			entries++;
			CU_ASSERT_STRING_EQUAL(e->d_name, "layerhost.state");
		}
	closedir(d);
	CU_ASSERT_EQUAL(entries, 1);
	/* A folder that does not exist: an error naming the path, nothing made. */
	snprintf(missing, sizeof(missing), "%s/atomic-none/state", fixture_dir());
	CU_ASSERT_NOT_EQUAL(lh_state_save(w.host, missing, &err), 0);
	ASSERT_MSG_HAS(err, "atomic-none/state");
	CU_ASSERT_NOT_EQUAL(access(fixture_path("atomic-none"), F_OK), 0);
	testhost_close(&w);
}

static void test_lock_times_out(void)
{
	const char *path = fixture_path("lock/layerhost.state");
	struct lh_state_lock *lock = NULL, *again = NULL;
	struct lh_error err = { 0 };
	int ready[2], done[2], status;
	char byte = 0;
	pid_t child;

	mkdir(fixture_path("lock"), 0755);
	CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(done), 0);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		struct lh_state_lock *held = NULL;

		if (lh_state_lock_acquire(path, 1000, &held, NULL))
			_exit(2);
		if (write(ready[1], "x", 1) != 1 || read(done[0], &byte, 1) != 1)
			_exit(3);
		lh_state_lock_release(held);
		_exit(0);
	}
	CU_ASSERT_EQUAL_FATAL(read(ready[0], &byte, 1), 1);
	CU_ASSERT_EQUAL(lh_state_lock_acquire(path, 150, &lock, &err), -ETIMEDOUT);
	CU_ASSERT_PTR_NULL(lock);
	ASSERT_MSG_HAS(err, "lock/layerhost.state.lock");
	ASSERT_MSG_HAS(err, "another layerhost command holds the state lock");
	CU_ASSERT_EQUAL(write(done[1], "x", 1), 1);
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_state_lock_acquire(path, 1000, &lock, &err), 0);
	/* flock locks belong to the open file: a second open in this process
	 * waits too. */
	CU_ASSERT_EQUAL(lh_state_lock_acquire(path, 0, &again, &err), -ETIMEDOUT);
	lh_state_lock_release(lock);
	lh_state_lock_release(NULL);
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(done[i]);
	}
}

/* A state or lock file that is a FIFO is refused at once: opening one
 * waits for a writer that never comes. (The alarm turns a wait into a
 * failed run.) */
static void test_not_a_regular_file(void)
{
	const char *fifo = fixture_path("fifo/layerhost.state");
	char lock_path[4096];
	struct lh_state_lock *lock = NULL;
	struct lh_error err = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;

	mkdir(fixture_path("fifo"), 0755);
	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
	alarm(20);
	CU_ASSERT_EQUAL(lh_state_file_read(fifo, &data, &len, &err), -LH_ECORRUPT);
	ASSERT_MSG_HAS(err, fifo);
	ASSERT_MSG_HAS(err, "not a regular file");
	free(data);
	snprintf(lock_path, sizeof(lock_path), "%s.lock", fixture_path("fifo/other.state"));
	CU_ASSERT_EQUAL_FATAL(mkfifo(lock_path, 0600), 0);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_state_lock_acquire(fixture_path("fifo/other.state"), 100, &lock, &err),
			-LH_EREFUSED);
	ASSERT_MSG_HAS(err, lock_path);
	ASSERT_MSG_HAS(err, "a FIFO");
	lh_state_lock_release(lock);
	alarm(0);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "golden bytes of a small state", test_golden_bytes },
		{ "a format 1 state loads and saves as format 2", test_format1_state_loads },
		{ "save, load into a new host, same bytes", test_round_trip },
		{ "refused: bad magic", test_refuse_bad_magic },
		{ "refused: unknown format version", test_refuse_format_version },
		{ "refused: checksum mismatch", test_refuse_checksum },
		{ "refused: backend not loaded", test_refuse_backend_not_loaded },
		{ "refused: backend serial version unknown", test_refuse_serial_version },
		{ "refused: another UVM's state", test_refuse_other_uvm },
		{ "refused: a backend's blob, nothing applied", test_refuse_backend_decode_nothing_applied },
		{ "refused: host already holds something", test_refuse_busy_host },
		{ "missing file is -ENOENT", test_missing_file },
		{ "every byte corrupted is refused", test_every_byte_corrupted },
		{ "every truncation is refused", test_every_truncation },
		{ "atomic save: no temp file, mode 0600", test_atomic_save },
		{ "the lock times out while another holds it", test_lock_times_out },
		{ "a state or lock that is not a regular file", test_not_a_regular_file },
		{ NULL, NULL },
	};

	signal(SIGPIPE, SIG_IGN);
	return cutest_run("state", cases, fixture_cleanup);
}
