/* vm.c - see vm.h. */
#include "vm.h"

#include "agent.h"
#include "clock.h"
#include "durable.h"
#include "error.h"
#include "guest_boot.h"
#include "log.h"
#include "logfile.h"
#include "proc.h"
#include "qmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GIB (1024ull * 1024 * 1024)
#define VM_SERIAL_TAIL_LINES 4
/* Root ports start at this pcie.0 slot, eight functions a slot. */
#define VM_PORT_FIRST_SLOT 0x08
#define VM_STOP_WAIT_MS 10000

int lh_vm_layout_get(const struct lh_driver_params *params, const struct lh_vm_needs *needs,
		     struct lh_vm_layout *out, struct lh_error *err)
{
	memset(out, 0, sizeof(*out));
	out->scsi_controllers = (int)needs->scsi_controllers;
	out->luns_per_controller = (int)needs->scsi_luns_per_controller;
	if (params->os == LH_OS_LINUX) {
		out->pmem_devices = (int)needs->pmem_devices;
		out->pmem_max_bytes = needs->pmem_max_bytes;
	}
	if (out->scsi_controllers > LH_VM_MAX_SCSI_CONTROLLERS ||
	    out->luns_per_controller > LH_VM_MAX_LUNS || out->pmem_devices > LH_VM_MAX_PMEM)
		return LH_FAIL(err, -LH_ECONFIG, "%s: the backends ask for %d SCSI controllers x %d "
			       "LUNs and %d VPMem devices; a QEMU VM takes at most %d x %d and %d",
			       params->source, out->scsi_controllers, out->luns_per_controller,
			       out->pmem_devices, LH_VM_MAX_SCSI_CONTROLLERS, LH_VM_MAX_LUNS,
			       LH_VM_MAX_PMEM);
	out->share_ports = LH_VM_SHARE_PORTS;
	out->memory_bytes = params->vm.memory_bytes;
	return 0;
}

char *lh_vm_record_path(const struct lh_driver_params *params, const char *uvm_id)
{
	char *path;

	if (asprintf(&path, "%s/%s.vm", params->run_dir, uvm_id) < 0)
		return NULL;
	return path;
}

