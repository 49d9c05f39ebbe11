/* vm.c - see vm.h. */
#include "vm.h"

#include "durable.h"
#include "options.h"
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GIB (1024ull * 1024 * 1024)
/* Root ports start at this pcie.0 slot, eight functions a slot. */
#define VM_PORT_FIRST_SLOT 0x08
#define VM_STOP_WAIT_MS 10000

static const char *vm_key(const struct lh_config *cfg, const char *plugin, const char *key,
			  unsigned *line)
{
	const struct lh_plugin_section *s = lh_config_plugin(cfg, plugin);

	for (size_t i = 0; s && i < s->n_keys; i++) {
		if (strcmp(s->keys[i].key, key) == 0) {
			*line = s->keys[i].line;
			return s->keys[i].value;
		}
	}
	return NULL;
}

static int vm_int_key(const struct lh_config *cfg, const char *plugin, const char *key,
		      int64_t dflt, int64_t min, int64_t max, int *out, struct lh_error *err)
{
	unsigned line = 0;
	const char *text = vm_key(cfg, plugin, key, &line);
	int64_t v = dflt;

	if (text && (lh_parse_int64(text, &v) || v < min || v > max))
		return LH_FAIL(err, -LH_ECONFIG, "%s:%u [plugin.%s] %s: '%s' is not a number in "
			       "%lld..%lld", cfg->path, line, plugin, key, text, (long long)min,
			       (long long)max);
	*out = (int)v;
	return 0;
}

int lh_vm_layout_get(const struct lh_config *cfg, struct lh_vm_layout *out, struct lh_error *err)
{
	unsigned line = 0;
	const char *text;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = vm_int_key(cfg, "scsi", "controllers", 1, 0, 4, &out->scsi_controllers, err);
	if (!rc)
		rc = vm_int_key(cfg, "scsi", "luns_per_controller", 64, 1, 64,
				&out->luns_per_controller, err);
	if (!rc && cfg->os == LH_OS_LINUX)
		rc = vm_int_key(cfg, "vpmem", "max_devices", 64, 1, 128, &out->pmem_devices, err);
	if (rc)
		return rc;
	out->pmem_max_bytes = 4 * GIB;
	text = vm_key(cfg, "vpmem", "max_size_bytes", &line);
	if (text && (lh_parse_size(text, &out->pmem_max_bytes) || out->pmem_max_bytes < 4096))
		return LH_FAIL(err, -LH_ECONFIG, "%s:%u [plugin.vpmem] max_size_bytes: '%s' is "
			       "not a size", cfg->path, line, text);
	out->share_ports = LH_VM_SHARE_PORTS;
	out->memory_bytes = cfg->memory_bytes;
	return 0;
}

