/* log.c - see log.h. */
#include "log.h"

#include <errno.h>
#include <stdatomic.h>

static atomic_int log_level = LH_LOG_WARN;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void lh_log_set_level(enum lh_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum lh_log_level lh_log_get_level(void)
{
	return (enum lh_log_level)atomic_load(&log_level);
}

int lh_log_parse_level(const char *text, enum lh_log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(text, level_names[i]) == 0) {
			*out = (enum lh_log_level)i;
			return 0;
		}
	return -EINVAL;
}

void lh_vlog(enum lh_log_level level, const char *component, const char *fmt, va_list ap)
{
	char line[2048];

	if ((int)level > atomic_load(&log_level))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One write per line so concurrent lines do not interleave. */
	fprintf(stderr, "%s: %s: %s\n", component, level_names[level], line);
}

void lh_log(enum lh_log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lh_vlog(level, component, fmt, ap);
	va_end(ap);
}
