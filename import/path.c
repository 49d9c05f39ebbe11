/* path.c - see path.h. */
#include "path.h"

#include <errno.h>
#include <string.h>

int lh_path_clean(const char *in, char *out, size_t cap, const char **why)
{
	size_t len = 0;
	const char *p = in;

	*why = NULL;
	if (cap == 0) {
		*why = "no room";
		return -ENAMETOOLONG;
	}
	if (*p == '/') {
		*why = "absolute path (the layer's entries are relative to its root)";
		return -EINVAL;
	}
	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* "a//b" and "a/./b" name a/b */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (len == 0) {
				*why = "'..' leads out of the layer's root";
				return -EINVAL;
			}
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the slash before the dropped component */
		} else if (n > LH_PATH_NAME_MAX) {
			*why = "a name longer than 255 bytes";
			return -ENAMETOOLONG;
		} else {
			if (len + (len > 0) + n + 1 > cap) {
				*why = "path too long";
				return -ENAMETOOLONG;
			}
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	out[len] = '\0';
	return 0;
}

size_t lh_path_split(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		*name = path;
		return 0;
	}
	*name = slash + 1;
	return (size_t)(slash - path);
}
