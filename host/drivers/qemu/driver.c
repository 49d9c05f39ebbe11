/* driver_qemu.c - the QEMU driver: the VM record, SCSI disks, VPMem devices,
 * and dispatch of each request (shares: driver_qemu_share.c). */
#include "qemu_private.h"

#include "disk.h"
#include "log.h"
#include "logfile.h"
#include "vm.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the VM record -------------------------------------------------------- */

int lh_qemu_record_save(struct qemu_vm *vm, struct lh_error *err)
{
	cJSON *drv = cJSON_CreateObject(), *daemons = cJSON_CreateArray(), *pmem, *shares;
	bool ok = drv && daemons && (pmem = cJSON_AddObjectToObject(drv, "pmem")) &&
		  (shares = cJSON_AddObjectToObject(drv, "shares"));

	for (int n = 0; ok && n < vm->pmem_devices; n++) {
		struct qemu_pmem *p = &vm->pmem[n];
		char key[16];
		cJSON *o;

		if (!p->present)
			continue;
		snprintf(key, sizeof(key), "%d", n);
		ok = (o = cJSON_AddObjectToObject(pmem, key)) &&
		     cJSON_AddStringToObject(o, "path", p->path) &&
		     cJSON_AddBoolToObject(o, "removed", p->removed) &&
		     cJSON_AddNumberToObject(o, "dev", (double)p->dev) &&
		     cJSON_AddNumberToObject(o, "ino", (double)p->ino) &&
		     cJSON_AddNumberToObject(o, "size", (double)p->size) &&
		     cJSON_AddBoolToObject(o, "read_only", p->read_only);
	}
	for (int j = 0; ok && j < vm->share_ports; j++) {
		struct qemu_share *s = &vm->shares[j];
		cJSON *o, *d;

		if (!s->name)
			continue;
		ok = (o = cJSON_AddObjectToObject(shares, s->name)) &&
		     cJSON_AddNumberToObject(o, "port", vm->pmem_devices + j) &&
		     cJSON_AddStringToObject(o, "path", s->path) &&
		     cJSON_AddStringToObject(o, "socket", s->socket) &&
		     cJSON_AddNumberToObject(o, "pid", s->pid) &&
		     cJSON_AddNumberToObject(o, "pid_start", (double)s->pid_start) &&
		     cJSON_AddBoolToObject(o, "read_only", s->read_only) &&
		     (d = cJSON_CreateObject()) && cJSON_AddItemToArray(daemons, d) &&
		     cJSON_AddNumberToObject(d, "pid", s->pid) &&
		     cJSON_AddNumberToObject(d, "pid_start", (double)s->pid_start);
	}
	if (!ok) {
		cJSON_Delete(drv);
		cJSON_Delete(daemons);
		return LH_FAIL(err, -ENOMEM, "UVM '%s': out of memory", vm->uvm_id);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(vm->record, "driver");
	cJSON_DeleteItemFromObjectCaseSensitive(vm->record, "daemons");
	cJSON_AddItemToObject(vm->record, "daemons", daemons);
	cJSON_AddItemToObject(vm->record, "driver", drv);
	return lh_vm_record_save(vm->record_path, vm->record, err);
}

static int qemu_layout_int(const cJSON *rec, const char *key, int max, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(rec, "layout"), key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max)
		return -LH_ECORRUPT;
	*out = (int)v->valuedouble;
	return 0;
}

/* A non-negative whole number of a record entry, or 0 (absent: unknown). */
static uint64_t qemu_record_u64(const cJSON *item, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(item, key);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (uint64_t)v->valuedouble : 0;
}

/* Rebuild the pmem and share tables from a record (a reconnect). */
static int qemu_record_adopt(struct qemu_vm *vm, struct lh_error *err)
{
	const cJSON *drv = cJSON_GetObjectItem(vm->record, "driver"), *item;
	int rc = 0;

	if (qemu_layout_int(vm->record, "scsi_controllers", LH_VM_MAX_SCSI_CONTROLLERS,
			    &vm->controllers) ||
	    qemu_layout_int(vm->record, "luns_per_controller", LH_VM_MAX_LUNS, &vm->luns) ||
	    qemu_layout_int(vm->record, "pmem_devices", LH_VM_MAX_PMEM, &vm->pmem_devices) ||
	    qemu_layout_int(vm->record, "share_ports", 256, &vm->share_ports))
		return LH_FAIL(err, -LH_ECORRUPT, "%s: bad layout", vm->record_path);
	vm->pmem = calloc((size_t)vm->pmem_devices + 1, sizeof(*vm->pmem));
	vm->shares = calloc((size_t)vm->share_ports + 1, sizeof(*vm->shares));
	if (!vm->pmem || !vm->shares)
		return LH_FAIL(err, -ENOMEM, "UVM '%s': out of memory", vm->uvm_id);
	/* A VM that boots a guest names its agent's socket and console log. */
	item = cJSON_GetObjectItem(vm->record, "guest");
	if (item) {
		const char *agent = cJSON_GetStringValue(cJSON_GetObjectItem(item, "agent"));
		const char *serial = cJSON_GetStringValue(cJSON_GetObjectItem(item, "serial"));

		if (!agent || !serial)
			return LH_FAIL(err, -LH_ECORRUPT, "%s: bad guest entry", vm->record_path);
		if (!(vm->agent_path = strdup(agent)) || !(vm->serial_path = strdup(serial)))
			return LH_FAIL(err, -ENOMEM, "UVM '%s': out of memory", vm->uvm_id);
	}
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(drv, "pmem")) {
		const cJSON *path = cJSON_GetObjectItem(item, "path");
		char *end;
		long n = strtol(item->string, &end, 10);

		if (*end || n < 0 || n >= vm->pmem_devices || !cJSON_IsString(path))
			return LH_FAIL(err, -LH_ECORRUPT, "%s: bad pmem entry '%s'",
				       vm->record_path, item->string);
		vm->pmem[n].present = true;
		vm->pmem[n].removed = cJSON_IsTrue(cJSON_GetObjectItem(item, "removed"));
		vm->pmem[n].dev = qemu_record_u64(item, "dev");
		vm->pmem[n].ino = qemu_record_u64(item, "ino");
		vm->pmem[n].size = qemu_record_u64(item, "size");
		vm->pmem[n].read_only = cJSON_IsTrue(cJSON_GetObjectItem(item, "read_only"));
		if (!(vm->pmem[n].path = strdup(path->valuestring)))
			return LH_FAIL(err, -ENOMEM, "UVM '%s': out of memory", vm->uvm_id);
	}
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(drv, "shares")) {
		const cJSON *port = cJSON_GetObjectItem(item, "port");
		const cJSON *path = cJSON_GetObjectItem(item, "path");
		const cJSON *sock = cJSON_GetObjectItem(item, "socket");
		int j = cJSON_IsNumber(port) ? (int)port->valuedouble - vm->pmem_devices : -1;
		struct qemu_share *s = j >= 0 && j < vm->share_ports ? &vm->shares[j] : NULL;

		if (!s || s->name || !cJSON_IsString(path) || !cJSON_IsString(sock) ||
		    !lh_proc_read(item, &s->pid, &s->pid_start))
			return LH_FAIL(err, -LH_ECORRUPT, "%s: bad share entry '%s'",
				       vm->record_path, item->string);
		s->name = strdup(item->string);
		s->path = strdup(path->valuestring);
		s->socket = strdup(sock->valuestring);
		s->read_only = cJSON_IsTrue(cJSON_GetObjectItem(item, "read_only"));
		if (!s->name || !s->path || !s->socket)
			rc = LH_FAIL(err, -ENOMEM, "UVM '%s': out of memory", vm->uvm_id);
	}
	return rc;
}

