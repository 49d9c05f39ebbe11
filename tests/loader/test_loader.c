/*
 * test_loader.c - the plugin loader against real shared objects that are
 * wrong in one way each (built from testplugin.c), and against files and
 * symlinks the loader must not trust. Every refusal names the file.
 */
#include "cutest.h"

#include "fakehost.h"
#include "fixtures.h"
#include "host.h"
#include "backend_calls.h"
#include "loader.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LH_BROKEN_PLUGIN_DIR
#error "LH_BROKEN_PLUGIN_DIR must name the folder of the broken test plugins"
#endif


static char broken_file[4096];

static const char *broken(const char *name)
{
	snprintf(broken_file, sizeof(broken_file), "%s/%s.so", LH_BROKEN_PLUGIN_DIR, name);
	return broken_file;
}

/* Loading `name` from the broken folder fails with `code`, naming the file
 * and `what`. */
static void expect_refused(const char *name, int code, const char *what)
{
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_plugin_load(LH_BROKEN_PLUGIN_DIR, name, &plugin, &err), code);
	CU_ASSERT_PTR_NULL(plugin);
	CU_ASSERT_EQUAL(err.code, code);
	ASSERT_MSG_HAS(err, broken(name));
	ASSERT_MSG_HAS(err, what);
	lh_plugin_unload(plugin);
}

static void test_good_plugin(void)
{
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };
	struct fakehost fh;
	struct lh_attach_request req = fakehost_request_init("/x.vhd", LH_ATTACH_READ_ONLY);
	struct lh_attach_result res;

	CU_ASSERT_EQUAL_FATAL(lh_plugin_load("/nonexistent:" LH_BROKEN_PLUGIN_DIR, "good", &plugin,
					     &err), 0);
	CU_ASSERT_STRING_EQUAL(plugin->path, broken("good"));
	CU_ASSERT_STRING_EQUAL(plugin->ops->name, "good");
	CU_ASSERT_EQUAL(plugin->ops->abi_version, LH_BACKEND_ABI_VERSION);

	/* Drive it through the fake host like any backend. */
	fakehost_init(&fh, LH_OS_LINUX);
	fh.plugin = plugin;
	fh.backend = plugin->ops;
	fh.priv = calloc(1, plugin->ops->priv_size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fh.priv);
	CU_ASSERT_EQUAL(fh.backend->open(fh.priv, &fh.services, &err), 0);
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &req, &res, &err), 0);
	CU_ASSERT_EQUAL(res.handle, 1);
	CU_ASSERT_EQUAL(fh.backend->attach(fh.priv, &req, &res, &err), 0);
	CU_ASSERT_EQUAL(res.handle, 2);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, 1, &err), 0);
	CU_ASSERT_EQUAL(fh.backend->release(fh.priv, 1, &err), -LH_ENOTATTACHED);
	fakehost_fini(&fh); /* closes, frees priv, unloads */
}

static void test_missing_plugin(void)
{
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_plugin_load("/nonexistent-a:" LH_BROKEN_PLUGIN_DIR, "nope", &plugin,
				       &err), -ENOENT);
	CU_ASSERT_PTR_NULL(plugin);
	ASSERT_MSG_HAS(err, "plugin 'nope' not found");
	ASSERT_MSG_HAS(err, "nope.so");
	ASSERT_MSG_HAS(err, "/nonexistent-a");
	ASSERT_MSG_HAS(err, LH_BROKEN_PLUGIN_DIR);

	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_plugin_load("", "nope", &plugin, &err), -ENOENT);
	ASSERT_MSG_HAS(err, "no directories");

	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_plugin_load_file("/nonexistent-b/x.so", &plugin, &err), -ENOENT);
	ASSERT_MSG_HAS(err, "/nonexistent-b/x.so");
}

static void test_bad_names(void)
{
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_plugin_load(LH_BROKEN_PLUGIN_DIR, "../good", &plugin, &err), -EINVAL);
	ASSERT_MSG_HAS(err, "'../good'");
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_plugin_load(LH_BROKEN_PLUGIN_DIR, "", &plugin, &err), -EINVAL);
	CU_ASSERT_PTR_NULL(plugin);
}

static void test_no_entry(void)
{
	expect_refused("noentry", -ELIBBAD, "no symbol '" LH_BACKEND_ENTRY_SYMBOL "'");
}

static void test_unknown_abi(void)
{
	expect_refused("badabi", -LH_EVERSION, "backend ABI version 99 is not supported");
}

