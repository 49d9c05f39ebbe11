/* utf8.c - see utf8.h. */
#include "utf8.h"

#include <stdint.h>

bool lh_utf8_valid(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	while (*s) {
		uint32_t cp;
		int more;

		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xE0) == 0xC0) {
			cp = *s & 0x1F;
			more = 1;
		} else if ((*s & 0xF0) == 0xE0) {
			cp = *s & 0x0F;
			more = 2;
		} else if ((*s & 0xF8) == 0xF0) {
			cp = *s & 0x07;
			more = 3;
		} else {
			return false;
		}
		s++;
		for (int i = 0; i < more; i++, s++) {
			if ((*s & 0xC0) != 0x80)
				return false; /* also the NUL of a cut-off sequence */
			cp = cp << 6 | (*s & 0x3F);
		}
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
		    (more == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
	}
	return true;
}
