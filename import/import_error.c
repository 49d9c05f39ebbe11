/* import_error.c - see import_error.h. */
#include "import_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lh_import_error_prefix(struct lh_error *err, const char *fmt, ...)
{
	char prefix[LH_ERROR_MESSAGE_MAX], old[LH_ERROR_MESSAGE_MAX];
	va_list ap;

	if (!err || err->code == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(old, sizeof(old), "%s", err->message);
	if (snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old) >=
	    (int)sizeof(err->message))
		memcpy(err->message + sizeof(err->message) - 4, "...", 4); /* say it was cut */
}
