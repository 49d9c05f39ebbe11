/* retry.c - hcsshim retries its layer filter calls on transient errors; on
 * Linux the transient ones are a loop device taken between the free-slot
 * query and the attach (EBUSY) and a briefly busy mount (EBUSY / EAGAIN). */
#include "hostlayer.h"

#include <errno.h>
#include <time.h>

static void hostlayer_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int hostlayer_retry(const char *what, hostlayer_op_fn op, void *arg, unsigned attempts,
		    unsigned delay_ms, struct lh_error *err)
{
	struct lh_error last;
	unsigned n = 0;
	int rc;

	if (attempts == 0)
		attempts = 1;
	do {
		if (n > 0)
			hostlayer_sleep_ms(delay_ms);
		lh_error_clear(&last);
		rc = op(arg, &last);
		n++;
	} while ((rc == -EBUSY || rc == -EAGAIN) && n < attempts);
	if (rc == 0)
		return 0;
	if (n > 1)
		return lh_error_set(err, rc, last.func ? last.func : __func__,
				    "%s: gave up after %u attempts: %s", what, n,
				    last.code ? last.message : "transient failure");
	return lh_error_set(err, rc, last.func ? last.func : __func__, "%s",
			    last.code ? last.message : what);
}
