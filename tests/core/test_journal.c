/*
 * test_journal.c - the journal driver's exact lines, its sequence across
 * reopenings, and recovery from a record a crash cut short.
 */
#include "cutest.h"
#include "driver.h"
#include "fixtures.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static struct lh_driver *journal_open(const char *path)
{
	struct lh_driver_params params = { .journal_path = path, .journal_fsync = LH_FSYNC_ALWAYS };
	struct lh_driver *drv = NULL;
	struct lh_error err = { 0 };

	if (lh_journal_driver_open(&params, &drv, &err))
		fprintf(stderr, "\n  %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	return drv;
}

static void issue(struct lh_driver *drv, const char *json)
{
	struct lh_error err = { 0 };
	cJSON *req = cJSON_Parse(json);

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_EQUAL(drv->ops->modify(drv, "uvm-1", req, &err), 0);
	cJSON_Delete(req);
}

static void test_exact_lines_and_sequence(void)
{
	const char *path = fixture_path("j1/layerhost.journal");
	struct lh_driver *drv = journal_open(path);
	struct lh_journal *journal = NULL;
	struct lh_error err = { 0 };
	cJSON *guest;
	char *text;

	issue(drv, "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/0/Attachments/1\","
		   "\"RequestType\":\"Add\",\"Settings\":{\"Type\":\"VirtualDisk\",\"Path\":\"/l.vhd\"}}");
	issue(drv, "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/0/Attachments/1\","
		   "\"RequestType\":\"Remove\"}");
	lh_driver_close(drv);
	/* A reopened journal continues the sequence. */
	CU_ASSERT_EQUAL_FATAL(lh_journal_open(path, LH_FSYNC_ALWAYS, &journal, &err), 0);
	guest = cJSON_Parse("{\"GuestRequest\":{\"RequestType\":\"Add\"}}");
	CU_ASSERT_EQUAL(lh_journal_append(journal, "uvm-1", guest, "undelivered", &err), 0);
	cJSON_Delete(guest);
	lh_journal_close(journal);
	text = fixture_read(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text,
		"{\"seq\":1,\"uvm\":\"uvm-1\",\"request\":{\"ResourcePath\":"
		"\"VirtualMachine/Devices/Scsi/0/Attachments/1\",\"RequestType\":\"Add\","
		"\"Settings\":{\"Type\":\"VirtualDisk\",\"Path\":\"/l.vhd\"}}}\n"
		"{\"seq\":2,\"uvm\":\"uvm-1\",\"request\":{\"ResourcePath\":"
		"\"VirtualMachine/Devices/Scsi/0/Attachments/1\",\"RequestType\":\"Remove\"}}\n"
		"{\"seq\":3,\"uvm\":\"uvm-1\",\"request\":{\"GuestRequest\":{\"RequestType\":\"Add\"}},"
		"\"guest\":\"undelivered\"}\n");
	free(text);
}

/* A record cut short by a crash is cut off; the sequence goes on. */
static void test_torn_last_record_cut_off(void)
{
	static const char torn[] = "{\"seq\":1,\"uvm\":\"u\",\"request\":{}}\n{\"seq\":2,\"uv";
	const char *path = fixture_path("j2/layerhost.journal");
	struct lh_driver *drv;
	char *text;

	CU_ASSERT_EQUAL_FATAL(fixture_write(path, torn, strlen(torn)), 0);
	drv = journal_open(path);
	issue(drv, "{\"RequestType\":\"Add\"}");
	lh_driver_close(drv);
	text = fixture_read(path, NULL);
	CU_ASSERT_STRING_EQUAL(text, "{\"seq\":1,\"uvm\":\"u\",\"request\":{}}\n"
				     "{\"seq\":2,\"uvm\":\"uvm-1\",\"request\":{\"RequestType\":\"Add\"}}\n");
	free(text);
	/* Only a fragment: the journal starts again at 1. */
	path = fixture_path("j3/layerhost.journal");
	CU_ASSERT_EQUAL_FATAL(fixture_write(path, "{\"se", 4), 0);
	drv = journal_open(path);
	issue(drv, "{}");
	lh_driver_close(drv);
	text = fixture_read(path, NULL);
	CU_ASSERT_STRING_EQUAL(text, "{\"seq\":1,\"uvm\":\"uvm-1\",\"request\":{}}\n");
	free(text);
}

/* A complete last line that is no record is not ours to touch. */
static void test_foreign_last_line_refused(void)
{
	const char *path = fixture_path("j4/layerhost.journal");
	struct lh_journal *journal = NULL;
	struct lh_error err = { 0 };
	size_t len = 0;
	char *text;

	CU_ASSERT_EQUAL_FATAL(fixture_write(path, "hello\n", 6), 0);
	CU_ASSERT_EQUAL(lh_journal_open(path, LH_FSYNC_NEVER, &journal, &err), -LH_ECORRUPT);
	CU_ASSERT_PTR_NULL(journal);
	ASSERT_MSG_HAS(err, path);
	ASSERT_MSG_HAS(err, "not a journal record");
	text = fixture_read(path, &len);
	CU_ASSERT_EQUAL(len, 6);
	free(text);
}

static void test_unwritable_journal(void)
{
	struct lh_journal *journal = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_journal_open("/nonexistent/dir/j", LH_FSYNC_NEVER, &journal, &err),
			-ENOENT);
	ASSERT_MSG_HAS(err, "/nonexistent/dir/j");
}

