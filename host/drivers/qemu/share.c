/* driver_qemu_share.c - VSMB shares on QEMU: virtio-fs devices, each with
 * a virtiofsd of its own that must not outlive its share or the VM. */
#include "qemu_private.h"

#include "clock.h"

#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void lh_qemu_share_clear(struct qemu_share *s)
{
	free(s->name);
	free(s->path);
	free(s->socket);
	memset(s, 0, sizeof(*s));
}

/* ---- shares (virtio-fs) ------------------------------------------------------ */

static struct qemu_share *qemu_share_find(struct qemu_vm *vm, const char *name)
{
	/* share_ports is a small fixed bound (vm.h), not the attachments. */
	for (int j = 0; j < vm->share_ports; j++)
		if (vm->shares[j].name && strcmp(vm->shares[j].name, name) == 0)
			return &vm->shares[j];
	return NULL;
}

static bool qemu_share_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > QEMU_SHARE_NAME_MAX || !((name[0] >= 'a' && name[0] <= 'z') ||
						   (name[0] >= 'A' && name[0] <= 'Z')))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
	       n;
}

/*
 * Start virtiofsd for s. Only async-signal-safe calls after fork: the
 * host may be multi-threaded. A read-only share is bind-mounted read-only
 * over itself in a mount namespace private to the daemon, so the guest
 * cannot write through it and nothing is left mounted when it exits.
 */
/*
 * Whether a unix socket bound at path accepts connections. virtiofsd binds
 * its socket before it listens, and takes exactly one connection, so the
 * socket cannot be probed by connecting: /proc/net/unix shows a listening
 * socket with the accept flag (__SO_ACCEPTCON, 0x10000).
 */
static bool share_socket_listening(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[4096 + 128];
	bool listening = false;

	if (!f)
		return true; /* no /proc: the socket file has to do */
	while (!listening && fgets(line, sizeof(line), f)) {
		unsigned long flags = 0;
		char bound[4096 + 1] = "";

		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %4096s", &flags, bound) == 2)
			listening = (flags & 0x10000) && strcmp(bound, path) == 0;
	}
	fclose(f);
	return listening;
}

static int qemu_daemon_start(struct qemu_driver *d, struct qemu_share *s, const char *log,
			     struct lh_error *err)
{
	char *argv[7] = { 0 };
	int64_t deadline;
	pid_t pid;
	int rc = 0;

