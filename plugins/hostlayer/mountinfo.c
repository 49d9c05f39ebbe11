/*
 * mountinfo.c - the mount table as the kernel shows it in
 * /proc/self/mountinfo, and the identity of a mount layerhost made.
 *
 * A path names whatever is mounted on top of it now, which need not be what
 * layerhost mounted there: the user may have unmounted ours by hand (and
 * the path is then a mount point of theirs) or mounted something over it.
 * So a mount is recorded by what the table says of it right after it was
 * made (mount id, device, filesystem type), and unmounted only when the
 * topmost mount at its path is still that one.
 */
#include "hostlayer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mountinfo escapes space, tab, newline and backslash (and overlay's
 * options a few more) as \ooo: undo it in place. */
static void hostlayer_unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* One line: "ID PARENT MAJ:MIN ROOT TARGET OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER". */
static bool hostlayer_mount_parse(char *line, struct hostlayer_mount_entry *m)
{
	char *save = NULL, *field, *dash;
	unsigned major, minor;

	dash = strstr(line, " - ");
	if (!dash)
		return false;
	*dash = '\0';
	if (sscanf(line, "%" SCNu64 " %*u %u:%u", &m->id, &major, &minor) != 3)
		return false;
	m->major = major;
	m->minor = minor;
	field = strtok_r(line, " ", &save);
	for (int i = 0; field && i < 4; i++)
		field = strtok_r(NULL, " ", &save);
	if (!field)
		return false;
	m->target = field;
	save = NULL;
	m->fstype = strtok_r(dash + 3, " \n", &save);
	m->source = strtok_r(NULL, " \n", &save);
	m->options = strtok_r(NULL, " \n", &save);
	if (!m->fstype || !m->source)
		return false;
	if (!m->options)
		m->options = "";
	/* options stay escaped: a value may hold an escaped ',' */
	hostlayer_unescape(m->target);
	hostlayer_unescape(m->source);
	return true;
}

int hostlayer_mounts_visit(hostlayer_mount_visit_fn fn, void *arg, struct lh_error *err)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct hostlayer_mount_entry m;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!f)
		return LH_FAIL(err, -errno, "/proc/self/mountinfo: %s", strerror(errno));
	while (rc == 0 && getline(&line, &cap, f) > 0)
		if (hostlayer_mount_parse(line, &m))
			rc = fn(arg, &m);
	if (rc == 0 && ferror(f))
		rc = LH_FAIL(err, -EIO, "/proc/self/mountinfo: read error");
	free(line);
	fclose(f);
	return rc;
}

bool hostlayer_mount_option(const char *options, const char *name, char *out, size_t cap)
{
	size_t len = strlen(name);

	for (const char *p = options; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > len && p[len] == '=' && strncmp(p, name, len) == 0 && n - len - 1 < cap) {
			memcpy(out, p + len + 1, n - len - 1);
			out[n - len - 1] = '\0';
			hostlayer_unescape(out);
			return true;
		}
		p += n + (end != NULL);
	}
	return false;
}

/* ---- the mounts layerhost made ------------------------------------------------- */

struct hostlayer_mount_search {
	const char *target, *fstype;
	const struct hostlayer_mount_id *id; /* NULL: identify, do not match */
	struct hostlayer_mount_id top;       /* the topmost mount at target */
	bool found_top, top_is_ours, ours_below;
};

static bool hostlayer_mount_is(const struct hostlayer_mount_entry *m,
			       const struct hostlayer_mount_search *s)
{
	if (strcmp(m->fstype, s->fstype) != 0)
		return false;
	/* A state written before identities were recorded knows only the type. */
	if (!s->id || s->id->id == 0)
		return true;
	return m->id == s->id->id && m->major == s->id->major && m->minor == s->id->minor;
}

/* Later lines are later mounts: at one target, the last is on top. */
static int hostlayer_mount_search_visit(void *arg, const struct hostlayer_mount_entry *m)
{
	struct hostlayer_mount_search *s = arg;

	if (strcmp(m->target, s->target) != 0)
		return 0;
	if (s->found_top && s->top_is_ours)
		s->ours_below = true;
	s->found_top = true;
	s->top_is_ours = hostlayer_mount_is(m, s);
	s->top = (struct hostlayer_mount_id){ .id = m->id, .major = m->major, .minor = m->minor };
	return 0;
}

int hostlayer_mount_identify(const char *target, const char *fstype,
			     struct hostlayer_mount_id *out, struct lh_error *err)
{
	struct hostlayer_mount_search s = { .target = target, .fstype = fstype };
	int rc = hostlayer_mounts_visit(hostlayer_mount_search_visit, &s, err);

	if (rc == 0 && !(s.found_top && s.top_is_ours))
		rc = LH_FAIL(err, -ENOENT, "%s: the %s mount just made is not in the mount table",
			     target, fstype);
	if (rc == 0)
		*out = s.top;
	return rc;
}

int hostlayer_mount_where(const char *target, const char *fstype,
			  const struct hostlayer_mount_id *id, enum hostlayer_mount_place *out,
			  struct lh_error *err)
{
	struct hostlayer_mount_search s = { .target = target, .fstype = fstype, .id = id };
	int rc = hostlayer_mounts_visit(hostlayer_mount_search_visit, &s, err);

	if (rc == 0)
		*out = s.found_top && s.top_is_ours ? HOSTLAYER_MOUNT_ON_TOP
		       : s.ours_below               ? HOSTLAYER_MOUNT_COVERED
						    : HOSTLAYER_MOUNT_ABSENT;
	return rc;
}
