/*
 * test_config.c - the INI file: defaults, paths, roles, containers, and
 * every refusal naming the file, line, section and key.
 */
#include "config.h"
#include "cutest.h"
#include "driver.h"
#include "host.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* Parse text; expect failure with every needle in the message. */
static void refused(const char *text, const char *needle1, const char *needle2)
{
	struct lh_config *cfg = (struct lh_config *)1;
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_config_parse(text, "t.ini", "/etc/lh", &cfg, &err), -LH_ECONFIG);
	CU_ASSERT_PTR_NULL(cfg);
	ASSERT_MSG_HAS(err, needle1);
	if (needle2)
		ASSERT_MSG_HAS(err, needle2);
}

static struct lh_config *parsed(const char *text)
{
	struct lh_config *cfg = NULL;
	struct lh_error err = { 0 };

	if (lh_config_parse(text, "t.ini", "/etc/lh", &cfg, &err))
		fprintf(stderr, "\n  %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	return cfg;
}

static void test_defaults(void)
{
	struct lh_config *cfg = parsed("");

	CU_ASSERT_STRING_EQUAL(cfg->driver, "journal");
	CU_ASSERT_STRING_EQUAL(cfg->journal_path, "/etc/lh/layerhost.journal");
	CU_ASSERT_STRING_EQUAL(cfg->state_path, "/etc/lh/layerhost.state");
	CU_ASSERT_EQUAL(cfg->os, LH_OS_NONE);
	CU_ASSERT_STRING_EQUAL(cfg->uvm_id, "host");
	CU_ASSERT_TRUE(cfg->plugin_dir_default);
	CU_ASSERT_EQUAL(cfg->lcow_layers.n, 2);
	CU_ASSERT_STRING_EQUAL(cfg->lcow_layers.backends[0], "vpmem");
	CU_ASSERT_STRING_EQUAL(cfg->lcow_layers.backends[1], "scsi");
	CU_ASSERT_STRING_EQUAL(cfg->host_layers.backends[0], "hostlayer");
	CU_ASSERT_EQUAL(cfg->journal_fsync, LH_FSYNC_ALWAYS);
	lh_config_free(cfg);
}

static void test_full_file(void)
{
	struct lh_config *cfg = parsed(
		"; a comment\n"
		"[host]\nplugin_dir = plugins:/opt/lh\ndriver = null\njournal = /var/j\n"
		"journal_fsync = never\nlog_level = debug\nlock_timeout_ms = 5\n"
		"[uvm]\nid = vm-1\nos = windows\nphysically_backed = yes\nno_direct_map = off\n"
		"[pipeline]\nwcow.layers = vsmb, mine\n"
		"[plugin.scsi]\ncontrollers = 2\n"
		"[container.c1]\nlayers = l/base, /abs/top\n  l/more\nscratch = s\n"
		"guest_root = C:\\\\c\\\\x\n");
	const struct lh_container_config *c = lh_config_container(cfg, "c1");

	CU_ASSERT_STRING_EQUAL(cfg->plugin_dir, "/etc/lh/plugins:/opt/lh");
	CU_ASSERT_FALSE(cfg->plugin_dir_default);
	CU_ASSERT_STRING_EQUAL(cfg->driver, "null");
	CU_ASSERT_EQUAL(cfg->journal_fsync, LH_FSYNC_NEVER);
	CU_ASSERT_EQUAL(cfg->log_level, LH_LOG_DEBUG);
	CU_ASSERT_EQUAL(cfg->lock_timeout_ms, 5);
	CU_ASSERT_STRING_EQUAL(cfg->uvm_id, "vm-1");
	CU_ASSERT_EQUAL(cfg->os, LH_OS_WINDOWS);
	CU_ASSERT_TRUE(cfg->physically_backed);
	CU_ASSERT_FALSE(cfg->no_direct_map);
	CU_ASSERT_EQUAL(cfg->wcow_layers.n, 2);
	CU_ASSERT_STRING_EQUAL(cfg->wcow_layers.backends[1], "mine");
	CU_ASSERT_EQUAL_FATAL(cfg->n_plugins, 1);
	CU_ASSERT_STRING_EQUAL(cfg->plugins[0].keys[0].key, "controllers");
	CU_ASSERT_EQUAL(cfg->plugins[0].keys[0].line, 17);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->n_layers, 3);
	CU_ASSERT_STRING_EQUAL(c->layers[0], "/etc/lh/l/base");
	CU_ASSERT_STRING_EQUAL(c->layers[1], "/abs/top");
	CU_ASSERT_STRING_EQUAL(c->layers[2], "/etc/lh/l/more");
	CU_ASSERT_STRING_EQUAL(c->scratch, "/etc/lh/s");
	CU_ASSERT_EQUAL(c->line, 18);
	lh_config_free(cfg);
}