static void qemu_vm_free(struct qemu_vm *vm)
{
	if (!vm)
		return;
	for (int n = 0; vm->pmem && n < vm->pmem_devices; n++)
		free(vm->pmem[n].path);
	for (int j = 0; vm->shares && j < vm->share_ports; j++)
		lh_qemu_share_clear(&vm->shares[j]);
	free(vm->pmem);
	free(vm->shares);
	free(vm->pending);
	lh_agent_close(vm->agent);
	free(vm->agent_path);
	free(vm->serial_path);
	lh_qmp_close(vm->qmp);
	cJSON_Delete(vm->record);
	free(vm->record_path);
	free(vm->uvm_id);
	free(vm);
}

/* The connected VM for uvm_id, connecting from its record if need be.
 * A VM whose QMP connection died is reconnected (or reported gone). */
static int qemu_vm_get(struct qemu_driver *d, const char *uvm_id, struct qemu_vm **out,
		       bool *gone, struct lh_error *err)
{
	struct qemu_vm **link = &d->vms, *vm;
	const cJSON *qmp;
	int rc;

	for (; *link; link = &(*link)->next) {
		if (strcmp((*link)->uvm_id, uvm_id) != 0)
			continue;
		if (lh_qmp_alive((*link)->qmp)) {
			*out = *link;
			return 0;
		}
		vm = *link;
		*link = vm->next;
		qemu_vm_free(vm);
		break;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm || !(vm->uvm_id = strdup(uvm_id)) ||
	    !(vm->record_path = lh_vm_record_path(&d->params, uvm_id))) {
		rc = LH_FAIL(err, -ENOMEM, "UVM '%s': out of memory", uvm_id);
		goto fail;
	}
	rc = lh_vm_record_load(vm->record_path, &vm->record, err);
	if (rc == -ENOENT) {
		char boot[64];

		/* No record: gone, unless a QEMU of this id runs without one
		 * (its record removed by hand), which must not be taken for
		 * no VM: removals would be reported done while it holds them. */
		lh_error_clear(err);
		rc = lh_vm_boot(&d->params, uvm_id, boot, sizeof(boot), err);
		*gone = rc == -ENOENT;
		if (*gone)
			rc = LH_FAIL(err, -ENOENT, "%s: no VM record: the VM is not started "
				     "(layerhost vm start)", vm->record_path);
	}
	if (rc)
		goto fail;
	if (!lh_proc_read(vm->record, &vm->pid, &vm->pid_start) ||
	    !lh_proc_alive(vm->pid, vm->pid_start)) {
		*gone = true;
		rc = LH_FAIL(err, -LH_EDRIVER, "UVM '%s': QEMU (pid %d) is not running; "
			     "`layerhost vm stop` cleans up, `vm start` starts it again", uvm_id,
			     (int)vm->pid);
		goto fail;
	}
	rc = qemu_record_adopt(vm, err);
	if (rc)
		goto fail;
	qmp = cJSON_GetObjectItem(vm->record, "qmp");
	rc = lh_qmp_connect(qmp->valuestring, LH_QMP_TIMEOUT_MS, &vm->qmp, err);
	/* A QEMU killed a moment ago refuses the connection before it is
	 * gone: that is a VM that is not running. */
	if (rc && lh_proc_wait_gone(vm->pid, vm->pid_start, QEMU_DEATH_WAIT_MS)) {
		*gone = true;
		lh_error_clear(err);
		rc = LH_FAIL(err, -LH_EDRIVER, "UVM '%s': QEMU (pid %d) is not running; "
			     "`layerhost vm stop` cleans up, `vm start` starts it again", uvm_id,
			     (int)vm->pid);
	}
	if (rc)
		goto fail;
	vm->next = d->vms;
	d->vms = vm;
	*out = vm;
	return 0;
fail:
	qemu_vm_free(vm);
	return rc;
}

int lh_qemu_gone(struct qemu_vm *vm, struct lh_error *err)
{
	char panic[512];

	/* A guest that panics ends QEMU (panic=-1, -no-reboot): say so. */
	if (vm->serial_path && lh_logfile_find(vm->serial_path, "Kernel panic", panic,
					       sizeof(panic)))
		return LH_FAIL(err, -LH_EDRIVER, "QEMU (pid %d) of UVM '%s' exited: the guest's "
			       "kernel panicked: %s (serial log %s)", (int)vm->pid, vm->uvm_id,
			       panic, vm->serial_path);
	return LH_FAIL(err, -LH_EDRIVER, "QEMU (pid %d) of UVM '%s' exited", (int)vm->pid,
		       vm->uvm_id);
}

