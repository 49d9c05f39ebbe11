/* config.c - see config.h. */
#include "config.h"

#include "options.h"
#include "registry.h"
#include "strset.h"
#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

/* The longest line the file may hold: a key and a value of one whole path
 * (PATH_MAX), with room for the key, " = ", a comment and the line end. */
#define CONFIG_LINE_MAX (PATH_MAX + 256)

/* Parsing state shared by the line reader and the key handler. */
struct config_parse {
	struct lh_config *cfg;
	const char *name; /* file name for messages */
	const char *text;
	size_t pos;
	unsigned line;       /* the line inih is handling */
	size_t max_line;     /* inih's line buffer */
	char section[256];   /* section of the current line */
	unsigned section_line;
	unsigned guest_line;   /* where the last guest key was, 0: none */
	const char *guest_key; /* and which */
	bool guest_set;
	struct lh_error *err;
	/* Duplicate checks, linear in the file's size: scalar keys already
	 * set ("section\x1fkey"), plugin sections, containers. */
	struct lh_strset seen, plugins, containers;
	size_t containers_cap;
};

static int config_fail(struct config_parse *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int config_fail(struct config_parse *p, const char *key, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (key)
		return LH_FAIL(p->err, -LH_ECONFIG, "%s:%u: [%s] %s: %s", p->name, p->line,
			       p->section, key, what);
	return LH_FAIL(p->err, -LH_ECONFIG, "%s:%u: [%s]: %s", p->name, p->line, p->section, what);
}

const char *lh_os_name(enum lh_uvm_os os)
{
	switch (os) {
	case LH_OS_LINUX: return "linux";
	case LH_OS_WINDOWS: return "windows";
	default: return "none";
	}
}

/* Absolute path for a value: relative ones are taken from the INI's folder. */
static char *config_path(const struct lh_config *cfg, const char *value)
{
	char *out;

	if (value[0] == '/' || !cfg->dir)
		return strdup(value);
	if (asprintf(&out, "%s/%s", cfg->dir, value) < 0)
		return NULL;
	return out;
}

static int set_string(struct config_parse *p, const char *key, char **field, const char *value,
		      bool is_path)
{
	char *copy = is_path ? config_path(p->cfg, value) : strdup(value);

	if (!copy)
		return config_fail(p, key, "out of memory");
	if (!value[0]) {
		free(copy);
		return config_fail(p, key, "empty value");
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Split a comma list into trimmed, non-empty words appended to *items. */
static int append_list(struct config_parse *p, const char *key, char ***items, size_t *n,
		       const char *value, bool is_path)
{
	char *copy = strdup(value), *next = copy, *word;
	int rc = 0;

	if (!copy)
		return config_fail(p, key, "out of memory");
	/* strsep, not strtok: "a,,b" has an empty item to refuse. */
	while ((word = strsep(&next, ","))) {
		char *end, **grown, *item;

		while (isspace((unsigned char)*word))
			word++;
		end = word + strlen(word);
		while (end > word && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*word && !next)
			break; /* "a, b," continued on the next line */
		if (!*word) {
			rc = config_fail(p, key, "empty item in list '%s'", value);
			break;
		}
		item = is_path ? config_path(p->cfg, word) : strdup(word);
		grown = realloc(*items, (*n + 1) * sizeof(*grown));
		if (!item || !grown) {
			free(item);
			if (grown)
				*items = grown;
			rc = config_fail(p, key, "out of memory");
			break;
		}
		*items = grown;
		(*items)[(*n)++] = item;
	}
	free(copy);
	return rc;
}

static void free_list(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

/* Refuse a scalar key given twice in one section. */
static int check_once(struct config_parse *p, const char *key)
{
	char both[512];
	unsigned first = 0;
	int rc;

	snprintf(both, sizeof(both), "%s\x1f%s", p->section, key);
	rc = lh_strset_add(&p->seen, both, p->line, &first);
	if (rc < 0)
		return config_fail(p, key, "out of memory");
	if (rc > 0)
		return config_fail(p, key, "set twice (first on line %u)", first);
	return 0;
}

static int parse_bool(struct config_parse *p, const char *key, const char *value, bool *out)
{
	if (lh_parse_bool(value, out))
		return config_fail(p, key, "'%s' is not a boolean (true/false)", value);
	return 0;
}

static int handle_host(struct config_parse *p, const char *key, const char *value)
{
	struct lh_config *cfg = p->cfg;

	if (strcmp(key, "plugin_dir") == 0) {
		/* A ':' list: each part is a path of its own. */
		char **dirs = NULL, *joined = NULL;
		size_t n = 0, len = 0;
		char *copy = strdup(value), *save = NULL, *part;
		int rc = 0;

		if (!copy)
			return config_fail(p, key, "out of memory");
		for (part = strtok_r(copy, ":", &save); part && rc == 0;
		     part = strtok_r(NULL, ":", &save))
			rc = append_list(p, key, &dirs, &n, part, true);
		free(copy);
		for (size_t i = 0; rc == 0 && i < n; i++)
			len += strlen(dirs[i]) + 1;
		if (rc == 0 && (n == 0 || !(joined = calloc(1, len))))
			rc = config_fail(p, key, n ? "out of memory" : "empty value");
		for (size_t i = 0; rc == 0 && i < n; i++) {
			if (i)
				strcat(joined, ":");
			strcat(joined, dirs[i]);
		}
		free_list(dirs, n);
		if (rc == 0) {
			free(cfg->plugin_dir);
			cfg->plugin_dir = joined;
		}
		return rc;
	}
	if (strcmp(key, "driver") == 0) {
		char names[128];

		if (!lh_driver_selectable(value))
			return config_fail(p, key, "unknown driver '%s' (%s)", value,
					   lh_driver_selectable_names(names, sizeof(names)));
		return set_string(p, key, &cfg->driver, value, false);
	}
	if (strcmp(key, "journal") == 0)
		return set_string(p, key, &cfg->journal_path, value, true);
	if (strcmp(key, "state") == 0)
		return set_string(p, key, &cfg->state_path, value, true);
	if (strcmp(key, "run_dir") == 0)
		return set_string(p, key, &cfg->run_dir, value, true);
	if (strcmp(key, "journal_fsync") == 0) {
		if (strcmp(value, "always") == 0)
			cfg->journal_fsync = LH_FSYNC_ALWAYS;
		else if (strcmp(value, "never") == 0)
			cfg->journal_fsync = LH_FSYNC_NEVER;
		else
			return config_fail(p, key, "'%s' is not always or never", value);
		return 0;
	}
	if (strcmp(key, "log_level") == 0) {
		static const char *const names[] = { "error", "warn", "info", "debug" };

		for (size_t i = 0; i < 4; i++)
			if (strcmp(value, names[i]) == 0) {
				cfg->log_level = (enum lh_log_level)i;
				return 0;
			}
		return config_fail(p, key, "'%s' is not error, warn, info or debug", value);
	}
	if (strcmp(key, "lock_timeout_ms") == 0) {
		int64_t v;

		if (lh_parse_int64(value, &v) || v < 0 || v > 3600000)
			return config_fail(p, key, "'%s' is not a number of milliseconds 0..3600000",
					   value);
		cfg->lock_timeout_ms = v;
		return 0;
	}
	return config_fail(p, key, "unknown key (plugin_dir, driver, journal, state, run_dir, "
			   "journal_fsync, log_level, lock_timeout_ms)");
}

static int handle_uvm(struct config_parse *p, const char *key, const char *value)
{
	struct lh_config *cfg = p->cfg;

	if (strcmp(key, "id") == 0) {
		if (!lh_container_id_valid(value))
			return config_fail(p, key, "'%s' is not a valid id "
					   "([A-Za-z0-9][A-Za-z0-9_.-]{0,127})", value);
		return set_string(p, key, &cfg->uvm_id, value, false);
	}
	if (strcmp(key, "os") == 0) {
		if (strcmp(value, "linux") == 0)
			cfg->os = LH_OS_LINUX;
		else if (strcmp(value, "windows") == 0)
			cfg->os = LH_OS_WINDOWS;
		else if (strcmp(value, "none") == 0)
			cfg->os = LH_OS_NONE;
		else
			return config_fail(p, key, "'%s' is not linux, windows or none", value);
		return 0;
	}
	if (strcmp(key, "physically_backed") == 0)
		return parse_bool(p, key, value, &cfg->physically_backed);
	if (strcmp(key, "no_direct_map") == 0)
		return parse_bool(p, key, value, &cfg->no_direct_map);
	if (strcmp(key, "memory") == 0) {
		if (lh_parse_size(value, &cfg->memory_bytes) || cfg->memory_bytes < (64u << 20))
			return config_fail(p, key, "'%s' is not a size of at least 64M", value);
		return 0;
	}
	if (strcmp(key, "qemu") == 0)
		return set_string(p, key, &cfg->qemu_binary, value, false);
	if (strcmp(key, "virtiofsd") == 0)
		return set_string(p, key, &cfg->virtiofsd_binary, value, false);
	if (strcmp(key, "accel") == 0) {
		if (strcmp(value, "auto") == 0)
			cfg->accel = LH_ACCEL_AUTO;
		else if (strcmp(value, "tcg") == 0)
			cfg->accel = LH_ACCEL_TCG;
		else if (strcmp(value, "kvm") == 0)
			cfg->accel = LH_ACCEL_KVM;
		else
			return config_fail(p, key, "'%s' is not tcg, kvm or auto", value);
		return 0;
	}
	if (!strcmp(key, "guest") || !strcmp(key, "kernel") || !strcmp(key, "initrd") ||
	    !strcmp(key, "kernel_cmdline")) {
		p->guest_line = p->line;
		p->guest_key = !strcmp(key, "guest") ? "guest" : !strcmp(key, "kernel") ? "kernel"
			       : !strcmp(key, "initrd") ? "initrd" : "kernel_cmdline";
	}
	if (strcmp(key, "guest") == 0) {
		p->guest_set = true;
		if (strcmp(value, "none") == 0) {
			free(cfg->guest_dir);
			cfg->guest_dir = NULL;
			return 0;
		}
		return set_string(p, key, &cfg->guest_dir, value, true);
	}
	if (strcmp(key, "kernel") == 0) {
		cfg->kernel_set = true;
		return set_string(p, key, &cfg->kernel, value, true);
	}
	if (strcmp(key, "initrd") == 0) {
		cfg->initrd_set = true;
		return set_string(p, key, &cfg->initrd, value, true);
	}
	if (strcmp(key, "kernel_cmdline") == 0)
		return set_string(p, key, &cfg->kernel_cmdline, value, false);
	return config_fail(p, key, "unknown key (id, os, physically_backed, no_direct_map, memory, "
			   "qemu, virtiofsd, accel, guest, kernel, initrd, kernel_cmdline)");
}

static int handle_pipeline(struct config_parse *p, const char *key, const char *value)
{
	static const struct {
		const char *key;
		size_t offset;
		bool single;
	} roles[] = {
		{ "lcow.layers", offsetof(struct lh_config, lcow_layers), false },
		{ "lcow.scratch", offsetof(struct lh_config, lcow_scratch), true },
		{ "wcow.layers", offsetof(struct lh_config, wcow_layers), false },
		{ "wcow.scratch", offsetof(struct lh_config, wcow_scratch), true },
		{ "host", offsetof(struct lh_config, host_layers), true },
	};

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		struct lh_role *role = (struct lh_role *)((char *)p->cfg + roles[i].offset);
		int rc;

		if (strcmp(key, roles[i].key))
			continue;
		free_list(role->backends, role->n);
		role->backends = NULL;
		role->n = 0;
		rc = append_list(p, key, &role->backends, &role->n, value, false);
		if (rc == 0 && roles[i].single && role->n != 1)
			rc = config_fail(p, key, "takes exactly one backend, got %zu", role->n);
		if (rc == 0 && role->n == 0)
			rc = config_fail(p, key, "takes at least one backend");
		for (size_t j = 0; rc == 0 && j < role->n; j++) {
			if (!lh_container_id_valid(role->backends[j]))
				rc = config_fail(p, key, "'%s' is not a plugin name", role->backends[j]);
			/* A second try of one backend can only fail the same way. */
			for (size_t k = 0; rc == 0 && k < j; k++)
				if (strcmp(role->backends[k], role->backends[j]) == 0)
					rc = config_fail(p, key, "names backend '%s' twice",
							 role->backends[j]);
		}
		role->line = p->line;
		return rc;
	}
	return config_fail(p, key, "unknown role (lcow.layers, lcow.scratch, wcow.layers, "
			   "wcow.scratch, host)");
}

static int handle_plugin(struct config_parse *p, const char *name, const char *key,
			 const char *value)
{
	struct lh_config *cfg = p->cfg;
	struct lh_plugin_section *sec = NULL;
	struct lh_config_kv *grown;

	for (size_t i = 0; i < cfg->n_plugins; i++)
		if (strcmp(cfg->plugins[i].name, name) == 0)
			sec = &cfg->plugins[i];
	if (!sec)
		return config_fail(p, key, "internal: section not registered");
	grown = realloc(sec->keys, (sec->n_keys + 1) * sizeof(*grown));
	if (!grown)
		return config_fail(p, key, "out of memory");
	sec->keys = grown;
	grown[sec->n_keys].key = strdup(key);
	grown[sec->n_keys].value = strdup(value);
	grown[sec->n_keys].line = p->line;
	sec->n_keys++;
	if (!grown[sec->n_keys - 1].key || !grown[sec->n_keys - 1].value)
		return config_fail(p, key, "out of memory");
	return 0;
}

static int handle_container(struct config_parse *p, const char *key, const char *value)
{
	struct lh_container_config *c = &p->cfg->containers[p->cfg->n_containers - 1];

	if (strcmp(key, "layers") == 0)
		return append_list(p, key, &c->layers, &c->n_layers, value, true);
	if (strcmp(key, "scratch") == 0)
		return set_string(p, key, &c->scratch, value, true);
	if (strcmp(key, "guest_root") == 0)
		return set_string(p, key, &c->guest_root, value, false);
	if (strcmp(key, "mount_path") == 0)
		return set_string(p, key, &c->mount_path, value, true);
	return config_fail(p, key, "unknown key (layers, scratch, guest_root, mount_path)");
}

/* A new section line: check its name, register plugin and container ones. */
static int config_section(struct config_parse *p, const char *section)
{
	struct lh_config *cfg = p->cfg;
	const char *dot = strchr(section, '.');

	snprintf(p->section, sizeof(p->section), "%s", section);
	p->section_line = p->line;
	if (!strcmp(section, "host") || !strcmp(section, "uvm") || !strcmp(section, "pipeline"))
		return 0;
	if (dot && strncmp(section, "plugin.", 7) == 0) {
		struct lh_plugin_section *grown;
		unsigned first = 0;
		int seen;

		if (!lh_container_id_valid(dot + 1))
			return config_fail(p, NULL, "'%s' is not a plugin name", dot + 1);
		seen = lh_strset_add(&p->plugins, dot + 1, p->line, &first);
		if (seen)
			return config_fail(p, NULL, seen < 0 ? "out of memory"
							     : "section repeated (first on line %u)",
					   first);
		grown = realloc(cfg->plugins, (cfg->n_plugins + 1) * sizeof(*grown));
		if (!grown)
			return config_fail(p, NULL, "out of memory");
		cfg->plugins = grown;
		memset(&grown[cfg->n_plugins], 0, sizeof(*grown));
		grown[cfg->n_plugins].name = strdup(dot + 1);
		grown[cfg->n_plugins].line = p->line;
		cfg->n_plugins++;
		return grown[cfg->n_plugins - 1].name ? 0 : config_fail(p, NULL, "out of memory");
	}
	if (dot && strncmp(section, "container.", 10) == 0) {
		struct lh_container_config *grown = cfg->containers;
		unsigned first = 0;
		int seen;

		if (!lh_container_id_valid(dot + 1))
			return config_fail(p, NULL, "'%s' is not a valid container id "
					   "([A-Za-z0-9][A-Za-z0-9_.-]{0,127})", dot + 1);
		seen = lh_strset_add(&p->containers, dot + 1, p->line, &first);
		if (seen)
			return config_fail(p, NULL, seen < 0 ? "out of memory"
							     : "container declared twice (first on line %u)",
					   first);
		if (cfg->n_containers == p->containers_cap) {
			size_t cap = p->containers_cap ? p->containers_cap * 2 : 8;

			grown = realloc(cfg->containers, cap * sizeof(*grown));
			if (!grown)
				return config_fail(p, NULL, "out of memory");
			p->containers_cap = cap;
		}
		cfg->containers = grown;
		memset(&grown[cfg->n_containers], 0, sizeof(*grown));
		grown[cfg->n_containers].name = strdup(dot + 1);
		grown[cfg->n_containers].line = p->line;
		cfg->n_containers++;
		return grown[cfg->n_containers - 1].name ? 0 : config_fail(p, NULL, "out of memory");
	}
	return config_fail(p, NULL, "unknown section (host, uvm, pipeline, plugin.NAME, "
			   "container.NAME)");
}

/* inih's reader: hands out one line at a time so we know the line number,
 * and sees section headers first (inih does not report empty sections). */
static char *config_reader(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	const char *start = p->text + p->pos, *nl, *s;
	size_t len;

	if (p->err->code || !*start)
		return NULL;
	nl = strchr(start, '\n');
	len = nl ? (size_t)(nl - start) + 1 : strlen(start);
	p->pos += len;
	p->line++;
	/* A UTF-8 byte order mark, as some editors write, is no part of the
	 * first line (inih drops it too, but this reader sees it first). */
	if (p->line == 1 && len >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
		start += 3;
		len -= 3;
	}
	if (len >= (size_t)num) {
		config_fail(p, NULL, "line is longer than %d characters; split long lists "
			    "over continuation lines", num - 2);
		return NULL;
	}
	memcpy(str, start, len);
	str[len] = '\0';
	/* Paths go into JSON (requests, the journal, --json): refuse what is
	 * not UTF-8 here, once, naming the line. */
	if (!lh_utf8_valid(str)) {
		config_fail(p, NULL, "not valid UTF-8 (paths and names must be UTF-8 text)");
		return NULL;
	}
	for (s = str; isspace((unsigned char)*s); s++)
		;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close) {
			config_fail(p, NULL, "section header without ']'");
			return NULL;
		}
		char name[256];

		snprintf(name, sizeof(name), "%.*s", (int)(close - s - 1), s + 1);
		if (config_section(p, name))
			return NULL;
	}
	return str;
}

static int config_handler(void *user, const char *section, const char *key, const char *value)
{
	struct config_parse *p = user;
	int rc;

	(void)section; /* the reader tracks it, with its line */
	if (p->err->code)
		return 0;
	if (!strcmp(p->section, "host")) {
		rc = check_once(p, key);
		if (rc == 0)
			rc = handle_host(p, key, value);
	} else if (!strcmp(p->section, "uvm")) {
		rc = check_once(p, key);
		if (rc == 0)
			rc = handle_uvm(p, key, value);
	} else if (!strcmp(p->section, "pipeline")) {
		rc = check_once(p, key);
		if (rc == 0)
			rc = handle_pipeline(p, key, value);
	} else if (!strncmp(p->section, "plugin.", 7)) {
		rc = handle_plugin(p, p->section + 7, key, value);
	} else if (!strncmp(p->section, "container.", 10)) {
		/* "layers" may continue over several lines; others are scalars. */
		rc = strcmp(key, "layers") == 0 ? 0 : check_once(p, key);
		if (rc == 0)
			rc = handle_container(p, key, value);
	} else {
		rc = config_fail(p, key, "key outside any section");
	}
	return rc == 0;
}

static int set_default(struct lh_config *cfg, char **field, const char *value, bool is_path)
{
	if (*field)
		return 0;
	*field = is_path ? config_path(cfg, value) : strdup(value);
	return *field ? 0 : -ENOMEM;
}

static int set_default_role(struct lh_role *role, const char *backends)
{
	char *copy, *save = NULL, *word;

	if (role->n)
		return 0;
	copy = strdup(backends);
	if (!copy)
		return -ENOMEM;
	for (word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
		char **grown = realloc(role->backends, (role->n + 1) * sizeof(*grown));

		if (!grown) {
			free(copy);
			return -ENOMEM;
		}
		role->backends = grown;
		if (!(grown[role->n++] = strdup(word))) {
			free(copy);
			return -ENOMEM;
		}
	}
	free(copy);
	return 0;
}

/* The guest's files: from their own keys, else from the guest folder.
 * Only a Linux UVM boots one (the agent is LCOW's); a Windows UVM, or
 * guest = none, has none. */
static int guest_files(struct lh_config *cfg)
{
	if (!cfg->kernel_set && cfg->guest_dir) {
		free(cfg->kernel);
		if (asprintf(&cfg->kernel, "%s/vmlinux", cfg->guest_dir) < 0)
			cfg->kernel = NULL;
	}
	if (!cfg->initrd_set && cfg->guest_dir) {
		free(cfg->initrd);
		if (asprintf(&cfg->initrd, "%s/initramfs.cpio", cfg->guest_dir) < 0)
			cfg->initrd = NULL;
	}
	return (!cfg->kernel && (cfg->guest_dir || cfg->kernel_set)) ||
	       (!cfg->initrd && (cfg->guest_dir || cfg->initrd_set)) ? -ENOMEM : 0;
}

static int config_guest(struct config_parse *p)
{
	struct lh_config *cfg = p->cfg;
	bool booting = cfg->guest_dir || cfg->kernel_set || cfg->initrd_set || cfg->kernel_cmdline;

	snprintf(p->section, sizeof(p->section), "uvm");
	p->line = p->guest_line ? p->guest_line : p->line;
	if (cfg->os != LH_OS_LINUX) {
		if (booting)
			return config_fail(p, p->guest_key, "a guest boots in a Linux UVM only "
					   "(os = linux; this UVM is os = %s); leave the guest keys "
					   "out", lh_os_name(cfg->os));
		return 0;
	}
	if (p->guest_set && !cfg->guest_dir && booting)
		return config_fail(p, NULL, "guest = none, but kernel, initrd or kernel_cmdline is "
				   "set: there is no guest to boot them in");
	if (cfg->kernel_set != cfg->initrd_set && !cfg->guest_dir)
		return config_fail(p, cfg->kernel_set ? "kernel" : "initrd", "needs %s too (or a "
				   "guest folder holding it)", cfg->kernel_set ? "initrd" : "kernel");
	cfg->guest_dir_default = !p->guest_set;
	if (!p->guest_set && !cfg->guest_dir &&
	    !(cfg->guest_dir = strdup(LH_DEFAULT_GUEST_DIR)))
		return LH_FAIL(p->err, -ENOMEM, "%s: out of memory", p->name);
	if (guest_files(cfg))
		return LH_FAIL(p->err, -ENOMEM, "%s: out of memory", p->name);
	return 0;
}

int lh_config_set_guest_dir(struct lh_config *cfg, const char *dir)
{
	char *copy = strdup(dir);

	if (!copy)
		return -ENOMEM;
	free(cfg->guest_dir);
	cfg->guest_dir = copy;
	return guest_files(cfg);
}

/* Defaults for what the file left out, and checks across sections. */
static int config_finish(struct config_parse *p)
{
	struct lh_config *cfg = p->cfg;
	int rc = 0;

	cfg->plugin_dir_default = !cfg->plugin_dir;
	rc |= set_default(cfg, &cfg->plugin_dir, LH_DEFAULT_PLUGIN_DIR, false);
	rc |= set_default(cfg, &cfg->driver, "journal", false);
	rc |= set_default(cfg, &cfg->journal_path, "layerhost.journal", true);
	rc |= set_default(cfg, &cfg->state_path, "layerhost.state", true);
	rc |= set_default(cfg, &cfg->run_dir, "run", true);
	rc |= set_default(cfg, &cfg->uvm_id, cfg->os == LH_OS_NONE ? "host" : "uvm", false);
	rc |= set_default(cfg, &cfg->qemu_binary, "qemu-system-x86_64", false);
	rc |= set_default(cfg, &cfg->virtiofsd_binary, "/usr/lib/qemu/virtiofsd", false);
	rc |= set_default_role(&cfg->lcow_layers, "vpmem,scsi");
	rc |= set_default_role(&cfg->lcow_scratch, "scsi");
	rc |= set_default_role(&cfg->wcow_layers, "vsmb");
	rc |= set_default_role(&cfg->wcow_scratch, "scsi");
	rc |= set_default_role(&cfg->host_layers, "hostlayer");
	if (!cfg->memory_bytes)
		cfg->memory_bytes = 512u << 20;
	if (rc)
		return LH_FAIL(p->err, -ENOMEM, "%s: out of memory", p->name);
	rc = config_guest(p);
	if (rc)
		return rc;
	for (size_t i = 0; i < cfg->n_containers; i++) {
		const struct lh_container_config *c = &cfg->containers[i];

		p->line = c->line;
		snprintf(p->section, sizeof(p->section), "container.%s", c->name);
		if (c->n_layers == 0)
			return config_fail(p, NULL, "no layers (layers = base, ..., top)");
		if (!c->scratch)
			return config_fail(p, NULL, "no scratch folder (scratch = PATH)");
	}
	return 0;
}

/* Lines of a whole path: Debian's inih takes its line length at run time
 * (its compile-time INI_MAX_LINE of 200 would cut a layer path short). */
static void config_ini_setup(void)
{
#ifdef LH_INIH_RUNTIME_OPTIONS
	/* A heap buffer of the whole length from the start: the reader hands
	 * out whole lines, so inih must never grow it part way through one. */
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = CONFIG_LINE_MAX;
	ini_max_line = CONFIG_LINE_MAX;
#endif
}

int lh_config_parse(const char *text, const char *name, const char *dir,
		    struct lh_config **out, struct lh_error *err)
{
	static pthread_once_t ini_once = PTHREAD_ONCE_INIT;
	struct lh_error local = { 0 };
	struct config_parse *p = calloc(1, sizeof(*p));
	struct lh_config *cfg = calloc(1, sizeof(*cfg));
	int rc = 0, line;

	if (!err)
		err = &local;
	if (!p || !cfg || !(cfg->path = strdup(name)) || (dir && !(cfg->dir = strdup(dir)))) {
		rc = LH_FAIL(err, -ENOMEM, "%s: out of memory", name);
		goto out;
	}
	cfg->lock_timeout_ms = 30000;
	cfg->log_level = LH_LOG_WARN;
	p->cfg = cfg;
	p->name = name;
	p->text = text;
	p->err = err;
	pthread_once(&ini_once, config_ini_setup);
	line = ini_parse_stream(config_reader, p, config_handler, p);
	if (err->code) {
		rc = err->code;
	} else if (line != 0) {
		p->line = line > 0 ? (unsigned)line : p->line;
		rc = config_fail(p, NULL, "not an INI line (expected [section] or key = value)");
	} else {
		rc = config_finish(p);
	}
out:
	if (rc) {
		lh_config_free(cfg);
		cfg = NULL;
	}
	*out = cfg;
	if (p) {
		lh_strset_clear(&p->seen);
		lh_strset_clear(&p->plugins);
		lh_strset_clear(&p->containers);
	}
	free(p);
	return rc;
}

int lh_config_load(const char *path, struct lh_config **out, struct lh_error *err)
{
	char *text = NULL, *dir = NULL, *slash;
	FILE *f;
	long n;
	int rc = 0;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return LH_FAIL(err, -errno, "%s: cannot open config: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(text = malloc((size_t)n + 1)) || fread(text, 1, (size_t)n, f) != (size_t)n) {
		rc = LH_FAIL(err, -EIO, "%s: cannot read config", path);
		goto out;
	}
	text[n] = '\0';
	if (memchr(text, '\0', (size_t)n)) {
		rc = LH_FAIL(err, -LH_ECONFIG, "%s: holds a NUL byte: not an INI file", path);
		goto out;
	}
	dir = realpath(path, NULL);
	if (!dir) {
		rc = LH_FAIL(err, -errno, "%s: cannot resolve: %s", path, strerror(errno));
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	rc = lh_config_parse(text, path, dir, out, err);
out:
	free(dir);
	free(text);
	fclose(f);
	return rc;
}

void lh_config_free(struct lh_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->plugin_dir);
	free(cfg->driver);
	free(cfg->journal_path);
	free(cfg->state_path);
	free(cfg->run_dir);
	free(cfg->uvm_id);
	free(cfg->qemu_binary);
	free(cfg->virtiofsd_binary);
	free(cfg->guest_dir);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->kernel_cmdline);
	free_list(cfg->lcow_layers.backends, cfg->lcow_layers.n);
	free_list(cfg->lcow_scratch.backends, cfg->lcow_scratch.n);
	free_list(cfg->wcow_layers.backends, cfg->wcow_layers.n);
	free_list(cfg->wcow_scratch.backends, cfg->wcow_scratch.n);
	free_list(cfg->host_layers.backends, cfg->host_layers.n);
	for (size_t i = 0; i < cfg->n_plugins; i++) {
		for (size_t j = 0; j < cfg->plugins[i].n_keys; j++) {
			free(cfg->plugins[i].keys[j].key);
			free(cfg->plugins[i].keys[j].value);
		}
		free(cfg->plugins[i].keys);
		free(cfg->plugins[i].name);
	}
	free(cfg->plugins);
	for (size_t i = 0; i < cfg->n_containers; i++) {
		struct lh_container_config *c = &cfg->containers[i];

		free(c->name);
		free_list(c->layers, c->n_layers);
		free(c->scratch);
		free(c->guest_root);
		free(c->mount_path);
	}
	free(cfg->containers);
	free(cfg);
}

