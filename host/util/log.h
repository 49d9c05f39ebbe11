/*
 * log.h - what the program writes to stderr: leveled log lines, each
 * prefixed with its component ("layerhost", "journal", or the plugin's
 * name), and the messages a command prints for its user.
 *
 * Everything the program writes to stderr goes through these functions,
 * so that under systemd every line carries its priority: when stderr is
 * the journal stream systemd names in JOURNAL_STREAM, each line starts
 * with sd-daemon(3)'s "<3>" (error), "<4>" (warn), "<6>" (info) or "<7>"
 * (debug), which journald strips and files the line under. Anywhere else
 * the lines are plain.
 */
#ifndef LH_LOG_H
#define LH_LOG_H

#include <layerhost/backend.h>

void lh_log_set_level(enum lh_log_level level);
enum lh_log_level lh_log_get_level(void);
/* Parse "error", "warn", "info", "debug"; -EINVAL otherwise. */
int lh_log_parse_level(const char *text, enum lh_log_level *out);

/* "component: level: text", when `level` is within the log level. */
void lh_log(enum lh_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void lh_vlog(enum lh_log_level level, const char *component, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * A command's message to its user: "layerhost: text" (the program's name,
 * see lh_log_set_program), printed whatever the log level; `level` is the
 * priority the journal files it under. Lines after the first (a "Try
 * 'layerhost --help'." hint) are printed as they are.
 */
void lh_log_print(enum lh_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lh_log_vprint(enum lh_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* The name lh_log_print starts its messages with (default "layerhost");
 * `name` must outlive every call. Set once, before any thread starts. */
void lh_log_set_program(const char *name);

#endif
