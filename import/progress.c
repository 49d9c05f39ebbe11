/* progress.c - see progress.h. */
#include "progress.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

double lh_progress_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void lh_progress_init(struct lh_progress *p, FILE *out, bool quiet)
{
	p->out = !quiet && out && isatty(fileno(out)) ? out : NULL;
	p->label[0] = '\0';
	p->started = p->last = 0;
	p->drawn = false;
}

void lh_progress_begin(struct lh_progress *p, const char *label)
{
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->started = p->last = lh_progress_now();
	p->drawn = false;
}

void lh_progress_update(void *ctx, const struct lh_convert_progress *cp)
{
	struct lh_progress *p = ctx;
	double now;

	if (!p->out)
		return;
	now = lh_progress_now();
	if (now - p->last < 0.1)
		return;
	p->last = now;
	fprintf(p->out, "\r\033[K%s: %.1f MiB, %llu entries", p->label,
		(double)cp->tar_bytes / (1024.0 * 1024.0), (unsigned long long)cp->entries);
	fflush(p->out);
	p->drawn = true;
}

void lh_progress_end(struct lh_progress *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->out)
		return;
	if (!fmt) {
		if (p->drawn)
			fputs("\r\033[K", p->out);
	} else {
		fprintf(p->out, "\r\033[K%s: ", p->label);
		va_start(ap, fmt);
		vfprintf(p->out, fmt, ap);
		va_end(ap);
		fputc('\n', p->out);
	}
	fflush(p->out);
	p->drawn = false;
}
