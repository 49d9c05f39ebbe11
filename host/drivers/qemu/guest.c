/* guest.c - the qemu driver's side of the guest: its agent connection,
 * guest requests delivered through it, and commands run in the guest
 * (the order of host and guest halves is the driver's, driver.c). */
#include "qemu_private.h"

#include "guest_protocol.h"
#include "logfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define GUEST_SERIAL_TAIL_LINES 4

bool lh_qemu_has_guest(const struct qemu_vm *vm)
{
	return vm->agent_path != NULL;
}

int lh_qemu_agent_open(const char *uvm_id, const char *socket, const char *serial,
		       int timeout_ms, struct lh_agent **out, struct lh_error *err)
{
	struct lh_error local = { 0 };
	char tail[1024];
	int rc = lh_agent_connect(socket, timeout_ms, out, &local);

	if (rc == 0)
		return 0;
	lh_logfile_tail(serial, GUEST_SERIAL_TAIL_LINES, tail, sizeof(tail));
	return LH_FAIL(err, rc, "UVM '%s': the guest agent does not answer: %s%s; its serial log "
		       "%s ends: %s", uvm_id, local.message, rc == -ETIMEDOUT ? " (another "
		       "layerhost command may hold its port)" : "", serial, tail);
}

/* vm's agent, connected now if it is not (or its connection died). */
static int guest_agent(struct qemu_vm *vm, struct lh_error *err)
{
	int rc;

	if (vm->gone)
		return lh_qemu_gone(vm, err);
	if (lh_agent_alive(vm->agent))
		return 0;
	lh_agent_close(vm->agent);
	vm->agent = NULL;
	rc = lh_qemu_agent_open(vm->uvm_id, vm->agent_path, vm->serial_path,
				QEMU_AGENT_CONNECT_MS, &vm->agent, err);
	return rc ? lh_qemu_check_death(vm, rc, err) : 0;
}

int lh_qemu_guest_modify(struct qemu_vm *vm, const cJSON *request, struct lh_error *err)
{
	int rc = guest_agent(vm, err);

	if (rc)
		return rc;
	rc = lh_agent_modify(vm->agent, request, LH_GUEST_MODIFY_TIMEOUT_MS, NULL, err);
	/* The port closed: QEMU exited (a guest that panics ends it). */
	return rc ? lh_qemu_check_death(vm, rc, err) : 0;
}

int lh_qemu_guest_scsi_remove(struct qemu_vm *vm, long c, long l, struct lh_error *err)
{
	cJSON *req = cJSON_CreateObject(), *settings;
	int rc;

	/* guestrequest.ModificationRequest, as hcsshim sends it after the
	 * MappedVirtualDisk's removal: the guest deletes its disk, so it
	 * does not write to one the host has taken away. */
	if (!req || !cJSON_AddStringToObject(req, "RequestType", "Remove") ||
	    !cJSON_AddStringToObject(req, "ResourceType", "SCSIDevice") ||
	    !(settings = cJSON_AddObjectToObject(req, "Settings")) ||
	    !cJSON_AddNumberToObject(settings, "Controller", (double)c) ||
	    !cJSON_AddNumberToObject(settings, "Lun", (double)l)) {
		cJSON_Delete(req);
		return LH_FAIL(err, -ENOMEM, "out of memory");
	}
	rc = lh_qemu_guest_modify(vm, req, err);
	cJSON_Delete(req);
	return rc;
}

int lh_qemu_guest_exec(struct lh_agent *agent, const struct lh_vm_exec *e,
		       struct lh_vm_exec_result *res, struct lh_error *err)
{
	struct lh_agent_exec x = {
		.argv = e->argv, .root = e->root, .timeout_ms = e->timeout_ms,
		.max_output = e->max_output,
	};

	return lh_agent_exec(agent, &x, res, err);
}
