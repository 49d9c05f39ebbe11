/*
 * bench_core.c - benchmark 1: attach+release operations per second through
 * the loaded scsi and vpmem plugins, and LCOW mount+unmount of 20-layer
 * containers that share most of their layers, all on the null driver.
 */
#include "bench.h"

#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORE_BASE_LAYERS 18
#define CORE_OWN_LAYERS 2

/* attach+release pairs per second of one disk nobody else holds, so every
 * pair issues an add and a remove request. */
static double core_attach_release_rate(struct lh_instance *inst, const char *disk, long iters)
{
	uint64_t start;

	for (long i = 0; i < iters / 10 + 1; i++) /* warm caches and the allocator */
		bench_release(inst, bench_attach(inst, disk));
	start = bench_now_ns();
	for (long i = 0; i < iters; i++)
		bench_release(inst, bench_attach(inst, disk));
	return (double)iters / ((double)(bench_now_ns() - start) / 1e9);
}

static void core_backends(long iters)
{
	struct bench_host bh;
	char *disk = bench_path("ops/disk.vhd");
	char value[64];
	double scsi, vpmem;

	bench_make_vhd(disk, 64 * 1024);
	bench_host_open(&bh, "[uvm]\nos = linux\n");
	scsi = core_attach_release_rate(bench_instance(&bh, "scsi"), disk, iters);
	vpmem = core_attach_release_rate(bench_instance(&bh, "vpmem"), disk, iters);
	bench_host_close(&bh);
	printf("scsi.so : %10.0f attach+release/s (%.2f us each)\n", scsi, 1e6 / scsi);
	printf("vpmem.so: %10.0f attach+release/s (%.2f us each)\n", vpmem, 1e6 / vpmem);
	snprintf(value, sizeof(value), "%.0f ops/s", scsi);
	bench_result("1 core", "scsi.so attach+release (read-only disk, null driver)", value,
		     "none set", "-");
	snprintf(value, sizeof(value), "%.0f ops/s", vpmem);
	bench_result("1 core", "vpmem.so attach+release (layer, null driver)", value, "none set",
		     "-");
	free(disk);
}

/* The INI for the LCOW run: a resident container holding the shared base
 * layers for the whole run, and n measured containers each adding its own
 * layers and scratch on top of the same base. */
static char *core_lcow_ini(long n)
{
	size_t cap = 4096 + (size_t)(n + 1) * 2048, len = 0;
	char *ini = malloc(cap);

	if (!ini)
		bench_die("out of memory", NULL);
/* Past the end, snprintf gets no room and len only grows: checked below. */
#define CORE_APPEND(...)                                                                \
	len += (size_t)snprintf(ini + (len < cap ? len : cap), len < cap ? cap - len : 0, \
				__VA_ARGS__)
	CORE_APPEND("[uvm]\nos = linux\n[plugin.scsi]\ncontrollers = 4\n"
		    "[plugin.vpmem]\nmax_devices = 128\n");
	for (long c = -1; c < n; c++) {
		if (c < 0)
			CORE_APPEND("[container.resident]\nlayers = ");
		else
			CORE_APPEND("[container.c%ld]\nlayers = ", c);
		for (int l = 0; l < CORE_BASE_LAYERS; l++)
			CORE_APPEND("%slayers/base/0/base%d", l ? "\n  " : "", l);
		for (long l = (c + 1) * CORE_OWN_LAYERS; l < (c + 2) * CORE_OWN_LAYERS; l++)
			CORE_APPEND("\n  layers/own/%ld/own%ld", l / 1000, l);
		if (c < 0)
			CORE_APPEND("\nscratch = scratch/resident\n");
		else
			CORE_APPEND("\nscratch = scratch/c%ld\n", c);
	}
#undef CORE_APPEND
	if (len >= cap)
		bench_die("LCOW configuration too long", NULL);
	return ini;
}

struct core_refs {
	const char *host_path;
	uint32_t refs;
};

static int core_refs_visit(void *arg, const struct lh_attachment_info *info)
{
	struct core_refs *q = arg;

	if (strcmp(info->host_path, q->host_path) == 0)
		q->refs = info->refs;
	return 0;
}

/* Say where a container's disks went and check that its base layers are
 * shared (two handles: the resident container's and this one's), so the
 * figures can be read right. */
static void core_print_placement(struct bench_host *bh, const struct lh_mounted *m)
{
	size_t on_vpmem = 0, shared = 0;

	if (!m)
		bench_die("a mounted container has no record", NULL);
	for (size_t i = 0; i < m->n_layers; i++) {
		struct lh_instance *inst = bench_instance(bh, m->layers[i].backend);
		struct core_refs q = { m->layers[i].host_path, 0 };

		on_vpmem += strcmp(m->layers[i].backend, "vpmem") == 0;
		inst->ops->list(inst->priv, core_refs_visit, &q);
		shared += q.refs >= 2;
	}
	printf("placement: %zu of %zu layers on vpmem, the rest on scsi; scratch on %s; %zu "
	       "layers shared with the resident container\n", on_vpmem, m->n_layers,
	       m->scratch.backend ? m->scratch.backend : "nothing", shared);
	if (shared != CORE_BASE_LAYERS)
		bench_die("the base layers are not shared as the benchmark intends", NULL);
}