/*
 * A call failed with rc: if the socket died or went silent, see whether
 * QEMU did (a killed QEMU closes its socket a moment before it is gone).
 * A dead VM is marked so, and the failure says so.
 */
int lh_qemu_check_death(struct qemu_vm *vm, int rc, struct lh_error *err)
{
	/* A closed or silent socket, or (the agent's) one no longer served. */
	if ((rc != -EPIPE && rc != -ETIMEDOUT && rc != -ECONNREFUSED && rc != -ENOENT) ||
	    !lh_proc_wait_gone(vm->pid, vm->pid_start, QEMU_DEATH_WAIT_MS))
		return rc;
	vm->gone = true;
	lh_error_clear(err);
	return lh_qemu_gone(vm, err);
}

/* Run one QMP command, turning a dead connection into "QEMU exited". */
int lh_qemu_exec(struct qemu_vm *vm, const char *command, cJSON *args, cJSON **ret,
		     struct lh_error *err)
{
	int rc;

	if (vm->gone) {
		cJSON_Delete(args);
		return lh_qemu_gone(vm, err);
	}
	rc = lh_qmp_execute(vm->qmp, command, args, ret, LH_QMP_TIMEOUT_MS, err);
	return rc ? lh_qemu_check_death(vm, rc, err) : 0;
}

/*
 * Run `first` and then `second`, a command that uses what first makes,
 * with both in flight together: one round trip instead of two (QEMU runs
 * them in order). *done1 and *done2 say which succeeded, so the caller
 * can undo exactly that; the error is first's when it failed (second then
 * normally fails too, finding nothing by first's name), else second's.
 */
static int qemu_exec_pair(struct qemu_vm *vm, const char *first, cJSON *args1,
			  const char *second, cJSON *args2, bool *done1, bool *done2,
			  struct lh_error *err)
{
	struct lh_error local = { 0 };
	uint64_t t1, t2;
	int rc1, rc2;

	*done1 = *done2 = false;
	if (vm->gone) {
		cJSON_Delete(args1);
		cJSON_Delete(args2);
		return lh_qemu_gone(vm, err);
	}
	rc1 = lh_qmp_send(vm->qmp, first, args1, &t1, err);
	if (rc1) {
		cJSON_Delete(args2);
		return lh_qemu_check_death(vm, rc1, err);
	}
	rc2 = lh_qmp_send(vm->qmp, second, args2, &t2, &local);
	rc1 = lh_qmp_reply(vm->qmp, t1, first, NULL, LH_QMP_TIMEOUT_MS, err);
	if (rc1)
		rc1 = lh_qemu_check_death(vm, rc1, err);
	*done1 = rc1 == 0;
	if (rc2 == 0 && !vm->gone) {
		rc2 = lh_qmp_reply(vm->qmp, t2, second, NULL, LH_QMP_TIMEOUT_MS, &local);
		*done2 = rc2 == 0;
	}
	if (rc1)
		return rc1;
	if (rc2) {
		rc2 = lh_qemu_check_death(vm, rc2, &local);
		return lh_error_set(err, rc2, local.func, "%s", local.message);
	}
	return 0;
}

int lh_qemu_device_del_start(struct qemu_vm *vm, const char *id, bool *issued,
			     struct lh_error *err)
{
	struct lh_error local = { 0 };
	cJSON *args = cJSON_CreateObject();
	int rc;

	*issued = false;
	/* Asked for already, and completed at the next flush: a retried
	 * release before then has nothing more to do. */
	for (size_t i = 0; i < vm->n_pending; i++)
		if (strcmp(vm->pending[i].device, id) == 0) {
			cJSON_Delete(args);
			*issued = true;
			return -EALREADY;
		}
	if (!args || !cJSON_AddStringToObject(args, "id", id)) {
		cJSON_Delete(args);
		return LH_FAIL(err, -ENOMEM, "device_del %s: out of memory", id);
	}
	/* An event left from an earlier device of that id would end the wait
	 * for this one too early. */
	lh_qmp_discard_events(vm->qmp, "DEVICE_DELETED", id);
	rc = lh_qemu_exec(vm, "device_del", args, NULL, &local);
	if (rc == -LH_EDRIVER && strstr(local.message, "not found"))
		return 0;
	if (rc)
		return lh_error_set(err, rc, local.func, "%s", local.message);
	*issued = true;
	return 0;
}

int lh_qemu_device_gone(struct qemu_vm *vm, const char *id, struct lh_error *err)
{
	int rc;

	if (vm->gone)
		return 0;
	rc = lh_qmp_wait_event(vm->qmp, "DEVICE_DELETED", id, QEMU_EVENT_TIMEOUT_MS, err);
	rc = rc ? lh_qemu_check_death(vm, rc, err) : 0;
	/* The device went with its VM. */
	if (rc && vm->gone) {
		lh_error_clear(err);
		rc = 0;
	}
	return rc;
}

int lh_qemu_device_del(struct qemu_vm *vm, const char *id, struct lh_error *err)
{
	bool issued;
	int rc = lh_qemu_device_del_start(vm, id, &issued, err);

	if (rc == -EALREADY)
		rc = 0;
	return rc == 0 && issued ? lh_qemu_device_gone(vm, id, err) : rc;
}

int lh_qemu_pending_add(struct qemu_vm *vm, const char *device, const char *node, int share,
			struct lh_error *err)
{
	struct qemu_pending *p;

	if (vm->n_pending == vm->cap_pending) {
		size_t cap = vm->cap_pending ? vm->cap_pending * 2 : 16;
		struct qemu_pending *grown = realloc(vm->pending, cap * sizeof(*grown));

		if (!grown)
			return LH_FAIL(err, -ENOMEM, "UVM '%s': out of memory", vm->uvm_id);
		vm->pending = grown;
		vm->cap_pending = cap;
	}
	p = &vm->pending[vm->n_pending++];
	snprintf(p->device, sizeof(p->device), "%s", device);
	snprintf(p->node, sizeof(p->node), "%s", node ? node : "");
	p->share = share;
	return 0;
}

/* Delete a SCSI disk's block node once its device is gone; a node that is
 * not there is what a retried removal finds. */
