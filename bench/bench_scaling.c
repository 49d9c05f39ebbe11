/*
 * bench_scaling.c - benchmark 2: the cost of one more attach+release with
 * 10, 100, 1,000 and 10,000 attachments already live, through the loaded
 * plugins on the null driver. Flat rows mean lookups and slot allocation do
 * not scan what is attached.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCALING_REPEATS 7

static const long scaling_rows[] = { 10, 100, 1000, 10000 };
#define SCALING_ROWS (sizeof(scaling_rows) / sizeof(scaling_rows[0]))

/* The per-pair cost in ns of attaching and releasing `extra`, a disk not
 * otherwise attached, over iters pairs. */
static double scaling_op_ns(struct lh_instance *inst, const char *extra, long iters)
{
	uint64_t start = bench_now_ns();

	for (long i = 0; i < iters; i++)
		bench_release(inst, bench_attach(inst, extra));
	return (double)(bench_now_ns() - start) / (double)iters;
}

/*
 * One host per row, each holding that row's number of distinct live
 * attachments (a different disk file each, so none is shared), all open at
 * once so the rows can be measured in turn, round after round: a burst of
 * load from elsewhere on the machine then hits every row alike instead of
 * one of them. The median of the rounds is reported.
 */
static void scaling_backend(const char *backend, const char *ini, const char *label,
			    long max_live, long iters, char **layers, const char *extra)
{
	struct bench_host bh[SCALING_ROWS];
	struct lh_instance *inst[SCALING_ROWS];
	double runs[SCALING_ROWS][SCALING_REPEATS], ns[SCALING_ROWS];
	char metric[160], value[96];
	size_t rows = 0;

	for (; rows < SCALING_ROWS && scaling_rows[rows] <= max_live; rows++) {
		bench_host_open(&bh[rows], ini);
		inst[rows] = bench_instance(&bh[rows], backend);
		for (long i = 0; i < scaling_rows[rows]; i++)
			(void)bench_attach(inst[rows], layers[i]);
		(void)scaling_op_ns(inst[rows], extra, iters / 10 + 1); /* warm up */
	}
	for (int r = 0; r < SCALING_REPEATS; r++)
		for (size_t row = 0; row < rows; row++)
			runs[row][r] = scaling_op_ns(inst[row], extra, iters);
	printf("%-8s %12s %18s\n", backend, "live", "ns/attach+release");
	for (size_t row = 0; row < rows; row++) {
		ns[row] = bench_median(runs[row], SCALING_REPEATS);
		printf("%-8s %12ld %18.0f\n", backend, scaling_rows[row], ns[row]);
		snprintf(metric, sizeof(metric), "%s: one more attach+release with %ld live", label,
			 scaling_rows[row]);
		snprintf(value, sizeof(value), "%.0f ns", ns[row]);
		bench_result("2 scaling", metric, value, "-", "-");
		/* Closing issues no requests: the attachments go with the host. */
		bench_host_close(&bh[row]);
	}
	snprintf(metric, sizeof(metric), "%s: ratio %ld-live / 10-live row", label,
		 scaling_rows[rows - 1]);
	snprintf(value, sizeof(value), "%.2f", ns[rows - 1] / ns[0]);
	bench_result("2 scaling", metric, value, "<= 1.3",
		     ns[rows - 1] / ns[0] <= 1.3 ? "PASS" : "MISS");
}

int main(void)
{
	long div = bench_env_long("LH_BENCH_DIVISOR", 1);
	long iters = 3000 / div + 1;
	char **layers = bench_make_layers("scale", 10000);
	char *extra = bench_path("extra/layer.vhd");

	bench_make_vhd(extra, 64 * 1024);
	bench_banner("benchmark 2: scaling with live attachments (null driver)");
	bench_param("rows", "10, 100, 1000, 10000 live attachments");
	bench_param("live attachment", "a distinct 64 KiB fixed-VHD layer file attached read-only "
		    "and held (one handle each, so every one is its own device slot / mapping)");
	bench_param("operation", "attach+release of one more disk that is not attached, so each "
		    "pair allocates a slot, issues add and remove, and frees the slot");
	bench_param("iterations", "%ld pairs per run; %d rounds, each measuring every row in turn "
		    "(one host per row, all open); median per row", iters, SCALING_REPEATS);
	bench_param("scsi", "controllers = 4, luns_per_controller = 256: 1024 slots, the plugin's "
		    "cap, so its rows stop at 1000 live");
	bench_param("vpmem", "max_devices = 128, multi_mapping = true: up to 1024 layers mapped "
		    "per device, so 10000 live layers use 10 devices");
	scaling_backend("scsi",
			"[uvm]\nos = linux\n[plugin.scsi]\ncontrollers = 4\nluns_per_controller = 256\n",
			"scsi.so", 1000, iters, layers, extra);
	scaling_backend("vpmem", "[uvm]\nos = linux\n[plugin.vpmem]\nmax_devices = 128\n",
			"vpmem.so", 10000, iters, layers, extra);
	bench_free_paths(layers, 10000);
	free(extra);
	return 0;
}
