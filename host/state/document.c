/* document.c - see document.h. */
#include "document.h"

#include <errno.h>
#include <stdlib.h>

int lh_document_add(cJSON *doc, const char *path, const char *json, struct lh_error *err)
{
	char *copy = strdup(path), *save = NULL, *key, *next;
	cJSON *value = cJSON_Parse(json), *node = doc, *child, *created = NULL, *created_in = NULL;
	int rc = 0;

	if (!copy) {
		rc = LH_FAIL(err, -ENOMEM, "document: out of memory");
		goto out;
	}
	if (!value) {
		rc = LH_FAIL(err, -EINVAL, "document: value for %s is not valid JSON", path);
		goto out;
	}
	key = strtok_r(copy, "/", &save);
	if (!key) {
		/* "" or "/": there is no key to put the value under. */
		rc = LH_FAIL(err, -EINVAL, "document: path '%s' names no key", path);
		goto out;
	}
	while (key) {
		next = strtok_r(NULL, "/", &save);
		if (!next && strcmp(key, "-") == 0) {
			if (!cJSON_IsArray(node)) {
				rc = LH_FAIL(err, -EINVAL, "document: %s: not an array", path);
				goto out;
			}
			cJSON_AddItemToArray(node, value);
			value = NULL;
			break;
		}
		if (!cJSON_IsObject(node)) {
			rc = LH_FAIL(err, -EINVAL, "document: %s: '%s' is not inside an object", path,
				     key);
			goto out;
		}
		child = cJSON_GetObjectItemCaseSensitive(node, key);
		if (!next) {
			if (child) {
				rc = LH_FAIL(err, -EEXIST, "document: %s is already present", path);
				goto out;
			}
			cJSON_AddItemToObject(node, key, value);
			value = NULL;
			break;
		}
		if (!child) {
			child = strcmp(next, "-") == 0 ? cJSON_CreateArray() : cJSON_CreateObject();
			if (!child) {
				rc = LH_FAIL(err, -ENOMEM, "document: out of memory");
				goto out;
			}
			cJSON_AddItemToObject(node, key, child);
			/* Remember the outermost object we made so a failure
			 * further down can take it out again. */
			if (!created) {
				created = child;
				created_in = node;
			}
		}
		node = child;
		key = next;
	}
out:
	if (rc && created)
		cJSON_Delete(cJSON_DetachItemViaPointer(created_in, created));
	cJSON_Delete(value);
	free(copy);
	return rc;
}

/* ---- the base document and Go's key order ---------------------------------- */

/* The first SCSI controller's GUID, the key of its entry in Devices.Scsi. */
#define DOCUMENT_SCSI_CONTROLLER_0 "df6d0690-79e5-55b6-a5ec-c1e2f77f580a"
/* hcsshim: SYSTEM and administrators may bind hvsocket services (GCS log). */
#define DOCUMENT_HVSOCKET_SDDL "D:P(A;;FA;;;SY)(A;;FA;;;BA)"

static cJSON *document_base_vm(const struct lh_document_uvm *u)
{
	cJSON *vm = cJSON_CreateObject(), *chipset, *topology, *memory, *processor, *devices;
	cJSON *hvsocket, *vsmb;
	bool ok = vm != NULL;

	ok = ok && cJSON_AddTrueToObject(vm, "StopOnReset");
	ok = ok && (chipset = cJSON_AddObjectToObject(vm, "Chipset"));
	if (ok && u->os == LH_OS_WINDOWS) {
		cJSON *boot = cJSON_AddObjectToObject(cJSON_AddObjectToObject(chipset, "Uefi"),
						      "BootThis");

		/* UefiBootEntry: DeviceType before DevicePath. */
		ok = boot && cJSON_AddStringToObject(boot, "DeviceType", "VmbFs") &&
		     cJSON_AddStringToObject(boot, "DevicePath", "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
	}
	ok = ok && (topology = cJSON_AddObjectToObject(vm, "ComputeTopology")) &&
	     (memory = cJSON_AddObjectToObject(topology, "Memory")) &&
	     cJSON_AddNumberToObject(memory, "SizeInMB", (double)u->memory_mb);
	/* Memory2: omitempty bools; WCOW hints hot memory when it may
	 * overcommit (the hint does not go with physical backing). */
	if (ok && u->allow_overcommit)
		ok = cJSON_AddTrueToObject(memory, "AllowOvercommit") &&
		     (u->os != LH_OS_WINDOWS || cJSON_AddTrueToObject(memory, "EnableHotHint"));
	ok = ok && (processor = cJSON_AddObjectToObject(topology, "Processor")) &&
	     cJSON_AddNumberToObject(processor, "Count", u->processors);
	ok = ok && (devices = cJSON_AddObjectToObject(vm, "Devices"));
	if (ok && u->scratch_path) {
		cJSON *att = cJSON_AddObjectToObject(
			cJSON_AddObjectToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
							devices, "Scsi"), DOCUMENT_SCSI_CONTROLLER_0),
						"Attachments"),
			"0");

		/* The UVM's scratch as hcsshim attaches it: Path and Type only. */
		ok = att && cJSON_AddStringToObject(att, "Type", "VirtualDisk") &&
		     cJSON_AddStringToObject(att, "Path", u->scratch_path);
	}
	ok = ok && (hvsocket = cJSON_AddObjectToObject(devices, "HvSocket")) &&
	     cJSON_AddStringToObject(cJSON_AddObjectToObject(hvsocket, "HvSocketConfig"),
				     "DefaultBindSecurityDescriptor", DOCUMENT_HVSOCKET_SDDL);
	ok = ok && (vsmb = cJSON_AddObjectToObject(devices, "VirtualSmb")) &&
	     cJSON_AddNumberToObject(vsmb, "DirectFileMappingInMB", 1024);
	if (!ok) {
		cJSON_Delete(vm);
		vm = NULL;
	}
	return vm;
}