static void test_small_table(void)
{
	expect_refused("small", -LH_EVERSION, "smaller than ABI v1");
}

static void test_missing_slots(void)
{
	static const char *const slots[] = { "open", "attach", "release", "encode", "decode",
					     "close" };
	char name[32], what[64];

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		snprintf(name, sizeof(name), "no%s", slots[i]);
		snprintf(what, sizeof(what), "has no '%s' slot", slots[i]);
		expect_refused(name, -LH_EUNSUPPORTED, what);
	}
}

static void test_null_name(void)
{
	expect_refused("noname", -LH_EUNSUPPORTED, "has no name");
}

/* A plugin answers to the name of its file: a vpmem.so whose table says
 * "scsi" would take the place of another backend. */
static void test_name_must_match_file(void)
{
	expect_refused("dup_a", -LH_EUNSUPPORTED, "its table names it 'dup', not 'dup_a'");
	expect_refused("misnamed", -LH_EUNSUPPORTED, "names it 'scsi', not 'misnamed'");
}

/* The host refuses a second backend of a name already loaded, naming the
 * file the name was first loaded from. */
static void test_duplicate_name_refused_by_host(void)
{
	static const char ini[] = "[host]\nplugin_dir = " LH_BROKEN_PLUGIN_DIR "\n"
				  "[pipeline]\nhost = good\n";
	struct lh_config *cfg = NULL;
	struct lh_host *host = NULL;
	struct lh_driver *driver = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL_FATAL(lh_config_parse(ini, "dup.ini", "/", &cfg, &err), 0);
	CU_ASSERT_EQUAL_FATAL(lh_null_driver_open(&(struct lh_driver_params){ 0 }, &driver, &err), 0);
	CU_ASSERT_EQUAL_FATAL(lh_host_open(cfg, driver, NULL, &host, &err), 0);
	CU_ASSERT_EQUAL(lh_host_add_static_backend(host, lh_host_instance(host, "good")->ops, NULL,
						   &err), -EEXIST);
	ASSERT_MSG_HAS(err, "refusing plugin: a backend named 'good' is already loaded");
	ASSERT_MSG_HAS(err, "good.so");
	lh_host_close(host);
	lh_driver_close(driver);
	lh_config_free(cfg);
}

/* A host on the null driver whose `host` role is the broken folder's
 * plugin `name`. */
static struct lh_host *broken_host(const char *name, struct lh_config **cfg,
				   struct lh_driver **driver, struct lh_error *err)
{
	char ini[512];
	struct lh_host *host = NULL;

	snprintf(ini, sizeof(ini), "[host]\nplugin_dir = %s\n[pipeline]\nhost = %s\n",
		 LH_BROKEN_PLUGIN_DIR, name);
	CU_ASSERT_EQUAL_FATAL(lh_config_parse(ini, "abi.ini", "/", cfg, err), 0);
	CU_ASSERT_EQUAL_FATAL(lh_null_driver_open(&(struct lh_driver_params){ 0 }, driver, err), 0);
	if (lh_host_open(*cfg, *driver, NULL, &host, err))
		fprintf(stderr, "\n  host: %s\n", err->message);
	return host;
}

static void broken_host_close(struct lh_host *host, struct lh_config *cfg,
			      struct lh_driver *driver)
{
	lh_host_close(host);
	lh_driver_close(driver);
	lh_config_free(cfg);
}

/* Attach and release through the host's calls into the plugin. */
static void attach_release(struct lh_host *host, const char *name)
{
	struct lh_instance *inst = lh_host_instance(host, name);
	struct lh_attach_request req = fakehost_request_init("/x.vhd", LH_ATTACH_READ_ONLY);
	struct lh_attach_result res;
	struct lh_error err = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(inst);
	CU_ASSERT_EQUAL(lh_backend_attach(inst, &req, &res, &err), 0);
	CU_ASSERT_EQUAL(res.handle, 1);
	CU_ASSERT_EQUAL(res.controller, -1);
	CU_ASSERT_EQUAL(lh_backend_release(inst, res.handle, &err), 0);
}

/* A plugin built against the ABI v1 header (version 1, the v1 table size)
 * loads and works. */