int lh_vm_record_load(const char *path, cJSON **out, struct lh_error *err)
{
	char *text = NULL;
	size_t len = 0, cap = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	*out = NULL;
	if (fd < 0)
		return LH_FAIL(err, -errno, errno == ENOENT ? "%s: no VM record: the VM is not "
			       "started (layerhost vm start)" : "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n;

		if (len + 4096 > cap) {
			char *grown = realloc(text, cap = cap * 2 + 8192);

			if (!grown) {
				rc = LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
				goto out;
			}
			text = grown;
		}
		n = read(fd, text + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	*out = cJSON_Parse(text);
	if (!cJSON_IsObject(*out) || !cJSON_IsNumber(cJSON_GetObjectItem(*out, "pid")) ||
	    !cJSON_IsString(cJSON_GetObjectItem(*out, "qmp"))) {
		cJSON_Delete(*out);
		*out = NULL;
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: not a VM record", path);
	}
out:
	free(text);
	close(fd);
	return rc;
}

int lh_vm_record_save(const char *path, const cJSON *record, struct lh_error *err)
{
	char *text = cJSON_PrintUnformatted(record);
	int rc;

	if (!text)
		return LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
	/* Not flushed: a VM does not survive the crash that would lose it. */
	rc = lh_file_replace(path, text, strlen(text), 0600, LH_REPLACE_NO_FLUSH, "the VM record",
			     err);
	free(text);
	return rc;
}

/* argv for the machine: a NULL-terminated array of malloc'd strings. */
struct vm_argv {
	char **v;
	size_t n, cap;
};

static int vm_arg(struct vm_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vm_arg(struct vm_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **grown = realloc(a->v, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		a->v = grown;
		a->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

static void vm_argv_free(struct vm_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

struct vm_paths {
	char *record, *qmp, *control, *log, *pidfile;
	char *serial, *agent; /* the guest's console log and agent socket */
};

static int vm_paths_get(const struct lh_driver_params *params, const char *id,
			struct vm_paths *p)
{
	const char *dir = params->run_dir;

	memset(p, 0, sizeof(*p));
	p->record = lh_vm_record_path(params, id);
	if (asprintf(&p->qmp, "%s/%s.qmp", dir, id) < 0)
		p->qmp = NULL;
	if (asprintf(&p->control, "%s/%s.control", dir, id) < 0)
		p->control = NULL;
	if (asprintf(&p->log, "%s/%s.log", dir, id) < 0)
		p->log = NULL;
	if (asprintf(&p->pidfile, "%s/%s.pid", dir, id) < 0)
		p->pidfile = NULL;
	if (asprintf(&p->serial, "%s/%s.serial", dir, id) < 0)
		p->serial = NULL;
	if (asprintf(&p->agent, "%s/%s.agent", dir, id) < 0)
		p->agent = NULL;
	return p->record && p->qmp && p->control && p->log && p->pidfile && p->serial &&
	       p->agent ? 0 : -ENOMEM;
}

static void vm_paths_free(struct vm_paths *p)
{
	free(p->record);
	free(p->qmp);
	free(p->control);
	free(p->log);
	free(p->pidfile);
	free(p->serial);
	free(p->agent);
}

/* Whether /dev/kvm is hardware virtualisation (the kernel's VMX or SVM
 * KVM) this process may use. Another KVM (a nested one such as PVM, which
 * this project's CI machine runs under) can hang a stock guest kernel. */
static bool vm_kvm_hardware(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return false;
	close(fd);
	return stat("/sys/module/kvm_intel", &st) == 0 || stat("/sys/module/kvm_amd", &st) == 0;
}

const char *lh_vm_accel(const struct lh_vm_params *vm)
{
	switch (vm->accel) {
	case LH_ACCEL_TCG: return "tcg";
	case LH_ACCEL_KVM: return "kvm";
	default:
		/* A VM without a guest runs no guest code: QEMU's own choice
		 * serves. A guest needs a KVM that boots it. */
		if (!vm->kernel)
			return "kvm:tcg";
		return vm_kvm_hardware() ? "kvm" : "tcg";
	}
}

static int vm_arg_cb(void *ctx, const char *arg)
{
	return vm_arg(ctx, "%s", arg);
}

static int vm_build_argv(const struct lh_driver_params *params, const struct lh_vm_layout *l,
			 const struct vm_paths *p, struct vm_argv *a)
{
	int ports = l->pmem_devices + l->share_ports, rc = 0;
	bool guest = params->vm.kernel != NULL;
	/* Each pmem device gets its own 1 GiB-aligned window of device memory. */
	uint64_t maxmem = l->memory_bytes +
			  (uint64_t)l->pmem_devices * ((l->pmem_max_bytes + GIB - 1) / GIB * GIB);

	rc |= vm_arg(a, "%s", params->vm.emulator);
	rc |= vm_arg(a, "-machine") | vm_arg(a, "q35,accel=%s", lh_vm_accel(&params->vm));
	rc |= vm_arg(a, "-nodefaults") | vm_arg(a, "-display") | vm_arg(a, "none");
	/* A guest runs from the start; a VM without one stays paused (its
	 * devices are plugged all the same). -cpu max gives a guest RDRAND,
	 * which seeds its random pool at once (mke2fs waits for it). */
	if (guest)
		rc |= vm_arg(a, "-cpu") | vm_arg(a, "max");
	else
		rc |= vm_arg(a, "-S");
	rc |= vm_arg(a, "-daemonize");
	rc |= vm_arg(a, "-pidfile") | vm_arg(a, "%s", p->pidfile);
	rc |= vm_arg(a, "-m");
	if (l->pmem_devices)
		rc |= vm_arg(a, "%lluM,slots=%d,maxmem=%lluM",
			     (unsigned long long)(l->memory_bytes >> 20), l->pmem_devices,
			     (unsigned long long)(maxmem >> 20));
	else
		rc |= vm_arg(a, "%lluM", (unsigned long long)(l->memory_bytes >> 20));
	/* Unplug needs the guest's consent. ACPI hotplug (q35's own) asks a
	 * guest in ~80 ms, but without a guest it never completes; native
	 * PCIe hotplug completes without one, but a live guest then waits
	 * out its 5 s attention-button delay on every removal. */
	if (!guest)
		rc |= vm_arg(a, "-global") |
		      vm_arg(a, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off");
	/* virtio-fs needs guest memory the daemon can map. */
	if (l->share_ports)
		rc |= vm_arg(a, "-object") |
		      vm_arg(a, "memory-backend-memfd,id=mem,size=%lluM,share=on",
			     (unsigned long long)(l->memory_bytes >> 20)) |
		      vm_arg(a, "-numa") | vm_arg(a, "node,memdev=mem");
	for (int c = 0; c < l->scsi_controllers; c++)
		rc |= vm_arg(a, "-device") |
		      vm_arg(a, "virtio-scsi-pci,id=scsi%d,bus=pcie.0,addr=0x%x", c, 2 + c);
	for (int k = 0; k < ports; k++)
		rc |= vm_arg(a, "-device") |
		      vm_arg(a, "pcie-root-port,id=rp%d,chassis=%d,bus=pcie.0,addr=0x%x.%d%s", k,
			     k + 1, VM_PORT_FIRST_SLOT + k / 8, k % 8,
			     k % 8 == 0 ? ",multifunction=on" : "");
	/* A QMP monitor serves one client at a time: the driver's socket and
	 * a control socket for status, stop and tests. */
	rc |= vm_arg(a, "-qmp") | vm_arg(a, "unix:%s,server=on,wait=off", p->qmp);
	rc |= vm_arg(a, "-qmp") | vm_arg(a, "unix:%s,server=on,wait=off", p->control);
	if (rc == 0 && guest) {
		struct lh_guest_boot boot = {
			.kernel = params->vm.kernel, .initrd = params->vm.initrd,
			.cmdline = params->vm.cmdline, .serial_log = p->serial,
			.agent_socket = p->agent,
		};

		rc = lh_guest_boot_args(&boot, vm_arg_cb, a);
		return rc == -EINVAL ? rc : rc ? -ENOMEM : 0;
	}
	return rc ? -ENOMEM : 0;
}

/* Whether the live process pid is a QEMU of ours: its command line names
 * `socket` (the VM's QMP socket, unique to the run folder and UVM id). */
static bool vm_proc_names(pid_t pid, const char *socket)
{
	char path[64], buf[16384];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	/* The arguments are NUL-separated: search them as one text. */
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, socket) != NULL;
}

static int vm_read_pidfile(const char *path, pid_t *pid)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	*pid = n > 0 ? (pid_t)atoi(buf) : 0;
	return *pid > 0 ? 0 : -EINVAL;
}

/* A QEMU of this UVM that runs without its record (the record was removed
 * by hand): found by the pidfile QEMU wrote and checked by its command
 * line. 0 with *pid, or -ENOENT. */
static int vm_find_unrecorded(const struct vm_paths *p, pid_t *pid)
{
	pid_t found = 0;

	if (vm_read_pidfile(p->pidfile, &found) == 0 && lh_pid_alive(found) &&
	    vm_proc_names(found, p->qmp)) {
		*pid = found;
		return 0;
	}
	return -ENOENT;
}

/* End every live process whose command line names `pattern` (a VM's
 * virtio-fs sockets): the helpers of a VM whose record is gone. */
static void vm_end_named(const char *pattern)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 1 || pid == getpid() || !vm_proc_names((pid_t)pid, pattern))
			continue;
		lh_proc_end((pid_t)pid, lh_proc_start((pid_t)pid), 2000);
	}
	closedir(d);
}


static int vm_spawn(char **argv, const char *log, int *status)
{
	pid_t child = fork();

	if (child < 0)
		return -errno;
	if (child == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(child, status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* A new id for this boot of the VM: the state ties its attachments to it,
 * so attachments of a VM that is gone are never taken for a new one's. */
static int vm_add_boot_id(cJSON *rec)
{
	uint8_t raw[16];
	char hex[33];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, raw, sizeof(raw)) : -1;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return cJSON_AddStringToObject(rec, "boot", hex) ? 0 : -ENOMEM;
}

/* The guest's part of the record: its files, console log and agent
 * socket, and how long it took to answer. */
static bool vm_record_guest(cJSON *rec, const struct lh_driver_params *params,
			    const struct vm_paths *p, int64_t ready_ms)
{
	const char *cmdline = params->vm.cmdline ? params->vm.cmdline : LH_GUEST_CMDLINE_DEFAULT;
	cJSON *g = cJSON_AddObjectToObject(rec, "guest");

	return g && cJSON_AddStringToObject(g, "kernel", params->vm.kernel) &&
	       cJSON_AddStringToObject(g, "initrd", params->vm.initrd) &&
	       cJSON_AddStringToObject(g, "cmdline", cmdline) &&
	       cJSON_AddStringToObject(g, "serial", p->serial) &&
	       cJSON_AddStringToObject(g, "agent", p->agent) &&
	       cJSON_AddNumberToObject(g, "ready_ms", (double)ready_ms);
}

static cJSON *vm_record_new(const char *id, pid_t pid, uint64_t start, const struct vm_paths *p,
			    const struct lh_driver_params *params, const struct lh_vm_layout *l,
			    int64_t ready_ms)
{
	cJSON *rec = cJSON_CreateObject(), *layout;

	if (!rec || !cJSON_AddStringToObject(rec, "uvm", id) ||
	    !cJSON_AddNumberToObject(rec, "pid", pid) ||
	    !cJSON_AddNumberToObject(rec, "pid_start", (double)start) ||
	    !cJSON_AddStringToObject(rec, "qmp", p->qmp) ||
	    !cJSON_AddStringToObject(rec, "control", p->control) ||
	    !cJSON_AddStringToObject(rec, "log", p->log) ||
	    !(layout = cJSON_AddObjectToObject(rec, "layout")) ||
	    !cJSON_AddNumberToObject(layout, "scsi_controllers", l->scsi_controllers) ||
	    !cJSON_AddNumberToObject(layout, "luns_per_controller", l->luns_per_controller) ||
	    !cJSON_AddNumberToObject(layout, "pmem_devices", l->pmem_devices) ||
	    !cJSON_AddNumberToObject(layout, "share_ports", l->share_ports) ||
	    !cJSON_AddArrayToObject(rec, "daemons") || !cJSON_AddObjectToObject(rec, "driver") ||
	    !cJSON_AddStringToObject(rec, "accel", lh_vm_accel(&params->vm)) ||
	    (params->vm.kernel && !vm_record_guest(rec, params, p, ready_ms))) {
		cJSON_Delete(rec);
		return NULL;
	}
	return rec;
}

/* The guest's files are there to boot: say which setting named one that
 * is not, and how to get it. */
static int vm_check_guest(const struct lh_driver_params *params, const char *id,
			  struct lh_error *err)
{
	const struct lh_vm_params *vm = &params->vm;
	const char *files[2][3] = { { vm->kernel, vm->kernel_from, "guest kernel" },
				    { vm->initrd, vm->initrd_from, "guest initramfs" } };

	for (int i = 0; i < 2; i++) {
		const char *path = files[i][0], *from = files[i][1] ? files[i][1] : "the config";
		int e;

		if (access(path, R_OK) == 0)
			continue;
		e = errno;
		return LH_FAIL(err, e == ENOENT ? -LH_ECONFIG : -e,
			       "UVM '%s': %s: %s (from %s of %s): %s; build it with `guest/"
			       "mkinitramfs.sh BUILD_DIR`, or set [uvm] guest = none for a VM "
			       "without a guest", id, path, files[i][2], from, params->source,
			       strerror(e));
	}
	return 0;
}

/*
 * Wait for the guest's agent to answer. A guest that does not come up is
 * told by what its console said last; a QEMU that exited meanwhile (a
 * panic: the guest runs with panic=-1 and QEMU with -no-reboot) by that.
 */
static int vm_wait_guest(const struct vm_paths *p, const char *id, pid_t pid, uint64_t start,
			 int64_t *ready_ms, struct lh_error *err)
{
	struct lh_error local = { 0 };
	struct lh_agent *agent = NULL;
	struct timespec t0, t1;
	cJSON *reply = NULL;
	char tail[1024];
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = lh_agent_wait_ready(p->agent, LH_VM_GUEST_READY_MS, &agent, &local);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ready_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (rc == 0 && lh_agent_call(agent, "ping", NULL, LH_VM_AGENT_PING_MS, &reply, &local) == 0) {
		const cJSON *failed = cJSON_GetObjectItem(reply, "modules_failed"), *m;

		/* A module that did not load is a device kind the guest lacks;
		 * its requests will say so, but the cause is here. */
		cJSON_ArrayForEach(m, failed)
			lh_log(LH_LOG_WARN, "qemu", "UVM '%s': the guest could not load module %s "
			       "(see %s)", id, cJSON_GetStringValue(m), p->serial);
	}
	cJSON_Delete(reply);
	lh_agent_close(agent);
	if (rc == 0)
		return 0;
	if (lh_logfile_find(p->serial, "Kernel panic", tail, sizeof(tail)))
		return LH_FAIL(err, -LH_EDRIVER, "UVM '%s': the guest's kernel panicked while "
			       "booting: %s (serial log %s)", id, tail, p->serial);
	lh_logfile_tail(p->serial, VM_SERIAL_TAIL_LINES, tail, sizeof(tail));
	if (!lh_proc_alive(pid, start))
		return LH_FAIL(err, -LH_EDRIVER, "UVM '%s': QEMU exited while the guest booted; "
			       "its serial log %s ends: %s", id, p->serial, tail);
	return LH_FAIL(err, rc == -ETIMEDOUT ? -ETIMEDOUT : -LH_EDRIVER, "UVM '%s': the guest "
		       "did not come up: %s; its serial log %s ends: %s", id, local.message,
		       p->serial, tail);
}

int lh_vm_start(const struct lh_driver_params *params, const struct lh_vm_layout *layout,
		const char *id, struct lh_error *err)
{
	struct vm_argv argv = { 0 };
	struct vm_paths p;
	struct lh_qmp *qmp = NULL;
	cJSON *rec = NULL;
	pid_t pid = 0, old_pid;
	uint64_t start = 0, old_start;
	int64_t ready_ms = 0;
	int rc, status;

	rc = vm_paths_get(params, id, &p);
	if (rc) {
		rc = LH_FAIL(err, rc, "vm start: out of memory");
		goto out;
	}
	if (mkdir(params->run_dir, 0755) < 0 && errno != EEXIST) {
		rc = LH_FAIL(err, -errno, "%s: cannot create run folder: %s", params->run_dir,
			     strerror(errno));
		goto out;
	}
	if (lh_vm_record_load(p.record, &rec, NULL) == 0 &&
	    lh_proc_read(rec, &old_pid, &old_start) && lh_proc_alive(old_pid, old_start)) {
		rc = LH_FAIL(err, -EEXIST, "UVM '%s' is already running (pid %d, %s)", id,
			     (int)old_pid, p.record);
		goto out;
	}
	/* The record is not the only trace: a QEMU it no longer names must
	 * not lose its sockets to a second one. */
	if (!rec && vm_find_unrecorded(&p, &old_pid) == 0) {
		rc = LH_FAIL(err, -EEXIST, "UVM '%s' is already running (pid %d, by its pidfile "
			     "%s) but its record %s is missing; `layerhost vm stop` ends it", id,
			     (int)old_pid, p.pidfile, p.record);
		goto out;
	}
	cJSON_Delete(rec);
	rec = NULL;
	if (params->vm.kernel) {
		rc = vm_check_guest(params, id, err);
		if (rc)
			goto out;
	}
	unlink(p.qmp);
	unlink(p.pidfile);
	unlink(p.control);
	unlink(p.agent);
	unlink(p.serial);
	rc = vm_build_argv(params, layout, &p, &argv);
	if (rc == -EINVAL) {
		rc = LH_FAIL(err, -LH_ECONFIG, "UVM '%s': %s: QEMU cannot take a comma in the "
			     "guest's console log or agent socket path (set [host] run_dir to a "
			     "folder without one)", id, params->run_dir);
		goto out;
	}
	if (!rc)
		rc = vm_spawn(argv.v, p.log, &status);
	if (rc) {
		rc = LH_FAIL(err, rc, "UVM '%s': cannot start %s: %s", id, params->vm.emulator,
			     lh_strerror(rc));
		goto out;
	}
	/* With -daemonize the parent exits once the machine is built, so its
	 * status is the verdict and the QMP socket exists by now. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || vm_read_pidfile(p.pidfile, &pid)) {
		char tail[512];

		lh_logfile_tail(p.log, 1, tail, sizeof(tail));
		rc = LH_FAIL(err, -LH_EDRIVER, "UVM '%s': %s failed to start: %s (see %s)", id,
			     params->vm.emulator, tail, p.log);
		goto out;
	}
	start = lh_proc_start(pid);
	rc = lh_qmp_connect(p.control, LH_QMP_TIMEOUT_MS, &qmp, err);
	/* The record comes once the guest answers: a VM that is on record is
	 * one that takes requests. */
	if (rc == 0 && params->vm.kernel)
		rc = vm_wait_guest(&p, id, pid, start, &ready_ms, err);
	if (rc)
		goto kill;
	rec = vm_record_new(id, pid, start, &p, params, layout, ready_ms);
	if (rec && vm_add_boot_id(rec)) {
		cJSON_Delete(rec);
		rec = NULL;
	}
	rc = rec ? lh_vm_record_save(p.record, rec, err)
		 : LH_FAIL(err, -ENOMEM, "vm start: out of memory");
	if (rc)
		goto kill;
	goto out;
kill:
	/* Nothing half done: no record, so no VM either. */
	kill(pid, SIGKILL);
	lh_proc_wait_gone(pid, start, VM_STOP_WAIT_MS);
	unlink(p.qmp);
	unlink(p.control);
	unlink(p.agent);
out:
	lh_qmp_close(qmp);
	cJSON_Delete(rec);
	vm_argv_free(&argv);
	vm_paths_free(&p);
	return rc;
}

/* End a helper daemon the record lists, if it is still that process. */
static void vm_end_daemon(const cJSON *item)
{
	uint64_t start;
	pid_t pid;

	if (lh_proc_read(item, &pid, &start))
		lh_proc_end(pid, start, 2000);
}

/* A guest is asked to power off first: it syncs what containers wrote to
 * their scratch disks, which a plain quit would lose. */
static void vm_poweroff_guest(const char *agent_socket, pid_t pid, uint64_t start)
{
	struct lh_agent *agent = NULL;

	if (lh_agent_connect(agent_socket, LH_VM_AGENT_PING_MS, &agent, NULL) == 0 &&
	    lh_agent_call(agent, "poweroff", NULL, LH_VM_AGENT_PING_MS, NULL, NULL) == 0)
		lh_proc_wait_gone(pid, start, LH_VM_POWEROFF_WAIT_MS);
	lh_agent_close(agent);
}

/* Quit QEMU through its control monitor, then by signal; 0 once it is gone. */
static int vm_end_qemu(const struct vm_paths *p, pid_t pid, uint64_t start, struct lh_error *err)
{
	struct lh_qmp *qmp = NULL;

	if (lh_proc_alive(pid, start) && lh_qmp_connect(p->control, 2000, &qmp, NULL) == 0)
		lh_qmp_execute(qmp, "quit", NULL, NULL, 2000, NULL);
	lh_qmp_close(qmp);
	if (!lh_proc_wait_gone(pid, start, VM_STOP_WAIT_MS)) {
		kill(pid, SIGKILL);
		if (!lh_proc_wait_gone(pid, start, VM_STOP_WAIT_MS))
			return LH_FAIL(err, -ETIMEDOUT, "UVM pid %d does not exit", (int)pid);
	}
	return 0;
}

/* The files a VM leaves in the run folder: its sockets, pidfile and the
 * virtio-fs sockets of its shares. */
static void vm_remove_files(const struct vm_paths *p, const cJSON *rec)
{
	const cJSON *share;

	cJSON_ArrayForEach(share, cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "driver"), "shares")) {
		const cJSON *sock = cJSON_GetObjectItem(share, "socket");

		if (cJSON_IsString(sock))
			unlink(sock->valuestring);
	}
	unlink(p->qmp);
	unlink(p->control);
	unlink(p->pidfile);
	unlink(p->agent);
}

/* A QEMU whose record was removed: found by its pidfile, ended with its
 * virtio-fs daemons (known by the sockets they serve, all named
 * <run_dir>/<uvm>-fs-*.sock). */
static int vm_stop_unrecorded(const struct lh_driver_params *params, const struct vm_paths *p,
			      const char *uvm_id, struct lh_error *err)
{
	char pattern[4096 + 64];
	pid_t pid = 0;
	int rc;

	if (vm_find_unrecorded(p, &pid) != 0)
		return LH_FAIL(err, -ENOENT, "%s: no VM record: the VM is not started (layerhost "
			       "vm start)", p->record);
	rc = vm_end_qemu(p, pid, lh_proc_start(pid), err);
	if (rc)
		return rc;
	snprintf(pattern, sizeof(pattern), "--socket-path=%s/%s-fs-", params->run_dir, uvm_id);
	vm_end_named(pattern);
	vm_remove_files(p, NULL);
	lh_log(LH_LOG_WARN, "qemu", "UVM '%s': stopped QEMU pid %d, found by its pidfile (its "
	       "record %s was missing)", uvm_id, (int)pid, p->record);
	return 0;
}

int lh_vm_stop(const struct lh_driver_params *params, const char *uvm_id, struct lh_error *err)
{
	struct vm_paths p;
	cJSON *rec = NULL, *daemon;
	uint64_t start;
	pid_t pid;
	int rc;

	rc = vm_paths_get(params, uvm_id, &p);
	if (rc) {
		rc = LH_FAIL(err, rc, "vm stop: out of memory");
		goto out;
	}
	rc = lh_vm_record_load(p.record, &rec, NULL);
	if (rc == -ENOENT) {
		rc = vm_stop_unrecorded(params, &p, uvm_id, err);
		goto out;
	}
	if (rc) {
		rc = lh_vm_record_load(p.record, &rec, err);
		goto out;
	}
	if (lh_proc_read(rec, &pid, &start) && lh_proc_alive(pid, start)) {
		const char *agent = cJSON_GetStringValue(cJSON_GetObjectItem(
			cJSON_GetObjectItem(rec, "guest"), "agent"));

		if (agent)
			vm_poweroff_guest(agent, pid, start);
		rc = vm_end_qemu(&p, pid, start, err);
		if (rc)
			goto out;
	}
	cJSON_ArrayForEach(daemon, cJSON_GetObjectItem(rec, "daemons"))
		vm_end_daemon(daemon);
	vm_remove_files(&p, rec);
	if (unlink(p.record) < 0)
		rc = LH_FAIL(err, -errno, "%s: %s", p.record, strerror(errno));
out:
	cJSON_Delete(rec);
	vm_paths_free(&p);
	return rc;
}

/* What is wrong with a running VM's helpers: each share whose virtiofsd is
 * gone, or whose chardev QEMU shows disconnected. */
static cJSON *vm_problems(const cJSON *rec, struct lh_qmp *qmp)
{
	cJSON *problems = cJSON_CreateArray(), *chardevs = NULL;
	const cJSON *share, *c;

	if (qmp)
		lh_qmp_execute(qmp, "query-chardev", NULL, &chardevs, 2000, NULL);
	cJSON_ArrayForEach(share, cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "driver"), "shares")) {
		char label[128], text[512];
		uint64_t start;
		pid_t pid;

		if (lh_proc_read(share, &pid, &start) && !lh_proc_alive(pid, start)) {
			snprintf(text, sizeof(text), "share %s: its virtiofsd (pid %d) is gone; the "
				 "guest cannot reach %s", share->string, (int)pid,
				 cJSON_GetStringValue(cJSON_GetObjectItem(share, "path")));
			cJSON_AddItemToArray(problems, cJSON_CreateString(text));
			continue;
		}
		snprintf(label, sizeof(label), "fs-%s-chr", share->string);
		cJSON_ArrayForEach(c, chardevs) {
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "label"));
			const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(c, "filename"));

			if (name && file && strcmp(name, label) == 0 &&
			    strncmp(file, "disconnected:", 13) == 0) {
				snprintf(text, sizeof(text), "share %s: QEMU's connection to its "
					 "virtiofsd is closed", share->string);
				cJSON_AddItemToArray(problems, cJSON_CreateString(text));
			}
		}
	}
	cJSON_Delete(chardevs);
	return problems;
}

