/*
 * scsi_state.c - the SCSI backend's saved state.
 *
 * The blob is a sequence of gob singletons, under the backend's serial
 * version (1 or 2), which the host records beside it (state format 1 also
 * began the blob with it):
 *
 *   uint  next handle
 *   uint  N live attachments, then N times, in slot order:
 *     SCSIMount record (scsi_codec.c; its own serial version, 1 or 2)
 *     uint  number of guest mount options, then each as a string
 *     uint  number of live handles (>= 1), then each as a uint
 *
 * Reserved slots are not saved: they follow from the UVM's OS. The guest
 * options ride along as part of the attachment (what the guest mounted it
 * with), though a remove no longer repeats them.
 * Attachments still being added or removed are not saved.
 */
#include "scsi_private.h"

#include <errno.h>
#include <stdlib.h>

/* Far above any real fan-out of one disk, low enough to stop garbage. */
#define SCSI_MAX_HANDLES_PER_ATTACHMENT (1u << 20)

static int scsi_encode_attachment(const struct lh_gob_codec *gob, struct lh_gob_encoder *enc,
				  const struct scsi_attachment *a)
{
	struct scsi_record rec = {
		.serial_version = SCSI_SERIAL_VERSION,
		.host_path = a->host_path,
		.uvm_path = a->uvm_path,
		.controller = a->controller,
		.lun = a->lun,
		.read_only = a->read_only,
		.attach_type = (char *)scsi_type_name(a->type),
		.evd_type = a->evd_type,
	};
	int rc = scsi_record_encode(gob, enc, &rec);

	if (rc == 0)
		rc = gob->put_uint(enc, a->n_guest_options);
	for (size_t i = 0; rc == 0 && i < a->n_guest_options; i++)
		rc = gob->put_string(enc, a->guest_options[i]);
	if (rc == 0)
		rc = gob->put_uint(enc, a->handles.n);
	for (size_t i = 0; rc == 0 && i < a->handles.n; i++)
		rc = gob->put_uint(enc, a->handles.ids[i]);
	return rc;
}

int scsi_encode(void *opaque, struct lh_gob_encoder *enc, struct lh_error *err)
{
	struct scsi_priv *priv = opaque;
	const struct lh_gob_codec *gob = priv->host->gob;
	int n = (int)(priv->controllers * priv->luns_per_controller);
	size_t live = 0;
	int rc;

	pthread_mutex_lock(&priv->lock);
	for (int i = 0; i < n; i++)
		live += priv->slots.occupant[i] && priv->slots.occupant[i]->state == SCSI_LIVE;
	/* No version of its own: the host records serial_version beside the
	 * blob and hands it back at decode. */
	rc = gob->put_uint(enc, priv->next_handle);
	if (rc == 0)
		rc = gob->put_uint(enc, live);
	for (int i = 0; rc == 0 && i < n; i++) {
		const struct scsi_attachment *a = priv->slots.occupant[i];

		if (a && a->state == SCSI_LIVE)
			rc = scsi_encode_attachment(gob, enc, a);
	}
	pthread_mutex_unlock(&priv->lock);
	if (rc)
		rc = LH_FAIL(err, rc, "scsi: cannot encode %zu attachment(s)", live);
	return rc;
}

/* The record's slot and strings move into a new attachment. */
static int scsi_attachment_from_record(struct scsi_priv *priv, struct scsi_record *rec,
				       struct scsi_attachment **out, struct lh_error *err)
{
	struct scsi_attachment *a;
	int type = scsi_type_parse(rec->attach_type);

	if (type < 0)
		return LH_FAIL(err, -LH_ECORRUPT, "scsi: saved attachment %s has unknown type \"%s\"",
			       rec->host_path, rec->attach_type);
	if ((type == SCSI_TYPE_EVD) != (rec->evd_type[0] != '\0'))
		return LH_FAIL(err, -LH_ECORRUPT,
			       "scsi: saved attachment %s: type %s with EVD type \"%s\"",
			       rec->host_path, rec->attach_type, rec->evd_type);
	if (!rec->host_path[0] || rec->controller >= priv->controllers ||
	    rec->lun >= priv->luns_per_controller)
		return LH_FAIL(err, -LH_ECORRUPT,
			       "scsi: saved attachment \"%s\" at %lld:%d does not fit %lld x %lld slots",
			       rec->host_path, (long long)rec->controller, rec->lun,
			       (long long)priv->controllers, (long long)priv->luns_per_controller);
	if (priv->slots.occupant[rec->controller * priv->luns_per_controller + rec->lun])
		return LH_FAIL(err, -LH_ECORRUPT, "scsi: saved slot %lld:%d appears twice",
			       (long long)rec->controller, rec->lun);
	a = calloc(1, sizeof(*a));
	if (!a)
		return LH_FAIL(err, -ENOMEM, "scsi: out of memory decoding");
	a->type = (enum scsi_type)type;
	a->read_only = rec->read_only;
	a->controller = (int)rec->controller;
	a->lun = rec->lun;
	a->state = SCSI_LIVE;
	a->host_path = rec->host_path;
	a->uvm_path = rec->uvm_path;
	a->evd_type = rec->evd_type;
	rec->host_path = rec->uvm_path = rec->evd_type = NULL;
	a->key = scsi_config_key(a->type, a->read_only, a->evd_type, a->host_path);
	if (!a->key) {
		scsi_attachment_free(a);
		return LH_FAIL(err, -ENOMEM, "scsi: out of memory decoding");
	}
	if (lh_map_get_str(&priv->by_config, a->key)) {
		LH_FAIL(err, -LH_ECORRUPT, "scsi: saved attachment %s appears twice", a->host_path);
		scsi_attachment_free(a);
		return -LH_ECORRUPT;
	}
	*out = a;
	return 0;
}

