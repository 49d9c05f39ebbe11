/*
 * bench.h - what every layerhost benchmark program shares: the clock, the
 * machine banner, a scratch folder of real disk files, a host on the null
 * driver, latency statistics and the one-line results run.sh collects.
 *
 * Benchmarks print figures; they assert nothing. A setup failure (a file
 * that cannot be made, a host that does not open) ends the program with a
 * message and exit status 1, so run.sh reports the benchmark as failed
 * instead of printing a figure that means nothing.
 */
#ifndef LH_BENCH_H
#define LH_BENCH_H

#include "driver.h"
#include "host.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic nanoseconds. */
uint64_t bench_now_ns(void);

/* Print the benchmark's title, then cores, kernel and CPU model. */
void bench_banner(const char *title);

/* Print one "param <name> = <value>" line (iteration counts, sizes). */
void bench_param(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * One row for the results table, printed as a tab-separated line starting
 * with "RESULT" that run.sh turns into markdown:
 * benchmark, metric, measured value, target, verdict.
 * verdict: "PASS", "MISS", or "-" where the issue sets no target.
 */
void bench_result(const char *bench, const char *metric, const char *value, const char *target,
		  const char *verdict);

/* End the program: print what failed (err may be NULL) and exit(1). */
void bench_die(const char *what, const struct lh_error *err) __attribute__((noreturn));

/* A fresh folder under $LH_BENCH_TMPDIR, else $TMPDIR, else /tmp, removed
 * with its contents at exit. Returns its path (static storage). */
const char *bench_workdir(void);

/* "<workdir>/<relative>" in a malloc'd string; parent folders are created. */
char *bench_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A sparse fixed VHD of data_size bytes at path (dies on failure). */
void bench_make_vhd(const char *path, uint64_t data_size);

/* layers/<prefix><i>/layer.vhd for i in [0, n): small layer disks for VPMem
 * and SCSI. Returns a malloc'd array of n malloc'd paths. */
char **bench_make_layers(const char *prefix, size_t n);
void bench_free_paths(char **paths, size_t n);

/* A host with the null driver for INI text (its [host] plugin_dir is set to
 * the build tree's plugin folder here), the backends it names loaded. */
struct bench_host {
	struct lh_config *cfg;
	struct lh_driver *driver;
	struct lh_host *host;
};
void bench_host_open(struct bench_host *bh, const char *ini);
void bench_host_close(struct bench_host *bh);
/* The instance loaded as name (dies if absent). */
struct lh_instance *bench_instance(struct bench_host *bh, const char *name);

/* Attach host_path read-only through inst; dies on failure. Returns the handle. */
uint64_t bench_attach(struct lh_instance *inst, const char *host_path);
void bench_release(struct lh_instance *inst, uint64_t handle);

/* Latency samples in nanoseconds. */
struct bench_samples {
	uint64_t *ns;
	size_t n, cap;
};
void bench_samples_add(struct bench_samples *s, uint64_t ns);
/* The q-quantile (0..1, nearest rank) of the samples; sorts them. */
uint64_t bench_samples_quantile(struct bench_samples *s, double q);
void bench_samples_free(struct bench_samples *s);

/* Median of n doubles (sorts them in place). */
double bench_median(double *v, size_t n);

/* A positive integer from the environment (e.g. LH_BENCH_SCALE) or fallback. */
long bench_env_long(const char *name, long fallback);

#endif