cJSON *lh_document_base(const struct lh_document_uvm *u)
{
	cJSON *doc = cJSON_CreateObject(), *version, *vm = document_base_vm(u);
	bool ok = doc && vm;

	ok = ok && cJSON_AddStringToObject(doc, "Owner", u->owner);
	ok = ok && (version = cJSON_AddObjectToObject(doc, "SchemaVersion")) &&
	     cJSON_AddNumberToObject(version, "Major", 2) &&
	     cJSON_AddNumberToObject(version, "Minor", 1);
	ok = ok && cJSON_AddItemToObject(doc, "VirtualMachine", vm);
	if (ok)
		vm = NULL;
	ok = ok && cJSON_AddTrueToObject(doc, "ShouldTerminateOnLastHandleClosed");
	cJSON_Delete(vm);
	if (!ok) {
		cJSON_Delete(doc);
		doc = NULL;
	}
	return doc;
}

/* Move obj's members named in `order` (NULL-terminated) to its end, in
 * that order: a struct's fields as Go declares them. */
static void document_order(cJSON *obj, const char *const *order)
{
	for (size_t i = 0; obj && order[i]; i++) {
		cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(obj, order[i]);

		if (item)
			cJSON_AddItemToObject(obj, order[i], item);
	}
}

static int document_key_cmp(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Sort obj's members by key, as Go writes a map. */
static void document_sort(cJSON *obj)
{
	size_t n = 0;
	cJSON **items;

	if (!cJSON_IsObject(obj))
		return;
	for (cJSON *c = obj->child; c; c = c->next)
		n++;
	items = malloc((n ? n : 1) * sizeof(*items));
	if (!items)
		return; /* left in insertion order: still the same document */
	n = 0;
	for (cJSON *c = obj->child; c; c = c->next)
		items[n++] = c;
	qsort(items, n, sizeof(*items), document_key_cmp);
	for (size_t i = 0; i < n; i++) {
		items[i]->prev = i ? items[i - 1] : items[n - 1];
		items[i]->next = i + 1 < n ? items[i + 1] : NULL;
	}
	obj->child = n ? items[0] : NULL;
	free(items);
}

void lh_document_normalize(cJSON *doc)
{
	static const char *const system[] = { "Owner", "SchemaVersion", "HostingSystemId",
		"HostedSystem", "Container", "VirtualMachine", "ShouldTerminateOnLastHandleClosed",
		NULL };
	static const char *const vm[] = { "StopOnReset", "Chipset", "ComputeTopology", "Devices",
		"GuestState", "RestoreState", "RegistryChanges", "StorageQoS", "DebugOptions",
		"GuestConnection", "SecuritySettings", NULL };
	static const char *const devices[] = { "ComPorts", "Scsi", "VirtualPMem",
		"NetworkAdapters", "VideoMonitor", "Keyboard", "Mouse", "HvSocket",
		"EnhancedModeVideo", "GuestCrashReporting", "VirtualSmb", "Plan9", "Battery",
		"FlexibleIov", "SharedMemory", "VirtualPci", NULL };
	static const char *const pmem[] = { "Devices", "MaximumCount", "MaximumSizeBytes",
		"Backing", NULL };
	static const char *const smb[] = { "Shares", "DirectFileMappingInMB", NULL };
	cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "VirtualMachine");
	cJSON *d = cJSON_GetObjectItemCaseSensitive(v, "Devices");
	cJSON *scsi = cJSON_GetObjectItemCaseSensitive(d, "Scsi");
	cJSON *vpmem = cJSON_GetObjectItemCaseSensitive(d, "VirtualPMem");

	document_order(doc, system);
	document_order(v, vm);
	document_order(d, devices);
	document_sort(scsi);
	for (cJSON *c = scsi ? scsi->child : NULL; c; c = c->next)
		document_sort(cJSON_GetObjectItemCaseSensitive(c, "Attachments"));
	document_order(vpmem, pmem);
	document_sort(cJSON_GetObjectItemCaseSensitive(vpmem, "Devices"));
	document_order(cJSON_GetObjectItemCaseSensitive(d, "VirtualSmb"), smb);
}
