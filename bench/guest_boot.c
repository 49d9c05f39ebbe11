/*
 * guest_boot.c - benchmark 10, the real guest (guest/) under TCG, through
 * layerhost itself: `vm start` to agent-ready, then a 3-layer container
 * mounted in the booted guest (two VPMem layers and one SCSI, a blank
 * scratch the guest formats, the rootfs) and its first file read, beside
 * a bare QEMU boot of the same kernel and initramfs to its /init
 * (rdinit=/bin/poweroff: the kernel's boot and QEMU's exit, nothing of
 * layerhost's machine or agent), and the round trip of one guest request
 * through the qemu driver and the agent. Boots of the two kinds alternate
 * so a busy machine weighs on both alike.
 *
 * Needs qemu-system-x86_64, mkfs.ext4 and guest/mkinitramfs.sh's output in
 * BUILD/guest (or $LH_GUEST_DIR); LH_BENCH_GUEST_BOOTS boots of each kind
 * (3), LH_BENCH_ITERATIONS guest requests (200).
 */
#include "bench.h"
#include "disk.h"
#include "guest_boot.h"
#include "pipeline.h"
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#define BENCH "10 guest"
#define MEMORY_MB 256

static void not_run(const char *why)
{
	char text[3100];

	snprintf(text, sizeof(text), "not run: %s", why);
	bench_result(BENCH, "vm start + mount + first read", text, "-", "-");
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* Why this machine cannot run the benchmark, or NULL. */
static const char *missing(const char *dir)
{
	static char why[1200];
	char path[1100];

	if (system("command -v qemu-system-x86_64 >/dev/null") != 0)
		return "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)";
	if (system("command -v mkfs.ext4 >/dev/null") != 0)
		return "mkfs.ext4 is not installed (apt-get install e2fsprogs)";
	snprintf(path, sizeof(path), "%s/unavailable", dir);
	if (access(path, F_OK) == 0) {
		snprintf(why, sizeof(why), "no guest kernel (see %s)", path);
		return why;
	}
	snprintf(path, sizeof(path), "%s/initramfs.cpio", dir);
	if (access(path, R_OK) != 0) {
		snprintf(why, sizeof(why), "no %s: build it with guest/mkinitramfs.sh", path);
		return why;
	}
	return NULL;
}

/* layers/NAME/layer.vhd: an 8 MiB ext4 image holding FILE = TEXT, with a
 * VHD footer, as conf/make-example.sh makes the example's. */
static void make_layer(const char *name, const char *file, const char *text)
{
	struct lh_error err = { 0 };
	char *tree = bench_path("trees/%s/%s", name, file), *img = bench_path("layers/%s/layer.vhd",
									       name);
	char *cmd;
	FILE *f = fopen(tree, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		bench_die(tree, NULL);
	*strstr(tree, file) = '\0';
	if (asprintf(&cmd, "truncate -s 8M '%s' && mkfs.ext4 -q -F -E root_owner=0:0 -d '%s' '%s' "
		     ">/dev/null 2>&1", img, tree, img) < 0 || system(cmd) != 0)
		bench_die("mkfs.ext4 of a layer", NULL);
	if (lh_vhd_append_footer(img, &err))
		bench_die("a layer's VHD footer", &err);
	free(cmd);
	free(tree);
	free(img);
}

/* A blank VHDX scratch disk at path, as make-example.sh makes them. */
static void make_scratch(const char *path)
{
	char *cmd;

	if (asprintf(&cmd, "qemu-img create -q -f vhdx '%s' 64M", path) < 0 || system(cmd) != 0)
		bench_die("qemu-img create of the scratch", NULL);
	free(cmd);
}

struct vm_argv {
	char **v;
	size_t n, cap;
};

static int add_arg(void *ctx, const char *arg)
{
	struct vm_argv *a = ctx;

	if (a->n + 2 > a->cap) {
		char **grown = realloc(a->v, (a->cap = a->cap ? a->cap * 2 : 32) * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		a->v = grown;
	}
	if (!(a->v[a->n] = strdup(arg)))
		return -ENOMEM;
	a->v[++a->n] = NULL;
	return 0;
}

/* Seconds from exec to exit of QEMU booting the guest's kernel and
 * initramfs straight into poweroff, on a machine with nothing else. */
static double bare_boot(const char *kernel, const char *initrd)
{
	struct lh_guest_boot boot = {
		.kernel = kernel, .initrd = initrd,
		.cmdline = LH_GUEST_CMDLINE_DEFAULT " rdinit=/bin/poweroff -- -f",
	};
	const char *head[] = { "qemu-system-x86_64", "-machine", "q35,accel=tcg", "-cpu", "max",
			       "-nodefaults", "-display", "none", "-m", "256M" };
	struct vm_argv a = { 0 };
	uint64_t t0;
	char *serial = bench_path("bare.serial"), *sock = bench_path("bare.agent");
	int rc = 0, status;
	pid_t pid;

	boot.serial_log = serial;
	boot.agent_socket = sock;
	for (size_t i = 0; rc == 0 && i < sizeof(head) / sizeof(head[0]); i++)
		rc = add_arg(&a, head[i]);
	if (rc || lh_guest_boot_args(&boot, add_arg, &a))
		bench_die("bare boot: QEMU's command line", NULL);
	t0 = bench_now_ns();
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		execvp(a.v[0], a.v);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		bench_die("bare boot: QEMU failed (see bare.serial)", NULL);
	for (size_t i = 0; i < a.n; i++)
		free(a.v[i]);
	free(a.v);
	free(serial);
	free(sock);
	return secs(bench_now_ns() - t0);
}

struct guest_run {
	double start, ready, mount, read, total;
};

/* One run through layerhost: vm start (to agent-ready), mount c, read its
 * first file; then `requests` guest requests timed one by one into rt;
 * unmount, vm stop. */
static void guest_run(const char *ini, long requests, struct bench_samples *rt,
		      struct guest_run *out)
{
	const char *argv[] = { "cat", "/srv/index.html", NULL };
	struct lh_driver_params params;
	struct lh_vm_exec_result r = { 0 };
	struct lh_error err = { 0 };
	struct lh_config *cfg = NULL;
	struct lh_driver *drv = NULL;
	struct lh_host *host = NULL;
	cJSON *st = NULL, *retry;
	uint64_t t0, t1, t2, t3;

	if (lh_config_parse(ini, "bench9.ini", bench_workdir(), &cfg, &err))
		bench_die("config", &err);
	lh_config_driver_params(cfg, &params);
	if (lh_driver_open("qemu", &params, &drv, &err) ||
	    lh_host_open(cfg, drv, NULL, &host, &err))
		bench_die("host", &err);
	t0 = bench_now_ns();
	if (lh_host_vm_start(host, &err))
		bench_die("vm start", &err);
	t1 = bench_now_ns();
	if (lh_pipeline_mount(host, lh_config_container(cfg, "c"), &err))
		bench_die("mount", &err);
	t2 = bench_now_ns();
	if (lh_host_vm_exec(host, &(struct lh_vm_exec){ .argv = argv,
						       .root = lh_pipeline_find(host, "c")->rootfs },
			    &r, &err) || r.exit_code != 0 || !strstr(r.out, "web layer"))
		bench_die("first read: cat /srv/index.html in the rootfs", &err);
	t3 = bench_now_ns();
	lh_vm_exec_result_free(&r);
	if (lh_host_vm_status(host, &st, &err))
		bench_die("vm status", &err);
	out->start = secs(t1 - t0);
	out->ready = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "guest"),
							      "ready_ms")) / 1e3;
	out->mount = secs(t2 - t1);
	out->read = secs(t3 - t2);
	out->total = secs(t3 - t0);
	cJSON_Delete(st);
	/* A guest request the agent answers at once: a retried removal of a
	 * rootfs that is not there (the driver, its journal, the agent). */
	retry = cJSON_Parse("{\"GuestRequest\":{\"RequestType\":\"Remove\",\"ResourceType\":"
			    "\"CombinedLayers\",\"Settings\":{\"ContainerRootPath\":"
			    "\"/run/gcs/c/none/rootfs\"}}}");
	for (long i = 0; i < requests; i++) {
		uint64_t s0 = bench_now_ns();

		if (drv->ops->modify(drv, cfg->uvm_id, retry, &err))
			bench_die("guest request", &err);
		bench_samples_add(rt, bench_now_ns() - s0);
	}
	cJSON_Delete(retry);
	if (lh_pipeline_unmount(host, "c", &err) || lh_host_vm_stop(host, &err))
		bench_die("unmount, vm stop", &err);
	lh_host_close(host);
	lh_driver_close(drv);
	lh_config_free(cfg);
}