static void test_refusals_name_the_place(void)
{
	refused("[host]\ndriver = journal\n\n[bogus]\n", "t.ini:4", "unknown section");
	refused("[host]\nfrobs = 1\n", "t.ini:2: [host] frobs: unknown key", NULL);
	refused("[host]\ndriver = hyperv\n", "t.ini:2: [host] driver", "unknown driver 'hyperv'");
	refused("[uvm]\nos = beos\n", "t.ini:2: [uvm] os", "not linux, windows or none");
	refused("[uvm]\nphysically_backed = maybe\n", "t.ini:2", "not a boolean");
	refused("[host]\nlock_timeout_ms = -4\n", "t.ini:2", "milliseconds");
	refused("[host]\nstate = a\nstate = b\n", "t.ini:3: [host] state", "set twice (first on line 2)");
	refused("[pipeline]\nlcow.scratch = scsi, other\n", "t.ini:2", "exactly one backend");
	refused("[pipeline]\nlcow.layers = vpmem,, scsi\n", "t.ini:2", "empty item");
	refused("[pipeline]\nfoo.bar = x\n", "t.ini:2: [pipeline] foo.bar", "unknown role");
	refused("[container.-bad]\nlayers = a\nscratch = b\n", "t.ini:1", "not a valid container id");
	refused("[container.c]\nscratch = s\n", "t.ini:1: [container.c]", "no layers");
	refused("[container.c]\nlayers = a\n", "t.ini:1: [container.c]", "no scratch");
	refused("[container.c]\nlayers = a\nscratch = s\n[container.c]\n", "t.ini:4",
		"declared twice (first on line 1)");
	refused("[plugin.x]\nk = 1\n[plugin.x]\n", "t.ini:3", "section repeated");
	refused("orphan = 1\n", "t.ini:1", "outside any section");
	refused("[host]\nthis is not ini\n", "t.ini:2", "not an INI line");
	refused("[host\n", "t.ini:1", "without ']'");
}

static void test_long_line_refused(void)
{
	static char text[16384] = "[container.c]\nlayers = ";

	memset(text + strlen(text), 'a', 8000);
	strcat(text, "\nscratch = s\n");
	refused(text, "t.ini:2", "longer than");
}

/* A layer path of nearly PATH_MAX fits on one line (inih's own limit is
 * 200 characters). */
static void test_path_max_lines(void)
{
	static char text[16384], path[4096];
	struct lh_config *cfg;

	memset(path, 'p', 4000);
	for (size_t i = 100; i < 4000; i += 100)
		path[i] = '/';
	path[0] = '/';
	snprintf(text, sizeof(text), "[container.c]\nlayers = %s\nscratch = %s ; a comment\n", path,
		 path);
	cfg = parsed(text);
	CU_ASSERT_EQUAL(cfg->containers[0].n_layers, 1);
	CU_ASSERT_STRING_EQUAL(cfg->containers[0].layers[0], path);
	CU_ASSERT_STRING_EQUAL(cfg->containers[0].scratch, path);
	lh_config_free(cfg);
}

/* Paths go into JSON: a value that is not UTF-8 is refused, naming the
 * line; UTF-8 paths are fine. */
static void test_utf8_only(void)
{
	struct lh_config *cfg;

	refused("[container.c]\nlayers = /l/\xff\xfe\nscratch = /s\n", "t.ini:2",
		"not valid UTF-8");
	refused("[host]\nstate = /s/\xc0\xaf\n", "t.ini:2", "not valid UTF-8");
	refused("[container.c]\nlayers = /l/a\nscratch = /s/\xed\xa0\x80\n", "t.ini:3",
		"not valid UTF-8");
	cfg = parsed("[container.c]\nlayers = /l/caf\xc3\xa9, /l/\xe2\x82\xac\nscratch = /s\n");
	CU_ASSERT_STRING_EQUAL(cfg->containers[0].layers[0], "/l/caf\xc3\xa9");
	lh_config_free(cfg);
}

