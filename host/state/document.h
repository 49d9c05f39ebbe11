/*
 * document.h - build compute-system documents (JSON) by path.
 */
#ifndef LH_DOCUMENT_H
#define LH_DOCUMENT_H

#include <layerhost/backend.h>

#include <cjson/cJSON.h>

/*
 * Add the JSON value `json` at `path` in `doc`: '/'-separated object keys,
 * created on the way when missing; a last component "-" appends to an array
 * (created when missing). -EEXIST when the key is already there, -EINVAL
 * for JSON that does not parse or a path through a non-object; doc is
 * unchanged on failure.
 */
int lh_document_add(cJSON *doc, const char *path, const char *json, struct lh_error *err);

/* What a compute-system document takes from its UVM (a clone: from the
 * template it is cloned from). */
struct lh_document_uvm {
	enum lh_uvm_os os;           /* LH_OS_LINUX or LH_OS_WINDOWS */
	const char *owner;           /* ComputeSystem.Owner */
	uint64_t memory_mb;          /* ComputeTopology.Memory.SizeInMB */
	uint32_t processors;         /* ComputeTopology.Processor.Count */
	bool allow_overcommit;       /* false: physically backed memory */
	const char *scratch_path;    /* the UVM's own scratch at SCSI 0:0, or NULL */
};

/*
 * The document hcsshim's UVM creation starts from (d816cbe89: WCOW's
 * prepareConfigDoc, LCOW's makeLCOWDoc), with the UVM's values: Owner,
 * SchemaVersion 2.1, ShouldTerminateOnLastHandleClosed, and a
 * VirtualMachine with StopOnReset, its Chipset (WCOW: UEFI booting
 * bootmgfw.efi from VmbFs; LCOW: empty, the boot files are the caller's),
 * ComputeTopology, Devices.HvSocket (SYSTEM and administrators may bind),
 * Devices.VirtualSmb.DirectFileMappingInMB 1024 and, when scratch_path is
 * set, the scratch at SCSI controller 0, LUN 0. New cJSON tree or NULL
 * (ENOMEM).
 */
cJSON *lh_document_base(const struct lh_document_uvm *uvm);

/* Put the document's keys in the order Go's encoding/json writes the
 * hcsschema types: struct fields in declaration order, map keys (SCSI
 * controllers, LUNs, VPMem devices) sorted as strings. */
void lh_document_normalize(cJSON *doc);

#endif
