/*
 * test_guest.c - the qemu driver with a real Linux guest: one VM for the
 * whole program, started as `vm start` starts it (the qemu driver from the
 * registry, a host of the real backends sizing it, [uvm] guest naming
 * guest/mkinitramfs.sh's kernel and initramfs, TCG forced), requests
 * shaped as layerhost's plugins shape them (a device, and its
 * GuestRequest) through the driver's modify, and what the guest then sees
 * read back through the driver's vm_exec. QEMU's side is checked by a QMP
 * connection of the test's own.
 *
 * Skips (77), saying why, without root (virtiofsd), qemu-system-x86_64,
 * mkfs.ext4 and qemu-img, or the kernel and initramfs (the guest_initramfs
 * fixture writes "unavailable" when it could not download the kernel).
 * LH_GUEST_DIR names another folder holding vmlinux and initramfs.cpio;
 * LH_TEST_GUEST_LOG=1 prints the guest's console at the end.
 */
#include "cutest.h"
#include "fixtures.h"
#include "host.h"
#include "qmp.h"
#include "registry.h"
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024ull * 1024)
#define VIRTIOFSD "/usr/lib/qemu/virtiofsd"
#define UVM "gt"
#define ROOTFS "/run/gcs/c/c1/rootfs"

static struct {
	struct lh_config *cfg;
	struct lh_driver *driver;
	struct lh_host *host;
	char control[1100]; /* QEMU's control monitor: the test's own look at it */
	char serial[1200];
} t;

