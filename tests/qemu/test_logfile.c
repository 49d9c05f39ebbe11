/*
 * test_logfile.c - what layerhost quotes from a VM's logs: the last lines
 * of a console (control characters dropped, blank lines skipped) and the
 * last line holding a needle (a kernel panic).
 */
#include "cutest.h"
#include "fixtures.h"
#include "logfile.h"

#include <stdlib.h>
#include <string.h>

static void test_tail(void)
{
	const char *log = fixture_path("console.log");
	const char *text = "one\r\n\ntwo\n\x1b[0mthree\tx\n\n";
	char buf[256];

	CU_ASSERT_EQUAL_FATAL(fixture_write(log, text, strlen(text)), 0);
	lh_logfile_tail(log, 2, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "two | [0mthree x");
	lh_logfile_tail(log, 1, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "[0mthree x");
	lh_logfile_tail(log, 9, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "one | two | [0mthree x");
	/* A small buffer is cut, never overrun. */
	lh_logfile_tail(log, 9, buf, 8);
	CU_ASSERT_STRING_EQUAL(buf, "one | t");
	lh_logfile_tail(fixture_path("none.log"), 3, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "(no output)");
	CU_ASSERT_EQUAL_FATAL(fixture_write(log, "\n\n", 2), 0);
	lh_logfile_tail(log, 3, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "(no output)");
}

static void test_find(void)
{
	const char *log = fixture_path("panic.log");
	const char *text = "[ 1.0] boot\n[ 2.0] Kernel panic - not syncing: first\n"
			   "[ 3.0] Kernel panic - not syncing: sysrq triggered crash\n[ 3.1] trace\n";
	char buf[256];

	CU_ASSERT_EQUAL_FATAL(fixture_write(log, text, strlen(text)), 0);
	CU_ASSERT_TRUE(lh_logfile_find(log, "Kernel panic", buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "Kernel panic - not syncing: sysrq triggered crash");
	CU_ASSERT_FALSE(lh_logfile_find(log, "Oops", buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_FALSE(lh_logfile_find(fixture_path("none.log"), "Kernel panic", buf, sizeof(buf)));
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "the last lines of a console", test_tail },
		{ "the last line holding a needle", test_find },
		{ NULL, NULL },
	};

	return cutest_run("logfile", cases, fixture_cleanup);
}
