/*
 * utf8.h - whether text is UTF-8, as JSON (requests, the journal, --json
 * output) must be.
 */
#ifndef LH_UTF8_H
#define LH_UTF8_H

#include <stdbool.h>

/* Whether s (NUL-ended) is well-formed UTF-8: no stray or missing
 * continuation bytes, no overlong forms, no surrogates, nothing past
 * U+10FFFF. */
bool lh_utf8_valid(const char *s);

#endif