static void test_v1_plugin_works(void)
{
	struct lh_config *cfg = NULL;
	struct lh_driver *driver = NULL;
	struct lh_error err = { 0 };
	struct lh_host *host = broken_host("oldabi", &cfg, &driver, &err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(host);
	CU_ASSERT_EQUAL(lh_host_instance(host, "oldabi")->ops->abi_version, 1);
	attach_release(host, "oldabi");
	broken_host_close(host, cfg, driver);
}

/* A plugin whose result struct is 4 KiB larger than the host's writes all
 * of it: the host hands it a buffer of the size it declared (under ASan an
 * overflow of the host's own struct would abort the test). */
static void test_bigger_result_struct(void)
{
	struct lh_config *cfg = NULL;
	struct lh_driver *driver = NULL;
	struct lh_error err = { 0 };
	struct lh_host *host = broken_host("bigresult", &cfg, &driver, &err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(host);
	CU_ASSERT(lh_host_instance(host, "bigresult")->ops->result_size >
		  sizeof(struct lh_attach_result) + 4000);
	attach_release(host, "bigresult");
	broken_host_close(host, cfg, driver);
}

static void test_option_outside_priv(void)
{
	expect_refused("badoption", -LH_EUNSUPPORTED, "lies outside its");
}

static void test_misaligned_table(void)
{
	expect_refused("misaligned", -LH_EUNSUPPORTED, "misaligned table pointer");
}

/* Plugins loaded, unloaded and loaded again while others stay loaded (a
 * host opened and closed beside pinned plugins, as the state fuzzer does):
 * each load gets its own file's table, whatever file numbers the loads
 * were checked through before. */
static void test_reloads_keep_their_files(void)
{
	struct lh_plugin *pinned[2] = { NULL, NULL }, *a = NULL, *b = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL_FATAL(lh_plugin_load(LH_BROKEN_PLUGIN_DIR, "good", &pinned[0], &err), 0);
	CU_ASSERT_EQUAL_FATAL(lh_plugin_load(LH_BROKEN_PLUGIN_DIR, "bigresult", &pinned[1], &err),
			      0);
	for (int round = 0; round < 50; round++) {
		CU_ASSERT_EQUAL_FATAL(lh_plugin_load(LH_BROKEN_PLUGIN_DIR, round % 2 ? "good" :
						     "bigresult", &a, &err), 0);
		CU_ASSERT_EQUAL_FATAL(lh_plugin_load(LH_BROKEN_PLUGIN_DIR, round % 2 ? "bigresult" :
						     "good", &b, &err), 0);
		CU_ASSERT_STRING_EQUAL(a->ops->name, round % 2 ? "good" : "bigresult");
		CU_ASSERT_STRING_EQUAL(b->ops->name, round % 2 ? "bigresult" : "good");
		lh_plugin_unload(round % 3 ? a : b);
		lh_plugin_unload(round % 3 ? b : a);
	}
	lh_plugin_unload(pinned[1]);
	lh_plugin_unload(pinned[0]);
}

static void test_check_table_directly(void)
{
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_backend_check(NULL, "linked.so", &err), -LH_EUNSUPPORTED);
	ASSERT_MSG_HAS(err, "linked.so");
}

/* A private plugin folder with a copy of good.so at `mode`. */
static const char *plugin_copy(const char *dir, const char *name, mode_t mode)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s.so", fixture_path(dir), name);
	unlink(path);
	if (fixture_sh("mkdir -p '%s' && cp '%s' '%s'", fixture_path(dir), broken("good"),
		       path) != 0 || chmod(path, mode) != 0)
		return NULL;
	return path;
}