const struct lh_plugin_section *lh_config_plugin(const struct lh_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_plugins; i++)
		if (strcmp(cfg->plugins[i].name, name) == 0)
			return &cfg->plugins[i];
	return NULL;
}

const struct lh_container_config *lh_config_container(const struct lh_config *cfg,
						      const char *name)
{
	for (size_t i = 0; i < cfg->n_containers; i++)
		if (strcmp(cfg->containers[i].name, name) == 0)
			return &cfg->containers[i];
	return NULL;
}

void lh_config_driver_params(const struct lh_config *cfg, struct lh_driver_params *out)
{
	memset(out, 0, sizeof(*out));
	out->source = cfg->path;
	out->journal_path = cfg->journal_path;
	out->journal_fsync = cfg->journal_fsync;
	out->run_dir = cfg->run_dir;
	out->os = cfg->os;
	out->vm.emulator = cfg->qemu_binary;
	out->vm.virtiofsd = cfg->virtiofsd_binary;
	out->vm.memory_bytes = cfg->memory_bytes;
	out->vm.accel = cfg->accel;
	out->vm.kernel = cfg->kernel;
	out->vm.initrd = cfg->initrd;
	out->vm.kernel_from = cfg->kernel_set ? "[uvm] kernel"
			      : cfg->guest_dir_default ? "the default [uvm] guest" : "[uvm] guest";
	out->vm.initrd_from = cfg->initrd_set ? "[uvm] initrd"
			      : cfg->guest_dir_default ? "the default [uvm] guest" : "[uvm] guest";
	out->vm.cmdline = cfg->kernel_cmdline;
}