static const char *guest_dir(void)
{
	const char *dir = getenv("LH_GUEST_DIR");

	return dir && *dir ? dir : LH_TEST_GUEST_DIR;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- requests through the driver ------------------------------------------ */

/* One request from JSON text, then the flush a command ends with. */
static int request(struct lh_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int request(struct lh_error *err, const char *fmt, ...)
{
	char text[8192];
	cJSON *req;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	req = cJSON_Parse(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	lh_error_clear(err);
	rc = t.driver->ops->modify(t.driver, UVM, req, err);
	if (rc == 0)
		rc = t.driver->ops->flush(t.driver, err);
	cJSON_Delete(req);
	return rc;
}

#define REQUEST_OK(...)                                                                  \
	do {                                                                             \
		struct lh_error e_ = { 0 };                                              \
		if (request(&e_, __VA_ARGS__))                                           \
			fprintf(stderr, "\n  line %d: %s\n", __LINE__, e_.message);       \
		CU_ASSERT_EQUAL(e_.code, 0);                                             \
	} while (0)

/* A SCSI attachment with its guest mount, as the scsi plugin sends it. */
#define SCSI_ADD(c, l, path, ro, mount)                                                   \
	"{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/%d/Attachments/%d\",\"RequestType\":" \
	"\"Add\",\"Settings\":{\"Type\":\"VirtualDisk\",\"Path\":\"%s\"%s},\"GuestRequest\":"  \
	"{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":"       \
	"{\"MountPath\":\"%s\",\"Controller\":%d,\"Lun\":%d%s}}}", c, l, path,                 \
		ro ? ",\"ReadOnly\":true" : "", mount, c, l,                                    \
		ro ? ",\"ReadOnly\":true,\"Options\":[\"ro\"]" : ""
#define SCSI_REMOVE(c, l, mount)                                                          \
	"{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/%d/Attachments/%d\",\"RequestType\":" \
	"\"Remove\",\"GuestRequest\":{\"RequestType\":\"Remove\",\"ResourceType\":"          \
	"\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":\"%s\",\"Controller\":%d,"        \
	"\"Lun\":%d}}}", c, l, mount, c, l
#define PMEM_ADD(n, path)                                                                 \
	"{\"ResourcePath\":\"VirtualMachine/Devices/VirtualPMem/Devices/%d\",\"RequestType\":" \
	"\"Add\",\"Settings\":{\"HostPath\":\"%s\",\"ReadOnly\":true,\"ImageFormat\":"        \
	"\"Vhd1\"},\"GuestRequest\":{\"RequestType\":\"Add\",\"ResourceType\":"              \
	"\"VPMemDevice\",\"Settings\":{\"DeviceNumber\":%d,\"MountPath\":\"/run/layers/p%d\"}}}", \
		n, path, n, n
#define PMEM_REMOVE(n)                                                                    \
	"{\"ResourcePath\":\"VirtualMachine/Devices/VirtualPMem/Devices/%d\",\"RequestType\":" \
	"\"Remove\",\"GuestRequest\":{\"RequestType\":\"Remove\",\"ResourceType\":"          \
	"\"VPMemDevice\",\"Settings\":{\"DeviceNumber\":%d,\"MountPath\":\"/run/layers/p%d\"}}}", \
		n, n, n
/* The rootfs, topmost layer first, as the pipeline sends it. */
#define COMBINE(top, base)                                                                \
	"{\"GuestRequest\":{\"RequestType\":\"Add\",\"ResourceType\":\"CombinedLayers\","     \
	"\"Settings\":{\"ContainerID\":\"c1\",\"ContainerRootPath\":\"" ROOTFS "\","           \
	"\"Layers\":[{\"Path\":\"%s\"},{\"Path\":\"%s\"}],\"ScratchPath\":"                    \
	"\"/run/mounts/scsi/m1/scratch/c1\"}}}", top, base
#define UNCOMBINE                                                                          \
	"{\"GuestRequest\":{\"RequestType\":\"Remove\",\"ResourceType\":\"CombinedLayers\","  \
	"\"Settings\":{\"ContainerRootPath\":\"" ROOTFS "\"}}}"

/* Run argv (NULL-terminated) in root (NULL: the UVM) through the driver;
 * its stdout (malloc'd), or NULL when it could not run. */
static char *run(const char *root, int *status, const char *arg0, ...)
{
	const char *argv[32] = { arg0 };
	struct lh_vm_exec_result r;
	struct lh_error err = { 0 };
	size_t n = 1;
	va_list ap;
	char *out;

	va_start(ap, arg0);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	if (lh_host_vm_exec(t.host, &(struct lh_vm_exec){ .argv = argv, .root = root }, &r, &err)) {
		fprintf(stderr, "\n  exec %s: %s\n", arg0, err.message);
		lh_vm_exec_result_free(&r);
		return NULL;
	}
	if (status)
		*status = r.exit_code;
	if (r.exit_code && r.err_len)
		fprintf(stderr, "\n  exec %s: exit %d: %s", arg0, r.exit_code, r.err);
	out = r.out;
	r.out = NULL;
	lh_vm_exec_result_free(&r);
	return out;
}

static void assert_cat(const char *file, const char *expect)
{
	char *out = run(ROOTFS, NULL, "cat", file, NULL);

	if (!out || strcmp(out, expect) != 0)
		fprintf(stderr, "\n  cat %s: \"%s\", expected \"%s\"\n", file, out ? out : "(null)",
			expect);
	CU_ASSERT(out && strcmp(out, expect) == 0);
	free(out);
}

/* The guest's /proc/mounts line for the mount at path ("" when none). */
static char *guest_mount(const char *path)
{
	static char line[1024];
	char *mounts = run(NULL, NULL, "cat", "/proc/mounts", NULL), *p, needle[512];

	CU_ASSERT_PTR_NOT_NULL(mounts);
	line[0] = '\0';
	snprintf(needle, sizeof(needle), " %s ", path);
	if (mounts && (p = strstr(mounts, needle))) {
		while (p > mounts && p[-1] != '\n')
			p--;
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
	}
	free(mounts);
	return line;
}

/* Whether the guest mounts anything under prefix. */
static bool guest_mounts_under(const char *prefix)
{
	char *mounts = run(NULL, NULL, "cat", "/proc/mounts", NULL), needle[512];
	bool found;

	snprintf(needle, sizeof(needle), " %s", prefix);
	found = mounts && strstr(mounts, needle);
	free(mounts);
	return found;
}

/* ---- QEMU, from outside --------------------------------------------------- */

/* One query on the VM's control monitor, connected for it alone: vm
 * status uses the same monitor, which serves one client at a time. */
static cJSON *probe(const char *command, const char *args)
{
	struct lh_error err = { 0 };
	struct lh_qmp *q = NULL;
	cJSON *ret = NULL;

	if (lh_qmp_connect(t.control, 5000, &q, &err) ||
	    lh_qmp_execute(q, command, args ? cJSON_Parse(args) : NULL, &ret, 10000, &err))
		fprintf(stderr, "\n  %s: %s\n", command, err.message);
	lh_qmp_close(q);
	return ret;
}

/* Whether QEMU holds a device of this id. */
static bool qemu_has(const char *id)
{
	cJSON *list = probe("qom-list", "{\"path\":\"/machine/peripheral\"}"), *p;
	bool found = false;

	cJSON_ArrayForEach(p, list)
		found = found || strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")), id) == 0;
	cJSON_Delete(list);
	return found;
}

static double qom_number(const char *path, const char *property)
{
	char args[256];
	cJSON *v;
	double n;

	snprintf(args, sizeof(args), "{\"path\":\"%s\",\"property\":\"%s\"}", path, property);
	v = probe("qom-get", args);
	n = cJSON_IsNumber(v) ? v->valuedouble : -1;
	cJSON_Delete(v);
	return n;
}

static cJSON *vm_status(void)
{
	struct lh_error err = { 0 };
	cJSON *st = NULL;

	if (lh_host_vm_status(t.host, &st, &err))
		fprintf(stderr, "\n  vm status: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	return st;
}

/* Whether vm status lists a problem holding needle. */
static bool vm_problem(const char *needle)
{
	cJSON *st = vm_status(), *p;
	bool found = false;

	cJSON_ArrayForEach(p, cJSON_GetObjectItem(st, "problems"))
		found = found || strstr(p->valuestring, needle);
	cJSON_Delete(st);
	return found;
}

/* The journal's last line's "guest" member ("" when it has none). */
static const char *journal_guest(void)
{
	static char last[256];
	char *text = fixture_read(fixture_path("gt.journal"), NULL), *line;
	cJSON *j;

	last[0] = '\0';
	if (!text)
		return last;
	text[strlen(text) - 1] = '\0';
	line = strrchr(text, '\n');
	j = cJSON_Parse(line ? line + 1 : text);
	if (cJSON_GetStringValue(cJSON_GetObjectItem(j, "guest")))
		snprintf(last, sizeof(last), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "guest")));
	cJSON_Delete(j);
	free(text);
	return last;
}

/* ---- the VM's life ---------------------------------------------------------- */

/* QEMU daemonizes, so it would outlive a test that crashed: the signals
 * that end this program end it first. */
static volatile pid_t qemu_pid;

static void end_qemu(int sig)
{
	if (qemu_pid > 0)
		kill(qemu_pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void watch_qemu(const char *run_dir)
{
	static const int fatal[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGTERM, SIGINT };
	char path[1100], *text;

	snprintf(path, sizeof(path), "%s/" UVM ".pid", run_dir);
	text = fixture_read(path, NULL);
	qemu_pid = text ? (pid_t)atoi(text) : 0;
	free(text);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], end_qemu);
}

/* Why this machine cannot run the test, or NULL. */
static const char *skip_reason(void)
{
	static char why[1400];
	char path[1100];
	char *note;

	if (geteuid() != 0)
		return "needs root (virtiofsd)";
	if (fixture_sh("command -v qemu-system-x86_64 >/dev/null") != 0)
		return "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)";
	if (fixture_sh("command -v mkfs.ext4 >/dev/null && command -v qemu-img >/dev/null") != 0)
		return "mkfs.ext4 or qemu-img missing (e2fsprogs, qemu-utils)";
	snprintf(path, sizeof(path), "%s/unavailable", guest_dir());
	if ((note = fixture_read(path, NULL))) {
		note[strcspn(note, "\n")] = '\0';
		snprintf(why, sizeof(why), "no guest kernel: %s", note);
		free(note);
		return why;
	}
	snprintf(path, sizeof(path), "%s/vmlinux", guest_dir());
	if (access(path, R_OK) != 0) {
		snprintf(why, sizeof(why), "no %s: build it with guest/mkinitramfs.sh", path);
		return why;
	}
	return NULL;
}

static int vm_boot(void)
{
	struct lh_driver_params params;
	struct lh_error err = { 0 };
	char *ini;
	cJSON *st;
	int64_t t0;

	/* Two controllers (the guest finds controller 1 by its PCI slot),
	 * four pmem devices. */
	if (asprintf(&ini, "[host]\nplugin_dir = %s\ndriver = qemu\nrun_dir = %s\n"
		     "journal = %s\njournal_fsync = never\n"
		     "[uvm]\nid = " UVM "\nos = linux\nmemory = 256M\naccel = tcg\nguest = %s\n"
		     "[plugin.vpmem]\nmulti_mapping = false\nmax_devices = 4\n"
		     "[plugin.scsi]\ncontrollers = 2\nluns_per_controller = 8\n",
		     LH_TEST_PLUGIN_DIR, fixture_path("run"), fixture_path("gt.journal"),
		     guest_dir()) < 0 ||
	    lh_config_parse(ini, "gt.ini", fixture_dir(), &t.cfg, &err)) {
		fprintf(stderr, "guest: config: %s\n", err.message);
		return 1;
	}
	free(ini);
	lh_config_driver_params(t.cfg, &params);
	snprintf(t.serial, sizeof(t.serial), "%s/" UVM ".serial", t.cfg->run_dir);
	snprintf(t.control, sizeof(t.control), "%s/" UVM ".control", t.cfg->run_dir);
	t0 = now_ms();
	if (lh_driver_open("qemu", &params, &t.driver, &err) ||
	    lh_host_open(t.cfg, t.driver, NULL, &t.host, &err) || lh_host_vm_start(t.host, &err)) {
		fprintf(stderr, "guest: vm start: %s\n", err.message);
		return 1;
	}
	watch_qemu(t.cfg->run_dir);
	if (lh_host_vm_status(t.host, &st, &err)) {
		fprintf(stderr, "guest: vm status: %s\n", err.message);
		return 1;
	}
	fprintf(stderr, "guest: vm start took %lld ms (agent ready %.0f ms after QEMU's start)\n",
		(long long)(now_ms() - t0), cJSON_GetNumberValue(cJSON_GetObjectItem(
			cJSON_GetObjectItem(st, "guest"), "ready_ms")));
	cJSON_Delete(st);
	return 0;
}

static int vm_end(void)
{
	struct lh_error err = { 0 };
	char *log;

	if (t.host && lh_host_vm_stop(t.host, &err))
		fprintf(stderr, "guest: vm stop: %s\n", err.message);
	qemu_pid = 0;
	if (getenv("LH_TEST_GUEST_LOG") && (log = fixture_read(t.serial, NULL))) {
		fprintf(stderr, "---- guest serial log\n%s----\n", log);
		free(log);
	}
	lh_host_close(t.host);
	lh_driver_close(t.driver);
	lh_config_free(t.cfg);
	return 0;
}

/* ---- the cases -------------------------------------------------------------- */

/* vm start left a running guest on record: its agent answers pings. */
static void test_booted(void)
{
	cJSON *st = vm_status(), *guest = cJSON_GetObjectItem(st, "guest");
	cJSON *ping = cJSON_GetObjectItem(guest, "ping");
	char path[1100], *abi;

	CU_ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(st, "running")));
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(st, "accel")), "tcg");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ping);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cJSON_GetObjectItem(st, "status"));
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(
				       cJSON_GetObjectItem(st, "status"), "status")), "running");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(st, "problems")), 0);
	CU_ASSERT_EQUAL(cJSON_GetNumberValue(cJSON_GetObjectItem(ping, "generation")), 0);
	snprintf(path, sizeof(path), "%s/kernel.abi", guest_dir());
	abi = fixture_read(path, NULL);
	if (abi)
		abi[strcspn(abi, "\n")] = '\0';
	CU_ASSERT(abi && cJSON_GetStringValue(cJSON_GetObjectItem(ping, "kernel")) &&
		  strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ping, "kernel")), abi) == 0);
	free(abi);
	cJSON_Delete(st);
}

