/*
 * scsi_requests.c - HCS ModifySettingRequest JSON for SCSI attachments.
 *
 * Keys follow hcsshim's Go struct field order and every field is
 * omitempty, as encoding/json writes them: zero numbers, false, "" and
 * empty lists are left out (so controller 0 and LUN 0 never appear in the
 * guest settings).
 */
#include "scsi_private.h"

#include "lh_request.h"

#include <stdlib.h>

/* hcsschema.Attachment{Type, Path, ..., ReadOnly, ..., ExtensibleVirtualDiskType}. */
static cJSON *scsi_attachment_object(const struct scsi_attachment *a, const char *path)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj && lh_json_add_string(obj, "Type", scsi_type_name(a->type)) &&
	    lh_json_add_string(obj, "Path", path ? path : a->host_path) &&
	    lh_json_add_true(obj, "ReadOnly", a->read_only) &&
	    lh_json_add_string(obj, "ExtensibleVirtualDiskType", a->evd_type))
		return obj;
	cJSON_Delete(obj);
	return NULL;
}

char *scsi_attachment_json(const struct scsi_attachment *a, const char *path)
{
	cJSON *obj = cJSON_CreateObject();

	/* hcsshim's clone writes an attachment's Path and Type only. */
	if (obj && !(lh_json_add_string(obj, "Type", scsi_type_name(a->type)) &&
		     lh_json_add_string(obj, "Path", path ? path : a->host_path))) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	return lh_json_print(obj);
}

/* LCOWMappedVirtualDisk{MountPath, Lun, Controller, Partition, ReadOnly,
 * Encrypted, Options, ...} or WCOWMappedVirtualDisk{ContainerPath, Lun}.
 * A removal names only the disk (hcsshim's RemoveSCSI: MountPath, Lun,
 * Controller). */
static cJSON *scsi_guest_settings(const struct scsi_attachment *a, bool wcow, bool add)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *options;
	bool ok;

	if (!obj)
		return NULL;
	if (wcow) {
		ok = lh_json_add_string(obj, "ContainerPath", a->uvm_path) &&
		     lh_json_add_uint(obj, "Lun", (uint64_t)a->lun);
	} else {
		ok = lh_json_add_string(obj, "MountPath", a->uvm_path) &&
		     lh_json_add_uint(obj, "Lun", (uint64_t)a->lun) &&
		     lh_json_add_uint(obj, "Controller", (uint64_t)a->controller) &&
		     (!add || lh_json_add_true(obj, "ReadOnly", a->read_only));
		if (ok && add && a->n_guest_options) {
			options = cJSON_AddArrayToObject(obj, "Options");
			ok = options != NULL;
			for (size_t i = 0; ok && i < a->n_guest_options; i++) {
				cJSON *s = cJSON_CreateString(a->guest_options[i]);

				ok = s && cJSON_AddItemToArray(options, s);
				if (!ok)
					cJSON_Delete(s);
			}
		}
	}
	if (ok)
		return obj;
	cJSON_Delete(obj);
	return NULL;
}

/* The add carries the attachment, the remove only its slot. An Add mounts
 * in the guest only what has a guest path; a Remove always ejects in a
 * guest, mounted or not, so the guest forgets the slot before it is reused
 * (hcsshim's RemoveSCSI, whose test is "windows with a path: WCOW settings,
 * anything else: LCOW's", kept as it is). */
static char *scsi_request(const struct scsi_attachment *a, enum lh_uvm_os os, bool add)
{
	char resource[128];
	cJSON *req;

	snprintf(resource, sizeof(resource), "VirtualMachine/Devices/Scsi/%d/Attachments/%d",
		 a->controller, a->lun);
	req = lh_request_new(resource, add ? "Add" : "Remove");
	if (add)
		req = lh_request_add_settings(req, scsi_attachment_object(a, NULL));
	if (add ? a->uvm_path[0] != '\0' : os != LH_OS_NONE)
		req = lh_request_add_guest(req, "MappedVirtualDisk",
					   scsi_guest_settings(a, os == LH_OS_WINDOWS &&
								  a->uvm_path[0], add));
	return lh_json_print(req);
}

char *scsi_request_add(const struct scsi_attachment *a, enum lh_uvm_os os)
{
	return scsi_request(a, os, true);
}

char *scsi_request_remove(const struct scsi_attachment *a, enum lh_uvm_os os)
{
	return scsi_request(a, os, false);
}
