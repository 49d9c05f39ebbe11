/* commands_vm.c - see commands_vm.h. */
#include "commands_vm.h"

#include "host_state.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"
#include "session.h"

#include <errno.h>
#include <stdlib.h>

/* vm exec: how long a command may run, and how much of each stream is
 * kept (the guest's limits: guest/guest_protocol.h). */
#define VM_EXEC_TIMEOUT_MS 60000
#define VM_EXEC_MAX_OUTPUT (1024u * 1024)
/* The status of a command killed at its timeout, as timeout(1) says it. */
#define VM_EXEC_TIMED_OUT 124

/* The guest's lines: its kernel, console log and, when its agent
 * answered, the agent's generation and the guest's uptime. */
static void vm_print_guest(const cJSON *st)
{
	const cJSON *g = cJSON_GetObjectItem(st, "guest"), *ping = cJSON_GetObjectItem(g, "ping");
	const char *accel = cJSON_GetStringValue(cJSON_GetObjectItem(st, "accel"));

	if (!g) {
		printf("  no guest (a VM without a kernel: guest requests go undelivered)%s%s\n",
		       accel ? ", accel " : "", accel ? accel : "");
		return;
	}
	printf("  guest %s, accel %s, console %s\n",
	       cJSON_GetStringValue(cJSON_GetObjectItem(g, "kernel")), accel ? accel : "?",
	       cJSON_GetStringValue(cJSON_GetObjectItem(g, "serial")));
	if (ping)
		printf("  agent: answering, generation %.0f, guest up %.1f s, kernel %s\n",
		       cJSON_GetNumberValue(cJSON_GetObjectItem(ping, "generation")),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(ping, "uptime_ms")) / 1e3,
		       cJSON_GetStringValue(cJSON_GetObjectItem(ping, "kernel")));
}

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
	vm_print_guest(st);
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

/* The exit status of a command that ran: its own, as a shell reports it. */
static int vm_exec_status(const struct lh_vm_exec_result *r)
{
	if (r->timed_out)
		return VM_EXEC_TIMED_OUT;
	if (r->signal > 0)
		return 128 + (r->signal & 0x7f);
	return r->exit_code & 0xff;
}

static void vm_exec_print_json(const struct lh_session *s, const char *container,
			       const char *root, char *const *argv, int n,
			       const struct lh_vm_exec_result *r)
{
	cJSON *o = cJSON_CreateObject(), *args;

	cJSON_AddStringToObject(o, "uvm", s->host->uvm.id);
	if (container) {
		cJSON_AddStringToObject(o, "container", container);
		cJSON_AddStringToObject(o, "root", root);
	}
	args = cJSON_AddArrayToObject(o, "argv");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
	cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
	cJSON_AddNumberToObject(o, "signal", r->signal);
	cJSON_AddBoolToObject(o, "timed_out", r->timed_out);
	cJSON_AddStringToObject(o, "stdout", r->out);
	cJSON_AddStringToObject(o, "stderr", r->err);
	cJSON_AddBoolToObject(o, "stdout_truncated", r->out_truncated);
	cJSON_AddBoolToObject(o, "stderr_truncated", r->err_truncated);
	cJSON_AddNumberToObject(o, "duration_ms", (double)r->duration_ms);
	lh_report_print_json(stdout, o);
	cJSON_Delete(o);
}

/* The guest folder a container's command runs in: its rootfs, as the
 * state has it; only a mounted LCOW container has one in the guest. */
static int vm_exec_root(struct lh_session *s, const char *id, const char **root)
{
	const struct lh_mounted *m = lh_pipeline_find(s->host, id);

	if (!m || !m->rootfs || !m->combined)
		return LH_FAIL(&s->err, -LH_ENOTATTACHED, "container %s is not mounted in UVM %s "
			       "(layerhost mount %s)", id, s->host->uvm.id, id);
	if (m->kind != LH_KIND_LCOW)
		return LH_FAIL(&s->err, -LH_EUNSUPPORTED, "container %s is a %s container: vm exec "
			       "runs in a Linux UVM's guest", id, lh_kind_name(m->kind));
	*root = m->rootfs;
	return 0;
}

int lh_cmd_vm_exec(const struct lh_cli *cli, char *const *argv, int n)
{
	const char **words = calloc((size_t)n + 1, sizeof(*words));
	struct lh_vm_exec_result r = { 0 };
	const char *root = NULL;
	struct lh_session s;
	int code, rc;

	if (!words) {
		lh_log_print(LH_LOG_ERROR, "vm exec: out of memory");
		return LH_EXIT_FAILED;
	}
	for (int i = 0; i < n; i++)
		words[i] = argv[i];
	/* Looking, not changing: no lock (a mount may run meanwhile; the
	 * guest's port then serves this command once it is done). */
	code = lh_session_open(cli, 0, NULL, &s);
	if (code) {
		free(words);
		return code;
	}
	rc = cli->container ? vm_exec_root(&s, cli->container, &root) : 0;
	if (rc == 0) {
		struct lh_vm_exec e = {
			.argv = words, .root = root, .timeout_ms = VM_EXEC_TIMEOUT_MS,
			.max_output = VM_EXEC_MAX_OUTPUT,
		};

		rc = lh_host_vm_exec(s.host, &e, &r, &s.err);
	}
	if (rc) {
		lh_report_error(&s.err);
		code = rc == -LH_ECONFIG || rc == -LH_EUNSUPPORTED ? LH_EXIT_USAGE : LH_EXIT_FAILED;
	} else if (cli->json) {
		vm_exec_print_json(&s, cli->container, root, argv, n, &r);
		code = vm_exec_status(&r);
	} else {
		/* The command's own bytes, each stream to its own. */
		fwrite(r.out, 1, r.out_len, stdout);
		fflush(stdout);
		fwrite(r.err, 1, r.err_len, stderr);
		if (r.out_truncated || r.err_truncated)
			lh_log_print(LH_LOG_WARN, "vm exec: %s%s%s cut off at %u bytes",
				     r.out_truncated ? "stdout" : "",
				     r.out_truncated && r.err_truncated ? " and " : "",
				     r.err_truncated ? "stderr" : "", VM_EXEC_MAX_OUTPUT);
		if (r.timed_out)
			lh_log_print(LH_LOG_ERROR, "vm exec: %s ran out of its %d s and was killed",
				     argv[0], VM_EXEC_TIMEOUT_MS / 1000);
		code = vm_exec_status(&r);
	}
	lh_vm_exec_result_free(&r);
	free(words);
	return lh_session_close(&s, false, code);
}
