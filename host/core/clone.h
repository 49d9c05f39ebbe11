/*
 * clone.h - build a new UVM from a template host.
 *
 * Every backend with a clone slot populates a fresh instance bound to the
 * clone (read-only attachments shared, writable disks copied under the
 * clone's scratch folder) and adds its devices to the clone's
 * compute-system document. A failure removes everything the clone made.
 */
#ifndef LH_CLONE_H
#define LH_CLONE_H

#include "host.h"

/*
 * Clone `template_host` (loaded from a template's state) as UVM `new_id`,
 * copying writable disks under `scratch_dir` (created if missing). On
 * success *out is the clone's host (containers as in the template, handles
 * kept) and *document its compute-system document (caller frees both:
 * lh_host_close, cJSON_Delete). The clone host uses `driver` (borrowed).
 */
int lh_clone_build(struct lh_host *template_host, const char *new_id, const char *scratch_dir,
		   struct lh_driver *driver, struct lh_host **out, cJSON **document,
		   struct lh_error *err);

#endif
