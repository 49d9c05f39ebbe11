/*
 * layerhost/backend.h - the one header an attachment backend includes.
 *
 * FROZEN: the ABI v2 header as it was released, for tests/loader/outoftree.
 *
 * A backend is a shared object in the plugin directory that exports exactly
 * one symbol, LH_BACKEND_ENTRY_SYMBOL, a function returning a pointer to the
 * backend's `static const struct lh_backend`. Everything else in the plugin
 * should have hidden visibility.
 *
 * The host never links into the plugin and the plugin never links against
 * host symbols: every service the plugin needs (issuing HCS requests,
 * logging, copying files, probing disks, the gob codec) reaches it through
 * the `struct lh_host_services` table handed to `open`.
 *
 * Conventions shared by every function in this header:
 *  - an `int` return is 0 on success or a negative code: `-errno` for system
 *    errors, `-LH_E*` (below) for the domain ones;
 *  - the detail of a failure goes once, where it happens, into the caller's
 *    `struct lh_error` (see lh_error_set); a caller may pass NULL;
 *  - whoever allocates frees: no pointer is freed across the plugin boundary,
 *    and strings handed in by the host are borrowed for the call only unless
 *    a comment says otherwise.
 */
#ifndef LAYERHOST_BACKEND_H
#define LAYERHOST_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The newest ABI this header describes. The host loads plugins of every
 * version from LH_BACKEND_ABI_MIN up to it. */
#define LH_BACKEND_ABI_VERSION 2
#define LH_BACKEND_ABI_MIN 1

/* Whether a versioned struct whose builder knew `size` bytes of it has
 * `member`; and whether a table with a `struct_size` has slot `member` set:
 * LH_HAS_SLOT(struct lh_backend, ops, vm_needs). */
#define LH_HAS_MEMBER(type, size, member) \
	((size_t)(size) >= offsetof(type, member) + sizeof(((type *)0)->member))
#define LH_HAS_SLOT(type, table, member) \
	(LH_HAS_MEMBER(type, (table)->struct_size, member) && (table)->member)

/* The one symbol a plugin exports: `LH_BACKEND_EXPORT const struct
 * lh_backend *layerhost_backend_entry(void);` */
#define LH_BACKEND_ENTRY_SYMBOL "layerhost_backend_entry"
#define LH_BACKEND_EXPORT __attribute__((visibility("default")))

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                   */

/* Domain codes, returned negated (-LH_ENOLOCATION). They start above every
 * errno value so the two ranges never mix. */
enum lh_status {
	LH_ENOLOCATION = 4096, /* no free slot, device or region: try another backend */
	LH_ETOOLARGE,          /* object exceeds this backend's size limit: try another backend */
	LH_ENOTATTACHED,       /* handle unknown or already released */
	LH_ENOCONTROLLERS,     /* backend configured with no controllers */
	LH_EBADDISK,           /* file is not a usable disk of the requested type */
	LH_EVERSION,           /* encoded state of a serial version this build does not know */
	LH_ECORRUPT,           /* malformed encoded data */
	LH_EUNSUPPORTED,       /* operation not offered by this backend or driver */
	LH_EDRIVER,            /* the driver or VMM refused or failed a request */
	LH_ECONFIG,            /* bad configuration value */
	LH_EREFUSED,           /* request refused by policy (template, existing mount, ...) */
	LH_ESTATUS_END
};

#define LH_ERROR_MESSAGE_MAX 1024

/* The first failure of an operation: its code, the function that saw it and
 * a message naming the object at fault (path, slot, plugin, INI line). */
struct lh_error {
	int code;         /* negative; 0 while nothing failed */
	const char *func; /* static string: the function that set it */
	char message[LH_ERROR_MESSAGE_MAX];
};

/*
 * Record a failure in `err` unless one is recorded already (the first error
 * is the one a caller reports). Returns `code` so a caller can write
 * `rc = LH_FAIL(err, -LH_EBADDISK, "%s: not a VHD", path);`.
 * `err` may be NULL.
 */