/* A UTF-8 byte order mark before the first section is no key outside it. */
static void test_byte_order_mark(void)
{
	struct lh_config *cfg = parsed("\xEF\xBB\xBF[host]\nstate = s\n");

	CU_ASSERT_STRING_EQUAL(cfg->state_path, "/etc/lh/s");
	lh_config_free(cfg);
}

/* A chain must name backends, each once. */
static void test_role_chains(void)
{
	refused("[pipeline]\nlcow.layers =\n", "t.ini:2: [pipeline] lcow.layers",
		"at least one backend");
	refused("[pipeline]\nlcow.layers = scsi, scsi\n", "t.ini:2: [pipeline] lcow.layers",
		"names backend 'scsi' twice");
}

#define MIN_OF(a, b) ((a) < (b) ? (a) : (b))

/* The seconds parsing `n` containers takes; text must hold n * 64 bytes. */
static double parse_containers(char *text, size_t cap, size_t n)
{
	struct lh_config *cfg;
	struct timespec t0, t1;
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"[container.c%zu]\nlayers = l/a, l/b\nscratch = s/c%zu\n", i, i);
	/* CPU time, so other processes on a busy machine do not count. */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	cfg = parsed(text);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	CU_ASSERT_EQUAL(cfg->n_containers, n);
	lh_config_free(cfg);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Many containers: every duplicate found however far in, in linear time
 * (the quadratic check took 23 s for 100,000, over a minute on a busy
 * machine). Four times the containers must take about four times as long,
 * not sixteen: a ratio that holds under valgrind and the sanitizers too. */
static void test_many_containers(void)
{
	const size_t n = 100000;
	size_t cap = n * 64 + 256, len;
	char *text = malloc(cap);
	double quarter, whole;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* The better of two runs each, against a stray slow one. */
	quarter = parse_containers(text, cap, n / 4);
	quarter = MIN_OF(quarter, parse_containers(text, cap, n / 4));
	whole = parse_containers(text, cap, n);
	whole = MIN_OF(whole, parse_containers(text, cap, n));
	printf("(%zu containers in %.3f s, %zu in %.3f s) ", n / 4, quarter, n, whole);
	CU_ASSERT(whole < 8 * quarter + 0.05);
	len = strlen(text);
	/* A key set twice in the last container (past any fixed table). */
	len += (size_t)snprintf(text + len, cap - len, "[container.last]\nlayers = a\nscratch = "
				"s\nscratch = t\n");
	refused(text, "[container.last] scratch", "set twice");
	len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "[container.c%zu]\nlayers = a\n"
					"scratch = s\n", i);
	snprintf(text + len, cap - len, "[container.c5]\n");
	refused(text, "declared twice (first on line 16)", NULL);
	free(text);
}

