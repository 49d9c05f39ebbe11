/* main.c - the layerhost command line: options, then one command. */
#include "commands.h"
#include "commands_vm.h"
#include "import.h"
#include "log.h"
#include "options.h"
#include "signals.h"
#include "records.h"
#include "utf8.h"

#include <getopt.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
	"Usage: layerhost --config FILE [OPTIONS] [COMMAND [ARGS...]]\n"
	"\n"
	"Mount container image layers into a utility VM (LCOW, WCOW) or onto the host,\n"
	"through attachment backends loaded as plugins. With no command, mounts every\n"
	"container the config file declares.\n"
	"\n"
	"Commands:\n"
	"  mount [NAME...]            mount the named containers (default: all declared)\n"
	"  unmount NAME... | --all    release containers: combined layers, scratch, layers\n"
	"  status                     the UVM, each backend's attachments, the containers\n"
	"  plan [NAME...]             print the HCS requests a mount would issue; changes nothing\n"
	"  save [--template NAME [--force]]\n"
	"                             write the state; with --template, also save the UVM as a\n"
	"                             template (<state folder>/templates/NAME.state), after\n"
	"                             which it takes no more mounts; an existing template NAME\n"
	"                             is replaced only with --force; host mode (os = none)\n"
	"                             has no VM to save as a template\n"
	"  restore                    load the state into a fresh host and print what it holds\n"
	"  vm start|stop [--force]|status\n"
	"                             the QEMU UVM of driver = qemu: start it (sized from the\n"
	"                             backends' options; with a guest, until its agent answers),\n"
	"                             stop it, or show it, its devices and its guest; stop\n"
	"                             refuses while containers are mounted, --force drops them\n"
	"                             (what lived in the VM goes with it)\n"
	"  vm exec [--container ID] -- CMD [ARG...]\n"
	"                             run CMD in the VM's guest (chrooted into container ID's\n"
	"                             rootfs with --container), print its output and exit with\n"
	"                             its status (128+N: killed by signal N; 124: over 60 s)\n"
	"  clone --template NAME --id NEWID --scratch-dir DIR\n"
	"                             build UVM NEWID from a template: read-only disks shared,\n"
	"                             writable disks copied under DIR; writes DIR/layerhost.state\n"
	"                             and the compute-system document DIR/NEWID.json, and\n"
	"                             writes over no file it did not create; use the clone\n"
	"                             with --uvm-id NEWID --state DIR/layerhost.state\n"
	"\n"
	"  import OCI_LAYOUT[:REF] --store DIR [...]\n"
	"                             convert an OCI image's layers into layer folders and\n"
	"                             print the [container.NAME] section that mounts them\n"
	"                             (needs no --config; see 'layerhost import --help')\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE          the INI file (required)\n"
	"      --plugin-dir DIRS      plugin folders, ':'-separated (replaces [host] plugin_dir)\n"
	"      --uvm-id ID            act on UVM ID instead of [uvm] id (e.g. a clone)\n"
	"      --state FILE           use this state file instead of [host] state\n"
	"      --json                 print results as JSON\n"
	"      --lock-timeout MS      wait at most MS milliseconds for the state lock\n"
	"      --log-level LEVEL      error, warn, info or debug (beats [host] log_level)\n"
	"  -h, --help                 this help\n"
	"  -V, --version              the version\n"
	"\n"
	"Relative paths given on the command line (--config, --state, --plugin-dir,\n"
	"--scratch-dir) are taken from the current folder; relative paths in the config\n"
	"file are taken from the config file's folder. With --json, stdout holds one JSON\n"
	"document and messages go to stderr. More in layerhost(8) and layerhost.ini(5).\n"
	"\n"
	"Exit status: 0 success, 1 an operation failed, 2 usage or configuration error,\n"
	"130/143 stopped by SIGINT/SIGTERM (at a safe point, the state saved).\n";

enum {
	OPT_PLUGIN_DIR = 256,
	OPT_UVM_ID,
	OPT_STATE,
	OPT_JSON,
	OPT_LOCK_TIMEOUT,
	OPT_LOG_LEVEL,
	OPT_ALL,
	OPT_TEMPLATE,
	OPT_ID,
	OPT_SCRATCH_DIR,
	OPT_FORCE,
	OPT_CONTAINER,
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	lh_log_print(LH_LOG_ERROR, "%s\nTry 'layerhost --help'.", message);
	return LH_EXIT_USAGE;
}