static int scsi_decode_lists(struct scsi_priv *priv, struct lh_gob_decoder *dec,
			     struct scsi_attachment *a, struct lh_error *err)
{
	const struct lh_gob_codec *gob = priv->host->gob;
	char option[SCSI_OPTION_CAP];
	uint64_t n, handle;
	int rc = gob->get_uint(dec, &n, err);

	if (rc == 0 && n > SCSI_MAX_GUEST_OPTIONS)
		rc = LH_FAIL(err, -LH_ECORRUPT, "scsi: %llu guest options for %s, at most %d",
			     (unsigned long long)n, a->host_path, SCSI_MAX_GUEST_OPTIONS);
	if (rc == 0 && n) {
		a->guest_options = calloc(n, sizeof(*a->guest_options));
		if (!a->guest_options)
			rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory decoding");
	}
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		rc = gob->get_string(dec, option, sizeof(option), err);
		if (rc == 0 && !(a->guest_options[i] = strdup(option)))
			rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory decoding");
		if (rc == 0)
			a->n_guest_options++;
	}
	if (rc == 0)
		rc = gob->get_uint(dec, &n, err);
	if (rc == 0 && (n == 0 || n > SCSI_MAX_HANDLES_PER_ATTACHMENT))
		rc = LH_FAIL(err, -LH_ECORRUPT, "scsi: %llu handles for %s",
			     (unsigned long long)n, a->host_path);
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		rc = gob->get_uint(dec, &handle, err);
		if (rc)
			break;
		if (handle == 0 || handle >= priv->next_handle ||
		    lh_map_get_u64(&priv->by_handle, handle))
			rc = LH_FAIL(err, -LH_ECORRUPT, "scsi: saved handle %llu of %s is invalid",
				     (unsigned long long)handle, a->host_path);
		else if (lh_handles_has(&a->handles, handle))
			rc = LH_FAIL(err, -LH_ECORRUPT, "scsi: saved handle %llu repeats",
				     (unsigned long long)handle);
		else if (lh_handles_add(&a->handles, handle))
			rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory decoding");
	}
	return rc;
}

int scsi_decode(void *opaque, struct lh_gob_decoder *dec, struct lh_error *err)
{
	struct scsi_priv *priv = opaque;
	const struct lh_gob_codec *gob = priv->host->gob;
	uint64_t version, next_handle, count;
	struct scsi_record rec;
	struct scsi_attachment *a = NULL;
	int rc;

	pthread_mutex_lock(&priv->lock);
	if (priv->n_attachments || priv->next_handle != 1) {
		rc = LH_FAIL(err, -LH_EREFUSED, "scsi: decode into an instance already in use");
		goto out;
	}
	version = gob->version(dec);
	rc = 0;
	if (version > SCSI_SERIAL_VERSION)
		rc = LH_FAIL(err, -LH_EVERSION,
			     "scsi: saved state version %llu is newer than this build's %d",
			     (unsigned long long)version, SCSI_SERIAL_VERSION);
	else if (version == 0)
		rc = LH_FAIL(err, -LH_ECORRUPT, "scsi: saved state version 0 is invalid");
	if (rc == 0)
		rc = gob->get_uint(dec, &next_handle, err);
	if (rc == 0)
		rc = gob->get_uint(dec, &count, err);
	if (rc == 0 && (next_handle == 0 || next_handle == UINT64_MAX ||
			count > (uint64_t)(priv->controllers * priv->luns_per_controller)))
		rc = LH_FAIL(err, -LH_ECORRUPT,
			     "scsi: saved state has next handle %llu and %llu attachments",
			     (unsigned long long)next_handle, (unsigned long long)count);
	if (rc)
		goto out;
	priv->next_handle = next_handle;
	for (uint64_t i = 0; rc == 0 && i < count; i++) {
		rc = scsi_record_decode(gob, dec, &rec, err);
		if (rc)
			break;
		if (rec.serial_version > version)
			rc = LH_FAIL(err, -LH_ECORRUPT,
				     "scsi: SCSIMount version %u inside a version %llu state",
				     rec.serial_version, (unsigned long long)version);
		if (rc == 0)
			rc = scsi_attachment_from_record(priv, &rec, &a, err);
		scsi_record_free(&rec);
		if (rc == 0)
			rc = scsi_decode_lists(priv, dec, a, err);
		if (rc == 0)
			rc = scsi_install(priv, a, err);
		if (rc)
			scsi_attachment_free(a);
		a = NULL;
	}
	if (rc)
		scsi_reset(priv); /* it was empty: nothing half decoded stays */
out:
	pthread_mutex_unlock(&priv->lock);
	return rc;
}