static int qemu_scsi_node_del(struct qemu_vm *vm, const char *node, struct lh_error *err)
{
	struct lh_error local = { 0 };
	int rc = lh_qemu_exec1(vm, "blockdev-del", "node-name", node, &local);

	if (rc == -LH_EDRIVER && strstr(local.message, "Failed to find node"))
		return 0;
	if (rc && vm->gone)
		return 0;
	return rc ? lh_error_set(err, rc, local.func, "%s", local.message) : 0;
}

/*
 * Complete every removal issued since the last flush: wait for each
 * device's DEVICE_DELETED (they were all asked for already, so the waits
 * overlap), then delete what hangs off it. The first failure is kept; the
 * rest are still completed.
 */
static int qemu_vm_flush(struct qemu_vm *vm, struct lh_error *err)
{
	bool shares_changed = false;
	int rc = 0;

	for (size_t i = 0; i < vm->n_pending; i++) {
		const struct qemu_pending *p = &vm->pending[i];
		struct lh_error local = { 0 };
		int step = lh_qemu_device_gone(vm, p->device, &local);

		if (step == 0 && p->node[0])
			step = qemu_scsi_node_del(vm, p->node, &local);
		if (step == 0 && p->share >= 0) {
			step = lh_qemu_share_finish(vm, &vm->shares[p->share], &local);
			shares_changed = true;
		}
		if (step && rc == 0)
			rc = LH_FAIL(err, step, "UVM '%s': removing %s: %s", vm->uvm_id, p->device,
				     local.message);
	}
	vm->n_pending = 0;
	if (shares_changed && !vm->gone) {
		int step = lh_qemu_record_save(vm, err);

		rc = rc ? rc : step;
	}
	return rc;
}

/* A command whose only argument is one string ("node-name", "id"). */
int lh_qemu_exec1(struct qemu_vm *vm, const char *command, const char *key,
		      const char *value, struct lh_error *err)
{
	cJSON *args = cJSON_CreateObject();

	if (!args || !cJSON_AddStringToObject(args, key, value)) {
		cJSON_Delete(args);
		return LH_FAIL(err, -ENOMEM, "%s %s: out of memory", command, value);
	}
	return lh_qemu_exec(vm, command, args, NULL, err);
}

/* "<prefix><a>/<tail>..." numbers: parse an index and what follows. */
static bool qemu_parse_index(const char **p, long max, long *out)
{
	char *end;
	long v;

	if (**p < '0' || **p > '9')
		return false;
	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno || v < 0 || v > max)
		return false;
	*out = v;
	*p = end;
	return true;
}

bool lh_qemu_bool(const cJSON *obj, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

const char *lh_qemu_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- SCSI --------------------------------------------------------------- */

/* The blockdev format driver for a disk file: QEMU must be told, since a
 * fixed VHD probes as raw. */
static int qemu_disk_format(const char *type, const char *path, const char **format,
			    const char **protocol, struct lh_error *err)
{
	struct lh_disk_info info;
	struct stat st;
	int rc;

	*protocol = "file";
	if (strcmp(type, "PassThru") == 0) {
		if (stat(path, &st) == 0 && S_ISBLK(st.st_mode))
			*protocol = "host_device";
		*format = "raw";
		return 0;
	}
	if (strcmp(type, "VirtualDisk") != 0)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "attachment type '%s' has no QEMU "
			       "equivalent", type);
	rc = lh_disk_probe(path, &info, err);
	if (rc)
		return rc;
	switch (info.format) {
	case LH_DISK_VHD_FIXED:
	case LH_DISK_VHD_DYNAMIC:
		*format = "vpc";
		break;
	case LH_DISK_VHDX:
		*format = "vhdx";
		break;
	default:
		*format = "raw";
		break;
	}
	return 0;
}

static int qemu_scsi_add(struct qemu_vm *vm, long c, long l, const cJSON *settings,
			 struct lh_error *err)
{
	const char *type = lh_qemu_string(settings, "Type"), *path = lh_qemu_string(settings, "Path");
	bool ro = lh_qemu_bool(settings, "ReadOnly");
	const char *format = NULL, *protocol = NULL;
	char node[48], dev[48], bus[48];
	cJSON *blk = NULL, *file, *devargs = NULL;
	bool node_added, device_added;
	int rc;

	if (!type || !path)
		return LH_FAIL(err, -EINVAL, "Settings lack Type or Path");
	rc = qemu_disk_format(type, path, &format, &protocol, err);
	if (rc)
		return rc;
	snprintf(node, sizeof(node), "blk%ld-%ld", c, l);
	snprintf(dev, sizeof(dev), "disk%ld-%ld", c, l);
	snprintf(bus, sizeof(bus), "scsi%ld.0", c);
	blk = cJSON_CreateObject();
	devargs = cJSON_CreateObject();
	if (!blk || !devargs || !cJSON_AddStringToObject(blk, "driver", format) ||
	    !cJSON_AddStringToObject(blk, "node-name", node) ||
	    !cJSON_AddBoolToObject(blk, "read-only", ro) ||
	    !(file = cJSON_AddObjectToObject(blk, "file")) ||
	    !cJSON_AddStringToObject(file, "driver", protocol) ||
	    !cJSON_AddStringToObject(file, "filename", path) ||
	    !cJSON_AddBoolToObject(file, "read-only", ro) ||
	    !cJSON_AddStringToObject(devargs, "driver", "scsi-hd") ||
	    !cJSON_AddStringToObject(devargs, "id", dev) ||
	    !cJSON_AddStringToObject(devargs, "bus", bus) ||
	    !cJSON_AddNumberToObject(devargs, "channel", 0) ||
	    !cJSON_AddNumberToObject(devargs, "scsi-id", 0) ||
	    !cJSON_AddNumberToObject(devargs, "lun", (double)l) ||
	    !cJSON_AddStringToObject(devargs, "drive", node)) {
		cJSON_Delete(blk);
		cJSON_Delete(devargs);
		return LH_FAIL(err, -ENOMEM, "out of memory");
	}
	rc = qemu_exec_pair(vm, "blockdev-add", blk, "device_add", devargs, &node_added,
			    &device_added, err);
	/* Undo the half that succeeded. A device plugged although its node
	 * was refused found a node of that name left from before: it is not
	 * the disk asked for. */
	if (rc && device_added)
		lh_qemu_device_del(vm, dev, NULL);
	if (rc && node_added)
		lh_qemu_exec1(vm, "blockdev-del", "node-name", node, NULL);
	return rc;
}

