/*
 * scsi_requests.c - HCS ModifySettingRequest JSON for SCSI attachments.
 *
 * Keys follow hcsshim's Go struct field order and every field is
 * omitempty, as encoding/json writes them: zero numbers, false, "" and
 * empty lists are left out (so controller 0 and LUN 0 never appear in the
 * guest settings).
 */
#include "scsi_private.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static bool scsi_json_string(cJSON *obj, const char *key, const char *value)
{
	return !value || !value[0] || cJSON_AddStringToObject(obj, key, value);
}

static bool scsi_json_number(cJSON *obj, const char *key, double value)
{
	return value == 0 || cJSON_AddNumberToObject(obj, key, value);
}

static bool scsi_json_true(cJSON *obj, const char *key, bool value)
{
	return !value || cJSON_AddTrueToObject(obj, key);
}

/* hcsschema.Attachment{Type, Path, ..., ReadOnly, ..., ExtensibleVirtualDiskType}. */
static cJSON *scsi_attachment_object(const struct scsi_attachment *a, const char *path)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj && scsi_json_string(obj, "Type", scsi_type_name(a->type)) &&
	    scsi_json_string(obj, "Path", path ? path : a->host_path) &&
	    scsi_json_true(obj, "ReadOnly", a->read_only) &&
	    scsi_json_string(obj, "ExtensibleVirtualDiskType", a->evd_type))
		return obj;
	cJSON_Delete(obj);
	return NULL;
}

char *scsi_attachment_json(const struct scsi_attachment *a, const char *path)
{
	cJSON *obj = cJSON_CreateObject();
	char *text = NULL;

	/* hcsshim's clone writes an attachment's Path and Type only. */
	if (obj && scsi_json_string(obj, "Type", scsi_type_name(a->type)) &&
	    scsi_json_string(obj, "Path", path ? path : a->host_path))
		text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	return text;
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
		ok = scsi_json_string(obj, "ContainerPath", a->uvm_path) &&
		     scsi_json_number(obj, "Lun", a->lun);
	} else {
		ok = scsi_json_string(obj, "MountPath", a->uvm_path) &&
		     scsi_json_number(obj, "Lun", a->lun) &&
		     scsi_json_number(obj, "Controller", a->controller) &&
		     (!add || scsi_json_true(obj, "ReadOnly", a->read_only));
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

/* ModifySettingRequest{ResourcePath, RequestType, Settings, GuestRequest}
 * around guestrequest.ModificationRequest{RequestType, ResourceType, Settings}. */
static char *scsi_request(const struct scsi_attachment *a, enum lh_uvm_os os, bool add)
{
	const char *verb = add ? "Add" : "Remove";
	char resource[128];
	cJSON *req = cJSON_CreateObject(), *settings = NULL, *guest = NULL, *gsettings = NULL;
	char *text = NULL;

	snprintf(resource, sizeof(resource), "VirtualMachine/Devices/Scsi/%d/Attachments/%d",
		 a->controller, a->lun);
	if (!req || !cJSON_AddStringToObject(req, "ResourcePath", resource) ||
	    !cJSON_AddStringToObject(req, "RequestType", verb))
		goto out;
	if (add) {
		settings = scsi_attachment_object(a, NULL);
		if (!settings || !cJSON_AddItemToObject(req, "Settings", settings))
			goto out;
		settings = NULL;
	}
	/* An Add mounts in the guest only what has a guest path. A Remove
	 * always ejects in an LCOW guest, mounted or not, so the guest forgets
	 * the slot before it is reused (hcsshim RemoveSCSI; its test is
	 * "windows with a path: WCOW settings, anything else: LCOW's", which
	 * this keeps as it is). */
	if (add ? a->uvm_path[0] != '\0' : (os != LH_OS_NONE)) {
		guest = cJSON_CreateObject();
		gsettings = scsi_guest_settings(a, os == LH_OS_WINDOWS && a->uvm_path[0], add);
		if (!guest || !gsettings || !cJSON_AddStringToObject(guest, "RequestType", verb) ||
		    !cJSON_AddStringToObject(guest, "ResourceType", "MappedVirtualDisk") ||
		    !cJSON_AddItemToObject(guest, "Settings", gsettings))
			goto out;
		gsettings = NULL;
		if (!cJSON_AddItemToObject(req, "GuestRequest", guest))
			goto out;
		guest = NULL;
	}
	text = cJSON_PrintUnformatted(req);
out:
	cJSON_Delete(gsettings);
	cJSON_Delete(guest);
	cJSON_Delete(settings);
	cJSON_Delete(req);
	return text;
}

char *scsi_request_add(const struct scsi_attachment *a, enum lh_uvm_os os)
{
	return scsi_request(a, os, true);
}

char *scsi_request_remove(const struct scsi_attachment *a, enum lh_uvm_os os)
{
	return scsi_request(a, os, false);
}