static void test_writable_files(void)
{
	static const struct {
		mode_t mode;
		const char *what;
	} cases[] = {
		{ 0664, "group-writable (mode 0664)" },
		{ 0646, "world-writable (mode 0646)" },
		{ 0666, "world-writable (mode 0666)" },
		{ 0775, "group-writable (mode 0775)" },
	};
	struct lh_plugin *plugin = NULL;
	struct lh_error err;
	const char *path;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		path = plugin_copy("writable", "good", cases[i].mode);
		CU_ASSERT_PTR_NOT_NULL_FATAL(path);
		CU_ASSERT_EQUAL(lh_plugin_load(fixture_path("writable"), "good", &plugin, &err),
				-EPERM);
		CU_ASSERT_PTR_NULL(plugin);
		ASSERT_MSG_HAS(err, path);
		ASSERT_MSG_HAS(err, cases[i].what);
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(lh_plugin_load_file(path, &plugin, &err), -EPERM);
		ASSERT_MSG_HAS(err, path);
	}
	/* The same file, owner-writable only, is fine. */
	path = plugin_copy("writable", "good", 0755);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(lh_plugin_load(fixture_path("writable"), "good", &plugin, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(plugin);
	lh_plugin_unload(plugin);
}

static void test_symlinks(void)
{
	const char *dir = fixture_path("links");
	char out_link[4096], in_link[4096], deep_link[4096];
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin_copy("links", "real", 0755));
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin_copy("links/sub", "deep", 0755));
	snprintf(out_link, sizeof(out_link), "%s/out.so", dir);
	snprintf(in_link, sizeof(in_link), "%s/good.so", dir);
	snprintf(deep_link, sizeof(deep_link), "%s/deep.so", dir);
	CU_ASSERT_FATAL(symlink(broken("good"), out_link) == 0);
	CU_ASSERT_FATAL(symlink("real.so", in_link) == 0);
	CU_ASSERT_FATAL(symlink("sub/deep.so", deep_link) == 0);

	/* Out of the folder: refused before the file is opened. */
	CU_ASSERT_EQUAL(lh_plugin_load(dir, "out", &plugin, &err), -EPERM);
	CU_ASSERT_PTR_NULL(plugin);
	ASSERT_MSG_HAS(err, out_link);
	ASSERT_MSG_HAS(err, "leads out of the plugin directory");

	/* Into a subfolder is out of the folder too. */
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(lh_plugin_load(dir, "deep", &plugin, &err), -EPERM);
	ASSERT_MSG_HAS(err, deep_link);

	/* Within the folder: fine. */
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(lh_plugin_load(dir, "good", &plugin, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin);
	CU_ASSERT_STRING_EQUAL(plugin->ops->name, "good");
	lh_plugin_unload(plugin);
}

/* Tables a plugin made up: refused with a word, not a crash. */
static void test_garbage_tables(void)
{
	expect_refused("wildtable", -LH_EUNSUPPORTED, "outside the plugin's memory");
	expect_refused("wildname", -LH_EUNSUPPORTED, "name 0x40 is not a string in the plugin");
	expect_refused("longname", -LH_EUNSUPPORTED, "is not a string in the plugin's memory of "
		       "at most 1023 bytes");
	expect_refused("wildslot", -LH_EUNSUPPORTED, "'attach' slot");
	expect_refused("hugeresult", -LH_EUNSUPPORTED, "a 1073741824-byte attach result, beyond");
}

/* sudo's rule: the file and each folder above it are root's (or this
 * user's) and writable by nobody else. */
static void test_untrusted_folders_and_owners(void)
{
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };
	const char *dir = fixture_path("trust/plugins");
	const char *parent = fixture_path("trust");
	const char *path = plugin_copy("trust/plugins", "good", 0755);
	static const mode_t bad_modes[] = { 0777, 0775, 0757 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		CU_ASSERT_FATAL(chmod(dir, bad_modes[i]) == 0);
		lh_error_clear(&err);
		CU_ASSERT_EQUAL(lh_plugin_load(dir, "good", &plugin, &err), -EPERM);
		CU_ASSERT_PTR_NULL(plugin);
		ASSERT_MSG_HAS(err, path);
		ASSERT_MSG_HAS(err, dir);
		ASSERT_MSG_HAS(err, bad_modes[i] & 02 ? "is world-writable" : "is group-writable");
		lh_plugin_unload(plugin);
		plugin = NULL;
	}
	/* The folder above, too. */
	CU_ASSERT_FATAL(chmod(dir, 0755) == 0 && chmod(parent, 0777) == 0);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_plugin_load(dir, "good", &plugin, &err), -EPERM);
	ASSERT_MSG_HAS(err, parent);
	CU_ASSERT_FATAL(chmod(parent, 0755) == 0);
	if (geteuid() != 0) {
		printf("(ownership cases need root) ");
		return;
	}
	/* Another user's file, or another user's folder. */
	CU_ASSERT_FATAL(chown(path, 65534, 65534) == 0);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_plugin_load(dir, "good", &plugin, &err), -EPERM);
	ASSERT_MSG_HAS(err, "file is owned by uid 65534");
	CU_ASSERT_FATAL(chown(path, 0, 0) == 0 && chown(parent, 65534, 65534) == 0);
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_plugin_load(dir, "good", &plugin, &err), -EPERM);
	ASSERT_MSG_HAS(err, "owned by uid 65534");
	ASSERT_MSG_HAS(err, parent);
	CU_ASSERT_FATAL(chown(parent, 0, 0) == 0);
	/* All trusted again: it loads. */
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_plugin_load(dir, "good", &plugin, &err), 0);
	lh_plugin_unload(plugin);
}

