/*
 * test_vm_record.c - the processes a VM record names are known by pid and
 * start time: a record left by a VM that died (or by the boot before)
 * whose pids now belong to other processes reads as "not running", and
 * `vm stop` cleans it up without signalling those processes. No QEMU is
 * needed: the record is written by hand and the "other processes" are
 * children of the test.
 */
#include "cutest.h"
#include "fixtures.h"
#include "config.h"
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static struct lh_config *record_config(void)
{
	struct lh_error err = { 0 };
	struct lh_config *cfg = NULL;
	char *text;

	if (asprintf(&text, "[host]\ndriver = qemu\nrun_dir = %s\n[uvm]\nid = stale\nos = linux\n",
		     fixture_path("run")) < 0)
		abort();
	if (lh_config_parse(text, "test.ini", fixture_dir(), &cfg, &err))
		fprintf(stderr, "\n  config: %s\n", err.message);
	free(text);
	return cfg;
}

/* The qemu driver's view of cfg: what the launcher's functions take. */
static const struct lh_driver_params *record_params(const struct lh_config *cfg)
{
	static struct lh_driver_params params;

	lh_config_driver_params(cfg, &params);
	return &params;
}

/* A child that sleeps until killed: a process that is not ours to end. */
static pid_t bystander(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("sleep", "sleep", "300", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The record a started VM would leave, naming qemu and one daemon with
 * the given start times. */
static void write_record(const struct lh_config *cfg, pid_t qemu, uint64_t qemu_start,
			 pid_t daemon, uint64_t daemon_start)
{
	char *path = lh_vm_record_path(record_params(cfg), cfg->uvm_id), *text;
	struct lh_error err = { 0 };
	cJSON *rec;

	CU_ASSERT_EQUAL_FATAL(fixture_sh("mkdir -p %s", cfg->run_dir), 0);
	if (asprintf(&text,
		     "{\"uvm\":\"stale\",\"pid\":%d,\"pid_start\":%llu,\"qmp\":\"%s/stale.qmp\","
		     "\"control\":\"%s/stale.control\",\"log\":\"%s/stale.log\",\"layout\":"
		     "{\"scsi_controllers\":1,\"luns_per_controller\":64,\"pmem_devices\":0,"
		     "\"share_ports\":32},\"daemons\":[{\"pid\":%d,\"pid_start\":%llu}],"
		     "\"driver\":{}}",
		     (int)qemu, (unsigned long long)qemu_start, cfg->run_dir, cfg->run_dir,
		     cfg->run_dir, (int)daemon, (unsigned long long)daemon_start) < 0)
		abort();
	rec = cJSON_Parse(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	CU_ASSERT_EQUAL(lh_vm_record_save(path, rec, &err), 0);
	cJSON_Delete(rec);
	free(text);
	free(path);
}

static bool status_running(const struct lh_config *cfg)
{
	struct lh_error err = { 0 };
	cJSON *status = NULL;
	bool running;

	CU_ASSERT_EQUAL_FATAL(lh_vm_status(record_params(cfg), cfg->uvm_id, NULL, &status, &err), 0);
	running = cJSON_IsTrue(cJSON_GetObjectItem(status, "running"));
	cJSON_Delete(status);
	return running;
}

static void test_start_time_of_a_process(void)
{
	uint64_t mine = lh_proc_start(getpid());
	pid_t child = bystander();
	int status;

	CU_ASSERT(mine > 0);
	CU_ASSERT(lh_proc_alive(getpid(), mine));
	CU_ASSERT(lh_proc_alive(getpid(), 0));
	CU_ASSERT_FALSE(lh_proc_alive(getpid(), mine + 1));
	/* A child started after this process started no earlier. */
	CU_ASSERT(lh_proc_start(child) >= mine);
	kill(child, SIGKILL);
	/* Not reaped yet: a zombie is not alive. */
	while (lh_proc_start(child) != 0 && lh_proc_alive(child, 0))
		usleep(1000);
	CU_ASSERT_FALSE(lh_proc_alive(child, 0));
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT_EQUAL(lh_proc_start(child), 0);
	CU_ASSERT_FALSE(lh_proc_alive(-1, 0));
}

static void test_read_process_from_record(void)
{
	cJSON *number = cJSON_CreateNumber(42);
	cJSON *object = cJSON_Parse("{\"pid\":7,\"pid_start\":123}");
	cJSON *bad = cJSON_Parse("{\"pid\":-3}");
	uint64_t start = 99;
	pid_t pid = 0;

	CU_ASSERT(lh_proc_read(number, &pid, &start));
	CU_ASSERT_EQUAL(pid, 42);
	CU_ASSERT_EQUAL(start, 0);
	CU_ASSERT(lh_proc_read(object, &pid, &start));
	CU_ASSERT_EQUAL(pid, 7);
	CU_ASSERT_EQUAL(start, 123);
	CU_ASSERT_FALSE(lh_proc_read(bad, &pid, &start));
	CU_ASSERT_FALSE(lh_proc_read(NULL, &pid, &start));
	cJSON_Delete(number);
	cJSON_Delete(object);
	cJSON_Delete(bad);
}

/*
 * The record's pids are live, but started at other times than recorded:
 * the VM is not running, `vm start` is not refused as "already running",
 * and `vm stop` removes the record and leaves both processes alone. With
 * the true start times the same record reads as running, which shows the
 * start time is what decides.
 */
static void test_reused_pids_are_not_signalled(void)
{
	struct lh_config *cfg = record_config();
	pid_t qemu = bystander(), daemon = bystander();
	struct lh_error err = { 0 };
	char *path;
	int status;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	path = lh_vm_record_path(record_params(cfg), cfg->uvm_id);
	while (lh_proc_start(qemu) == 0 || lh_proc_start(daemon) == 0)
		usleep(1000);
	write_record(cfg, qemu, lh_proc_start(qemu), daemon, lh_proc_start(daemon));
	CU_ASSERT_TRUE(status_running(cfg));

	write_record(cfg, qemu, lh_proc_start(qemu) + 1, daemon, lh_proc_start(daemon) + 1);
	CU_ASSERT_FALSE(status_running(cfg));
	CU_ASSERT_EQUAL(lh_vm_stop(record_params(cfg), cfg->uvm_id, &err), 0);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT(lh_proc_alive(qemu, 0));
	CU_ASSERT(lh_proc_alive(daemon, 0));
	CU_ASSERT_EQUAL(waitpid(qemu, &status, WNOHANG), 0);
	CU_ASSERT_EQUAL(waitpid(daemon, &status, WNOHANG), 0);

	/* A record without start times (pid only) still means the pid. */
	lh_error_clear(&err);
	write_record(cfg, qemu, 0, daemon, 0);
	CU_ASSERT_TRUE(status_running(cfg));
	CU_ASSERT_EQUAL(lh_vm_start(record_params(cfg), &(struct lh_vm_layout){ 0 }, cfg->uvm_id, &err), -EEXIST);
	ASSERT_MSG_HAS(err, "already running");

	unlink(path);
	kill(qemu, SIGKILL);
	kill(daemon, SIGKILL);
	waitpid(qemu, &status, 0);
	waitpid(daemon, &status, 0);
	free(path);
	lh_config_free(cfg);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "start time of a process", test_start_time_of_a_process },
		{ "pid and start time read from a record", test_read_process_from_record },
		{ "reused pids are never signalled", test_reused_pids_are_not_signalled },
		{ NULL, NULL },
	};

	return cutest_run("vm_record", cases, fixture_cleanup);
}
