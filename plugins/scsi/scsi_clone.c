/*
 * scsi_clone.c - populate a clone's instance from a template's.
 *
 * Read-only disks are shared by path; writable ones are copied through the
 * clone's copy service: 0:0 (the scratch) into req->scratch_dir, others
 * into <dirname(scratch_dir)>/clone-mount-<c>-<l>/. Every copy is made
 * before the clone's document is touched, so a failed copy leaves only
 * what it can remove itself. Each disk then goes into the document at
 * VirtualMachine/Devices/Scsi/<controller guid>/Attachments/<lun>.
 */
#include "scsi_private.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* hcsshim's ScsiControllerGuids: the compute-system document's keys. */
static const char *const scsi_controller_guids[SCSI_MAX_CONTROLLERS] = {
	"df6d0690-79e5-55b6-a5ec-c1e2f77f580a",
	"0110f83b-de10-5172-a266-78bca56bf50a",
	"b5d2d8d4-3a75-51bf-945b-3444dc6b8579",
	"305891a9-b251-5dfe-91a2-c25d9212275b",
};

/* What one clone made on disk, to remove on failure. */
struct scsi_clone_made {
	char *file;
	char *dir; /* NULL unless this clone created it */
};

struct scsi_clone_work {
	struct scsi_attachment **copies; /* the clone's attachments, slot order */
	struct scsi_clone_made *made;
	size_t n;
	uint64_t next_handle;
};

static void scsi_clone_work_free(struct scsi_clone_work *w, bool remove_made)
{
	for (size_t i = w->n; i-- > 0;) {
		if (remove_made && w->made[i].file)
			unlink(w->made[i].file);
		if (remove_made && w->made[i].dir)
			rmdir(w->made[i].dir);
		free(w->made[i].file);
		free(w->made[i].dir);
		scsi_attachment_free(w->copies[i]);
	}
	free(w->made);
	free(w->copies);
	memset(w, 0, sizeof(*w));
}

static char *scsi_strdup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* A deep copy of a live attachment with the same slot and handles. */
static struct scsi_attachment *scsi_attachment_dup(const struct scsi_attachment *src)
{
	struct scsi_attachment *a = calloc(1, sizeof(*a));
	bool ok;

	if (!a)
		return NULL;
	a->type = src->type;
	a->read_only = src->read_only;
	a->controller = src->controller;
	a->lun = src->lun;
	a->state = SCSI_LIVE;
	a->host_path = scsi_strdup_or_empty(src->host_path);
	a->uvm_path = scsi_strdup_or_empty(src->uvm_path);
	a->evd_type = scsi_strdup_or_empty(src->evd_type);
	a->guest_options = src->n_guest_options
				   ? calloc(src->n_guest_options, sizeof(*a->guest_options))
				   : NULL;
	ok = a->host_path && a->uvm_path && a->evd_type &&
	     (a->guest_options || !src->n_guest_options);
	for (size_t i = 0; ok && i < src->n_guest_options; i++) {
		a->guest_options[i] = strdup(src->guest_options[i]);
		ok = a->guest_options[i] != NULL;
		a->n_guest_options = i + 1;
	}
	for (size_t i = 0; ok && i < src->handles.n; i++)
		ok = lh_handles_add(&a->handles, src->handles.ids[i]) == 0;
	if (!ok) {
		scsi_attachment_free(a);
		a = NULL;
	}
	return a;
}

/* Snapshot the template's live attachments under its lock. */
static int scsi_clone_snapshot(struct scsi_priv *priv, struct scsi_clone_work *w,
			       struct lh_error *err)
{
	int n = (int)(priv->controllers * priv->luns_per_controller);
	int rc = 0;

	pthread_mutex_lock(&priv->lock);
	w->copies = calloc(priv->n_attachments + 1, sizeof(*w->copies));
	w->made = calloc(priv->n_attachments + 1, sizeof(*w->made));
	if (!w->copies || !w->made)
		rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory cloning");
	for (int i = 0; rc == 0 && i < n; i++) {
		const struct scsi_attachment *a = priv->slots.occupant[i];

		if (!a || a->state != SCSI_LIVE)
			continue;
		if (!a->read_only && a->type != SCSI_TYPE_VIRTUAL_DISK) {
			rc = LH_FAIL(err, -LH_EUNSUPPORTED,
				     "scsi: cannot clone writable %s %s at %d:%d: only disk files "
				     "can be copied", scsi_type_name(a->type), a->host_path,
				     a->controller, a->lun);
			break;
		}
		w->copies[w->n] = scsi_attachment_dup(a);
		if (!w->copies[w->n]) {
			rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory cloning");
			break;
		}
		w->n++;
	}
	w->next_handle = priv->next_handle;
	pthread_mutex_unlock(&priv->lock);
	return rc;
}

/* Where the writable disk of a goes, creating its folder when needed. */
static int scsi_clone_target(const struct lh_clone_request *req,
			     const struct scsi_attachment *a, struct scsi_clone_made *made,
			     struct lh_error *err)
{
	char *src = strdup(a->host_path), *parent = strdup(req->scratch_dir), *dir = NULL;
	int rc = 0;