char *lh_vm_record_path(const struct lh_config *cfg, const char *uvm_id)
{
	char *path;

	if (asprintf(&path, "%s/%s.vm", cfg->run_dir, uvm_id ? uvm_id : cfg->uvm_id) < 0)
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
	char *text = cJSON_PrintUnformatted(record), *tmp = NULL;
	int fd = -1, rc = 0;

	if (!text || asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		tmp = NULL;
		rc = LH_FAIL(err, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = LH_FAIL(err, -errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = lh_write_all(fd, text, strlen(text));
	if (rc) {
		rc = LH_FAIL(err, rc, "%s: %s", tmp, strerror(-rc));
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		fd = -1;
		rc = LH_FAIL(err, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	free(text);
	return rc;
}

/* The fields of /proc/<pid>/stat after the command name: "S ppid ...".
 * NULL when pid is gone. */
static char *vm_proc_stat(pid_t pid, char *buf, size_t size)
{
	char path[64], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: the last ')' ends it. */
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren + 2 : NULL;
}

bool lh_vm_pid_alive(pid_t pid)
{
	char buf[512], *fields;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	/* A killed QEMU whose parent (init in a container) has not reaped it
	 * still answers kill(0): read its state instead. */
	fields = vm_proc_stat(pid, buf, sizeof(buf));
	if (!fields)
		return access("/proc/self/stat", F_OK) != 0; /* no /proc: trust kill */
	return fields[0] != 'Z' && fields[0] != 'X';
}

uint64_t lh_proc_start(pid_t pid)
{
	char buf[512], *field = pid > 0 ? vm_proc_stat(pid, buf, sizeof(buf)) : NULL;

	/* The fields shown start at field 3 (state); starttime is field 22. */
	for (int i = 3; field && i < 22; i++) {
		field = strchr(field, ' ');
		if (field)
			field++;
	}
	return field ? strtoull(field, NULL, 10) : 0;
}

bool lh_proc_alive(pid_t pid, uint64_t start)
{
	return lh_vm_pid_alive(pid) && (start == 0 || lh_proc_start(pid) == start);
}

bool lh_proc_read(const cJSON *item, pid_t *pid, uint64_t *start)
{
	const cJSON *p = cJSON_IsNumber(item) ? item : cJSON_GetObjectItem(item, "pid");
	const cJSON *t = cJSON_IsObject(item) ? cJSON_GetObjectItem(item, "pid_start") : NULL;

	if (!cJSON_IsNumber(p) || p->valuedouble <= 0 || p->valuedouble > INT32_MAX)
		return false;
	*pid = (pid_t)p->valuedouble;
	*start = cJSON_IsNumber(t) && t->valuedouble > 0 ? (uint64_t)t->valuedouble : 0;
	return true;
}

static int64_t vm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool lh_proc_wait_gone(pid_t pid, uint64_t start, int timeout_ms)
{
	int64_t deadline = vm_now_ms() + timeout_ms;

	for (;;) {
		waitpid(pid, NULL, WNOHANG);
		if (!lh_proc_alive(pid, start))
			return true;
		if (vm_now_ms() >= deadline)
			return false;
		usleep(2000);
	}
}

void lh_proc_end(pid_t pid, uint64_t start, int wait_ms)
{
	if (pid <= 0 || lh_proc_wait_gone(pid, start, 0))
		return;
	kill(pid, SIGTERM);
	if (!lh_proc_wait_gone(pid, start, wait_ms)) {
		kill(pid, SIGKILL);
		lh_proc_wait_gone(pid, start, wait_ms);
	}
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
};

static int vm_paths_get(const struct lh_config *cfg, const char *uvm_id, struct vm_paths *p)
{
	const char *id = uvm_id ? uvm_id : cfg->uvm_id;

	memset(p, 0, sizeof(*p));
	p->record = lh_vm_record_path(cfg, id);
	if (asprintf(&p->qmp, "%s/%s.qmp", cfg->run_dir, id) < 0)
		p->qmp = NULL;
	if (asprintf(&p->control, "%s/%s.control", cfg->run_dir, id) < 0)
		p->control = NULL;
	if (asprintf(&p->log, "%s/%s.log", cfg->run_dir, id) < 0)
		p->log = NULL;
	if (asprintf(&p->pidfile, "%s/%s.pid", cfg->run_dir, id) < 0)
		p->pidfile = NULL;
	return p->record && p->qmp && p->control && p->log && p->pidfile ? 0 : -ENOMEM;
}

static void vm_paths_free(struct vm_paths *p)
{
	free(p->record);
	free(p->qmp);
	free(p->control);
	free(p->log);
	free(p->pidfile);
}

static int vm_build_argv(const struct lh_config *cfg, const struct lh_vm_layout *l,
			 const struct vm_paths *p, struct vm_argv *a)
{
	int ports = l->pmem_devices + l->share_ports, rc = 0;
	/* Each pmem device gets its own 1 GiB-aligned window of device memory. */
	uint64_t maxmem = l->memory_bytes +
			  (uint64_t)l->pmem_devices * ((l->pmem_max_bytes + GIB - 1) / GIB * GIB);

	rc |= vm_arg(a, "%s", cfg->qemu_binary);
	rc |= vm_arg(a, "-machine") | vm_arg(a, "q35,accel=kvm:tcg");
	rc |= vm_arg(a, "-nodefaults") | vm_arg(a, "-display") | vm_arg(a, "none");
	rc |= vm_arg(a, "-S") | vm_arg(a, "-daemonize");
	rc |= vm_arg(a, "-pidfile") | vm_arg(a, "%s", p->pidfile);
	rc |= vm_arg(a, "-m");
	if (l->pmem_devices)
		rc |= vm_arg(a, "%lluM,slots=%d,maxmem=%lluM",
			     (unsigned long long)(l->memory_bytes >> 20), l->pmem_devices,
			     (unsigned long long)(maxmem >> 20));
	else
		rc |= vm_arg(a, "%lluM", (unsigned long long)(l->memory_bytes >> 20));
	rc |= vm_arg(a, "-global") | vm_arg(a, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off");
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
	return rc ? -ENOMEM : 0;
}

/* The last line QEMU wrote to its log, for an error message. */
static void vm_log_tail(const char *log, char *buf, size_t cap)
{
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;
	char *end, *line;

	buf[0] = '\0';
	if (fd >= 0) {
		off_t size = lseek(fd, 0, SEEK_END);
		off_t from = size > (off_t)cap - 1 ? size - (off_t)cap + 1 : 0;

		n = pread(fd, buf, cap - 1, from);
		close(fd);
	}
	if (n <= 0) {
		snprintf(buf, cap, "(no output)");
		return;
	}
	buf[n] = '\0';
	end = buf + n;
	while (end > buf && end[-1] == '\n')
		*--end = '\0';
	line = strrchr(buf, '\n');
	if (line)
		memmove(buf, line + 1, strlen(line + 1) + 1);
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

static cJSON *vm_record_new(const char *id, pid_t pid, uint64_t start, const struct vm_paths *p,
			    const struct lh_vm_layout *l)
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
	    !cJSON_AddArrayToObject(rec, "daemons") || !cJSON_AddObjectToObject(rec, "driver")) {
		cJSON_Delete(rec);
		return NULL;
	}
	return rec;
}

int lh_vm_start(const struct lh_config *cfg, const char *uvm_id, struct lh_error *err)
{
	const char *id = uvm_id ? uvm_id : cfg->uvm_id;
	struct vm_argv argv = { 0 };
	struct vm_paths p;
	struct lh_vm_layout layout;
	struct lh_qmp *qmp = NULL;
	cJSON *rec = NULL;
	pid_t pid = 0, old_pid;
	uint64_t start = 0, old_start;
	int rc, status;

	rc = vm_paths_get(cfg, uvm_id, &p);
	if (rc) {
		rc = LH_FAIL(err, rc, "vm start: out of memory");
		goto out;
	}
	rc = lh_vm_layout_get(cfg, &layout, err);
	if (rc)
		goto out;
	if (mkdir(cfg->run_dir, 0755) < 0 && errno != EEXIST) {
		rc = LH_FAIL(err, -errno, "%s: cannot create run folder: %s", cfg->run_dir,
			     strerror(errno));
		goto out;
	}
	if (lh_vm_record_load(p.record, &rec, NULL) == 0 &&
	    lh_proc_read(rec, &old_pid, &old_start) && lh_proc_alive(old_pid, old_start)) {
		rc = LH_FAIL(err, -EEXIST, "UVM '%s' is already running (pid %d, %s)", id,
			     (int)old_pid, p.record);
		goto out;
	}
	cJSON_Delete(rec);
	rec = NULL;
	unlink(p.qmp);
	unlink(p.pidfile);
	unlink(p.control);
	rc = vm_build_argv(cfg, &layout, &p, &argv);
	if (!rc)
		rc = vm_spawn(argv.v, p.log, &status);
	if (rc) {
		rc = LH_FAIL(err, rc, "UVM '%s': cannot start %s: %s", id, cfg->qemu_binary,
			     strerror(-rc));
		goto out;
	}
	/* With -daemonize the parent exits once the machine is built, so its
	 * status is the verdict and the QMP socket exists by now. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || vm_read_pidfile(p.pidfile, &pid)) {
		char tail[512];

		vm_log_tail(p.log, tail, sizeof(tail));
		rc = LH_FAIL(err, -LH_EDRIVER, "UVM '%s': %s failed to start: %s (see %s)", id,
			     cfg->qemu_binary, tail, p.log);
		goto out;
	}
	start = lh_proc_start(pid);
	rc = lh_qmp_connect(p.control, LH_QMP_TIMEOUT_MS, &qmp, err);
	if (rc)
		goto kill;
	rec = vm_record_new(id, pid, start, &p, &layout);
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

int lh_vm_stop(const struct lh_config *cfg, const char *uvm_id, struct lh_error *err)
{
	struct vm_paths p;
	struct lh_qmp *qmp = NULL;
	cJSON *rec = NULL, *daemon;
	uint64_t start;
	pid_t pid;
	int rc;

	rc = vm_paths_get(cfg, uvm_id, &p);
	if (rc) {
		rc = LH_FAIL(err, rc, "vm stop: out of memory");
		goto out;
	}
	rc = lh_vm_record_load(p.record, &rec, err);
	if (rc)
		goto out;
	if (lh_proc_read(rec, &pid, &start) && lh_proc_alive(pid, start)) {
		if (lh_qmp_connect(p.control, 2000, &qmp, NULL) == 0)
			lh_qmp_execute(qmp, "quit", NULL, NULL, 2000, NULL);
		if (!lh_proc_wait_gone(pid, start, VM_STOP_WAIT_MS)) {
			kill(pid, SIGKILL);
			if (!lh_proc_wait_gone(pid, start, VM_STOP_WAIT_MS)) {
				rc = LH_FAIL(err, -ETIMEDOUT, "UVM pid %d does not exit", (int)pid);
				goto out;
			}
		}
	}
	cJSON_ArrayForEach(daemon, cJSON_GetObjectItem(rec, "daemons"))
		vm_end_daemon(daemon);
	unlink(cJSON_GetObjectItem(rec, "qmp")->valuestring);
	unlink(p.control);
	unlink(p.pidfile);
	if (unlink(p.record) < 0)
		rc = LH_FAIL(err, -errno, "%s: %s", p.record, strerror(errno));
out:
	lh_qmp_close(qmp);
	cJSON_Delete(rec);
	vm_paths_free(&p);
	return rc;
}

int lh_vm_status(const struct lh_config *cfg, const char *uvm_id, cJSON **out,
		 struct lh_error *err)
{
	char *path = lh_vm_record_path(cfg, uvm_id);
	const cJSON *control;
	struct lh_qmp *qmp = NULL;
	cJSON *rec = NULL, *status = NULL, *pending, *pmem;
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
	if (!pending || !cJSON_AddBoolToObject(rec, "running", running) ||
	    !cJSON_AddItemToObject(rec, "pending_removal", pending)) {
		cJSON_Delete(pending);
		rc = LH_FAIL(err, -ENOMEM, "vm status: out of memory");
		goto out;
	}
	if (status)
		cJSON_AddItemToObject(rec, "status", status);
	else
		cJSON_AddNullToObject(rec, "status");
	status = NULL;
	*out = rec;
	rec = NULL;
out:
	lh_qmp_close(qmp);
	cJSON_Delete(status);
	cJSON_Delete(rec);
	free(path);
	return rc;
}
