/* log.c - see log.h. */
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int log_level = LH_LOG_WARN;
/* -1 until the first line decides; then whether stderr is the journal. */
static atomic_int log_journal = -1;
static const char *log_program = "layerhost";

static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* sd-daemon(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const char *const level_prefixes[] = { "<3>", "<4>", "<6>", "<7>" };

void lh_log_set_level(enum lh_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum lh_log_level lh_log_get_level(void)
{
	return (enum lh_log_level)atomic_load(&log_level);
}

void lh_log_set_program(const char *name)
{
	log_program = name;
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

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connects
 * stderr to (systemd.exec(5)). Only when stderr still is that stream: a
 * unit that redirects it to a file keeps the variable but not the inode,
 * and a child of the service inherits the variable with another stderr. */
static bool log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char tail;

	if (!env || sscanf(env, "%ju:%ju%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

static bool log_to_journal(void)
{
	int journal = atomic_load(&log_journal);

	if (journal < 0) {
		/* Racing first lines compute the same answer. */
		journal = log_stderr_is_journal();
		atomic_store(&log_journal, journal);
	}
	return journal;
}

/* Write `text` (lines without their final newline) to stderr in one write,
 * so concurrent lines do not interleave; for the journal every line gets
 * its priority, since journald files each line as a record of its own. */
static void log_emit(enum lh_log_level level, const char *text)
{
	const char *prefix = log_to_journal() ? level_prefixes[level] : "";
	char out[8192];
	size_t used = 0;

	for (const char *line = text;;) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);
		int n = snprintf(out + used, sizeof(out) - used, "%s%.*s\n", prefix, len, line);

		if (n < 0 || (size_t)n >= sizeof(out) - used) {
			/* Cut: still one whole line. */
			used = sizeof(out) - 1;
			out[used - 1] = '\n';
			break;
		}
		used += (size_t)n;
		if (!nl || !nl[1])
			break;
		line = nl + 1;
	}
	fwrite(out, 1, used, stderr);
}

void lh_vlog(enum lh_log_level level, const char *component, const char *fmt, va_list ap)
{
	char line[2048], text[2200];

	if ((int)level > atomic_load(&log_level))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	snprintf(text, sizeof(text), "%s: %s: %s", component, level_names[level], line);
	log_emit(level, text);
}

void lh_log(enum lh_log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lh_vlog(level, component, fmt, ap);
	va_end(ap);
}

void lh_log_vprint(enum lh_log_level level, const char *fmt, va_list ap)
{
	char message[4096], text[4200];

	vsnprintf(message, sizeof(message), fmt, ap);
	snprintf(text, sizeof(text), "%s: %s", log_program, message);
	log_emit(level, text);
}

void lh_log_print(enum lh_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lh_log_vprint(level, fmt, ap);
	va_end(ap);
}
