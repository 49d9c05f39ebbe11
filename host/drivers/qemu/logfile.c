/* logfile.c - see logfile.h. */
#include "logfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOGFILE_TAIL_BYTES 8192
#define LOGFILE_FIND_BYTES 65536

/* The last `want` bytes of path (malloc'd, NUL-terminated), control
 * characters other than newlines turned into nothing; NULL when the file
 * cannot be read. */
static char *logfile_read_end(const char *path, size_t want, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text = NULL;
	ssize_t n = -1;
	size_t kept = 0;

	if (fd < 0)
		return NULL;
	text = malloc(want + 1);
	if (text) {
		off_t size = lseek(fd, 0, SEEK_END);
		off_t from = size > (off_t)want ? size - (off_t)want : 0;

		n = pread(fd, text, want, from);
	}
	close(fd);
	if (n < 0) {
		free(text);
		return NULL;
	}
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		/* A console log holds escapes and carriage returns; a message
		 * needs the words. */
		if (c == '\n' || c == '\t' || c >= 0x20)
			text[kept++] = c == '\t' ? ' ' : (char)c;
	}
	text[kept] = '\0';
	*len = kept;
	return text;
}

void lh_logfile_tail(const char *path, int lines, char *buf, size_t cap)
{
	enum { MAX_LINES = 16 };
	struct { const char *p; int n; } ring[MAX_LINES];
	size_t len = 0, used = 0;
	char *text = logfile_read_end(path, LOGFILE_TAIL_BYTES, &len);
	int seen = 0;

	if (lines > MAX_LINES)
		lines = MAX_LINES;
	/* The last `lines` non-empty lines, kept in a ring as they pass. */
	for (const char *line = text; text && lines > 0 && line < text + len;) {
		const char *nl = memchr(line, '\n', (size_t)(text + len - line));
		int n = (int)(nl ? nl - line : text + len - line);

		if (n > 0) {
			ring[seen % lines].p = line;
			ring[seen % lines].n = n;
			seen++;
		}
		line += n + 1;
	}
	buf[0] = '\0';
	for (int i = seen > lines ? seen - lines : 0; i < seen && used + 1 < cap; i++) {
		int w = snprintf(buf + used, cap - used, "%s%.*s", used ? " | " : "",
				 ring[i % lines].n, ring[i % lines].p);

		used = w < 0 ? cap : used + (size_t)w;
	}
	if (!buf[0])
		snprintf(buf, cap, "(no output)");
	free(text);
}

bool lh_logfile_find(const char *path, const char *needle, char *buf, size_t cap)
{
	size_t len = 0;
	char *text = logfile_read_end(path, LOGFILE_FIND_BYTES, &len), *hit = NULL, *p;
	bool found;

	buf[0] = '\0';
	for (p = text; p && (p = strstr(p, needle)); p++)
		hit = p;
	found = hit != NULL;
	if (found)
		snprintf(buf, cap, "%.*s", (int)strcspn(hit, "\n"), hit);
	free(text);
	return found;
}