/* device_del now; the wait for the device and its node's deletion come
 * with the next flush, so the removals of one command overlap. */
static int qemu_scsi_remove(struct qemu_vm *vm, long c, long l, struct lh_error *err)
{
	char node[48], dev[48];
	bool issued;
	int rc;

	snprintf(node, sizeof(node), "blk%ld-%ld", c, l);
	snprintf(dev, sizeof(dev), "disk%ld-%ld", c, l);
	rc = lh_qemu_device_del_start(vm, dev, &issued, err);
	if (rc == -EALREADY)
		return 0;
	if (rc == 0 && issued)
		rc = lh_qemu_pending_add(vm, dev, node, -1, err);
	else if (rc == 0)
		rc = qemu_scsi_node_del(vm, node, err);
	return rc;
}

/* The guest's half of r, when it has one and the VM a guest to take it:
 * the outcome goes on record for the journal. */
static int qemu_deliver(struct qemu_vm *vm, struct qemu_request *r, struct lh_error *err)
{
	int rc;

	if (!r->guest)
		return 0;
	if (!lh_qemu_has_guest(vm)) {
		r->outcome = QEMU_GUEST_UNDELIVERED;
		return 0;
	}
	rc = lh_qemu_guest_modify(vm, r->guest, err);
	r->outcome = rc == 0 ? QEMU_GUEST_DELIVERED
		     : vm->gone ? QEMU_GUEST_UNDELIVERED : QEMU_GUEST_FAILED;
	return rc;
}

/* A disk whose guest half failed goes again, as the pipeline expects of a
 * failed request: the guest lets go of it, then the host unplugs it (its
 * removal completes at the next flush). */
static void qemu_scsi_undo(struct qemu_vm *vm, long c, long l)
{
	struct lh_error ignored = { 0 };

	if (lh_qemu_has_guest(vm) && !vm->gone)
		lh_qemu_guest_scsi_remove(vm, c, l, &ignored);
	lh_error_clear(&ignored);
	if (qemu_scsi_remove(vm, c, l, &ignored) && !vm->gone)
		lh_log(LH_LOG_WARN, "qemu", "UVM '%s': SCSI %ld:%ld: undoing a disk the guest could "
		       "not mount: %s", vm->uvm_id, c, l, ignored.message);
}

/*
 * hcsshim's order: an Add plugs the disk, then the guest mounts it (a
 * failure there unplugs it again); a Remove has the guest unmount it and
 * let go of the disk (SCSIDevice), then unplugs it.
 */
static int qemu_scsi(struct qemu_vm *vm, struct qemu_request *r, const char *tail,
		     struct lh_error *err)
{
	long c, l;
	int rc;

	if (!qemu_parse_index(&tail, 1000, &c) || strncmp(tail, "/Attachments/", 13) != 0 ||
	    (tail += 13, !qemu_parse_index(&tail, 100000, &l)) || *tail)
		return LH_FAIL(err, -EINVAL, "not a SCSI attachment path");
	if (c >= vm->controllers || l >= vm->luns)
		return LH_FAIL(err, -LH_ENOLOCATION, "slot %ld:%ld is outside the VM's %d "
			       "controllers x %d LUNs (vm start sizes the VM from [plugin.scsi])",
			       c, l, vm->controllers, vm->luns);
	if (strcmp(r->type, "Add") == 0) {
		rc = qemu_scsi_add(vm, c, l, r->settings, err);
		if (rc == 0)
			rc = qemu_deliver(vm, r, err);
		if (rc && r->outcome != QEMU_GUEST_NONE)
			qemu_scsi_undo(vm, c, l);
		return rc;
	}
	if (strcmp(r->type, "Remove") == 0) {
		rc = qemu_deliver(vm, r, err);
		if (rc == 0 && lh_qemu_has_guest(vm))
			rc = lh_qemu_guest_scsi_remove(vm, c, l, err);
		return rc ? rc : qemu_scsi_remove(vm, c, l, err);
	}
	return LH_FAIL(err, -LH_EUNSUPPORTED, "request type not supported for SCSI");
}

/* ---- VPMem ---------------------------------------------------------------- */

/*
 * The guest's nd_pmem maps a device only when its start and end are
 * 2 MiB-aligned, and QEMU packs devices at 4 KiB unless the backend asks
 * for more: with "align" every device whose size is a 2 MiB multiple is
 * placed aligned, whatever was plugged before it. QEMU refuses an align
 * the size is not a multiple of, so a layer of another size goes without;
 * the guest then binds it as a raw namespace (no DAX), and the devices
 * after it are still aligned.
 */
#define QEMU_PMEM_ALIGN (2ull * 1024 * 1024)

static int qemu_pmem_add(struct qemu_vm *vm, long n, const cJSON *settings,
			 struct lh_error *err)
{
	const char *path = lh_qemu_string(settings, "HostPath");
	const char *format = lh_qemu_string(settings, "ImageFormat");
	bool ro = lh_qemu_bool(settings, "ReadOnly");
	struct qemu_pmem *p = &vm->pmem[n];
	char mem[32], dev[32], bus[32];
	cJSON *obj = NULL, *devargs = NULL;
	struct stat st;
	uint64_t size;
	int rc;

