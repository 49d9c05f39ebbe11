/*
 * scsi_private.h - the SCSI backend's internal contracts.
 *
 * Files: scsi.c (ops table, attach / release / list), scsi_attachment.c
 * (the attachment object), scsi_slots.c (the free-slot bitmap),
 * scsi_requests.c (HCS request JSON), scsi_codec.c (hcsshim's SCSIMount
 * gob record), scsi_state.c (the backend blob: encode / decode),
 * scsi_clone.c (template -> clone). The hash indexes and handle lists are
 * the plugins' common ones (plugins/common).
 */
#ifndef LH_SCSI_PRIVATE_H
#define LH_SCSI_PRIVATE_H

#include <layerhost/backend.h>

#include "lh_handles.h"
#include "lh_map.h"

#include <pthread.h>

#define SCSI_MAX_CONTROLLERS 4
#define SCSI_MAX_LUNS 256
#define SCSI_MAX_SLOTS (SCSI_MAX_CONTROLLERS * SCSI_MAX_LUNS)
#define SCSI_SLOT_WORDS (SCSI_MAX_SLOTS / 64)
/* Newest SCSIMount record / backend blob version this build writes. */
#define SCSI_SERIAL_VERSION 2
#define SCSI_TYPE_CAP 256
#define SCSI_MAX_GUEST_OPTIONS 64
#define SCSI_OPTION_CAP 256

enum scsi_type {
	SCSI_TYPE_VIRTUAL_DISK = 0,
	SCSI_TYPE_PASS_THRU,
	SCSI_TYPE_EVD,
};

enum scsi_state {
	SCSI_ATTACHING, /* add request in flight: equal attaches wait */
	SCSI_LIVE,
	SCSI_REMOVING,  /* remove request in flight: equal attaches wait, then retry */
	SCSI_FAILED,    /* add failed: kept only until the last waiter has read why */
	SCSI_GONE,      /* removed: kept only until the last waiter has let go */
};

struct scsi_attachment {
	char *key;         /* config index key (see scsi_config_key) */
	char *host_path;   /* for EVD: the path after "evd://<type>/" */
	char *uvm_path;    /* guest mount path, "" when not mounted */
	char *evd_type;    /* "" unless EVD */
	char **guest_options;
	size_t n_guest_options;
	enum scsi_type type;
	bool read_only;
	int controller, lun;
	enum scsi_state state;
	/* Live handles in issue order (encode's order): the reference count
	 * is handles.n. */
	struct lh_handles handles;
	/* Threads blocked on this attachment's add outcome. */
	uint32_t waiters;
	struct lh_error outcome; /* why the add failed (SCSI_FAILED) */
};

/* Free slots for first-free placement: bit set = free and not reserved;
 * `summary` bit w = words[w] has a set bit, so finding one is two ctz. */
struct scsi_slots {
	int controllers, luns;
	uint64_t words[SCSI_SLOT_WORDS];
	uint64_t summary;
	struct scsi_attachment *occupant[SCSI_MAX_SLOTS];
};

struct scsi_priv {
	/* Options, parsed by the host before open. */
	int64_t controllers;
	int64_t luns_per_controller;

	const struct lh_host_services *host;
	enum lh_uvm_os os;
	bool lock_ready;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* broadcast whenever an attachment leaves ATTACHING / REMOVING */
	uint64_t next_handle;
	size_t n_attachments;
	struct scsi_slots slots;
	struct lh_map by_handle; /* handle -> attachment (LH_MAP_U64) */
	struct lh_map by_config; /* a->key -> attachment (LH_MAP_STRING) */
};

/* ---- scsi_slots.c ------------------------------------------------------ */

/* Slots are indexed controller * luns + lun, i.e. controller-then-LUN order.
 * `reserve_first` keeps 0:0 out of first-free placement (WCOW scratch). */
void scsi_slots_init(struct scsi_slots *s, int controllers, int luns, bool reserve_first);
/* The lowest free slot index, or -1. */
int scsi_slots_first_free(const struct scsi_slots *s);
/* Occupy / vacate a slot (occupant NULL on vacate); `reserved` slots are
 * never made available to first-free again. */
void scsi_slots_take(struct scsi_slots *s, int index, struct scsi_attachment *a);
void scsi_slots_vacate(struct scsi_slots *s, int index, bool reserved);

/* ---- scsi_attachment.c / scsi.c ------------------------------------------- */

const char *scsi_type_name(enum scsi_type type);
/* Parse an hcsshim attachment type name; -1 when unknown. */
int scsi_type_parse(const char *name);
/* "<type>\x1f<ro>\x1f<evd>\x1f<path>", malloc'd; NULL on ENOMEM. */
char *scsi_config_key(enum scsi_type type, bool read_only, const char *evd_type,
		      const char *host_path);
/* Free an attachment and everything it owns (NULL-safe). */
void scsi_attachment_free(struct scsi_attachment *a);
/* Index a fully built LIVE attachment (slot, config, every handle) into
 * priv, under priv->lock. On -ENOMEM nothing of it stays indexed. */
int scsi_install(struct scsi_priv *priv, struct scsi_attachment *a, struct lh_error *err);
/* Drop every attachment (close, failed decode / clone); lock held or not needed. */
void scsi_reset(struct scsi_priv *priv);

/* ---- scsi_requests.c ----------------------------------------------------- */

/* The clone document's Attachment for a: Type and Path only, as hcsshim
 * writes it, `path` in place of a->host_path when non-NULL. malloc'd or NULL. */
char *scsi_attachment_json(const struct scsi_attachment *a, const char *path);
/* ModifySettingRequest adding / removing a, with the guest (un)mount when
 * a->uvm_path is set, for a UVM of `os`. malloc'd or NULL (ENOMEM). */
char *scsi_request_add(const struct scsi_attachment *a, enum lh_uvm_os os);
char *scsi_request_remove(const struct scsi_attachment *a, enum lh_uvm_os os);

/* ---- scsi_codec.c: hcsshim's SCSIMount.GobEncode record ------------------ */

struct scsi_record {
	uint32_t serial_version; /* 1: 7 values; 2: adds the EVD type */
	char *host_path;
	char *uvm_path;
	int64_t controller; /* Go int */
	int32_t lun;
	bool read_only;
	char *attach_type;
	char *evd_type; /* version 2 only; "" otherwise */
};

/* Write rec as serial version rec->serial_version (1 or 2). 0 or -ENOMEM. */
int scsi_record_encode(const struct lh_gob_codec *gob, struct lh_gob_encoder *enc,
		       const struct scsi_record *rec);
/* Read one record (strings malloc'd, free with scsi_record_free). A serial
 * version above SCSI_SERIAL_VERSION is -LH_EVERSION naming both numbers;
 * version 0, values out of range, overlong strings are -LH_ECORRUPT. On
 * failure rec holds nothing. */
int scsi_record_decode(const struct lh_gob_codec *gob, struct lh_gob_decoder *dec,
		       struct scsi_record *rec, struct lh_error *err);
void scsi_record_free(struct scsi_record *rec);

/* ---- scsi_state.c / scsi_clone.c: ops slots ------------------------------- */

int scsi_encode(void *priv, struct lh_gob_encoder *enc, struct lh_error *err);
int scsi_decode(void *priv, struct lh_gob_decoder *dec, struct lh_error *err);
int scsi_clone(void *priv, void *clone_priv, const struct lh_clone_request *req,
	       struct lh_error *err);

#endif
