/*
 * config.h - the INI file: [host], [uvm], [pipeline], [plugin.NAME],
 * [container.NAME].
 *
 * Parsing is all or nothing: lh_config_load either returns a complete,
 * checked configuration or an error naming the file, line, section and key
 * at fault. Plugin keys are kept raw here and checked against the plugin's
 * option table when the host loads it (lh_host_open), which reports the
 * same file:line.
 */
#ifndef LH_CONFIG_H
#define LH_CONFIG_H

#include "driver.h"
#include "records.h"

/* A backend chain for one role, in order of preference. */
struct lh_role {
	char **backends;
	size_t n;
	unsigned line; /* where it was set, 0 for the default */
};

struct lh_config_kv {
	char *key;
	char *value;
	unsigned line;
};

struct lh_plugin_section {
	char *name;
	struct lh_config_kv *keys;
	size_t n_keys;
	unsigned line;
};

struct lh_container_config {
	char *name;          /* the container id */
	char **layers;       /* layer folders, base first (absolute) */
	size_t n_layers;
	char *scratch;       /* scratch folder (absolute) */
	char *guest_root;    /* LCOW/WCOW: container root in the UVM; NULL: default */
	char *mount_path;    /* host mode: where the rootfs is mounted; NULL: default */
	unsigned line;
};

struct lh_config {
	char *path; /* the INI file as given */
	char *dir;  /* its directory: relative paths in it are taken from here */

	/* [host] */
	char *plugin_dir;   /* ':'-separated; default: the install folder */
	bool plugin_dir_default; /* the file did not set it */
	char *driver;       /* "journal" (default), "null", "qemu" */
	char *journal_path; /* default: <dir>/layerhost.journal */
	char *state_path;   /* default: <dir>/layerhost.state */
	char *run_dir;      /* default: <dir>/run (qemu socket, pid) */
	enum lh_journal_fsync journal_fsync;
	enum lh_log_level log_level;
	int64_t lock_timeout_ms; /* how long a command waits for the state lock */

	/* [uvm] */
	char *uvm_id;       /* default "uvm" ("host" when os = none) */
	enum lh_uvm_os os;  /* linux, windows, none (default none without [uvm]) */
	bool physically_backed;
	bool no_direct_map;
	uint64_t memory_bytes;  /* qemu: guest memory, default 512M */
	char *qemu_binary;      /* qemu: default qemu-system-x86_64 */
	char *virtiofsd_binary; /* qemu: default /usr/lib/qemu/virtiofsd */
	enum lh_vm_accel accel; /* qemu: tcg, kvm, auto (default) */
	/* qemu, LCOW: the guest the VM boots. guest_dir holds vmlinux and
	 * initramfs.cpio (guest/mkinitramfs.sh's output); NULL is "none", a VM
	 * without a guest. Default: LH_DEFAULT_GUEST_DIR, which the CLI
	 * replaces with the build tree's guest/ when it runs from one
	 * (guest_dir_default says the file left it unset). kernel and initrd
	 * default to the folder's files; NULL when there is no guest. */
	char *guest_dir;
	bool guest_dir_default;
	char *kernel, *initrd;
	bool kernel_set, initrd_set; /* given by their own keys */
	char *kernel_cmdline;        /* NULL: the guest's default */

	/* [pipeline] */
	struct lh_role lcow_layers, lcow_scratch, wcow_layers, wcow_scratch, host_layers;

	/* [plugin.NAME] */
	struct lh_plugin_section *plugins;
	size_t n_plugins;

	/* [container.NAME], in file order */
	struct lh_container_config *containers;
	size_t n_containers;
};

/* Parse path. On success *out is a new config (lh_config_free). */
int lh_config_load(const char *path, struct lh_config **out, struct lh_error *err);
/* The same from text (for tests); `name` is used in messages and `dir` for
 * relative paths. */
int lh_config_parse(const char *text, const char *name, const char *dir,
		    struct lh_config **out, struct lh_error *err);
void lh_config_free(struct lh_config *cfg);

/* The [plugin.NAME] section, or NULL. */
const struct lh_plugin_section *lh_config_plugin(const struct lh_config *cfg, const char *name);
const struct lh_container_config *lh_config_container(const struct lh_config *cfg,
						      const char *name);


const char *lh_os_name(enum lh_uvm_os os);

/* What the driver cfg names is told at open (strings borrowed from cfg). */
void lh_config_driver_params(const struct lh_config *cfg, struct lh_driver_params *out);

/* Take the guest from folder dir instead (the CLI's build-tree default):
 * guest_dir and the kernel and initrd that were not set by their own keys
 * follow it. Only for a config whose guest_dir is its default. */
int lh_config_set_guest_dir(struct lh_config *cfg, const char *dir);

#endif