static void result_s(const char *metric, double v)
{
	char value[64];

	snprintf(value, sizeof(value), "%.2f s", v);
	bench_result(BENCH, metric, value, "-", "-");
}

int main(void)
{
	long boots = bench_env_long("LH_BENCH_GUEST_BOOTS", 3);
	long requests = bench_env_long("LH_BENCH_ITERATIONS", 200);
	const char *dir = getenv("LH_GUEST_DIR") && *getenv("LH_GUEST_DIR") ? getenv("LH_GUEST_DIR")
									  : LH_BENCH_GUEST_DIR;
	double *bare = calloc((size_t)boots, sizeof(double));
	double *col[5];
	struct bench_samples rt = { 0 };
	char kernel[1100], initrd[1100], value[128], *ini = NULL, *scratch;
	const char *why;
	double b, total;

	bench_banner("guest: vm start to agent-ready, mount of a 3-layer container and first "
		     "read, beside a bare boot to /init; guest request round trip");
	bench_param("boots of each kind", "%ld", boots);
	bench_param("guest requests timed", "%ld", requests);
	bench_param("guest", "%s", dir);
	bench_param("machine", "q35 TCG, %d MiB, layerhost's layout (1 virtio-scsi controller, "
		    "2 pmem + 32 share root ports, ACPI hotplug); bare: q35 TCG, %d MiB, nothing "
		    "else", MEMORY_MB, MEMORY_MB);
	why = missing(dir);
	if (why) {
		not_run(why);
		return 0;
	}
	for (int i = 0; i < 5; i++)
		col[i] = calloc((size_t)boots, sizeof(double));
	if (!bare || !col[4])
		bench_die("out of memory", NULL);
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio", dir);
	make_layer("base", "etc/motd", "base\n");
	make_layer("runtime", "etc/motd", "runtime 1.0\n");
	make_layer("web", "srv/index.html", "<h1>hello from the web layer</h1>\n");
	scratch = bench_path("scratch/c/sandbox.vhdx");
	if (asprintf(&ini, "[host]\nplugin_dir = %s\ndriver = qemu\nrun_dir = %s/run\n"
		     "journal = %s/journal\njournal_fsync = always\n"
		     "[uvm]\nid = bench9\nos = linux\nmemory = %dM\naccel = tcg\nguest = %s\n"
		     "[plugin.vpmem]\nmulti_mapping = false\nmax_devices = 2\n"
		     "[plugin.scsi]\ncontrollers = 1\nluns_per_controller = 8\n"
		     "[container.c]\nlayers = layers/base, layers/runtime, layers/web\n"
		     "scratch = scratch/c\n", LH_BENCH_PLUGIN_DIR, bench_workdir(), bench_workdir(),
		     MEMORY_MB, dir) < 0)
		bench_die("out of memory", NULL);
	for (long i = 0; i < boots; i++) {
		struct guest_run g;

		bare[i] = bare_boot(kernel, initrd);
		/* A blank scratch each run: the guest formats it on first use. */
		make_scratch(scratch);
		guest_run(ini, i == 0 ? requests : 0, &rt, &g);
		col[0][i] = g.start;
		col[1][i] = g.ready;
		col[2][i] = g.mount;
		col[3][i] = g.read;
		col[4][i] = g.total;
		printf("run %ld: bare boot %.2f s; vm start %.2f s (agent ready %.2f s), mount %.2f s, "
		       "first read %.2f s: %.2f s in all\n", i + 1, bare[i], g.start, g.ready,
		       g.mount, g.read, g.total);
	}
	b = bench_median(bare, (size_t)boots);
	total = bench_median(col[4], (size_t)boots);
	result_s("vm start, to the agent's first answer (median)", bench_median(col[0], (size_t)boots));
	result_s("of which the wait for the agent once QEMU runs (median)", bench_median(col[1], (size_t)boots));
	result_s("mount of the 3-layer container in the booted guest (median)",
		 bench_median(col[2], (size_t)boots));
	result_s("first file read in its rootfs (median)", bench_median(col[3], (size_t)boots));
	result_s("vm start + mount + first read (median)", total);
	result_s("bare QEMU boot of the same kernel + initramfs to /init and power-off (median)", b);
	snprintf(value, sizeof(value), "%.2f", total / b);
	bench_result(BENCH, "ratio vm start + mount + first read / bare boot", value, "-", "-");
	snprintf(value, sizeof(value), "%.2f ms (p90 %.2f ms)",
		 (double)bench_samples_quantile(&rt, 0.5) / 1e6,
		 (double)bench_samples_quantile(&rt, 0.9) / 1e6);
	bench_result(BENCH, "guest request round trip (driver, journal, agent), median", value, "-",
		     "-");
	bench_samples_free(&rt);
	for (int i = 0; i < 5; i++)
		free(col[i]);
	free(bare);
	free(ini);
	free(scratch);
	return 0;
}