static void test_exec(void)
{
	int status = -1;
	char *out = run(NULL, &status, "sh", "-c", "echo out; echo err >&2; exit 7", NULL);

	CU_ASSERT_EQUAL(status, 7);
	CU_ASSERT(out && strcmp(out, "out\n") == 0);
	free(out);
}

/* A layer image: mkfs.ext4 -d of a tree, then layerhost's VHD footer. */
static const char *make_layer(const char *name, const char *size, const char *mkfs_opts,
			      const char *files)
{
	static char paths[8][1024];
	static int next;
	const char *tree = fixture_path(name);
	char *img = paths[next++ % 8];

	snprintf(img, 1024, "%s.vhd", tree);
	CU_ASSERT_EQUAL_FATAL(fixture_sh("mkdir -p '%s' && cd '%s' && %s && truncate -s %s '%s' && "
					 "mkfs.ext4 -q -F %s -E root_owner=0:0 -d . '%s' >/dev/null "
					 "2>&1 && '%s' footer '%s'", tree, tree, files, size, img,
					 mkfs_opts, img, LH_TEST_VHD_TOOL, img), 0);
	return img;
}

/*
 * A container the way the pipeline builds one, through the driver: the
 * base on VPMem (4 KiB blocks, 2 MiB-aligned: DAX), the top on SCSI
 * controller 1, a blank writable scratch formatted by the guest, the
 * rootfs topmost first. Every guest half is delivered, in hcsshim's order.
 */