static inline int lh_error_vset(struct lh_error *err, int code, const char *func,
				const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static inline int lh_error_vset(struct lh_error *err, int code, const char *func,
				const char *fmt, va_list ap)
{
	if (err && err->code == 0) {
		err->code = code;
		err->func = func;
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
	}
	return code;
}

static inline int lh_error_set(struct lh_error *err, int code, const char *func,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline int lh_error_set(struct lh_error *err, int code, const char *func,
			       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = lh_error_vset(err, code, func, fmt, ap);
	va_end(ap);
	return code;
}

#define LH_FAIL(err, code, ...) lh_error_set((err), (code), __func__, __VA_ARGS__)

static inline void lh_error_clear(struct lh_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

/* ------------------------------------------------------------------------ */
/* The UVM a backend serves                                                  */

enum lh_uvm_os {
	LH_OS_NONE = 0,    /* no UVM: attachments go to the host itself */
	LH_OS_LINUX = 1,   /* LCOW */
	LH_OS_WINDOWS = 2, /* WCOW */
};

/* The fields may change between calls: a UVM becomes a template when it is
 * saved as one, a restore sets what the state recorded. Read them when
 * they matter, do not keep copies. */
struct lh_uvm_info {
	const char *id;          /* the UVM's id; valid while the backend is open */
	enum lh_uvm_os os;
	bool physically_backed;  /* memory fully physically backed: no VPMem, VSMB without direct map */
	bool no_direct_map;      /* VSMB shares without direct map (configured) */
	bool is_template;        /* saved as a template: only options a saved VM can keep */
	bool is_clone;           /* cloned from a template */
};

/* Who may open a file attached to the VM (the host's access-grant service). */
enum lh_vm_access {
	LH_ACCESS_NONE = 0,     /* grant nothing: the file's ACL already allows it */
	LH_ACCESS_VM_GROUP = 1, /* every VM (the VM group) */
	LH_ACCESS_THIS_VM = 2,  /* only this UVM */
};

enum lh_log_level {
	LH_LOG_ERROR = 0,
	LH_LOG_WARN = 1,
	LH_LOG_INFO = 2,
	LH_LOG_DEBUG = 3,
};

/* ------------------------------------------------------------------------ */
/* Disk files, as the host's probe sees them                                 */

enum lh_disk_format {
	LH_DISK_UNKNOWN = 0,
	LH_DISK_VHD_FIXED,   /* data followed by a 512-byte footer */
	LH_DISK_VHD_DYNAMIC, /* footer copy, dynamic header, BAT */
	LH_DISK_VHDX,        /* headers, region tables and metadata checked */
	LH_DISK_BLOCK_DEVICE,
};

struct lh_disk_info {
	enum lh_disk_format format;
	uint64_t file_size;    /* bytes on disk (block devices: device size) */
	uint64_t data_size;    /* fixed VHD: file_size - 512; others: virtual size */
};

/* ------------------------------------------------------------------------ */
/* The gob codec                                                             */

/*
 * A stream of singleton values, byte-identical to what Go's encoding/gob
 * writes when one Encoder encodes a sequence of basic values (bool, int*,
 * uint*, string, []byte). Encoders and decoders are host objects: a plugin
 * only ever receives them as arguments of encode / decode.
 */
struct lh_gob_encoder;
struct lh_gob_decoder;

struct lh_gob_codec {
	/* Append one value. Return 0 or -ENOMEM; after a failure the encoder
	 * stays failed and the host discards what it holds. */
	int (*put_uint)(struct lh_gob_encoder *enc, uint64_t value);
	int (*put_int)(struct lh_gob_encoder *enc, int64_t value);
	int (*put_bool)(struct lh_gob_encoder *enc, bool value);
	int (*put_string)(struct lh_gob_encoder *enc, const char *value);
	int (*put_bytes)(struct lh_gob_encoder *enc, const void *data, size_t len);

	/* Read the next value, which must be of the named type. A wrong type,
	 * a value that does not fit the C type, a truncated or overlong
	 * message is -LH_ECORRUPT with the byte offset in `err`. */
	int (*get_uint)(struct lh_gob_decoder *dec, uint64_t *value, struct lh_error *err);
	int (*get_int)(struct lh_gob_decoder *dec, int64_t *value, struct lh_error *err);
	int (*get_bool)(struct lh_gob_decoder *dec, bool *value, struct lh_error *err);
	/* Copies the string and a terminating NUL into buf; a string of cap or
	 * more bytes, or one holding a NUL, is -LH_ECORRUPT. */
	int (*get_string)(struct lh_gob_decoder *dec, char *buf, size_t cap, struct lh_error *err);
	/* Copies up to cap bytes; *len receives the length. Longer is -LH_ECORRUPT. */
	int (*get_bytes)(struct lh_gob_decoder *dec, void *buf, size_t cap, size_t *len,
			 struct lh_error *err);
	/* Bytes not yet read. */
	size_t (*remaining)(const struct lh_gob_decoder *dec);

	/* ---- end of ABI v1; ABI v2 (present when the services' gob_size
	 * covers it, see LH_HAS_MEMBER): ---- */

	/* The serial version the blob under decode was written with, as the
	 * state recorded it beside the blob (a v2 backend writes no version
	 * of its own). */
	uint32_t (*version)(const struct lh_gob_decoder *dec);

	/* ---- end of ABI v2: append only ---- */
};

/* ------------------------------------------------------------------------ */
/* Host services                                                             */

/*
 * The table the host hands a backend at open. It stays valid until close.
 * Every function takes `ctx` (the member below) as its first argument;
 * the context knows which plugin it serves (log prefix) and which UVM.
 */
struct lh_host_services {
	uint32_t abi_version; /* LH_BACKEND_ABI_VERSION of the host */
	uint32_t struct_size; /* sizeof(struct lh_host_services) in the host */
	void *ctx;

	/* ---- ABI v1 ---- */

	/* Issue one HCS ModifySettingRequest (JSON text, hcsshim's field names)
	 * through the configured driver. The host may keep no pointer into it.
	 * Returns 0, or the driver's failure (-LH_EDRIVER, -errno) with `err`
	 * naming the request. */
	int (*modify)(void *ctx, const char *request_json, struct lh_error *err);

	/* Log a line prefixed with the plugin's name. */
	void (*log)(void *ctx, enum lh_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* Copy src to dst (created, must not exist): reflink first, then
	 * copy_file_range, then read/write, holes kept. On failure dst is
	 * removed. In a clone the host flushes every copy the clone lists
	 * before it commits the clone's state, so the plugin need not. */
	int (*copy_file)(void *ctx, const char *src, const char *dst, struct lh_error *err);

	/* Grant the VM the given access to path. */
	int (*grant_vm_access)(void *ctx, const char *path, enum lh_vm_access access,
			       struct lh_error *err);

	/* The UVM this backend serves; valid until close. */
	const struct lh_uvm_info *(*uvm)(void *ctx);

	/* The UVM's next mount counter value (starts at 0, never repeats for
	 * the UVM's lifetime, survives save/restore). */
	uint64_t (*next_mount_id)(void *ctx);

	/* Identify a disk file or block device. Missing path is -ENOENT; a
	 * directory, an unrecognised file, a bad footer checksum or a
	 * truncated file is -LH_EBADDISK; the message says what was found. */
	int (*probe_disk)(void *ctx, const char *path, struct lh_disk_info *info,
			  struct lh_error *err);

	/* Clone documents only (services of a clone's backend): add a JSON
	 * value at a '/'-separated path of the clone's compute-system document,
	 * e.g. "VirtualMachine/Devices/Scsi/<guid>/Attachments/0". Missing
	 * objects on the way are created. -EEXIST if the path is taken;
	 * -LH_EUNSUPPORTED outside a clone. */
	int (*document_add)(void *ctx, const char *path, const char *json, struct lh_error *err);

	/* The gob codec for encode / decode. */
	const struct lh_gob_codec *gob;

	/* ---- end of ABI v1; ABI v2: ---- */

	/* log with a va_list, for a plugin's own printf-like wrappers. */
	void (*vlog)(void *ctx, enum lh_log_level level, const char *fmt, va_list ap)
		__attribute__((format(printf, 3, 0)));

	/* sizeof(struct lh_gob_codec) in the host: slots past it are absent. */
	uint32_t gob_size;

	/* ---- end of ABI v2: append only ---- */
};

/* Whether the host's codec tells a decode the blob's serial version (ABI
 * v2): a backend that writes no version of its own needs it. */
static inline bool lh_services_tell_version(const struct lh_host_services *host)
{
	return LH_HAS_MEMBER(struct lh_host_services, host->struct_size, gob_size) &&
	       LH_HAS_MEMBER(struct lh_gob_codec, host->gob_size, version) && host->gob->version;
}

/* ------------------------------------------------------------------------ */
/* Plugin options: the [plugin.NAME] section of the INI file                */

enum lh_option_type {
	LH_OPT_BOOL = 1, /* bool: true/false, yes/no, on/off, 1/0 */
	LH_OPT_INT,      /* int64_t within [min, max] */
	LH_OPT_SIZE,     /* uint64_t bytes within [min, max]; K/M/G/T suffixes (powers of 1024) */
	LH_OPT_STRING,   /* char[max]: at most max - 1 bytes */
};

/* One INI key a plugin accepts. The host parses the value (or the default)
 * into the plugin's priv at `offset` before open, checks the range, and
 * refuses unknown keys naming the file, line, section and key. At load
 * the host refuses a table whose field at `offset` (bool, int64_t,
 * uint64_t, or char[max]) does not lie within priv_size. */
struct lh_option {
	const char *name;
	enum lh_option_type type;
	size_t offset;              /* offsetof(struct <priv>, field) */
	int64_t min, max;           /* INT / SIZE range; STRING buffer size in max */
	const char *default_value;  /* parsed like an INI value; NULL = zero / "" */
	const char *help;           /* one line for --help-plugin and docs */
};

/* ------------------------------------------------------------------------ */
/* Attach requests and results                                               */

enum lh_attach_flags {
	LH_ATTACH_READ_ONLY = 1u << 0,   /* attach read-only (sharable) */
	LH_ATTACH_LAYER = 1u << 1,       /* a container image layer (e.g. VSMB backup privilege) */
	LH_ATTACH_GUEST_MOUNT = 1u << 2, /* mount in the guest; uvm_path NULL: the backend picks one */
};

struct lh_attach_request {
	uint32_t struct_size;        /* sizeof(struct lh_attach_request) of the caller */
	const char *host_path;       /* disk, block device, directory or file */
	const char *uvm_path;        /* guest mount path, or NULL (see LH_ATTACH_GUEST_MOUNT) */
	uint32_t flags;              /* enum lh_attach_flags */
	const char *attach_type;     /* scsi: "VirtualDisk" (NULL), "PassThru", "ExtensibleVirtualDisk" */
	const char *evd_type;        /* scsi ExtensibleVirtualDisk: provider type */
	enum lh_vm_access access;
	int controller;              /* scsi: a fixed slot (reserved), or -1: first free */
	int lun;
	const char *const *guest_options; /* guest mount options, e.g. "ro" */
	size_t n_guest_options;
	/* A container's whole layer stack (hostlayer): */
	const char *container_id;
	const char *const *layers;   /* layer folders, base first */
	size_t n_layers;
	const char *scratch_dir;
	const char *mount_path;      /* NULL: the backend's default */
};

#define LH_PATH_CAP 4096

/* Filled by attach. The host allocates it zeroed, of the size the plugin
 * declares (lh_backend.result_size, ABI v2; the v1 size before), so a
 * plugin built against a grown header never writes past it; the host
 * reads the fields it knows. */
struct lh_attach_result {
	uint64_t handle;              /* this caller's reference: release it exactly once */
	bool shared;                  /* true: a live attachment was reused */
	char uvm_path[LH_PATH_CAP];   /* where the guest (or host) sees it; "" if nowhere */
	char location[128];           /* placement for people: "0:3", "p2", "p1@0x100000", "s1" */
	int controller, lun;          /* scsi placement, else -1 */
	int device;                   /* vpmem device number, else -1 */
	uint64_t offset, size;        /* vpmem mapping in the device */
};

/* What `list` reports of one live attachment. Pointers valid during the call. */
struct lh_attachment_info {
	const char *host_path;
	const char *uvm_path;
	const char *location;
	uint32_t refs;     /* live handles */
	bool read_only;
	const char *note;  /* NULL, or why it is special ("kept: direct-mapped share") */
};

typedef int (*lh_visit_fn)(void *arg, const struct lh_attachment_info *info);

/*
 * What a backend needs of the VM's hardware, so a driver that builds the
 * machine (driver = qemu) sizes it from the backends that will use it.
 * The host zeroes it and asks every backend in turn; each fills its part.
 * Fields belong to a device family each; new ones are appended.
 */
struct lh_vm_needs {
	uint32_t struct_size;              /* sizeof as the host built it: write nothing past it */
	uint32_t scsi_controllers;         /* controllers the backend places disks on */
	uint32_t scsi_luns_per_controller;
	uint32_t pmem_devices;             /* persistent-memory devices */
	uint64_t pmem_max_bytes;           /* the largest layer one device holds */
	bool pmem_multi_mapping;           /* several layers packed into one device */
};

/* Clone: the host opens a second instance of the backend with the clone's
 * services (its UVM id, document_add) and asks the template's instance to
 * populate it. */
struct lh_clone_request {
	const char *scratch_dir; /* the clone's scratch folder: writable copies go here or beside it */
};

/* ------------------------------------------------------------------------ */
/* The backend ops table                                                     */

/*
 * Slot rules: a plugin fills `abi_version` with LH_BACKEND_ABI_VERSION and
 * `struct_size` with sizeof(struct lh_backend) as it was built; the host
 * refuses a version outside LH_BACKEND_ABI_MIN..LH_BACKEND_ABI_VERSION or a
 * size below ABI v1, and calls a slot added after v1 only when struct_size
 * covers it and it is non-NULL (LH_HAS_SLOT).
 * open, attach, release, encode, decode and close are mandatory; list and
 * clone may be NULL (clone: "not supported").
 *
 * Serial versions: the host records `serial_version` beside each backend's
 * blob in the state. A v2 backend writes no version into its blob and
 * reads the recorded one from the codec's `version`; the host refuses a
 * blob newer than the backend before decode is called. A v1 backend's
 * blob is handed back exactly as it wrote it.
 */
struct lh_backend {
	uint32_t abi_version;
	uint32_t struct_size;
	const char *name;                  /* unique among loaded plugins; [plugin.<name>] */
	size_t priv_size;                  /* the host allocates this many zeroed bytes */
	const struct lh_option *options;   /* INI keys, ended by an entry with name NULL; may be NULL */
	uint32_t serial_version;           /* newest encode format this build writes */

	/* Prepare priv (options already parsed into it). `host` stays valid
	 * until close. On failure the host calls nothing else but frees priv. */
	int (*open)(void *priv, const struct lh_host_services *host, struct lh_error *err);

	/* Attach, or take another reference on a live equal attachment. On
	 * success fills `out` (a fresh handle each call); on failure the UVM is
	 * as before the call. */
	int (*attach)(void *priv, const struct lh_attach_request *req,
		      struct lh_attach_result *out, struct lh_error *err);

	/* Drop one reference; the last removes the attachment. An unknown or
	 * already released handle is -LH_ENOTATTACHED and changes nothing. */
	int (*release)(void *priv, uint64_t handle, struct lh_error *err);

	/* Write every live attachment and handle with the gob codec. */
	int (*encode)(void *priv, struct lh_gob_encoder *enc, struct lh_error *err);

	/* Replace the (empty) instance's state with what `encode` wrote, issuing
	 * no requests. A serial version above what this build knows is
	 * -LH_EVERSION, naming both numbers. */
	int (*decode)(void *priv, struct lh_gob_decoder *dec, struct lh_error *err);

	/* Populate `clone_priv` (opened with the clone's services) from this
	 * instance: read-only attachments shared, writable ones copied under
	 * req->scratch_dir; each device added to the clone's document. On
	 * failure the files it created are removed (the host discards the
	 * whole clone, its document and clone_priv). NULL: not supported. */
	int (*clone)(void *priv, void *clone_priv, const struct lh_clone_request *req,
		     struct lh_error *err);

	/* Visit every live attachment in a stable order; stops at the first
	 * non-zero return of fn, which it returns. */
	int (*list)(void *priv, lh_visit_fn fn, void *arg);

	/* Free what open and decode allocated (not priv itself). Issues no
	 * requests: attachments stay in the UVM. */
	void (*close)(void *priv);

	/* ---- end of ABI v1; ABI v2: ---- */

	/* sizeof(struct lh_attach_result) and sizeof(struct lh_option) as the
	 * plugin was built: the host sizes the result it hands to attach and
	 * steps through `options` by them. */
	uint32_t result_size;
	uint32_t option_size;

	/* Add what this backend needs of the VM to `needs` (see struct
	 * lh_vm_needs). NULL: nothing. */
	void (*vm_needs)(void *priv, struct lh_vm_needs *needs);

	/* ---- end of ABI v2: append only ---- */
};

/* The size of the ABI v1 structs, which v1 plugins were built with. */
#define LH_BACKEND_V1_SIZE offsetof(struct lh_backend, result_size)
#define LH_ATTACH_RESULT_V1_SIZE sizeof(struct lh_attach_result)
#define LH_OPTION_V1_SIZE sizeof(struct lh_option)

typedef const struct lh_backend *(*lh_backend_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* LAYERHOST_BACKEND_H */
