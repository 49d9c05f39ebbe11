/*
 * qemu_pipeline.c - a 20-layer LCOW container (20 read-only SCSI layers and
 * a writable scratch) mounted and unmounted through layerhost's pipeline and
 * qemu driver, beside a bare QMP client doing the same device work on the
 * same VM in the same run:
 *   - pipelined: every command of a phase written at once, then the replies
 *     (and for an unmount the DEVICE_DELETED events) read together; the
 *     fastest a client can drive QEMU;
 *   - serial: one command, its reply, the next; QEMU's own time for the
 *     work, so layerhost's time minus it is layerhost's own.
 * Prints medians, the ratios against the pipelined client and layerhost's
 * own share of a mount, with the targets. Layerhost's own time is the CPU
 * time its process spends in the mount (getrusage, every thread) beyond
 * the CPU time the serial client spends sending the same QMP commands and
 * reading their replies, which any client pays: what waiting for QEMU or
 * the disk costs is not layerhost's work, and CPU time is not inflated by
 * other load on a shared machine the way wall-clock differences are. The
 * whole CPU time and the wall-clock difference to the serial client are
 * printed beside it.
 *
 * Needs qemu-system-x86_64; LH_BENCH_ITERATIONS sets the count (7).
 */
#include "bench.h"
#include "pipeline.h"
#include "qmp.h"
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LAYERS 20
#define DISKS (LAYERS + 1)

/* ---- a pipelined QMP client: write a batch, then read what comes back ---- */

struct pipe_client {
	int fd;
	char buf[1 << 16];
	size_t len;
};

/* The next line QEMU sent, parsed (dies on a closed socket). */
static cJSON *pipe_read(struct pipe_client *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t n;

		if (nl) {
			cJSON *msg;

			*nl = '\0';
			msg = cJSON_Parse(c->buf);
			c->len -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->len);
			if (!msg)
				bench_die("bare QMP: a line that is not JSON", NULL);
			return msg;
		}
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			bench_die("bare QMP: the socket closed", NULL);
		c->len += (size_t)n;
	}
}

/* Send every line of `batch`, then read until `replies` returns and
 * `events` DEVICE_DELETED events have come. */
static void pipe_batch(struct pipe_client *c, const char *batch, int replies, int events)
{
	size_t len = strlen(batch), done = 0;

	while (done < len) {
		ssize_t n = write(c->fd, batch + done, len - done);

		if (n <= 0)
			bench_die("bare QMP: write", NULL);
		done += (size_t)n;
	}
	while (replies > 0 || events > 0) {
		cJSON *msg = pipe_read(c);

		if (cJSON_GetObjectItem(msg, "error"))
			bench_die("bare QMP: QEMU refused a command", NULL);
		if (cJSON_GetObjectItem(msg, "return"))
			replies--;
		else if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "event")) ?: "",
				"DEVICE_DELETED") == 0 &&
			 cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "data"), "device"))
			events--;
		cJSON_Delete(msg);
	}
}

static void pipe_open(struct pipe_client *c, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	c->len = 0;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		bench_die("bare QMP: connect", NULL);
	cJSON_Delete(pipe_read(c)); /* the greeting */
	pipe_batch(c, "{\"execute\":\"qmp_capabilities\"}\n", 1, 0);
}

/* ---- the commands, the same for both bare clients ---------------------- */

static char *disk_path(int i)
{
	return i < LAYERS ? bench_path("layers/l%d/layer.vhd", i)
			  : bench_path("scratch/c/sandbox.vhdx");
}

static void add_commands(char *blk, char *dev, size_t cap, int i)
{
	char *path = disk_path(i);

	/* LUNs 40.. keep clear of layerhost's own 0..20. */
	snprintf(blk, cap, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"vpc\","
		 "\"node-name\":\"bare%d\",\"read-only\":%s,\"file\":{\"driver\":\"file\","
		 "\"filename\":\"%s\",\"read-only\":%s}}}\n", i, i < LAYERS ? "true" : "false",
		 path, i < LAYERS ? "true" : "false");
	snprintf(dev, cap, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"scsi-hd\","
		 "\"id\":\"bare-disk%d\",\"bus\":\"scsi0.0\",\"channel\":0,\"scsi-id\":0,"
		 "\"lun\":%d,\"drive\":\"bare%d\"}}\n", i, 40 + i, i);
	free(path);
}