static void test_container(void)
{
	const char *base, *top, *odd, *scratch = fixture_path("scratch/sandbox.vhdx");
	char *line, *out;
	int status = -1;

	base = make_layer("base", "8M", "-b 4096",
			  "mkdir -p etc && echo base > etc/motd && echo 'base only' > etc/os-release");
	top = make_layer("top", "8M", "", "mkdir -p etc srv && echo top > etc/motd && "
			 "echo '<h1>top layer</h1>' > srv/index.html");
	odd = make_layer("odd", "5M", "-b 4096", "echo odd > odd.txt");
	CU_ASSERT_EQUAL_FATAL(fixture_sh("qemu-img create -q -f vhdx '%s' 64M", scratch), 0);

	REQUEST_OK(PMEM_ADD(0, base));
	CU_ASSERT_STRING_EQUAL(journal_guest(), "delivered");
	REQUEST_OK(SCSI_ADD(1, 0, top, true, "/run/mounts/scsi/m0"));
	REQUEST_OK(SCSI_ADD(0, 1, scratch, false, "/run/mounts/scsi/m1"));
	REQUEST_OK(COMBINE("/run/mounts/scsi/m0", "/run/layers/p0"));
	CU_ASSERT_STRING_EQUAL(journal_guest(), "delivered");
	/* QEMU placed the pmem device 2 MiB-aligned; the guest maps it DAX. */
	CU_ASSERT_EQUAL(qom_number("/objects/pmem-mem0", "align"), 2 * MIB);
	line = guest_mount("/run/layers/p0");
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "dax"));
	CU_ASSERT_PTR_NOT_NULL(strstr(guest_mount("/run/mounts/scsi/m0"), "ro,"));
	assert_cat("/srv/index.html", "<h1>top layer</h1>\n");
	assert_cat("/etc/motd", "top\n"); /* the top layer shadows the base's */
	assert_cat("/etc/os-release", "base only\n");

	/* A file written in the container lands in the scratch, and stays
	 * there through an unmount, an unplug and a plug again. */
	out = run(ROOTFS, &status, "sh", "-c", "echo written > /written.txt && sync", NULL);
	CU_ASSERT_EQUAL(status, 0);
	free(out);
	REQUEST_OK(UNCOMBINE);
	REQUEST_OK(SCSI_REMOVE(0, 1, "/run/mounts/scsi/m1"));
	CU_ASSERT_FALSE(qemu_has("disk0-1"));
	CU_ASSERT_STRING_EQUAL(guest_mount("/run/mounts/scsi/m1"), "");
	CU_ASSERT_STRING_EQUAL(guest_mount(ROOTFS), "");
	REQUEST_OK(SCSI_ADD(0, 1, scratch, false, "/run/mounts/scsi/m1"));
	REQUEST_OK(COMBINE("/run/mounts/scsi/m0", "/run/layers/p0"));
	assert_cat("/written.txt", "written\n");
	assert_cat("/etc/motd", "top\n");

	/* A layer whose size is not a 2 MiB multiple: no align (QEMU would
	 * refuse it), a raw namespace in the guest, no DAX. */
	REQUEST_OK(PMEM_ADD(1, odd));
	CU_ASSERT_EQUAL(qom_number("/objects/pmem-mem1", "align"), 0);
	line = guest_mount("/run/layers/p1");
	CU_ASSERT(line[0] && !strstr(line, "dax"));
	out = run(NULL, NULL, "cat", "/run/layers/p1/odd.txt", NULL);
	CU_ASSERT(out && strcmp(out, "odd\n") == 0);
	free(out);

	/* Released in hcsshim's order: combined layers, scratch, layers.
	 * QEMU cannot unplug the pmem devices; they stay, unmounted. */
	REQUEST_OK(UNCOMBINE);
	REQUEST_OK(SCSI_REMOVE(0, 1, "/run/mounts/scsi/m1"));
	REQUEST_OK(SCSI_REMOVE(1, 0, "/run/mounts/scsi/m0"));
	REQUEST_OK(PMEM_REMOVE(1));
	REQUEST_OK(PMEM_REMOVE(0));
	CU_ASSERT_STRING_EQUAL(journal_guest(), "delivered");
	for (const char *p = "/run/gcs\0/run/mounts\0/run/layers\0"; *p; p += strlen(p) + 1)
		CU_ASSERT_FALSE(guest_mounts_under(p));
	CU_ASSERT_FALSE(qemu_has("disk0-1"));
	CU_ASSERT_FALSE(qemu_has("disk1-0"));
	/* A second removal is a retried release: done already. */
	REQUEST_OK(UNCOMBINE);
}

