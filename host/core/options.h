/*
 * options.h - parse INI values, and plugin option tables (struct lh_option)
 * into a plugin's priv.
 */
#ifndef LH_OPTIONS_H
#define LH_OPTIONS_H

#include <layerhost/backend.h>

/* Value parsers shared by the host config and plugin options. Each returns
 * 0, or -EINVAL / -ERANGE without touching *out. */
int lh_parse_bool(const char *text, bool *out);
int lh_parse_int64(const char *text, int64_t *out);
/* Bytes with an optional K, M, G or T suffix (powers of 1024). */
int lh_parse_size(const char *text, uint64_t *out);

/*
 * A plugin's option table as the host walks it: entries `stride` bytes
 * apart (the plugin's sizeof(struct lh_option), which a plugin built
 * against a newer header may have grown), ended by an entry whose name is
 * NULL. `options` may be NULL: no keys.
 */
struct lh_option_list {
	const char *plugin;  /* for messages */
	const struct lh_option *options;
	size_t stride;
};

/* A list over a table of this build's struct lh_option (tests, tools). */
#define LH_OPTION_LIST(plugin, table) \
	((struct lh_option_list){ (plugin), (table), sizeof(struct lh_option) })

/* Entry i, or NULL at the end. */
const struct lh_option *lh_option_at(const struct lh_option_list *list, size_t i);

/* Find an option by name; NULL if absent. */
const struct lh_option *lh_option_find(const struct lh_option_list *list, const char *name);

/* Refuse a table whose fields do not lie inside a priv of priv_size bytes,
 * or of an unknown type; `file` names the plugin in the message. */
int lh_options_check_layout(const struct lh_option_list *list, size_t priv_size,
			    const char *file, struct lh_error *err);

/*
 * Parse `value` for `opt` into priv. `where` names the place for messages
 * ("layers.ini:12 [plugin.scsi] luns_per_controller"). -LH_ECONFIG with
 * the reason on a bad or out-of-range value; priv unchanged then.
 */
int lh_option_set(const struct lh_option *opt, void *priv, const char *value,
		  const char *where, struct lh_error *err);

/*
 * Parse `value` for the option `key` of the list into priv. An unknown
 * key is -LH_ECONFIG, "<where>: unknown key (plugin P takes: ...)".
 */
int lh_options_apply(const struct lh_option_list *list, void *priv, const char *key,
		     const char *value, const char *where, struct lh_error *err);

/* Write every option's default into priv (tables are checked here too: a
 * default that does not parse is the plugin's bug, reported as such). */
int lh_options_set_defaults(const struct lh_option_list *list, void *priv,
			    struct lh_error *err);

#endif
