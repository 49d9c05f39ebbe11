/*
 * log.h - leveled log lines on stderr, each prefixed with its component
 * ("layerhost", "journal", or the plugin's name).
 */
#ifndef LH_LOG_H
#define LH_LOG_H

#include <layerhost/backend.h>

void lh_log_set_level(enum lh_log_level level);
enum lh_log_level lh_log_get_level(void);
/* Parse "error", "warn", "info", "debug"; -EINVAL otherwise. */
int lh_log_parse_level(const char *text, enum lh_log_level *out);

void lh_log(enum lh_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void lh_vlog(enum lh_log_level level, const char *component, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