/* A read-only share: a virtiofsd, the device, and the guest's mount;
 * removed with ACPI hotplug in well under the 5 s native PCIe hotplug
 * would wait. */
static void test_share(void)
{
	const char *file = fixture_path("share/hello.txt");
	char dir[1024], *out;
	int64_t t0;
	int status = 0;

	if (access(VIRTIOFSD, X_OK) != 0) {
		fprintf(stderr, "\n  skipped: no %s ", VIRTIOFSD);
		return;
	}
	CU_ASSERT_EQUAL(fixture_write(file, "shared\n", 7), 0);
	snprintf(dir, sizeof(dir), "%s", file);
	*strrchr(dir, '/') = '\0';
	REQUEST_OK("{\"ResourcePath\":\"VirtualMachine/Devices/VirtualSmb/Shares\",\"RequestType\":"
		   "\"Add\",\"Settings\":{\"Name\":\"s1\",\"Path\":\"%s\",\"Options\":{\"ReadOnly\":"
		   "true}},\"GuestRequest\":{\"RequestType\":\"Add\",\"ResourceType\":"
		   "\"MappedDirectory\",\"Settings\":{\"MountPath\":\"/run/shares/s1\",\"ShareName\":"
		   "\"s1\",\"ReadOnly\":true}}}", dir);
	out = run(NULL, NULL, "cat", "/run/shares/s1/hello.txt", NULL);
	CU_ASSERT(out && strcmp(out, "shared\n") == 0);
	free(out);
	out = run(NULL, &status, "sh", "-c", "echo x > /run/shares/s1/new.txt", NULL);
	CU_ASSERT_NOT_EQUAL(status, 0);
	free(out);
	t0 = now_ms();
	REQUEST_OK("{\"ResourcePath\":\"VirtualMachine/Devices/VirtualSmb/Shares\",\"RequestType\":"
		   "\"Remove\",\"Settings\":{\"Name\":\"s1\"},\"GuestRequest\":{\"RequestType\":"
		   "\"Remove\",\"ResourceType\":\"MappedDirectory\",\"Settings\":{\"MountPath\":"
		   "\"/run/shares/s1\"}}}");
	fprintf(stderr, "\n  share unmounted and unplugged in %lld ms ", (long long)(now_ms() - t0));
	CU_ASSERT(now_ms() - t0 < 4000);
	CU_ASSERT_FALSE(qemu_has("fs-s1"));
	CU_ASSERT_STRING_EQUAL(guest_mount("/run/shares/s1"), "");
}

