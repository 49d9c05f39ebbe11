/* commands_vm.c - see commands_vm.h. */
#include "commands_vm.h"

#include "host_state.h"
#include "log.h"
#include "pipeline.h"
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
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(st, "problems"))
		printf("  problem: %s\n", item->valuestring);
}

/* A VM that holds containers is not stopped under them: they would be
 * gone, and the user may not mean that. */
static int vm_refuse_stop(const struct lh_cli *cli, struct lh_session *s)
{
	char **ids = NULL;
	size_t n = 0;
	int code = LH_EXIT_OK;

	if (cli->force || lh_pipeline_ids(s->host, &ids, &n, &s->err))
		return cli->force ? LH_EXIT_OK : LH_EXIT_FAILED;
	if (n) {
		lh_log_print(LH_LOG_ERROR, "UVM %s holds %zu mounted container(s) (%s%s): unmount "
			     "them first, or `vm stop --force` to drop them with the VM",
			     s->host->uvm.id, n, ids[0], n > 1 ? ", ..." : "");
		code = LH_EXIT_FAILED;
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return code;
}

int lh_cmd_vm(const struct lh_cli *cli, const char *action)
{
	bool start = action && strcmp(action, "start") == 0;
	bool stop = action && strcmp(action, "stop") == 0;
	struct lh_error err = { 0 };
	struct lh_session s;
	cJSON *st = NULL;
	int code, rc = 0;

	if (!start && !stop && !(action && strcmp(action, "status") == 0)) {
		lh_log_print(LH_LOG_ERROR, "vm: expected start, stop or status");
		return LH_EXIT_USAGE;
	}
	/* Under the state lock like every other command: a mount must not
	 * run while the VM under it starts or stops. The state is made true
	 * of the VM after the action, not before: a VM that cannot be told
	 * (its record missing) must still be stoppable. */
	code = lh_session_open(cli, start || stop ? LH_SESSION_MUTATING | LH_SESSION_KEEP_VM_STATE
						 : LH_SESSION_KEEP_VM_STATE, NULL, &s);
	if (code)
		return code;
	if (stop) {
		/* Containers of a VM that died are gone already: only a VM that
		 * runs is refused. (Whether one runs may not be told, when its
		 * record is missing: then the state stands as recorded.) */
		if (lh_state_reconcile_vm(s.host, NULL, &err))
			lh_error_clear(&err);
		code = vm_refuse_stop(cli, &s);
	}
	if (code == LH_EXIT_OK) {
		if (start)
			rc = lh_host_vm_start(s.host, &err);
		else if (stop)
			rc = lh_host_vm_stop(s.host, &err);
		else
			rc = lh_host_vm_status(s.host, &st, &err);
		/* What lived in a stopped VM is gone; a started one begins empty. */
		if (rc == 0 && (start || stop))
			rc = lh_state_reconcile_vm(s.host, NULL, &err);
	}
	if (rc) {
		lh_report_error(&err);
		code = rc == -LH_ECONFIG || rc == -LH_EUNSUPPORTED ? LH_EXIT_USAGE : LH_EXIT_FAILED;
	} else if (st) {
		vm_print_status(cli, st);
	} else if (code == LH_EXIT_OK && cli->json) {
		/* start and stop report what they did, like every command. */
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "uvm", s.host->uvm.id);
		cJSON_AddStringToObject(o, "vm", start ? "started" : "stopped");
		lh_report_print_json(stdout, o);
		cJSON_Delete(o);
	} else if (code == LH_EXIT_OK) {
		printf("uvm %s: %s\n", s.host->uvm.id, start ? "started" : "stopped");
	}
	cJSON_Delete(st);
	return lh_session_close(&s, code == LH_EXIT_OK && (start || stop), code);
}