	if (!path || !format)
		return LH_FAIL(err, -EINVAL, "Settings lack HostPath or ImageFormat");
	if (strcmp(format, "Vhd1") != 0)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: image format '%s' (only Vhd1)", path,
			       format);
	if (stat(path, &st) < 0)
		return LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
	/* The guest sees the VHD's data, not its footer. */
	size = st.st_size > LH_VHD_FOOTER_SIZE ? (uint64_t)st.st_size - LH_VHD_FOOTER_SIZE : 0;
	/* A released device stays plugged (QEMU cannot unplug virtio-pmem),
	 * mapping the file it was plugged with: the same file asked for again
	 * in that slot (a mount retried after one that failed and rolled
	 * back) takes it back instead of losing the slot until the next start. */
	if (p->present && p->removed && p->ino && p->path && strcmp(p->path, path) == 0 &&
	    p->dev == (uint64_t)st.st_dev && p->ino == (uint64_t)st.st_ino && p->size == size &&
	    p->read_only == ro) {
		p->removed = false;
		lh_log(LH_LOG_INFO, "qemu", "UVM '%s': VPMem device %ld still maps %s: taken again",
		       vm->uvm_id, n, path);
		rc = lh_qemu_record_save(vm, err);
		if (rc)
			p->removed = true;
		return rc;
	}
	if (p->present)
		return LH_FAIL(err, -LH_ENOLOCATION, "VPMem device %ld %s", n, p->removed ?
			       "awaits removal at the next VM start (QEMU cannot unplug "
			       "virtio-pmem), and maps another file" : "is in use");
	if (size == 0 || size % 4096)
		return LH_FAIL(err, -LH_EBADDISK, "%s: %llu data bytes is not whole 4 KiB pages, "
			       "which a virtio-pmem device needs", path, (unsigned long long)size);
	snprintf(mem, sizeof(mem), "pmem-mem%ld", n);
	snprintf(dev, sizeof(dev), "pmem%ld", n);
	snprintf(bus, sizeof(bus), "rp%ld", n);
	obj = cJSON_CreateObject();
	devargs = cJSON_CreateObject();
	if (!obj || !devargs || !(p->path = strdup(path)) ||
	    !cJSON_AddStringToObject(obj, "qom-type", "memory-backend-file") ||
	    !cJSON_AddStringToObject(obj, "id", mem) ||
	    !cJSON_AddStringToObject(obj, "mem-path", path) ||
	    !cJSON_AddNumberToObject(obj, "size", (double)size) ||
	    !cJSON_AddBoolToObject(obj, "share", true) ||
	    !cJSON_AddBoolToObject(obj, "readonly", ro) ||
	    (size % QEMU_PMEM_ALIGN == 0 &&
	     !cJSON_AddNumberToObject(obj, "align", (double)QEMU_PMEM_ALIGN)) ||
	    !cJSON_AddStringToObject(devargs, "driver", "virtio-pmem-pci") ||
	    !cJSON_AddStringToObject(devargs, "id", dev) ||
	    !cJSON_AddStringToObject(devargs, "memdev", mem) ||
	    !cJSON_AddStringToObject(devargs, "bus", bus)) {
		cJSON_Delete(obj);
		cJSON_Delete(devargs);
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = lh_qemu_exec(vm, "object-add", obj, NULL, err);
	if (rc) {
		cJSON_Delete(devargs);
		goto fail;
	}
	rc = lh_qemu_exec(vm, "device_add", devargs, NULL, err);
	if (rc) {
		lh_qemu_exec1(vm, "object-del", "id", mem, NULL);
		goto fail;
	}
	p->present = true;
	p->removed = false;
	p->dev = (uint64_t)st.st_dev;
	p->ino = (uint64_t)st.st_ino;
	p->size = size;
	p->read_only = ro;
	rc = lh_qemu_record_save(vm, err);
	if (rc)
		p->removed = true; /* plugged for good; keep the slot out of use */
	return rc;
fail:
	free(p->path);
	p->path = NULL;
	return rc;
}

static int qemu_pmem_remove(struct qemu_vm *vm, long n, struct lh_error *err)
{
	struct qemu_pmem *p = &vm->pmem[n];

	if (!p->present || p->removed)
		return 0; /* a retried release */
	p->removed = true;
	lh_log(LH_LOG_INFO, "qemu", "UVM '%s': VPMem device %ld (%s) released; QEMU cannot "
	       "unplug virtio-pmem, so it stays until the next VM start", vm->uvm_id, n,
	       p->path);
	return lh_qemu_record_save(vm, err);
}

/* As SCSI's (qemu_scsi), but a device cannot be unplugged: one whose
 * guest half failed stays, marked for removal at the next VM start. */
static int qemu_pmem(struct qemu_vm *vm, struct qemu_request *r, const char *tail,
		     struct lh_error *err)
{
	struct lh_error ignored = { 0 };
	long n;
	int rc;

	if (!qemu_parse_index(&tail, 100000, &n))
		return LH_FAIL(err, -EINVAL, "not a VPMem device path");
	if (strncmp(tail, "/Mappings/", 10) == 0)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "VPMem mappings cannot be realised: QEMU "
			       "maps one whole file per virtio-pmem device (set [plugin.vpmem] "
			       "multi_mapping = false)");
	if (*tail)
		return LH_FAIL(err, -EINVAL, "not a VPMem device path");
	if (n >= vm->pmem_devices)
		return LH_FAIL(err, -LH_ENOLOCATION, "VPMem device %ld is outside the VM's %d "
			       "devices", n, vm->pmem_devices);
	if (strcmp(r->type, "Add") == 0) {
		rc = qemu_pmem_add(vm, n, r->settings, err);
		if (rc == 0)
			rc = qemu_deliver(vm, r, err);
		if (rc && r->outcome != QEMU_GUEST_NONE)
			qemu_pmem_remove(vm, n, &ignored);
		return rc;
	}
	if (strcmp(r->type, "Remove") == 0) {
		rc = qemu_deliver(vm, r, err);
		return rc ? rc : qemu_pmem_remove(vm, n, err);
	}
	return LH_FAIL(err, -LH_EUNSUPPORTED, "request type not supported for VPMem");
}

/* ---- the driver ----------------------------------------------------------- */

#define QEMU_SCSI_PREFIX "VirtualMachine/Devices/Scsi/"
#define QEMU_PMEM_PREFIX "VirtualMachine/Devices/VirtualPMem/Devices/"
#define QEMU_SHARES_PATH "VirtualMachine/Devices/VirtualSmb/Shares"

/* A share's guest half (an LCOW MappedDirectory; layerhost's vsmb backend
 * is WCOW's and sends none) follows the device on an Add and comes
 * before it on a Remove. */
static int qemu_share(struct qemu_driver *d, struct qemu_vm *vm, struct qemu_request *r,
		      struct lh_error *err)
{
	bool remove = strcmp(r->type, "Remove") == 0;
	int rc = remove ? qemu_deliver(vm, r, err) : 0;

