/*
 * vsmb.h - private to the VSMB backend: its state and the contracts between
 * its files (vsmb.c: ops and locking; vsmb_share.c: paths, options and
 * request JSON; vsmb_codec.c: encode, decode, clone).
 *
 * The maps, lists and request JSON are the plugins' common ones
 * (plugins/common).
 *
 * A share is what HCS knows as a VirtualSmbShare: a directory shared whole
 * (a directory share) or a directory restricted to a list of files (a file
 * share). Shares are keyed, as in hcsshim, by kind, shared directory and
 * read-only-ness; a handle is one caller's reference to a share (and, for a
 * file share, to one of its files).
 */
#ifndef LH_PLUGIN_VSMB_H
#define LH_PLUGIN_VSMB_H

#include <layerhost/backend.h>

#include "lh_map.h"

#include <pthread.h>

#define VSMB_RESOURCE_PATH "VirtualMachine/Devices/VirtualSmb/Shares"
#define VSMB_DOCUMENT_PATH "VirtualMachine/Devices/VirtualSmb/Shares/-"
#define VSMB_GUEST_PREFIX "\\\\?\\VMSMB\\VSMB-{dcc079ae-60ba-4d07-847c-3493609c0870}\\"
/* The blob format encode writes (vsmb_codec.c): 2 since share records are
 * hcsshim's VSMBShare records; 1 is still read. */
#define VSMB_SERIAL_VERSION 2
/* hcsshim's vsmbCurrentSerialVersionID, the first value of a record. */
#define VSMB_RECORD_SERIAL_VERSION 1
/* Far above real use; keeps garbage counts from looping for long. */
#define VSMB_MAX_FILES (1u << 20)
#define VSMB_NAME_CAP 24
/* A share without handles: older layerhost kept direct-mapped shares in the
 * UVM; a state of serial version 1 may still hold some. */
#define VSMB_KEPT_NOTE "kept: direct-mapped share"

/* VirtualSmbShareOptions, one bit per field in hcsshim's field order (the
 * order of the JSON keys and of the gob record). */
enum vsmb_option_bit {
	VSMB_READ_ONLY,
	VSMB_SHARE_READ,
	VSMB_CACHE_IO,
	VSMB_NO_OPLOCKS,
	VSMB_TAKE_BACKUP_PRIVILEGE,
	VSMB_USE_SHARE_ROOT_IDENTITY,
	VSMB_NO_DIRECTMAP,
	VSMB_NO_LOCKS,
	VSMB_NO_DIRNOTIFY,
	VSMB_VM_SHARED_MEMORY,
	VSMB_RESTRICT_FILE_ACCESS,
	VSMB_FORCE_LEVEL_II_OPLOCKS,
	VSMB_REPARSE_BASE_LAYER,
	VSMB_PSEUDO_OPLOCKS,
	VSMB_NON_CACHE_IO,
	VSMB_PSEUDO_DIRNOTIFY,
	VSMB_SINGLE_FILE_MAPPING,
	VSMB_OPTION_COUNT
};

#define VSMB_BIT(b) (1u << (b))

/* ---- state --------------------------------------------------------------- */

enum vsmb_share_state {
	VSMB_ADDING, /* its Add request is in flight */
	VSMB_LIVE,
	VSMB_GONE,   /* removed or never added; freed by the last waiter */
};

/* One file of a file share (an AllowedFiles entry). */
struct vsmb_file {
	char *path;       /* the file's clean host path, as sent in AllowedFiles */
	const char *base; /* its last component, inside path */
	size_t index;     /* in the share's files */
	uint32_t refs;    /* live handles on this file */
};

struct vsmb_share {
	struct vsmb_share *prev, *next; /* creation order: list, encode, clone */
	uint64_t number;                /* the hex counter in the name */
	char name[VSMB_NAME_CAP];       /* "s" + lowercase hex */
	char path[LH_PATH_CAP];         /* the shared directory, clean */
	bool file_share;
	bool read_only;
	uint32_t options;  /* VSMB_BIT(enum vsmb_option_bit) */
	uint64_t hash;     /* of the key (kind, read-only, path) */
	size_t order;      /* scratch for encode: position in the list */

	struct vsmb_file **files; /* file shares: AllowedFiles in order */
	size_t n_files, cap_files;
	struct lh_map file_map; /* file path -> struct vsmb_file (LH_MAP_STRING) */

	uint32_t refs;     /* live handles; 0 on a LIVE share: kept alive */
	enum vsmb_share_state state;
	bool busy;         /* an Add, Update or Remove on it is in flight */
	uint32_t waiters;  /* threads waiting for busy to clear */
	struct lh_error failure; /* why the Add failed, for its waiters */
};

struct vsmb_handle {
	uint64_t id;
	struct vsmb_share *share;
	struct vsmb_file *file; /* NULL on a directory share */
};

struct vsmb_priv {
	/* INI options, parsed by the host before open. */
	bool no_writable_file_shares;
	bool no_direct_map;

	const struct lh_host_services *host;
	pthread_mutex_t lock;
	pthread_cond_t idle; /* broadcast whenever a share stops being busy */
	bool ready;          /* lock and idle initialised */
	uint64_t share_counter; /* last share number handed out (hcsshim's vsmbCounter) */
	uint64_t next_handle;
	size_t handles_in_flight; /* handle inserts reserved by attaches in flight */
	struct lh_map shares;  /* struct vsmb_key -> struct vsmb_share (LH_MAP_CUSTOM) */
	struct lh_map handles; /* handle id -> struct vsmb_handle (LH_MAP_U64) */
	struct vsmb_share *first, *last;
};