	if (!src || !parent) {
		rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory cloning");
		goto out;
	}
	if ((a->controller == 0 && a->lun == 0 ? asprintf(&dir, "%s", req->scratch_dir)
					       : asprintf(&dir, "%s/clone-mount-%d-%d",
							  dirname(parent), a->controller,
							  a->lun)) < 0) {
		dir = NULL;
		rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory cloning");
		goto out;
	}
	if (mkdir(dir, 0700) == 0) {
		made->dir = dir;
		dir = NULL;
	} else if (errno != EEXIST) {
		rc = LH_FAIL(err, -errno, "scsi: cannot create %s for the copy of %s: %s", dir,
			     a->host_path, strerror(errno));
		goto out;
	}
	if (asprintf(&made->file, "%s/%s", made->dir ? made->dir : dir, basename(src)) < 0) {
		made->file = NULL;
		rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory cloning");
	}
out:
	free(dir);
	free(parent);
	free(src);
	return rc;
}

static int scsi_clone_copy(struct scsi_priv *clone, const struct lh_clone_request *req,
			   struct scsi_clone_work *w, struct lh_error *err)
{
	const struct lh_host_services *host = clone->host;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < w->n; i++) {
		struct scsi_attachment *a = w->copies[i];
		char *file;

		if (a->read_only)
			continue;
		rc = scsi_clone_target(req, a, &w->made[i], err);
		if (rc == 0)
			rc = host->copy_file(host->ctx, a->host_path, w->made[i].file, err);
		if (rc) {
			/* The copy service removed its partial file already. */
			free(w->made[i].file);
			w->made[i].file = NULL;
			break;
		}
		file = strdup(w->made[i].file);
		if (!file) {
			rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory cloning");
			break;
		}
		free(a->host_path);
		a->host_path = file;
	}
	return rc;
}

static int scsi_clone_document(struct scsi_priv *clone, struct scsi_clone_work *w,
			       struct lh_error *err)
{
	const struct lh_host_services *host = clone->host;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < w->n; i++) {
		const struct scsi_attachment *a = w->copies[i];
		char path[160];
		char *json = scsi_attachment_json(a, NULL);

		snprintf(path, sizeof(path), "VirtualMachine/Devices/Scsi/%s/Attachments/%d",
			 scsi_controller_guids[a->controller], a->lun);
		rc = json ? host->document_add(host->ctx, path, json, err)
			  : LH_FAIL(err, -ENOMEM, "scsi: out of memory cloning");
		free(json);
	}
	return rc;
}

/* Move the work's attachments into the empty clone instance. */
static int scsi_clone_install(struct scsi_priv *clone, struct scsi_clone_work *w,
			      struct lh_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&clone->lock);
	clone->next_handle = w->next_handle;
	for (size_t i = 0; rc == 0 && i < w->n; i++) {
		struct scsi_attachment *a = w->copies[i];

		a->key = scsi_config_key(a->type, a->read_only, a->evd_type, a->host_path);
		rc = a->key ? scsi_install(clone, a, err)
			    : LH_FAIL(err, -ENOMEM, "scsi: out of memory cloning");
		if (rc == 0)
			w->copies[i] = NULL;
	}
	if (rc)
		scsi_reset(clone);
	pthread_mutex_unlock(&clone->lock);
	return rc;
}

int scsi_clone(void *opaque, void *clone_opaque, const struct lh_clone_request *req,
	       struct lh_error *err)
{
	struct scsi_priv *priv = opaque, *clone = clone_opaque;
	struct scsi_clone_work w = { 0 };
	bool made_scratch = false;
	int rc = 0;

	if (!req || !req->scratch_dir || !req->scratch_dir[0])
		return LH_FAIL(err, -EINVAL, "scsi: clone without a scratch folder");
	if (clone->controllers < priv->controllers ||
	    clone->luns_per_controller < priv->luns_per_controller)
		return LH_FAIL(err, -LH_ECONFIG,
			       "scsi: clone has %lld x %lld slots, the template %lld x %lld",
			       (long long)clone->controllers, (long long)clone->luns_per_controller,
			       (long long)priv->controllers, (long long)priv->luns_per_controller);
	pthread_mutex_lock(&clone->lock);
	if (clone->n_attachments || clone->next_handle != 1)
		rc = LH_FAIL(err, -LH_EREFUSED, "scsi: clone instance is already in use");
	pthread_mutex_unlock(&clone->lock);
	if (rc == 0)
		rc = scsi_clone_snapshot(priv, &w, err);
	if (rc == 0 && mkdir(req->scratch_dir, 0700) == 0)
		made_scratch = true;
	else if (rc == 0 && errno != EEXIST)
		rc = LH_FAIL(err, -errno, "scsi: cannot create the clone scratch folder %s: %s",
			     req->scratch_dir, strerror(errno));
	if (rc == 0)
		rc = scsi_clone_copy(clone, req, &w, err);
	if (rc == 0)
		rc = scsi_clone_document(clone, &w, err);
	if (rc == 0)
		rc = scsi_clone_install(clone, &w, err);
	scsi_clone_work_free(&w, rc != 0);
	if (rc && made_scratch)
		rmdir(req->scratch_dir);
	return rc;
}