	if (rc == 0)
		rc = lh_qemu_share_request(d, vm, r, err);
	if (rc == 0 && !remove)
		rc = qemu_deliver(vm, r, err);
	return rc;
}

static int qemu_realise(struct qemu_driver *d, const char *uvm_id, struct qemu_request *r,
			struct lh_error *err)
{
	struct qemu_vm *vm = NULL;
	bool gone = false;
	int rc;

	rc = qemu_vm_get(d, uvm_id, &vm, &gone, err);
	/* An add may need what a pending removal still holds (a LUN, a
	 * port, a daemon's socket): complete the removals first. */
	if (rc == 0 && strcmp(r->type, "Remove") != 0)
		rc = qemu_vm_flush(vm, err);
	if (rc == 0 && !r->path[0])
		rc = qemu_deliver(vm, r, err); /* a guest request only (CombinedLayers) */
	else if (rc == 0 && strncmp(r->path, QEMU_SCSI_PREFIX, strlen(QEMU_SCSI_PREFIX)) == 0)
		rc = qemu_scsi(vm, r, r->path + strlen(QEMU_SCSI_PREFIX), err);
	else if (rc == 0 && strncmp(r->path, QEMU_PMEM_PREFIX, strlen(QEMU_PMEM_PREFIX)) == 0)
		rc = qemu_pmem(vm, r, r->path + strlen(QEMU_PMEM_PREFIX), err);
	else if (rc == 0 && strcmp(r->path, QEMU_SHARES_PATH) == 0)
		rc = qemu_share(d, vm, r, err);
	else if (rc == 0)
		rc = LH_FAIL(err, -LH_EUNSUPPORTED, "no QEMU realisation for this resource");
	/* A device goes with its VM: removing it from a VM that is not
	 * running is done, so a release (or a rollback) after a crash
	 * leaves the books consistent with the machine. */
	if (rc && (gone || (vm && vm->gone)) && strcmp(r->type, "Remove") == 0) {
		lh_log(LH_LOG_WARN, "qemu", "UVM '%s': %s: the VM is not running, nothing to "
		       "remove", uvm_id, r->path[0] ? r->path : "guest request");
		lh_error_clear(err);
		r->outcome = r->guest ? QEMU_GUEST_UNDELIVERED : QEMU_GUEST_NONE;
		rc = 0;
	}
	return rc;
}

/* A request's name in messages: its type and resource path, or for a
 * guest request only, its resource type and the path it is about. */
static void qemu_request_name(const struct qemu_request *r, char *buf, size_t cap)
{
	const cJSON *settings = cJSON_GetObjectItemCaseSensitive(r->guest, "Settings");
	const char *what = lh_qemu_string(r->guest, "ResourceType");
	const char *where = lh_qemu_string(settings, "ContainerRootPath");

	if (r->path[0])
		snprintf(buf, cap, "%s %s", r->type, r->path);
	else
		snprintf(buf, cap, "%s %s%s%s", r->type, what ? what : "guest request",
			 where ? " " : "", where ? where : "");
}

static int qemu_modify(struct lh_driver *drv, const char *uvm_id, const cJSON *request,
		       struct lh_error *err)
{
	struct qemu_driver *d = (struct qemu_driver *)drv;
	const cJSON *guest = cJSON_GetObjectItemCaseSensitive(request, "GuestRequest");
	struct qemu_request r = {
		.path = lh_qemu_string(request, "ResourcePath"),
		.settings = cJSON_GetObjectItemCaseSensitive(request, "Settings"),
		.guest = cJSON_IsObject(guest) ? guest : NULL,
	};
	static const char *const outcome[] = {
		[QEMU_GUEST_NONE] = NULL, [QEMU_GUEST_UNDELIVERED] = "undelivered",
		[QEMU_GUEST_DELIVERED] = "delivered", [QEMU_GUEST_FAILED] = NULL,
	};
	struct lh_error local = { 0 };
	char name[512];
	int rc = 0, step;