static uint64_t bare_pipelined_mount(struct pipe_client *c)
{
	static char batch1[DISKS * 1024], batch2[DISKS * 512];
	char blk[1024], dev[512];
	uint64_t t0;

	batch1[0] = batch2[0] = '\0';
	for (int i = 0; i < DISKS; i++) {
		add_commands(blk, dev, sizeof(blk) < sizeof(dev) ? sizeof(blk) : sizeof(dev), i);
		strcat(batch1, blk);
		strcat(batch2, dev);
	}
	t0 = bench_now_ns();
	pipe_batch(c, batch1, DISKS, 0);
	pipe_batch(c, batch2, DISKS, 0);
	return bench_now_ns() - t0;
}

static uint64_t bare_pipelined_unmount(struct pipe_client *c)
{
	static char dels[DISKS * 128], nodes[DISKS * 128];
	char line[128];
	uint64_t t0;

	dels[0] = nodes[0] = '\0';
	for (int i = DISKS; i-- > 0;) {
		snprintf(line, sizeof(line), "{\"execute\":\"device_del\",\"arguments\":{\"id\":"
			 "\"bare-disk%d\"}}\n", i);
		strcat(dels, line);
		snprintf(line, sizeof(line), "{\"execute\":\"blockdev-del\",\"arguments\":"
			 "{\"node-name\":\"bare%d\"}}\n", i);
		strcat(nodes, line);
	}
	t0 = bench_now_ns();
	pipe_batch(c, dels, DISKS, DISKS);
	pipe_batch(c, nodes, DISKS, 0);
	return bench_now_ns() - t0;
}

static void serial_command(struct lh_qmp *q, const char *line)
{
	struct lh_error err = { 0 };
	cJSON *msg = cJSON_Parse(line);
	cJSON *args = cJSON_DetachItemFromObject(msg, "arguments");

	if (lh_qmp_execute(q, cJSON_GetStringValue(cJSON_GetObjectItem(msg, "execute")), args,
			   NULL, LH_QMP_TIMEOUT_MS, &err))
		bench_die("serial QMP", &err);
	cJSON_Delete(msg);
}

static uint64_t bare_serial_mount(struct lh_qmp *q)
{
	char blk[1024], dev[1024];
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < DISKS; i++) {
		add_commands(blk, dev, sizeof(blk), i);
		serial_command(q, blk);
		serial_command(q, dev);
	}
	return bench_now_ns() - t0;
}

static uint64_t bare_serial_unmount(struct lh_qmp *q)
{
	struct lh_error err = { 0 };
	char line[128], id[32];
	uint64_t t0 = bench_now_ns();

	for (int i = DISKS; i-- > 0;) {
		snprintf(id, sizeof(id), "bare-disk%d", i);
		snprintf(line, sizeof(line), "{\"execute\":\"device_del\",\"arguments\":{\"id\":"
			 "\"%s\"}}", id);
		serial_command(q, line);
		if (lh_qmp_wait_event(q, "DEVICE_DELETED", id, LH_QMP_TIMEOUT_MS, &err))
			bench_die("DEVICE_DELETED", &err);
		snprintf(line, sizeof(line), "{\"execute\":\"blockdev-del\",\"arguments\":"
			 "{\"node-name\":\"bare%d\"}}", i);
		serial_command(q, line);
	}
	return bench_now_ns() - t0;
}

/* ---- the run ------------------------------------------------------------ */

/* CPU time of this process, every thread, in nanoseconds. */
static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static double ms_median(struct bench_samples *s)
{
	return (double)bench_samples_quantile(s, 0.5) / 1e6;
}

