/*
 * bench_overhead.c - benchmark 5: the same attach+release loop through the
 * loaded scsi.so and through the same scsi sources linked into this
 * program (registered with lh_host_add_static_backend on a host whose
 * configuration loads no scsi plugin).
 *
 * `bench_overhead` runs both, interleaved (ABAB...), and prints the ratio
 * of the medians. `bench_overhead plugin|linked N` runs only that loop N
 * times, for valgrind --tool=callgrind --toggle-collect=overhead_loop
 * (instruction counts: a second, noise-free figure).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OVERHEAD_RUNS 11
#define OVERHEAD_TARGET 1.05

/* The table the scsi sources compiled into this program export. */
const struct lh_backend *layerhost_backend_entry(void);

/* Both hosts are host-mode hosts (the host role loads hostlayer.so in
 * each), so the only difference is where the scsi table comes from: the
 * plugin host loads scsi.so for its [plugin.scsi] section, the other links
 * the same sources in. (No UVM role can be left without scsi.so: each is
 * checked to be served by its backends.) */
static const char overhead_plugin_ini[] = "[uvm]\nos = none\n[plugin.scsi]\n";
static const char overhead_linked_ini[] = "[uvm]\nos = none\n";

static struct lh_instance *overhead_open(struct bench_host *bh, bool linked)
{
	struct lh_error err = { 0 };
	struct lh_instance *inst = NULL;

	bench_host_open(bh, linked ? overhead_linked_ini : overhead_plugin_ini);
	if (!linked)
		return bench_instance(bh, "scsi");
	if (lh_host_instance(bh->host, "scsi"))
		bench_die("the linked-in host loaded scsi.so after all", NULL);
	if (lh_host_add_static_backend(bh->host, layerhost_backend_entry(), &inst, &err))
		bench_die("lh_host_add_static_backend(scsi)", &err);
	if (inst->plugin)
		bench_die("the linked-in scsi instance came from a plugin", NULL);
	return inst;
}

/* Kept out of line and named so callgrind can count exactly this. */
__attribute__((noinline)) void overhead_loop(struct lh_instance *inst, const char *disk,
					     long iters);
__attribute__((noinline)) void overhead_loop(struct lh_instance *inst, const char *disk,
					     long iters)
{
	for (long i = 0; i < iters; i++)
		bench_release(inst, bench_attach(inst, disk));
}

static double overhead_run(struct lh_instance *inst, const char *disk, long iters)
{
	uint64_t start = bench_now_ns();

	overhead_loop(inst, disk, iters);
	return (double)(bench_now_ns() - start) / (double)iters;
}

static int overhead_single(const char *mode, long iters, const char *disk)
{
	struct bench_host bh;
	struct lh_instance *inst;

	if (strcmp(mode, "plugin") != 0 && strcmp(mode, "linked") != 0) {
		fprintf(stderr, "usage: bench_overhead [plugin|linked ITERATIONS]\n");
		return 2;
	}
	inst = overhead_open(&bh, strcmp(mode, "linked") == 0);
	overhead_loop(inst, disk, iters);
	bench_host_close(&bh);
	return 0;
}

int main(int argc, char **argv)
{
	long div = bench_env_long("LH_BENCH_DIVISOR", 1), iters = 20000 / div + 1;
	double plugin[OVERHEAD_RUNS], linked[OVERHEAD_RUNS], pairs[OVERHEAD_RUNS];
	struct bench_host hp, hl;
	struct lh_instance *ip, *il;
	char *disk = bench_path("overhead/disk.vhd"), value[96];
	int rc = 0;

	bench_make_vhd(disk, 64 * 1024);
	if (argc == 3) {
		rc = overhead_single(argv[1], strtol(argv[2], NULL, 10), disk);
		free(disk);
		return rc;
	}
	bench_banner("benchmark 5: plugin overhead (loaded scsi.so vs scsi linked in)");
	bench_param("operation", "attach+release of one read-only 64 KiB fixed VHD not otherwise "
		    "attached (add and remove request each), null driver, default scsi options");
	bench_param("runs", "%d runs of %ld pairs per build, interleaved plugin/linked (ABAB...); "
		    "ratio of the medians", OVERHEAD_RUNS, iters);
	ip = overhead_open(&hp, false);
	il = overhead_open(&hl, true);
	overhead_loop(ip, disk, iters / 10 + 1);
	overhead_loop(il, disk, iters / 10 + 1);
	for (int r = 0; r < OVERHEAD_RUNS; r++) {
		plugin[r] = overhead_run(ip, disk, iters);
		linked[r] = overhead_run(il, disk, iters);
		pairs[r] = plugin[r] / linked[r];
		printf("run %2d: plugin %.0f ns, linked %.0f ns, ratio %.3f\n", r + 1, plugin[r],
		       linked[r], pairs[r]);
	}
	bench_host_close(&hp);
	bench_host_close(&hl);

	double p = bench_median(plugin, OVERHEAD_RUNS), l = bench_median(linked, OVERHEAD_RUNS);

	printf("median: plugin %.0f ns, linked %.0f ns per attach+release; ratio %.3f (median of "
	       "per-run ratios %.3f)\n", p, l, p / l, bench_median(pairs, OVERHEAD_RUNS));
	snprintf(value, sizeof(value), "%.0f ns vs %.0f ns per attach+release", p, l);
	bench_result("5 plugin overhead", "scsi.so vs linked-in scsi (wall time, medians)", value,
		     "-", "-");
	snprintf(value, sizeof(value), "%.3f", p / l);
	bench_result("5 plugin overhead", "ratio loaded / linked (wall time)", value, "<= 1.05",
		     p / l <= OVERHEAD_TARGET ? "PASS" : "MISS");
	free(disk);
	return rc;
}