	/* A guest request only takes its type from the GuestRequest. */
	r.type = lh_qemu_string(request, "RequestType");
	if (!r.path && r.guest) {
		r.path = "";
		r.type = lh_qemu_string(r.guest, "RequestType");
	}
	pthread_mutex_lock(&d->lock);
	if (r.path) {
		if (!r.type)
			rc = LH_FAIL(&local, -EINVAL, "no RequestType");
		else
			rc = qemu_realise(d, uvm_id, &r, &local);
		if (rc) {
			qemu_request_name(&r, name, sizeof(name));
			rc = LH_FAIL(err, rc, "UVM '%s': %s: %s", uvm_id, name, local.message);
		}
	}
	/* What QEMU carried out goes to the journal, with what became of
	 * its guest half: undelivered, delivered, or the guest's error (the
	 * request then failed, and its device was undone). A request that
	 * failed before reaching the guest is not on record. */
	if (rc == 0 || r.outcome == QEMU_GUEST_FAILED) {
		step = lh_journal_append(d->journal, uvm_id, request,
					 r.outcome == QEMU_GUEST_FAILED ? local.message
									: outcome[r.outcome],
					 rc ? NULL : err);
		rc = rc ? rc : step;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static int qemu_flush(struct lh_driver *drv, struct lh_error *err)
{
	struct qemu_driver *d = (struct qemu_driver *)drv;
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	for (struct qemu_vm *vm = d->vms; vm; vm = vm->next) {
		int step = qemu_vm_flush(vm, err);

		rc = rc ? rc : step;
	}
	if (rc == 0)
		rc = lh_journal_sync(d->journal, err);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static int qemu_vm_boot_id(struct lh_driver *drv, const char *uvm_id, char *buf, size_t cap,
			   struct lh_error *err)
{
	return lh_vm_boot(&((struct qemu_driver *)drv)->params, uvm_id, buf, cap, err);
}

static void qemu_close(struct lh_driver *drv)
{
	struct qemu_driver *d = (struct qemu_driver *)drv;

	/* Best effort: a caller that did not flush still gets its removals
	 * completed. */
	qemu_flush(drv, NULL);
	while (d->vms) {
		struct qemu_vm *vm = d->vms;

		d->vms = vm->next;
		qemu_vm_free(vm);
	}
	lh_journal_close(d->journal);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* QEMU backs each virtio-pmem device with one whole file, so a VPMem
 * backend that packs several layers into a device cannot be realised. */
static int qemu_configure(struct lh_driver *drv, const struct lh_vm_needs *needs,
			  struct lh_error *err)
{
	struct qemu_driver *d = (struct qemu_driver *)drv;

	if (d->params.os == LH_OS_LINUX && needs->pmem_devices && needs->pmem_multi_mapping)
		return LH_FAIL(err, -LH_ECONFIG, "%s: [plugin.vpmem] multi_mapping is on (the "
			       "default), which driver = qemu cannot realise: QEMU backs each "
			       "virtio-pmem device with one whole file, so several layers cannot "
			       "share a device; set multi_mapping = false", d->params.source);
	return lh_vm_layout_get(&d->params, needs, &d->layout, err);
}

static int qemu_vm_start(struct lh_driver *drv, const char *uvm_id, struct lh_error *err)
{
	struct qemu_driver *d = (struct qemu_driver *)drv;

	return lh_vm_start(&d->params, &d->layout, uvm_id, err);
}

static int qemu_vm_stop(struct lh_driver *drv, const char *uvm_id, struct lh_error *err)
{
	struct qemu_driver *d = (struct qemu_driver *)drv;
	struct qemu_vm **link, *vm;
	int rc;

	/* This driver's connections go first: the launcher asks the guest's
	 * agent to power off, and QEMU serves its port to one client. What
	 * the VM held goes with it. */
	pthread_mutex_lock(&d->lock);
	for (link = &d->vms; *link;) {
		vm = *link;
		if (strcmp(vm->uvm_id, uvm_id) == 0) {
			*link = vm->next;
			qemu_vm_free(vm);
		} else {
			link = &vm->next;
		}
	}
	rc = lh_vm_stop(&d->params, uvm_id, err);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* The VM of uvm_id this driver is connected to, or NULL (no connection is
 * made). */
static struct qemu_vm *qemu_vm_connected(struct qemu_driver *d, const char *uvm_id)
{
	for (struct qemu_vm *vm = d->vms; vm; vm = vm->next)
		if (strcmp(vm->uvm_id, uvm_id) == 0 && !vm->gone)
			return vm;
	return NULL;
}

static int qemu_vm_status(struct lh_driver *drv, const char *uvm_id, cJSON **out,
			  struct lh_error *err)
{
	struct qemu_driver *d = (struct qemu_driver *)drv;
	struct qemu_vm *vm;
	int rc;

	/* QEMU serves the agent's port to one client: ask through this
	 * driver's connection when it holds one. */
	pthread_mutex_lock(&d->lock);
	vm = qemu_vm_connected(d, uvm_id);
	rc = lh_vm_status(&d->params, uvm_id, vm ? vm->agent : NULL, out, err);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/*
 * A command in the guest: through the driver's agent connection when it
 * holds one; else through one of its own, from the VM record alone, so
 * that it needs no QMP connection (another command may hold QMP's).
 */
static int qemu_vm_exec(struct lh_driver *drv, const char *uvm_id, const struct lh_vm_exec *e,
			struct lh_vm_exec_result *res, struct lh_error *err)
{
	struct qemu_driver *d = (struct qemu_driver *)drv;
	char *path = lh_vm_record_path(&d->params, uvm_id);
	struct lh_agent *own = NULL, *agent;
	const char *sock, *serial;
	struct qemu_vm *vm;
	cJSON *rec = NULL, *guest;
	uint64_t start;
	pid_t pid;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!path)
		return LH_FAIL(err, -ENOMEM, "vm exec: out of memory");
	pthread_mutex_lock(&d->lock);
	vm = qemu_vm_connected(d, uvm_id);
	if (vm && lh_agent_alive(vm->agent)) {
		rc = lh_qemu_guest_exec(vm->agent, e, res, err);
		rc = rc ? lh_qemu_check_death(vm, rc, err) : 0;
		goto out;
	}
	rc = lh_vm_record_load(path, &rec, err);
	if (rc)
		goto out;
	guest = cJSON_GetObjectItem(rec, "guest");
	sock = cJSON_GetStringValue(cJSON_GetObjectItem(guest, "agent"));
	serial = cJSON_GetStringValue(cJSON_GetObjectItem(guest, "serial"));
	if (!sock || !serial) {
		rc = LH_FAIL(err, -LH_EUNSUPPORTED, "UVM '%s' runs no guest to run commands in (its "
			     "VM was started without a kernel: [uvm] guest = none)", uvm_id);
		goto out;
	}
	if (!lh_proc_read(rec, &pid, &start) || !lh_proc_alive(pid, start)) {
		rc = LH_FAIL(err, -LH_EDRIVER, "UVM '%s': QEMU (pid %d) is not running; `layerhost "
			     "vm stop` cleans up, `vm start` starts it again", uvm_id, (int)pid);
		goto out;
	}
	rc = lh_qemu_agent_open(uvm_id, sock, serial, QEMU_AGENT_CONNECT_MS, &own, err);
	agent = own;
	if (rc == 0)
		rc = lh_qemu_guest_exec(agent, e, res, err);
out:
	pthread_mutex_unlock(&d->lock);
	lh_agent_close(own);
	cJSON_Delete(rec);
	free(path);
	return rc;
}

static const struct lh_driver_ops qemu_ops = {
	.name = "qemu",
	.modify = qemu_modify,
	.configure = qemu_configure,
	.vm_start = qemu_vm_start,
	.vm_stop = qemu_vm_stop,
	.vm_status = qemu_vm_status,
	.vm_boot = qemu_vm_boot_id,
	.vm_exec = qemu_vm_exec,
	.flush = qemu_flush,
	.close = qemu_close,
};

int lh_qemu_driver_open(const struct lh_driver_params *params, struct lh_driver **out,
			struct lh_error *err)
{
	struct qemu_driver *d;
	int rc;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return LH_FAIL(err, -ENOMEM, "qemu driver: out of memory");
	rc = lh_journal_open(params->journal_path, params->journal_fsync, &d->journal, err);
	if (rc) {
		free(d);
		return rc;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->params = *params;
	d->base.ops = &qemu_ops;
	*out = &d->base;
	return 0;
}
