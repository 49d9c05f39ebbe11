/*
 * driver.h - where HCS requests go.
 *
 * Plugins build ModifySettingRequests in hcsshim's schema; the host parses
 * each one and hands it to the configured driver, which realises it:
 * `journal` appends it to a file, `null` discards it, `qemu` carries it out
 * on a QEMU VM. A driver embeds struct lh_driver as its first member.
 */
#ifndef LH_DRIVER_H
#define LH_DRIVER_H

#include "config.h"

#include <cjson/cJSON.h>

struct lh_driver;

struct lh_driver_ops {
	const char *name;
	/* Realise one request (borrowed) for the UVM. Called from any thread;
	 * the driver serialises what it must. 0, or a negative code with err
	 * naming the request. */
	int (*modify)(struct lh_driver *drv, const char *uvm_id, const cJSON *request,
		      struct lh_error *err);
	/* Free the driver. NULL-safe through lh_driver_close. */
	void (*close)(struct lh_driver *drv);
};

struct lh_driver {
	const struct lh_driver_ops *ops;
};

/* Open the driver cfg->driver names (journal, null; qemu when built). */
int lh_driver_open(const struct lh_config *cfg, struct lh_driver **out, struct lh_error *err);
void lh_driver_close(struct lh_driver *drv);

/* The journal: one line per request, {"seq":N,"uvm":ID,"request":{...}},
 * N continuing from the last line already in the file. */
int lh_journal_open(const char *path, enum lh_journal_fsync fsync_policy,
		    struct lh_driver **out, struct lh_error *err);
/* Append a request to a journal from lh_journal_open, with "guest":
 * `guest` (e.g. "undelivered") when not NULL: how drivers that realise
 * requests record what they could not deliver. */
int lh_journal_append(struct lh_driver *journal, const char *uvm_id, const cJSON *request,
		      const char *guest, struct lh_error *err);

/* Discards every request (benchmarks). */
int lh_null_driver_open(struct lh_driver **out, struct lh_error *err);

/* Records every request in memory and realises nothing (`plan`, tests).
 * lh_plan_driver_requests returns the array of requests so far, each
 * {"uvm":ID,"request":{...}} (borrowed from the driver). */
int lh_plan_driver_open(struct lh_driver **out, struct lh_error *err);
const cJSON *lh_plan_driver_requests(const struct lh_driver *drv);

#endif