/* A libtool archive in a trusted folder naming a world-writable .so
 * elsewhere: libltdl would open that .so, which no check saw. */
static void test_libtool_archive_refused(void)
{
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };
	const char *dir = fixture_path("la/plugins");
	const char *elsewhere = fixture_path("la/elsewhere");
	char la[4096], text[8192];

	CU_ASSERT_PTR_NOT_NULL_FATAL(plugin_copy("la/elsewhere", "good", 0777));
	CU_ASSERT_FATAL(fixture_sh("mkdir -p '%s' && chmod 0777 '%s'", dir, elsewhere) == 0);
	snprintf(la, sizeof(la), "%s/good.la", dir);
	snprintf(text, sizeof(text), "# good.la - a libtool library file\ndlname='good.so'\n"
		 "library_names='good.so'\nold_library=''\ninherited_linker_flags=''\n"
		 "dependency_libs=''\ninstalled=yes\nshouldnotlink=yes\nlibdir='%s'\n",
		 elsewhere);
	CU_ASSERT_FATAL(fixture_write(la, text, strlen(text)) == 0);
	CU_ASSERT_EQUAL(lh_plugin_load(dir, "good", &plugin, &err), -EPERM);
	CU_ASSERT_PTR_NULL(plugin);
	ASSERT_MSG_HAS(err, la);
	ASSERT_MSG_HAS(err, "libtool archives (.la) are not loaded");
	lh_plugin_unload(plugin);
}

static void test_not_a_shared_object(void)
{
	const char *dir = fixture_path("junk");
	char path[4096], text[200];
	struct lh_plugin *plugin = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_FATAL(fixture_sh("mkdir -p '%s'", dir) == 0);
	snprintf(path, sizeof(path), "%s/garbage.so", dir);
	memset(text, 'x', sizeof(text));
	CU_ASSERT_FATAL(fixture_write(path, text, sizeof(text)) == 0);
	CU_ASSERT_EQUAL(lh_plugin_load(dir, "garbage", &plugin, &err), -ELIBBAD);
	CU_ASSERT_PTR_NULL(plugin);
	ASSERT_MSG_HAS(err, path);
	ASSERT_MSG_HAS(err, "cannot load: ");
	ASSERT_MSG_HAS(err, "ldd ");
	/* The dynamic linker's reason, which libltdl alone hides. */
	ASSERT_MSG_HAS(err, "invalid ELF header");
	/* lt_dlerror's text sits between "cannot load: " and the hint. */
	{
		const char *start = strstr(err.message, "cannot load: ");
		const char *hint = strstr(err.message, " (run 'ldd");

		CU_ASSERT(start && hint && hint > start + strlen("cannot load: "));
	}
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "good plugin loads and runs", test_good_plugin },
		{ "missing plugin lists the folders", test_missing_plugin },
		{ "names that are not plain", test_bad_names },
		{ "no entry symbol", test_no_entry },
		{ "unknown ABI version", test_unknown_abi },
		{ "table smaller than v1", test_small_table },
		{ "missing mandatory slots", test_missing_slots },
		{ "NULL name", test_null_name },
		{ "a plugin's name must match its file", test_name_must_match_file },
		{ "the host refuses a second plugin of one name", test_duplicate_name_refused_by_host },
		{ "lh_backend_check on a NULL table", test_check_table_directly },
		{ "an ABI v1 plugin loads and works", test_v1_plugin_works },
		{ "plugins loaded again get their own tables", test_reloads_keep_their_files },
		{ "a result struct larger than the host's", test_bigger_result_struct },
		{ "an option field outside priv is refused", test_option_outside_priv },
		{ "a misaligned table pointer is refused", test_misaligned_table },
		{ "group- and world-writable files", test_writable_files },
		{ "symlinks out of and within the folder", test_symlinks },
		{ "not a shared object: lt_dlerror and ldd", test_not_a_shared_object },
		{ "tables made up by the entry point", test_garbage_tables },
		{ "folders and owners the plugin's trust rests on", test_untrusted_folders_and_owners },
		{ "a libtool archive naming a .so elsewhere", test_libtool_archive_refused },
		{ NULL, NULL },
	};

	return cutest_run("loader", cases, fixture_cleanup);
}
