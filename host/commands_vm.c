/* commands_vm.c - see commands_vm.h. */
#include "commands_vm.h"

#include "config.h"
#include "log.h"
#include "vm.h"

#include <errno.h>
#include <stdlib.h>

static int vm_report(const struct lh_error *err, int code)
{
	fprintf(stderr, "layerhost: %s\n", err->message);
	return code;
}

static void vm_print_status(const struct lh_cli *cli, const cJSON *st)
{
	const cJSON *pending = cJSON_GetObjectItem(st, "pending_removal"), *item;
	const cJSON *status = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "status"), "status");
	const cJSON *layout = cJSON_GetObjectItem(st, "layout");
	char *text;

	if (cli->json) {
		text = cJSON_PrintUnformatted(st);
		if (text)
			puts(text);
		free(text);
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
	struct lh_config *cfg = NULL;
	cJSON *st = NULL;
	int code = LH_EXIT_OK;

	if (!action || (strcmp(action, "start") && strcmp(action, "stop") &&
			strcmp(action, "status"))) {
		fprintf(stderr, "layerhost: vm: expected start, stop or status\n");
		return LH_EXIT_USAGE;
	}
	if (lh_config_load(cli->config_path, &cfg, &err))
		return vm_report(&err, LH_EXIT_USAGE);
	if (!cli->log_level_set)
		lh_log_set_level(cfg->log_level);
	if (strcmp(cfg->driver, "qemu") != 0)
		lh_log(LH_LOG_WARN, "layerhost", "%s: [host] driver is '%s': requests will not go "
		       "to this VM (set driver = qemu)", cfg->path, cfg->driver);
	if (strcmp(action, "start") == 0) {
		if (lh_vm_start(cfg, cli->uvm_id, &err))
			code = vm_report(&err, err.code == -LH_ECONFIG ? LH_EXIT_USAGE
								   : LH_EXIT_FAILED);
	} else if (strcmp(action, "stop") == 0) {
		if (lh_vm_stop(cfg, cli->uvm_id, &err))
			code = vm_report(&err, LH_EXIT_FAILED);
	} else if (lh_vm_status(cfg, cli->uvm_id, &st, &err)) {
		code = vm_report(&err, LH_EXIT_FAILED);
	} else {
		vm_print_status(cli, st);
	}
	if (code == LH_EXIT_OK && strcmp(action, "status") != 0 && !cli->json)
		printf("uvm %s: %s\n", cli->uvm_id ? cli->uvm_id : cfg->uvm_id,
		       strcmp(action, "start") == 0 ? "started" : "stopped");
	cJSON_Delete(st);
	lh_config_free(cfg);
	return code;
}
