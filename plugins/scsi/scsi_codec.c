/*
 * scsi_codec.c - hcsshim's SCSIMount gob record, byte for byte:
 *
 *   uint32 serial version | string host path | string UVM path |
 *   int controller | int32 LUN | bool read-only | string attachment type |
 *   (version 2:) string extensible-virtual-disk type
 *
 * each value one gob singleton message from the host's codec. Depends on
 * backend.h only, so the tests compile it directly against golden bytes.
 */
#include "scsi_private.h"

#include <errno.h>
#include <stdlib.h>

int scsi_record_encode(const struct lh_gob_codec *gob, struct lh_gob_encoder *enc,
		       const struct scsi_record *rec)
{
	int rc = gob->put_uint(enc, rec->serial_version);

	if (rc == 0)
		rc = gob->put_string(enc, rec->host_path);
	if (rc == 0)
		rc = gob->put_string(enc, rec->uvm_path);
	if (rc == 0)
		rc = gob->put_int(enc, rec->controller);
	if (rc == 0)
		rc = gob->put_int(enc, rec->lun);
	if (rc == 0)
		rc = gob->put_bool(enc, rec->read_only);
	if (rc == 0)
		rc = gob->put_string(enc, rec->attach_type);
	if (rc == 0 && rec->serial_version >= 2)
		rc = gob->put_string(enc, rec->evd_type ? rec->evd_type : "");
	return rc;
}

void scsi_record_free(struct scsi_record *rec)
{
	free(rec->host_path);
	free(rec->uvm_path);
	free(rec->attach_type);
	free(rec->evd_type);
	memset(rec, 0, sizeof(*rec));
}

/* Read a string of at most cap - 1 bytes into a fresh allocation. */
static int scsi_get_string(const struct lh_gob_codec *gob, struct lh_gob_decoder *dec,
			   size_t cap, char **out, struct lh_error *err)
{
	char *buf = malloc(cap);
	int rc;

	if (!buf)
		return LH_FAIL(err, -ENOMEM, "scsi: out of memory decoding a SCSIMount");
	rc = gob->get_string(dec, buf, cap, err);
	if (rc == 0) {
		*out = strdup(buf);
		if (!*out)
			rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory decoding a SCSIMount");
	}
	free(buf);
	return rc;
}

int scsi_record_decode(const struct lh_gob_codec *gob, struct lh_gob_decoder *dec,
		       struct scsi_record *rec, struct lh_error *err)
{
	uint64_t version;
	int64_t controller, lun;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rc = gob->get_uint(dec, &version, err);
	if (rc)
		goto out;
	if (version == 0 || version > UINT32_MAX) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "scsi: SCSIMount serial version %llu is invalid",
			     (unsigned long long)version);
		goto out;
	}
	if (version > SCSI_SERIAL_VERSION) {
		rc = LH_FAIL(err, -LH_EVERSION,
			     "scsi: SCSIMount serial version %llu is newer than this build's %d",
			     (unsigned long long)version, SCSI_SERIAL_VERSION);
		goto out;
	}
	rec->serial_version = (uint32_t)version;
	rc = scsi_get_string(gob, dec, LH_PATH_CAP, &rec->host_path, err);
	if (rc == 0)
		rc = scsi_get_string(gob, dec, LH_PATH_CAP, &rec->uvm_path, err);
	if (rc == 0)
		rc = gob->get_int(dec, &controller, err);
	if (rc == 0)
		rc = gob->get_int(dec, &lun, err);
	if (rc)
		goto out;
	if (controller < 0 || controller >= SCSI_MAX_CONTROLLERS || lun < 0 ||
	    lun >= SCSI_MAX_LUNS) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "scsi: SCSIMount slot %lld:%lld is out of range",
			     (long long)controller, (long long)lun);
		goto out;
	}
	rec->controller = controller;
	rec->lun = (int32_t)lun;
	rc = gob->get_bool(dec, &rec->read_only, err);
	if (rc == 0)
		rc = scsi_get_string(gob, dec, SCSI_TYPE_CAP, &rec->attach_type, err);
	if (rc == 0 && version >= 2)
		rc = scsi_get_string(gob, dec, SCSI_TYPE_CAP, &rec->evd_type, err);
	if (rc == 0 && !rec->evd_type) {
		rec->evd_type = strdup("");
		if (!rec->evd_type)
			rc = LH_FAIL(err, -ENOMEM, "scsi: out of memory decoding a SCSIMount");
	}
out:
	if (rc)
		scsi_record_free(rec);
	return rc;
}