static void result(const char *metric, double value_ms, const char *unit_text)
{
	char value[64];

	snprintf(value, sizeof(value), "%.1f ms%s", value_ms, unit_text);
	bench_result("8 qemu 20-layer container", metric, value, "-", "-");
}

static void ratio(const char *metric, double r, double target)
{
	char value[32], want[32];

	snprintf(value, sizeof(value), "%.2f", r);
	snprintf(want, sizeof(want), "<= %.2f", target);
	bench_result("8 qemu 20-layer container", metric, value, want, r <= target ? "PASS" : "MISS");
}

int main(void)
{
	long iterations = bench_env_long("LH_BENCH_ITERATIONS", 7);
	struct bench_samples lh_mount = { 0 }, lh_unmount = { 0 }, pipe_mount = { 0 };
	struct bench_samples pipe_unmount = { 0 }, ser_mount = { 0 }, ser_unmount = { 0 };
	struct bench_samples lh_mount_cpu = { 0 }, ser_mount_cpu = { 0 };
	struct lh_error err = { 0 };
	struct lh_config *cfg = NULL;
	struct lh_driver_params params;
	struct lh_driver *drv = NULL;
	struct lh_host *host = NULL;
	struct lh_qmp *serial = NULL;
	struct pipe_client pipelined;
	char *ini = NULL, *layers = NULL, *control, *scratch;
	const struct lh_container_config *c;
	size_t used = 0;

	bench_banner("qemu driver: a 20-layer container, layerhost vs a pipelined bare QMP client");
	bench_param("iterations", "%ld", iterations);
	bench_param("disks", "%d read-only layers + 1 writable scratch, all SCSI", LAYERS);
	if (system("command -v qemu-system-x86_64 >/dev/null") != 0) {
		bench_result("8 qemu 20-layer container", "unmount and mount",
			     "not run: qemu-system-x86_64 not installed (apt-get install "
			     "--no-install-recommends qemu-system-x86)", "-", "-");
		return 0;
	}
	layers = calloc(LAYERS, 64);
	for (int i = 0; layers && i < LAYERS; i++) {
		char *path = bench_path("layers/l%d/layer.vhd", i);

		bench_make_vhd(path, 1 << 20);
		free(path);
		used += (size_t)snprintf(layers + used, (size_t)LAYERS * 64 - used, "%slayers/l%d",
					 i ? ",\n  " : "", i);
	}
	/* The scratch a mount attaches writable (a fixed VHD: QEMU is told its
	 * format from its contents, not its name). */
	scratch = bench_path("scratch/c/sandbox.vhdx");
	bench_make_vhd(scratch, 16 << 20);
	if (!layers || asprintf(&ini, "[host]\nplugin_dir = %s\ndriver = qemu\nrun_dir = %s/run\n"
				"journal = %s/journal\njournal_fsync = %s\n[uvm]\nid = bench20\n"
				"os = linux\nmemory = 128M\nguest = none\n[pipeline]\nlcow.layers = scsi\n"
				"[container.c]\nlayers = %s\nscratch = scratch/c\n",
				LH_BENCH_PLUGIN_DIR, bench_workdir(), bench_workdir(),
				getenv("LH_BENCH_JOURNAL_FSYNC") ? getenv("LH_BENCH_JOURNAL_FSYNC") : "always", layers) < 0)
		bench_die("out of memory", NULL);
	if (lh_config_parse(ini, "bench20.ini", bench_workdir(), &cfg, &err))
		bench_die("config", &err);
	lh_config_driver_params(cfg, &params);
	if (lh_driver_open("qemu", &params, &drv, &err) ||
	    lh_host_open(cfg, drv, NULL, &host, &err) || lh_host_vm_start(host, &err))
		bench_die("vm start", &err);
	c = lh_config_container(cfg, "c");
	if (asprintf(&control, "%s/bench20.control", cfg->run_dir) < 0 ||
	    lh_qmp_connect(control, LH_QMP_TIMEOUT_MS, &serial, &err))
		bench_die("serial QMP client", &err);
	lh_qmp_close(serial);
	serial = NULL;

	for (long i = 0; i < iterations; i++) {
		uint64_t t0 = bench_now_ns(), c0 = cpu_ns();

		if (lh_pipeline_mount(host, c, &err))
			bench_die("layerhost mount", &err);
		bench_samples_add(&lh_mount, bench_now_ns() - t0);
		bench_samples_add(&lh_mount_cpu, cpu_ns() - c0);
		t0 = bench_now_ns();
		if (lh_pipeline_unmount(host, "c", &err))
			bench_die("layerhost unmount", &err);
		bench_samples_add(&lh_unmount, bench_now_ns() - t0);

		/* The control monitor serves one client at a time: each bare
		 * client connects for its turn. */
		pipe_open(&pipelined, control);
		bench_samples_add(&pipe_mount, bare_pipelined_mount(&pipelined));
		bench_samples_add(&pipe_unmount, bare_pipelined_unmount(&pipelined));
		close(pipelined.fd);
		if (lh_qmp_connect(control, LH_QMP_TIMEOUT_MS, &serial, &err))
			bench_die("serial QMP client", &err);
		c0 = cpu_ns();
		bench_samples_add(&ser_mount, bare_serial_mount(serial));
		bench_samples_add(&ser_mount_cpu, cpu_ns() - c0);
		bench_samples_add(&ser_unmount, bare_serial_unmount(serial));
		lh_qmp_close(serial);
		serial = NULL;
	}
	{
		double lm = ms_median(&lh_mount), lu = ms_median(&lh_unmount);
		double pm = ms_median(&pipe_mount), pu = ms_median(&pipe_unmount);
		double sm = ms_median(&ser_mount), su = ms_median(&ser_unmount);
		double cpu = ms_median(&lh_mount_cpu), ser_cpu = ms_median(&ser_mount_cpu);
		double own = (cpu > ser_cpu ? cpu - ser_cpu : 0) / lm;
		double wall_extra = lm > sm ? (lm - sm) / lm : 0;

		printf("mount    median: layerhost %.1f ms, pipelined bare %.1f ms, serial bare %.1f ms\n",
		       lm, pm, sm);
		printf("unmount  median: layerhost %.1f ms, pipelined bare %.1f ms, serial bare %.1f ms\n",
		       lu, pu, su);
		printf("layerhost's own share of a mount: %.1f %% (its CPU time %.1f ms, less the "
		       "serial client's %.1f ms for the same QMP commands, of %.1f ms); all its CPU "
		       "time: %.1f %%; wall clock beyond the serial client: %.1f %%\n", 100 * own,
		       cpu, ser_cpu, lm, 100 * cpu / lm, 100 * wall_extra);
		result("mount median: layerhost", lm, "");
		result("mount median: bare client, pipelined", pm, "");
		result("mount median: bare client, serial (QEMU's time)", sm, "");
		result("unmount median: layerhost", lu, "");
		result("unmount median: bare client, pipelined", pu, "");
		result("unmount median: bare client, serial", su, "");
		result("mount median: layerhost's CPU time (all threads)", cpu, "");
		result("mount median: the serial bare client's CPU time (the same QMP commands)",
		       ser_cpu, "");
		ratio("ratio unmount layerhost / pipelined bare", lu / pu, 1.3);
		ratio("ratio mount layerhost / pipelined bare", lm / pm, 1.2);
		ratio("layerhost's own share of the mount (its CPU time beyond the serial client's)",
		      own, 0.10);
	}
	if (lh_host_vm_stop(host, &err))
		bench_die("vm stop", &err);
	lh_host_close(host);
	lh_driver_close(drv);
	lh_config_free(cfg);
	free(control);
	free(scratch);
	free(layers);
	free(ini);
	bench_samples_free(&lh_mount);
	bench_samples_free(&lh_mount_cpu);
	bench_samples_free(&ser_mount_cpu);
	bench_samples_free(&lh_unmount);
	bench_samples_free(&pipe_mount);
	bench_samples_free(&pipe_unmount);
	bench_samples_free(&ser_mount);
	bench_samples_free(&ser_unmount);
	return 0;
}