/* The option getopt stopped at, as the user wrote it ("--state", "-c"). */
static const char *bad_option(char **argv, char *buf, size_t cap)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;

	if (arg && strncmp(arg, "--", 2) == 0)
		snprintf(buf, cap, "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(buf, cap, "-%c", optopt > 0 && optopt < 256 ? optopt : '?');
	return buf;
}

/* getopt_long refused `name` (without "=VALUE"): say why. */
static int option_error(const struct option *options, const char *name)
{
	size_t len = strlen(name) > 2 ? strlen(name) - 2 : 0;
	int exact = -1, prefixes = 0;

	for (int i = 0; len && options[i].name; i++) {
		if (strncmp(options[i].name, name + 2, len))
			continue;
		prefixes++;
		if (strlen(options[i].name) == len)
			exact = i;
	}
	if (strncmp(name, "--", 2) == 0 && (exact >= 0 || prefixes == 1))
		return usage_error("option '%s' takes no argument", name);
	if (strncmp(name, "--", 2) == 0 && prefixes > 1)
		return usage_error("option '%s' is ambiguous", name);
	return usage_error("unknown option '%s'", name);
}

/* A folder of the build tree the program runs from (host/layerhost next
 * to plugins/ and guest/), or NULL: what was built there (the plugins, the
 * guest mkinitramfs.sh made) wins over the install folders when the
 * config names none. */
static const char *exe_sibling(const char *name, char *dir, size_t cap)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0 || cap < PATH_MAX)
		return NULL;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../%s", dirname(exe), name);
	/* Resolved, so messages name the folder plainly. */
	return realpath(path, dir) && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