static void core_lcow(long n, long rounds)
{
	struct bench_samples mount = { 0 }, unmount = { 0 }, first = { 0 }, last = { 0 };
	struct lh_error err = { 0 };
	struct bench_host bh;
	char **base = bench_make_layers("base", CORE_BASE_LAYERS);
	char **own = bench_make_layers("own", (size_t)(n + 1) * CORE_OWN_LAYERS);
	char *ini = core_lcow_ini(n), *scratch, name[32], value[128];
	uint64_t start, total = 0;

	scratch = bench_path("scratch/resident/sandbox.vhdx");
	bench_make_vhd(scratch, 16 << 20);
	free(scratch);
	for (long c = 0; c < n; c++) {
		scratch = bench_path("scratch/c%ld/sandbox.vhdx", c);
		bench_make_vhd(scratch, 16 << 20);
		free(scratch);
	}
	bench_host_open(&bh, ini);
	if (lh_pipeline_mount(bh.host, lh_config_container(bh.cfg, "resident"), &err))
		bench_die("mounting the resident container", &err);
	for (long r = 0; r < rounds; r++) {
		for (long c = 0; c < n; c++) {
			snprintf(name, sizeof(name), "c%ld", c);
			start = bench_now_ns();
			if (lh_pipeline_mount(bh.host, lh_config_container(bh.cfg, name), &err))
				bench_die("mount", &err);
			bench_samples_add(&mount, bench_now_ns() - start);
			/* The first mount beside the resident alone, the last
			 * beside every other: a mount's cost must not grow with
			 * what is mounted already. */
			if (c == 0 || c == n - 1)
				bench_samples_add(c == 0 ? &first : &last, bench_now_ns() - start);
			total += bench_now_ns() - start;
			if (r == 0 && c == 0)
				core_print_placement(&bh, lh_pipeline_find(bh.host, name));
		}
		for (long c = 0; c < n; c++) {
			snprintf(name, sizeof(name), "c%ld", c);
			start = bench_now_ns();
			if (lh_pipeline_unmount(bh.host, name, &err))
				bench_die("unmount", &err);
			bench_samples_add(&unmount, bench_now_ns() - start);
			total += bench_now_ns() - start;
		}
	}
	if (lh_pipeline_unmount(bh.host, "resident", &err))
		bench_die("unmounting the resident container", &err);
	bench_host_close(&bh);

	double per_s = (double)(n * rounds) / ((double)total / 1e9);
	uint64_t m50 = bench_samples_quantile(&mount, 0.50), m99 = bench_samples_quantile(&mount, 0.99);
	uint64_t u50 = bench_samples_quantile(&unmount, 0.50);
	uint64_t u99 = bench_samples_quantile(&unmount, 0.99);

	printf("LCOW: %.0f containers/s (mount+unmount); mount p50 %.1f us p99 %.1f us; "
	       "unmount p50 %.1f us p99 %.1f us\n", per_s, m50 / 1e3, m99 / 1e3, u50 / 1e3,
	       u99 / 1e3);
	snprintf(value, sizeof(value), "%.0f containers/s", per_s);
	bench_result("1 core", "LCOW 20-layer (18 shared) mount+unmount", value, "none set", "-");
	snprintf(value, sizeof(value), "p50 %.1f us, p99 %.1f us", m50 / 1e3, m99 / 1e3);
	bench_result("1 core", "LCOW mount latency", value, "none set", "-");
	snprintf(value, sizeof(value), "p50 %.1f us, p99 %.1f us", u50 / 1e3, u99 / 1e3);
	bench_result("1 core", "LCOW unmount latency", value, "none set", "-");
	{
		double f = (double)bench_samples_quantile(&first, 0.50);
		double l = (double)bench_samples_quantile(&last, 0.50);
		char metric[128];

		snprintf(metric, sizeof(metric), "LCOW mount beside %ld mounted / beside 1 (medians)",
			 n);
		snprintf(value, sizeof(value), "%.1f us / %.1f us = %.2f", l / 1e3, f / 1e3, l / f);
		bench_result("1 core", metric, value, "<= 1.3", l / f <= 1.3 ? "PASS" : "MISS");
	}
	bench_samples_free(&mount);
	bench_samples_free(&unmount);
	bench_samples_free(&first);
	bench_samples_free(&last);
	bench_free_paths(base, CORE_BASE_LAYERS);
	bench_free_paths(own, (size_t)(n + 1) * CORE_OWN_LAYERS);
	free(ini);
}

int main(void)
{
	long div = bench_env_long("LH_BENCH_DIVISOR", 1);
	long iters = 20000 / div, containers = 50, rounds = 40 / div + 1;

	bench_banner("benchmark 1: core operations (null driver)");
	bench_param("attach+release iterations per backend", "%ld (one read-only 64 KiB fixed VHD, "
		    "not otherwise attached: each pair issues an add and a remove)", iters);
	bench_param("LCOW containers", "%ld of %d layers each (%d shared base layers held by one "
		    "resident container + %d own) and an own scratch", containers,
		    CORE_BASE_LAYERS + CORE_OWN_LAYERS, CORE_BASE_LAYERS, CORE_OWN_LAYERS);
	bench_param("LCOW rounds", "%ld (each: mount all containers, then unmount all)", rounds);
	bench_param("backends", "lcow.layers = vpmem, scsi (defaults); scsi controllers = 4; "
		    "vpmem max_devices = 128, multi_mapping = true");
	core_backends(iters);
	core_lcow(containers, rounds);
	return 0;
}