static void vm_problem(cJSON *problems, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vm_problem(cJSON *problems, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(problems, cJSON_CreateString(text));
}

/*
 * The guest's part of vm status: the agent's answer to a ping, kept as
 * guest.ping (through `agent` when the caller holds a connection: QEMU
 * serves the port to one client at a time), and what is wrong: a kernel
 * that panicked, an agent that does not answer or that restarted, modules
 * that did not load.
 */
static void vm_guest_status(cJSON *rec, bool running, struct lh_agent *agent, cJSON *problems)
{
	cJSON *g = cJSON_GetObjectItem(rec, "guest"), *reply = NULL, *ping;
	const char *sock = cJSON_GetStringValue(cJSON_GetObjectItem(g, "agent"));
	const char *serial = cJSON_GetStringValue(cJSON_GetObjectItem(g, "serial"));
	struct lh_error local = { 0 };
	struct lh_agent *own = NULL;
	const cJSON *failed, *m;
	char line[1024];
	double generation;
	int rc = 0;

	if (!g || !sock || !serial)
		return;
	if (!running) {
		if (lh_logfile_find(serial, "Kernel panic", line, sizeof(line)))
			vm_problem(problems, "guest: the kernel panicked: %s (serial log %s); QEMU "
				   "exited with it", line, serial);
		return;
	}
	if (!lh_agent_alive(agent)) {
		rc = lh_agent_connect(sock, LH_VM_AGENT_PING_MS, &own, &local);
		agent = own;
	}
	if (rc == 0)
		rc = lh_agent_call(agent, "ping", NULL, LH_VM_AGENT_PING_MS, &reply, &local);
	if (rc) {
		lh_logfile_tail(serial, VM_SERIAL_TAIL_LINES, line, sizeof(line));
		vm_problem(problems, "guest: the agent does not answer: %s%s; its serial log %s "
			   "ends: %s", local.message, rc == -ETIMEDOUT ? " (another layerhost "
			   "command may hold its port)" : "", serial, line);
		goto out;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(reply, "id");
	cJSON_DeleteItemFromObjectCaseSensitive(reply, "ok");
	ping = reply;
	reply = NULL;
	cJSON_AddItemToObject(g, "ping", ping);
	generation = cJSON_GetNumberValue(cJSON_GetObjectItem(ping, "generation"));
	if (generation > 0)
		vm_problem(problems, "guest: the agent restarted %.0f time(s) in this boot (it "
			   "died: see %s); a request it was carrying out then may be half done",
			   generation, serial);
	failed = cJSON_GetObjectItem(ping, "modules_failed");
	cJSON_ArrayForEach(m, failed)
		vm_problem(problems, "guest: kernel module %s did not load (see %s)",
			   cJSON_GetStringValue(m), serial);
out:
	cJSON_Delete(reply);
	lh_agent_close(own);
}

int lh_vm_status(const struct lh_driver_params *params, const char *uvm_id,
		 struct lh_agent *agent, cJSON **out, struct lh_error *err)
{
	char *path = lh_vm_record_path(params, uvm_id);
	const cJSON *control;
	struct lh_qmp *qmp = NULL;
	cJSON *rec = NULL, *status = NULL, *pending, *pmem, *problems = NULL;
	bool running;
	uint64_t start;
	pid_t pid;
	int rc;

	*out = NULL;
	if (!path)
		return LH_FAIL(err, -ENOMEM, "vm status: out of memory");
	rc = lh_vm_record_load(path, &rec, err);
	if (rc)
		goto out;
	running = lh_proc_read(rec, &pid, &start) && lh_proc_alive(pid, start);
	control = cJSON_GetObjectItem(rec, "control");
	if (running && cJSON_IsString(control) &&
	    lh_qmp_connect(control->valuestring, 2000, &qmp, NULL) == 0)
		lh_qmp_execute(qmp, "query-status", NULL, &status, 2000, NULL);
	pending = cJSON_CreateArray();
	pmem = cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "driver"), "pmem");
	for (cJSON *dev = pmem ? pmem->child : NULL; dev && pending; dev = dev->next)
		if (cJSON_IsTrue(cJSON_GetObjectItem(dev, "removed")))
			cJSON_AddItemToArray(pending, cJSON_CreateString(dev->string));
	problems = running ? vm_problems(rec, qmp) : cJSON_CreateArray();
	if (problems)
		vm_guest_status(rec, running, agent, problems);
	if (!pending || !problems || !cJSON_AddBoolToObject(rec, "running", running) ||
	    !cJSON_AddItemToObject(rec, "pending_removal", pending)) {
		cJSON_Delete(pending);
		rc = LH_FAIL(err, -ENOMEM, "vm status: out of memory");
		goto out;
	}
	cJSON_AddItemToObject(rec, "problems", problems);
	problems = NULL;
	if (status)
		cJSON_AddItemToObject(rec, "status", status);
	else
		cJSON_AddNullToObject(rec, "status");
	status = NULL;
	*out = rec;
	rec = NULL;
out:
	lh_qmp_close(qmp);
	cJSON_Delete(problems);
	cJSON_Delete(status);
	cJSON_Delete(rec);
	free(path);
	return rc;
}