/* The command line, parsed and run: the exit code. */
static int run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
		{ "uvm-id", required_argument, NULL, OPT_UVM_ID },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* Command options, accepted anywhere on the line. */
		{ "all", no_argument, NULL, OPT_ALL },
		{ "template", required_argument, NULL, OPT_TEMPLATE },
		{ "id", required_argument, NULL, OPT_ID },
		{ "scratch-dir", required_argument, NULL, OPT_SCRATCH_DIR },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "container", required_argument, NULL, OPT_CONTAINER },
		{ NULL, 0, NULL, 0 },
	};
	struct lh_cli cli = { .lock_timeout_ms = -1 };
	const char *template_name = NULL, *new_id = NULL, *scratch_dir = NULL, *command;
	bool all = false, exec;
	enum lh_log_level level;
	char *const *args, name[64];
	static char plugin_dir[PATH_MAX], guest_dir[PATH_MAX];
	int opt, n_args;

	/* import is a program of its own: it reads no config */
	if (argc > 1 && strcmp(argv[1], "import") == 0)
		return lh_import_main(argc - 1, argv + 1);
	/* getopt's own messages would name the program by its path and miss
	 * the journal's priority: say it here. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'c': cli.config_path = optarg; break;
		case OPT_PLUGIN_DIR: cli.plugin_dir = optarg; break;
		case OPT_UVM_ID: cli.uvm_id = optarg; break;
		case OPT_STATE: cli.state_path = optarg; break;
		case OPT_JSON: cli.json = true; break;
		case OPT_LOCK_TIMEOUT:
			if (lh_parse_int64(optarg, &cli.lock_timeout_ms) || cli.lock_timeout_ms < 0)
				return usage_error("--lock-timeout: '%s' is not a number of milliseconds",
						   optarg);
			break;
		case OPT_LOG_LEVEL:
			if (lh_log_parse_level(optarg, &level))
				return usage_error("--log-level: '%s' is not error, warn, info or debug",
						   optarg);
			lh_log_set_level(level);
			cli.log_level_set = true;
			break;
		case OPT_ALL: all = true; break;
		case OPT_TEMPLATE: template_name = optarg; break;
		case OPT_ID: new_id = optarg; break;
		case OPT_SCRATCH_DIR: scratch_dir = optarg; break;
		case OPT_FORCE: cli.force = true; break;
		case OPT_CONTAINER: cli.container = optarg; break;
		case 'h': fputs(usage_text, stdout); return LH_EXIT_OK;
		case 'V': printf("layerhost %s (backend ABI %d)\n", LH_VERSION, LH_BACKEND_ABI_VERSION);
			return LH_EXIT_OK;
		case ':': return usage_error("option '%s' needs an argument",
					     bad_option(argv, name, sizeof(name)));
		default: return option_error(options, bad_option(argv, name, sizeof(name)));
		}
	}
	if (!cli.config_path)
		return usage_error("%s", "--config FILE is required");
	/* What goes into requests, the journal and --json must be UTF-8 (as
	 * the config's values are) and an id must be an id. */
	{
		const struct {
			const char *option, *value;
		} paths[] = {
			{ "--config", cli.config_path }, { "--state", cli.state_path },
			{ "--plugin-dir", cli.plugin_dir }, { "--scratch-dir", scratch_dir },
		};

		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			if (paths[i].value && !lh_utf8_valid(paths[i].value))
				return usage_error("%s: the path is not valid UTF-8", paths[i].option);
	}
	if (cli.uvm_id && !lh_container_id_valid(cli.uvm_id))
		return usage_error("--uvm-id: '%s' is not a valid id ([A-Za-z0-9][A-Za-z0-9_.-]{0,127})",
				   cli.uvm_id);
	cli.exe_plugin_dir = exe_sibling("plugins", plugin_dir, sizeof(plugin_dir));
	cli.exe_guest_dir = exe_sibling("guest", guest_dir, sizeof(guest_dir));
	command = optind < argc ? argv[optind] : "mount";
	args = argv + optind + (optind < argc);
	n_args = argc - optind - (optind < argc);

	if (all && strcmp(command, "unmount"))
		return usage_error("--all goes with unmount, not %s", command);
	if (template_name && strcmp(command, "save") && strcmp(command, "clone"))
		return usage_error("--template goes with save or clone, not %s", command);
	if ((new_id || scratch_dir) && strcmp(command, "clone"))
		return usage_error("--id and --scratch-dir go with clone, not %s", command);
	if (cli.force && !(strcmp(command, "save") == 0 && template_name) &&
	    !(strcmp(command, "vm") == 0 && n_args == 1 && strcmp(args[0], "stop") == 0))
		return usage_error("--force goes with save --template or vm stop, not %s", command);
	exec = strcmp(command, "vm") == 0 && n_args >= 1 && strcmp(args[0], "exec") == 0;
	if (cli.container && !exec)
		return usage_error("--container goes with vm exec, not %s", command);

	if (!strcmp(command, "mount"))
		return lh_cmd_mount(&cli, args, n_args);
	if (!strcmp(command, "unmount")) {
		if (all == (n_args > 0))
			return usage_error("%s", "unmount takes container names or --all");
		return lh_cmd_unmount(&cli, args, n_args, all);
	}
	if (!strcmp(command, "plan"))
		return lh_cmd_plan(&cli, args, n_args);
	if (exec) {
		if (n_args < 2)
			return usage_error("%s", "vm exec needs a command: vm exec [--container ID] "
					   "-- CMD [ARG...]");
		if (cli.container && !lh_container_id_valid(cli.container))
			return usage_error("--container: '%s' is not a valid container id "
					   "([A-Za-z0-9][A-Za-z0-9_.-]{0,127})", cli.container);
		/* The guest's protocol carries text. */
		for (int i = 1; i < n_args; i++)
			if (!lh_utf8_valid(args[i]))
				return usage_error("vm exec: argument %d is not valid UTF-8", i);
		return lh_cmd_vm_exec(&cli, args + 1, n_args - 1);
	}
	if (!strcmp(command, "vm")) {
		if (n_args != 1)
			return usage_error("%s", "vm takes one of start, stop, status, exec");
		return lh_cmd_vm(&cli, args[0]);
	}
	if (n_args)
		return usage_error("unexpected argument '%s'", args[0]);
	if (!strcmp(command, "status"))
		return lh_cmd_status(&cli);
	if (!strcmp(command, "save"))
		return lh_cmd_save(&cli, template_name, cli.force);
	if (!strcmp(command, "restore"))
		return lh_cmd_restore(&cli);
	if (!strcmp(command, "clone")) {
		if (!template_name || !new_id || !scratch_dir)
			return usage_error("%s", "clone needs --template NAME --id NEWID "
					   "--scratch-dir DIR");
		return lh_cmd_clone(&cli, template_name, new_id, scratch_dir);
	}
	return usage_error("unknown command '%s'", command);
}

int main(int argc, char **argv)
{
	lh_signals_catch();
	return lh_signals_exit_code(run(argc, argv));
}
