/* commands_vm.c - see commands_vm.h. */
#include "commands_vm.h"

#include "log.h"
#include "report.h"
#include "session.h"

#include <errno.h>
#include <stdlib.h>

static void vm_print_status(const struct lh_cli *cli, const cJSON *st)
{
	const cJSON *pending = cJSON_GetObjectItem(st, "pending_removal"), *item;
	const cJSON *status = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "status"), "status");
	const cJSON *layout = cJSON_GetObjectItem(st, "layout");

	if (cli->json) {
		lh_report_print_json(stdout, st);
		return;
	}
	printf("uvm %s: %s, pid %d, qmp %s\n", cJSON_GetObjectItem(st, "uvm")->valuestring,
	       cJSON_IsTrue(cJSON_GetObjectItem(st, "running"))
		       ? (cJSON_IsString(status) ? status->valuestring : "running")
		       : "not running (QEMU exited; `vm stop` cleans up)",
	       (int)cJSON_GetObjectItem(st, "pid")->valuedouble,
	       cJSON_GetObjectItem(st, "qmp")->valuestring);
	printf("  scsi controllers %d, vpmem devices %d, share ports %d\n",
	       cJSON_GetObjectItem(layout, "scsi_controllers")->valueint,
	       cJSON_GetObjectItem(layout, "pmem_devices")->valueint,
	       cJSON_GetObjectItem(layout, "share_ports")->valueint);
	cJSON_ArrayForEach(item, pending)
		printf("  vpmem device %s: released, still plugged until the next VM start "
		       "(QEMU cannot unplug virtio-pmem)\n", item->valuestring);
}

int lh_cmd_vm(const struct lh_cli *cli, const char *action)
{
	struct lh_error err = { 0 };
	struct lh_session s;
	cJSON *st = NULL;
	int code, rc;

	if (!action || (strcmp(action, "start") && strcmp(action, "stop") &&
			strcmp(action, "status"))) {
		lh_log_print(LH_LOG_ERROR, "vm: expected start, stop or status");
		return LH_EXIT_USAGE;
	}
	/* Under the state lock like every other command: a mount must not
	 * run while the VM under it starts or stops. */
	code = lh_session_open(cli, strcmp(action, "status") != 0, NULL, &s);
	if (code)
		return code;
	if (strcmp(action, "start") == 0)
		rc = lh_host_vm_start(s.host, &err);
	else if (strcmp(action, "stop") == 0)
		rc = lh_host_vm_stop(s.host, &err);
	else
		rc = lh_host_vm_status(s.host, &st, &err);
	if (rc) {
		lh_report_error(&err);
		code = rc == -LH_ECONFIG || rc == -LH_EUNSUPPORTED ? LH_EXIT_USAGE : LH_EXIT_FAILED;
	} else if (st) {
		vm_print_status(cli, st);
	} else if (cli->json) {
		/* start and stop report what they did, like every command. */
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "uvm", s.host->uvm.id);
		cJSON_AddStringToObject(o, "vm", strcmp(action, "start") == 0 ? "started" : "stopped");
		lh_report_print_json(stdout, o);
		cJSON_Delete(o);
	} else {
		printf("uvm %s: %s\n", s.host->uvm.id,
		       strcmp(action, "start") == 0 ? "started" : "stopped");
	}
	cJSON_Delete(st);
	return lh_session_close(&s, false, code);
}