/* Anything but a regular file is refused at open: a FIFO nobody reads
 * would take lines until its buffer is full, then block the command for
 * good, holding the state lock. */
static void test_not_a_regular_file(void)
{
	const char *fifo = fixture_path("j5/layerhost.journal");
	struct lh_journal *journal = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
	CU_ASSERT_EQUAL(lh_journal_open(fifo, LH_FSYNC_NEVER, &journal, &err), -LH_EREFUSED);
	CU_ASSERT_PTR_NULL(journal);
	ASSERT_MSG_HAS(err, fifo);
	ASSERT_MSG_HAS(err, "not a regular file (a FIFO)");
	lh_journal_close(journal);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_journal_open("/dev/null", LH_FSYNC_NEVER, &journal, &err),
			-LH_EREFUSED);
	ASSERT_MSG_HAS(err, "a character device");
	lh_journal_close(journal);
}

/* A request the journal could not take whole (the file full half way
 * through its line) leaves no part of it: the driver said it failed, and
 * the next line starts on a line of its own. */
static void test_failed_append_leaves_nothing(void)
{
	const char *path = fixture_path("j6/layerhost.journal");
	struct lh_driver *drv = journal_open(path);
	struct lh_error err = { 0 };
	struct rlimit old, small;
	size_t len = 0;
	cJSON *req = cJSON_Parse("{\"RequestType\":\"Add\",\"Settings\":{\"Path\":\"/a/long/path\"}}");
	char *text;
	int rc;

	issue(drv, "{}");
	text = fixture_read(path, &len);
	free(text);
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = len + 10; /* room for a few bytes of the next line */
	signal(SIGXFSZ, SIG_IGN);
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &small), 0);
	rc = drv->ops->modify(drv, "uvm-1", req, &err);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	CU_ASSERT_EQUAL(rc, -EFBIG);
	ASSERT_MSG_HAS(err, "cannot append request 2");
	issue(drv, "{}");
	lh_driver_close(drv);
	cJSON_Delete(req);
	text = fixture_read(path, NULL);
	CU_ASSERT_STRING_EQUAL(text, "{\"seq\":1,\"uvm\":\"uvm-1\",\"request\":{}}\n"
				     "{\"seq\":2,\"uvm\":\"uvm-1\",\"request\":{}}\n");
	free(text);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "exact lines, sequence across reopenings", test_exact_lines_and_sequence },
		{ "a torn last record is cut off", test_torn_last_record_cut_off },
		{ "a foreign last line is refused, file untouched", test_foreign_last_line_refused },
		{ "an unwritable journal names the path", test_unwritable_journal },
		{ "a journal that is not a regular file is refused", test_not_a_regular_file },
		{ "a failed append leaves no part of its line", test_failed_append_leaves_nothing },
		{ NULL, NULL },
	};

	return cutest_run("journal", cases, fixture_cleanup);
}