/* The guest cannot mount a layer: the request fails with the guest's
 * words, the disk is unplugged again, nothing is mounted. */
static void test_not_ext4(void)
{
	const char *junk = fixture_path("junk.vhd");
	struct lh_error err = { 0 };

	CU_ASSERT_EQUAL_FATAL(fixture_sh("head -c 4M /dev/urandom > '%s' && '%s' footer '%s'", junk,
					 LH_TEST_VHD_TOOL, junk), 0);
	CU_ASSERT_EQUAL(request(&err, SCSI_ADD(0, 2, junk, true, "/run/mounts/scsi/m2")),
			-LH_EDRIVER);
	ASSERT_MSG_HAS(err, "UVM 'gt': Add VirtualMachine/Devices/Scsi/0/Attachments/2: guest: "
			    "mount /dev/sd");
	ASSERT_MSG_HAS(err, "Invalid argument: no ext4 filesystem on /dev/sd");
	/* The journal keeps the guest's error beside the request. */
	CU_ASSERT_PTR_NOT_NULL(strstr(journal_guest(), "guest: mount /dev/sd"));
	CU_ASSERT_EQUAL(t.driver->ops->flush(t.driver, &err), 0);
	CU_ASSERT_FALSE(qemu_has("disk0-2"));
	CU_ASSERT_STRING_EQUAL(guest_mount("/run/mounts/scsi/m2"), "");
}