int lh_vm_boot(const struct lh_driver_params *params, const char *uvm_id, char *buf, size_t cap,
	       struct lh_error *err)
{
	struct vm_paths p;
	cJSON *rec = NULL;
	const char *boot;
	uint64_t start;
	pid_t pid = 0;
	int rc = vm_paths_get(params, uvm_id, &p);

	buf[0] = '\0';
	if (rc) {
		rc = LH_FAIL(err, rc, "out of memory");
		goto out;
	}
	rc = lh_vm_record_load(p.record, &rec, NULL);
	if (rc == -ENOENT && vm_find_unrecorded(&p, &pid) == 0) {
		rc = LH_FAIL(err, -EBUSY, "UVM '%s': QEMU runs (pid %d, by its pidfile %s) but its "
			     "record %s is missing; `layerhost vm stop` ends it", uvm_id, (int)pid,
			     p.pidfile, p.record);
		goto out;
	}
	if (rc == 0 && !(lh_proc_read(rec, &pid, &start) && lh_proc_alive(pid, start)))
		rc = -ENOENT;
	if (rc)
		goto out;
	boot = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "boot"));
	snprintf(buf, cap, "%s", boot ? boot : "");
out:
	cJSON_Delete(rec);
	vm_paths_free(&p);
	return rc;
}