	if (asprintf(&argv[1], "--socket-path=%s", s->socket) < 0 ||
	    asprintf(&argv[3], "source=%s", s->path) < 0) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	argv[0] = (char *)d->params.vm.virtiofsd;
	argv[2] = "-o";
	argv[4] = "-o";
	argv[5] = "sandbox=chroot";
	unlink(s->socket);
	pid = fork();
	if (pid < 0) {
		rc = LH_FAIL(err, -errno, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setpgid(0, 0); /* a terminal's ^C is for layerhost, not its helpers */
		if (s->read_only &&
		    (unshare(CLONE_NEWNS) < 0 ||
		     mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
		     mount(s->path, s->path, "none", MS_BIND | MS_REC, NULL) < 0 ||
		     mount("none", s->path, "none", MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)) {
			dprintf(2, "layerhost: %s: cannot make a read-only view: %s\n", s->path,
				strerror(errno));
			_exit(125);
		}
		execv(argv[0], argv);
		dprintf(2, "layerhost: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	s->pid = pid;
	s->pid_start = lh_proc_start(pid);
	deadline = lh_clock_ms() + QEMU_DAEMON_WAIT_MS;
	for (;;) {
		struct stat st;
		int status;

		if (stat(s->socket, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    share_socket_listening(s->socket))
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			s->pid = 0;
			rc = LH_FAIL(err, -LH_EDRIVER, "%s for share '%s' (%s) exited with status "
				     "%d (see %s)", d->params.vm.virtiofsd, s->name, s->path,
				     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				     log);
			goto out;
		}
		if (lh_clock_ms() >= deadline) {
			lh_proc_end(pid, s->pid_start, QEMU_DAEMON_WAIT_MS);
			s->pid = 0;
			rc = LH_FAIL(err, -ETIMEDOUT, "%s for share '%s' made no socket in time",
				     d->params.vm.virtiofsd, s->name);
			goto out;
		}
		usleep(2000);
	}
out:
	free(argv[1]);
	free(argv[3]);
	return rc;
}

static int qemu_share_add(struct qemu_driver *d, struct qemu_vm *vm, const cJSON *settings,
			  struct lh_error *err)
{
	const char *name = lh_qemu_string(settings, "Name"), *path = lh_qemu_string(settings, "Path");
	const cJSON *options = cJSON_GetObjectItemCaseSensitive(settings, "Options");
	struct qemu_share *s = NULL;
	char chr[96], dev[96], bus[32], *log = NULL;
	cJSON *chrargs, *devargs = NULL;
	struct stat st;
	int rc, j;

	if (!name || !path)
		return LH_FAIL(err, -EINVAL, "Settings lack Name or Path");
	if (!qemu_share_name_ok(name))
		return LH_FAIL(err, -EINVAL, "share name '%s' is not a QEMU id", name);
	if (qemu_share_find(vm, name))
		return LH_FAIL(err, -EEXIST, "share '%s' exists already", name);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return LH_FAIL(err, -ENOTDIR, "%s: not a directory virtiofsd can share", path);
	for (j = 0; j < vm->share_ports && !s; j++)
		if (!vm->shares[j].name)
			s = &vm->shares[j];
	if (!s)
		return LH_FAIL(err, -LH_ENOLOCATION, "all %d share root ports are in use",
			       vm->share_ports);
	j = (int)(s - vm->shares);
	s->read_only = lh_qemu_bool(options, "ReadOnly");
	if (!(s->name = strdup(name)) || !(s->path = strdup(path)) ||
	    asprintf(&s->socket, "%s/%s-fs-%s.sock", d->params.run_dir, vm->uvm_id, name) < 0 ||
	    asprintf(&log, "%s/%s-fs-%s.log", d->params.run_dir, vm->uvm_id, name) < 0) {
		log = NULL;
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = qemu_daemon_start(d, s, log, err);
	if (rc)
		goto fail;
	snprintf(chr, sizeof(chr), "fs-%s-chr", name);
	snprintf(dev, sizeof(dev), "fs-%s", name);
	snprintf(bus, sizeof(bus), "rp%d", vm->pmem_devices + j);
	chrargs = cJSON_CreateObject();
	devargs = cJSON_CreateObject();
	{
		cJSON *backend, *data, *addr, *adata;

		if (!chrargs || !devargs || !cJSON_AddStringToObject(chrargs, "id", chr) ||
		    !(backend = cJSON_AddObjectToObject(chrargs, "backend")) ||
		    !cJSON_AddStringToObject(backend, "type", "socket") ||
		    !(data = cJSON_AddObjectToObject(backend, "data")) ||
		    !(addr = cJSON_AddObjectToObject(data, "addr")) ||
		    !cJSON_AddStringToObject(addr, "type", "unix") ||
		    !(adata = cJSON_AddObjectToObject(addr, "data")) ||
		    !cJSON_AddStringToObject(adata, "path", s->socket) ||
		    !cJSON_AddBoolToObject(data, "server", false) ||
		    !cJSON_AddStringToObject(devargs, "driver", "vhost-user-fs-pci") ||
		    !cJSON_AddStringToObject(devargs, "id", dev) ||
		    !cJSON_AddStringToObject(devargs, "chardev", chr) ||
		    !cJSON_AddStringToObject(devargs, "tag", name) ||
		    !cJSON_AddStringToObject(devargs, "bus", bus)) {
			cJSON_Delete(chrargs);
			cJSON_Delete(devargs);
			rc = LH_FAIL(err, -ENOMEM, "out of memory");
			goto fail_daemon;
		}
	}
	rc = lh_qemu_exec(vm, "chardev-add", chrargs, NULL, err);
	if (rc) {
		cJSON_Delete(devargs);
		goto fail_daemon;
	}
	rc = lh_qemu_exec(vm, "device_add", devargs, NULL, err);
	if (rc)
		goto fail_chardev;
	rc = lh_qemu_record_save(vm, err);
	if (rc)
		goto fail_device;
	free(log);
	return 0;

fail_device:
	lh_qemu_device_del(vm, dev, NULL);
fail_chardev:
	lh_qemu_exec1(vm, "chardev-remove", "id", chr, NULL);
fail_daemon:
	lh_proc_end(s->pid, s->pid_start, QEMU_DAEMON_WAIT_MS);
	unlink(s->socket);
fail:
	lh_qemu_share_clear(s);
	free(log);
	return rc;
}

int lh_qemu_share_finish(struct qemu_vm *vm, struct qemu_share *s, struct lh_error *err)
{
	struct lh_error local = { 0 };
	char chr[96];
	int rc = 0;

	snprintf(chr, sizeof(chr), "fs-%s-chr", s->name);
	if (!vm->gone)
		rc = lh_qemu_exec1(vm, "chardev-remove", "id", chr, &local);
	if (rc && !vm->gone && !(rc == -LH_EDRIVER && strstr(local.message, "not found")))
		return lh_error_set(err, rc, local.func, "%s", local.message);
	/* With its connection closed the daemon ends by itself; make sure. */
	if (!lh_proc_wait_gone(s->pid, s->pid_start, 1000))
		lh_proc_end(s->pid, s->pid_start, QEMU_DAEMON_WAIT_MS);
	unlink(s->socket);
	lh_qemu_share_clear(s);
	return 0;
}

/* device_del now; the rest (the device gone, its chardev and daemon) with
 * the next flush, so the removals of one command overlap. The port stays
 * taken until then. */
static int qemu_share_remove(struct qemu_vm *vm, const cJSON *settings, struct lh_error *err)
{
	const char *name = lh_qemu_string(settings, "Name");
	struct qemu_share *s = name ? qemu_share_find(vm, name) : NULL;
	char dev[96];
	bool issued;
	int rc;

	if (!name)
		return LH_FAIL(err, -EINVAL, "Settings lack Name");
	if (!s || s->removing)
		return 0; /* a retried release */
	snprintf(dev, sizeof(dev), "fs-%s", name);
	rc = lh_qemu_device_del_start(vm, dev, &issued, err);
	if (rc == -EALREADY)
		return 0;
	if (rc)
		return rc;
	s->removing = true;
	if (issued)
		return lh_qemu_pending_add(vm, dev, NULL, (int)(s - vm->shares), err);
	rc = lh_qemu_share_finish(vm, s, err);
	return rc ? rc : lh_qemu_record_save(vm, err);
}

int lh_qemu_share_request(struct qemu_driver *d, struct qemu_vm *vm, const struct qemu_request *r,
		      struct lh_error *err)
{
	const char *name;

	if (strcmp(r->type, "Add") == 0)
		return qemu_share_add(d, vm, r->settings, err);
	if (strcmp(r->type, "Remove") == 0)
		return qemu_share_remove(vm, r->settings, err);
	if (strcmp(r->type, "Update") == 0) {
		/* virtiofsd exports the whole directory: the guest sees every
		 * allowed file already; the journal keeps the request. */
		name = lh_qemu_string(r->settings, "Name");
		if (!name || !qemu_share_find(vm, name))
			return LH_FAIL(err, -LH_ENOTATTACHED, "share '%s' is not attached",
				       name ? name : "(no Name)");
		return 0;
	}
	return LH_FAIL(err, -LH_EUNSUPPORTED, "request type not supported for shares");
}