/* A guest request for a disk that never comes: the agent's wait is
 * bounded, and its answer is the request's failure. */
static void test_no_disk(void)
{
	struct lh_error err = { 0 };
	int64_t t0 = now_ms(), took;

	CU_ASSERT_EQUAL(request(&err, "{\"GuestRequest\":{\"RequestType\":\"Add\",\"ResourceType\":"
				"\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":"
				"\"/run/mounts/scsi/m9\",\"Lun\":7,\"ReadOnly\":true}}}"),
			-LH_EDRIVER);
	took = now_ms() - t0;
	ASSERT_MSG_HAS(err, "UVM 'gt': Add MappedVirtualDisk: guest: SCSI 0:7: no disk under");
	CU_ASSERT(took >= 4900 && took < 15000);
}

/* The agent dies mid-command: the guest's init starts another, the
 * command fails at once, vm status says so, and the next one works. */
static void test_agent_restart(void)
{
	const char *argv[] = { "sh", "-c", "kill -9 $PPID; sleep 2", NULL };
	struct lh_vm_exec_result r;
	struct lh_error err = { 0 };
	int64_t t0 = now_ms();
	char *out;

	CU_ASSERT_EQUAL(lh_host_vm_exec(t.host, &(struct lh_vm_exec){ .argv = argv }, &r, &err),
			-ECONNRESET);
	ASSERT_MSG_HAS(err, "restarted (generation 1) while handling exec");
	CU_ASSERT(now_ms() - t0 < 5000);
	lh_vm_exec_result_free(&r);
	out = run(NULL, NULL, "echo", "still here", NULL);
	CU_ASSERT(out && strcmp(out, "still here\n") == 0);
	free(out);
	CU_ASSERT_TRUE(vm_problem("guest: the agent restarted 1 time(s) in this boot"));
}