/* Plugin keys are checked against the plugin's own table when it loads. */
static void test_plugin_keys_checked_at_load(void)
{
	static const char *const cases[][3] = {
		{ "[uvm]\nos = linux\n[plugin.scsi]\ncontrollers = 7\n", "t.ini:4: [plugin.scsi] "
		  "controllers", "out of range 0..4" },
		{ "[uvm]\nos = linux\n[plugin.scsi]\nluns = 7\n", "t.ini:4: [plugin.scsi] luns",
		  "unknown key (plugin scsi takes: controllers, luns_per_controller)" },
		{ "[uvm]\nos = linux\n[plugin.vpmem]\nmulti_mapping = perhaps\n",
		  "t.ini:4: [plugin.vpmem] multi_mapping", "not a boolean" },
		{ "[uvm]\nos = linux\n[pipeline]\nlcow.layers = nosuch\n", "plugin 'nosuch' not found",
		  LH_TEST_PLUGIN_DIR },
		/* A backend in a role it does not serve, named before any request. */
		{ "[uvm]\nos = linux\n[pipeline]\nlcow.layers = vsmb\n",
		  "t.ini:4: [pipeline] lcow.layers: backend 'vsmb' does not serve this role",
		  "(it serves: wcow.layers)" },
		{ "[uvm]\nos = linux\n[pipeline]\nlcow.layers = vpmem, hostlayer\n",
		  "t.ini:4: [pipeline] lcow.layers: backend 'hostlayer'", "(it serves: host)" },
		{ "[uvm]\nos = linux\n[pipeline]\nlcow.scratch = vpmem\n",
		  "t.ini:4: [pipeline] lcow.scratch: backend 'vpmem'", "(it serves: lcow.layers)" },
		{ "[uvm]\nos = windows\n[pipeline]\nwcow.layers = scsi\n",
		  "[pipeline] wcow.layers: backend 'scsi' does not serve this role",
		  "lcow.layers, lcow.scratch, wcow.scratch" },
		{ "[pipeline]\nhost = scsi\n", "t.ini:2: [pipeline] host: backend 'scsi'",
		  "does not serve this role" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lh_config *cfg = NULL;
		struct lh_host *host = NULL;
		struct lh_driver *driver = NULL;
		struct lh_error err = { 0 };
		char *text;

		if (asprintf(&text, "[host]\nplugin_dir = %s\n%s", LH_TEST_PLUGIN_DIR, cases[i][0]) < 0)
			abort();
		/* Two lines of [host] come first: the case's lines are 2 further. */
		CU_ASSERT_EQUAL_FATAL(lh_config_parse(text, "t.ini", "/", &cfg, &err), 0);
		CU_ASSERT_EQUAL_FATAL(lh_null_driver_open(&(struct lh_driver_params){ 0 }, &driver, &err), 0);
		CU_ASSERT_NOT_EQUAL(lh_host_open(cfg, driver, NULL, &host, &err), 0);
		CU_ASSERT_PTR_NULL(host);
		{
			char want[256];
			const char *line = strstr(cases[i][1], "t.ini:");

			if (line) {
				int n = atoi(line + 6) + 2;

				snprintf(want, sizeof(want), "t.ini:%d%s", n, strchr(line + 6, ':'));
			} else {
				snprintf(want, sizeof(want), "%s", cases[i][1]);
			}
			ASSERT_MSG_HAS(err, want);
		}
		ASSERT_MSG_HAS(err, cases[i][2]);
		lh_driver_close(driver);
		lh_config_free(cfg);
		free(text);
	}
}

static void test_missing_file(void)
{
	struct lh_config *cfg = NULL;
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL(lh_config_load("/nonexistent/layers.ini", &cfg, &err), -ENOENT);
	ASSERT_MSG_HAS(err, "/nonexistent/layers.ini");
}

/* The guest a QEMU VM boots: the folder's files by default, each file by
 * its own key, none; only for Linux UVMs. */
static void test_guest(void)
{
	struct lh_driver_params params;
	struct lh_config *cfg = parsed("[uvm]\nos = linux\n");

	CU_ASSERT_TRUE(cfg->guest_dir_default);
	CU_ASSERT_STRING_EQUAL(cfg->guest_dir, LH_DEFAULT_GUEST_DIR);
	CU_ASSERT_STRING_EQUAL(cfg->kernel, LH_DEFAULT_GUEST_DIR "/vmlinux");
	CU_ASSERT_STRING_EQUAL(cfg->initrd, LH_DEFAULT_GUEST_DIR "/initramfs.cpio");
	CU_ASSERT_EQUAL(cfg->accel, LH_ACCEL_AUTO);
	/* The CLI's build-tree folder replaces the default. */
	CU_ASSERT_EQUAL(lh_config_set_guest_dir(cfg, "/b/guest"), 0);
	lh_config_driver_params(cfg, &params);
	CU_ASSERT_STRING_EQUAL(params.vm.kernel, "/b/guest/vmlinux");
	CU_ASSERT_STRING_EQUAL(params.vm.initrd, "/b/guest/initramfs.cpio");
	CU_ASSERT_STRING_EQUAL(params.vm.kernel_from, "the default [uvm] guest");
	CU_ASSERT_PTR_NULL(params.vm.cmdline);
	lh_config_free(cfg);

	cfg = parsed("[uvm]\nos = linux\nguest = g\nkernel = /k/bzImage\naccel = tcg\n"
		     "kernel_cmdline = console=ttyS0 debug\n");
	lh_config_driver_params(cfg, &params);
	CU_ASSERT_FALSE(cfg->guest_dir_default);
	CU_ASSERT_STRING_EQUAL(params.vm.kernel, "/k/bzImage");
	CU_ASSERT_STRING_EQUAL(params.vm.kernel_from, "[uvm] kernel");
	CU_ASSERT_STRING_EQUAL(params.vm.initrd, "/etc/lh/g/initramfs.cpio");
	CU_ASSERT_STRING_EQUAL(params.vm.initrd_from, "[uvm] guest");
	CU_ASSERT_STRING_EQUAL(params.vm.cmdline, "console=ttyS0 debug");
	CU_ASSERT_EQUAL(params.vm.accel, LH_ACCEL_TCG);
	lh_config_free(cfg);

	cfg = parsed("[uvm]\nos = linux\nguest = none\n");
	lh_config_driver_params(cfg, &params);
	CU_ASSERT_PTR_NULL(params.vm.kernel);
	CU_ASSERT_PTR_NULL(params.vm.initrd);
	lh_config_free(cfg);
	cfg = parsed("[uvm]\nos = linux\nkernel = k\ninitrd = i\n");
	CU_ASSERT_STRING_EQUAL(cfg->kernel, "/etc/lh/k");
	CU_ASSERT_STRING_EQUAL(cfg->initrd, "/etc/lh/i");
	lh_config_free(cfg);
	/* A Windows UVM (and host mounts) have no guest of layerhost's. */
	cfg = parsed("[uvm]\nos = windows\n");
	CU_ASSERT_PTR_NULL(cfg->kernel);
	lh_config_free(cfg);

	refused("[uvm]\naccel = hvf\n", "t.ini:2: [uvm] accel", "not tcg, kvm or auto");
	refused("[uvm]\nos = windows\nkernel = k\n", "t.ini:3: [uvm] kernel",
		"a guest boots in a Linux UVM only (os = linux; this UVM is os = windows)");
	refused("[uvm]\nos = linux\nguest = none\nkernel = k\ninitrd = i\n", "t.ini:5: [uvm]:",
		"guest = none, but kernel, initrd or kernel_cmdline is set");
	refused("[uvm]\nos = linux\nkernel = k\n", "t.ini:3: [uvm] kernel",
		"needs initrd too (or a guest folder holding it)");
	refused("[uvm]\nguest = \n", "t.ini:2: [uvm] guest", "empty value");
}

static void test_container_ids(void)
{
	char long_id[200];

	CU_ASSERT_TRUE(lh_container_id_valid("a"));
	CU_ASSERT_TRUE(lh_container_id_valid("A9_.-x"));
	CU_ASSERT_FALSE(lh_container_id_valid(""));
	CU_ASSERT_FALSE(lh_container_id_valid(".a"));
	CU_ASSERT_FALSE(lh_container_id_valid("a/b"));
	CU_ASSERT_FALSE(lh_container_id_valid("a b"));
	memset(long_id, 'a', 128);
	long_id[128] = '\0';
	CU_ASSERT_TRUE(lh_container_id_valid(long_id));
	long_id[128] = 'a';
	long_id[129] = '\0';
	CU_ASSERT_FALSE(lh_container_id_valid(long_id));
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "defaults", test_defaults },
		{ "a full file", test_full_file },
		{ "refusals name file, line, section and key", test_refusals_name_the_place },
		{ "an over-long line is refused", test_long_line_refused },
		{ "lines of a whole path", test_path_max_lines },
		{ "values must be UTF-8", test_utf8_only },
		{ "a UTF-8 byte order mark", test_byte_order_mark },
		{ "role chains: not empty, no repeats", test_role_chains },
		{ "100,000 containers, duplicates anywhere", test_many_containers },
		{ "plugin keys are checked at load", test_plugin_keys_checked_at_load },
		{ "a missing file", test_missing_file },
		{ "container ids", test_container_ids },
		{ "the guest: folder, files, none, accel", test_guest },
		{ NULL, NULL },
	};

	return cutest_run("config", cases, NULL);
}