/* ---- shares and requests (vsmb_share.c) --------------------------------- */

/* The key of a share, for lookups. */
struct vsmb_key {
	bool file_share;
	bool read_only;
	const char *path;
};

/* priv->shares' hash and match function (lh_map_match_fn). */
uint64_t vsmb_key_hash(const struct vsmb_key *key);
bool vsmb_share_matches(const void *share, const void *key);

/* Clean an absolute path lexically as Go's filepath.Clean does (no "." or
 * ".." components, no repeated or trailing '/'). -EINVAL if src is not
 * absolute, -ENAMETOOLONG if it does not fit cap. */
int vsmb_clean_path(const char *src, char *dst, size_t cap);
/* The parent of a clean absolute path ("/" for "/x") into dst. */
void vsmb_parent_path(const char *clean, char *dst, size_t cap);

/* hcsshim's DefaultVSMBOptions(read_only), plus TakeBackupPrivilege for a
 * layer, single-file restriction for a file share, and the saveable set
 * when the UVM is a template. */
uint32_t vsmb_default_options(const struct vsmb_priv *priv, bool read_only, bool layer,
			      bool file_share);
/* hcsshim's SetSaveableVSMBOptions: what a saved VM can keep. */
uint32_t vsmb_saveable_options(uint32_t options);

/* Allocate a share (state ADDING, no files) named after `number`. NULL on
 * ENOMEM. Free with vsmb_share_free. */
struct vsmb_share *vsmb_share_new(uint64_t number, const struct vsmb_key *key, uint32_t options);
void vsmb_share_free(struct vsmb_share *share);
/* Make room for one more file (array and map). 0 or -ENOMEM. */
int vsmb_share_reserve_file(struct vsmb_share *share);
/* Append a file (room reserved or not). Returns it, or NULL on ENOMEM. */
struct vsmb_file *vsmb_share_add_file(struct vsmb_share *share, const char *path);

/* The share's guest path, and a file's (share path '\' base), into buf. */
void vsmb_uvm_path(const struct vsmb_share *share, const struct vsmb_file *file, char *buf,
		   size_t cap);

/* The VirtualSmbShare JSON (compact, hcsshim's key order); `extra_file`
 * (may be NULL) is appended to AllowedFiles. malloc'd; NULL on ENOMEM. */
char *vsmb_share_json(const struct vsmb_share *share, uint32_t options, const char *extra_file);
/* A ModifySettingRequest at VSMB_RESOURCE_PATH: "Add" / "Update" carry the
 * whole share, "Remove" only its name. malloc'd; NULL on ENOMEM. */
char *vsmb_request_json(const char *request_type, const struct vsmb_share *share,
			const char *extra_file);

/* ---- state helpers shared by the ops (vsmb.c) ---------------------------- */

/* Link a share into the key map and the creation list. 0 or -ENOMEM. */
int vsmb_link_share(struct vsmb_priv *priv, struct vsmb_share *share);
/* Unlink a share; it stays allocated. */
void vsmb_unlink_share(struct vsmb_priv *priv, struct vsmb_share *share);
/* Record a new handle on share/file with the given id. 0 or -ENOMEM. */
int vsmb_add_handle(struct vsmb_priv *priv, uint64_t id, struct vsmb_share *share,
		    struct vsmb_file *file);
/* Free every share and handle (priv stays open, empty). Lock held or
 * no other thread. */
void vsmb_clear(struct vsmb_priv *priv);

/* ---- hcsshim's VSMBShare record (vsmb_record.c) -------------------------- */

/* The options struct as gob describes it (its fields are the JSON keys). */
extern const struct lh_gob_struct_type vsmb_options_type;

/* One share as VSMBShare.GobEncode writes it. Strings malloc'd after
 * vsmb_record_read (free with vsmb_record_free); a writer may point them
 * anywhere. */
struct vsmb_record {
	char *host_path;
	char *name;
	char **files; /* allowedFiles: host paths of the files */
	size_t n_files;
	char *guest_path;
	uint32_t options; /* VSMB_BIT(enum vsmb_option_bit) */
};

/* Write the record's six values into enc, which must be a fresh encoder
 * (the record is a stream of its own). 0 or the codec's failure. */
int vsmb_record_write(const struct lh_gob_codec *gob, struct lh_gob_encoder *enc,
		      const struct vsmb_record *rec);
/* Read a whole record stream (nothing may follow it). -LH_EVERSION for a
 * record of another serial version, -LH_ECORRUPT with the byte offset. */
int vsmb_record_read(const struct lh_gob_codec *gob, struct lh_gob_decoder *dec,
		     struct vsmb_record *rec, struct lh_error *err);
/* Append a copy of path to rec's files. 0 or -ENOMEM. */
int vsmb_record_add_file(struct vsmb_record *rec, const char *path);
void vsmb_record_free(struct vsmb_record *rec);

/* ---- encode / decode / clone (vsmb_codec.c) ------------------------------ */

int vsmb_encode(void *priv, struct lh_gob_encoder *enc, struct lh_error *err);
int vsmb_decode(void *priv, struct lh_gob_decoder *dec, struct lh_error *err);
int vsmb_clone(void *priv, void *clone_priv, const struct lh_clone_request *req,
	       struct lh_error *err);

#endif