/* Last: a guest panic ends QEMU (panic=-1, -no-reboot). The command that
 * caused it fails at once; requests then fail fast naming the panic, and
 * removals succeed (what was in the VM went with it); vm status says it. */
static void test_panic(void)
{
	const char *argv[] = { "sh", "-c", "echo c > /proc/sysrq-trigger", NULL };
	struct lh_vm_exec_result r;
	struct lh_error err = { 0 };
	int64_t t0 = now_ms();
	cJSON *st;

	CU_ASSERT_NOT_EQUAL(lh_host_vm_exec(t.host, &(struct lh_vm_exec){ .argv = argv }, &r, &err),
			    0);
	lh_vm_exec_result_free(&r);
	CU_ASSERT(now_ms() - t0 < 10000);
	fprintf(stderr, "\n  guest panic reported in %lld ms ", (long long)(now_ms() - t0));
	/* QEMU exits a moment after the guest's console says why. */
	for (int i = 0; i < 500; i++) {
		bool running;

		st = vm_status();
		running = cJSON_IsTrue(cJSON_GetObjectItem(st, "running"));
		cJSON_Delete(st);
		if (!running)
			break;
		usleep(20000);
	}
	t0 = now_ms();
	CU_ASSERT_EQUAL(request(&err, UNCOMBINE), 0);
	CU_ASSERT_STRING_EQUAL(journal_guest(), "undelivered");
	CU_ASSERT_EQUAL(request(&err, PMEM_ADD(2, fixture_path("base.vhd"))), -LH_EDRIVER);
	ASSERT_MSG_HAS(err, "the guest's kernel panicked: Kernel panic - not syncing");
	CU_ASSERT(now_ms() - t0 < 5000);
	st = vm_status();
	CU_ASSERT_FALSE(cJSON_IsTrue(cJSON_GetObjectItem(st, "running")));
	cJSON_Delete(st);
	CU_ASSERT_TRUE(vm_problem("guest: the kernel panicked: Kernel panic - not syncing"));
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "vm start boots the guest", test_booted },
		{ "exec in the guest", test_exec },
		{ "a container: VPMem + SCSI layers, scratch, rootfs", test_container },
		{ "a share", test_share },
		{ "a layer that is not ext4", test_not_ext4 },
		{ "a disk that never appears", test_no_disk },
		{ "the agent restarted", test_agent_restart },
		{ "a guest panic", test_panic },
		{ NULL, NULL },
	};
	static const struct cutest_suite suites[] = {
		{ "guest", cases, vm_boot, vm_end },
		{ NULL, NULL, NULL, NULL },
	};
	const char *why = skip_reason();

	if (why) {
		printf("test_guest: skipped: %s\n", why);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cutest_run_suites(suites, fixture_cleanup);
}
