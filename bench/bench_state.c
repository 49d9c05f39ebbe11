/*
 * bench_state.c - benchmark 3: lh_state_save and lh_state_load of a host
 * holding 10,000 attachments (time each, and bytes per attachment).
 */
#include "bench.h"

#include "gob.h"
#include "host_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STATE_REPEATS 5
#define STATE_SCSI 1000
#define STATE_VPMEM 9000
#define STATE_TARGET_MS 50.0

static const char state_ini[] = "[uvm]\nos = linux\n"
				"[plugin.scsi]\ncontrollers = 4\nluns_per_controller = 256\n"
				"[plugin.vpmem]\nmax_devices = 128\n";

static int state_count_visit(void *arg, const struct lh_attachment_info *info)
{
	(void)info;
	++*(size_t *)arg;
	return 0;
}

static size_t state_live(struct bench_host *bh, const char *backend)
{
	struct lh_instance *inst = bench_instance(bh, backend);
	size_t n = 0;

	inst->ops->list(inst->priv, state_count_visit, &n);
	return n;
}

static void state_verdict(const char *metric, double ms)
{
	char value[64], target[32];

	snprintf(value, sizeof(value), "%.2f ms (%.2f us/attachment)", ms,
		 ms * 1e3 / (STATE_SCSI + STATE_VPMEM));
	snprintf(target, sizeof(target), "< %.0f ms", STATE_TARGET_MS);
	bench_result("3 state", metric, value, target, ms < STATE_TARGET_MS ? "PASS" : "MISS");
}

int main(void)
{
	char **layers = bench_make_layers("state", STATE_SCSI + STATE_VPMEM);
	char *path = bench_path("state/layerhost.state"), value[64];
	double save[STATE_REPEATS], load[STATE_REPEATS], encode[STATE_REPEATS];
	struct lh_error err = { 0 };
	struct bench_host bh;
	struct stat st;
	size_t total = STATE_SCSI + STATE_VPMEM;

	bench_banner("benchmark 3: state save and load");
	bench_param("attachments", "%zu: %d SCSI disks (scsi.so, 4 x 256 LUNs) + %d VPMem layers "
		    "(vpmem.so, multi-mapped), each a distinct read-only file with one handle",
		    total, STATE_SCSI, STATE_VPMEM);
	bench_param("repeats", "%d saves and %d loads, median reported", STATE_REPEATS,
		    STATE_REPEATS);
	bench_param("state file", "%s (save: temp file, fsync, rename, fsync folder)", path);

	bench_host_open(&bh, state_ini);
	for (size_t i = 0; i < total; i++)
		(void)bench_attach(bench_instance(&bh, i < STATE_SCSI ? "scsi" : "vpmem"), layers[i]);
	for (int r = 0; r < STATE_REPEATS; r++) {
		struct lh_gob_encoder enc;
		uint64_t start;

		lh_gob_encoder_init(&enc);
		start = bench_now_ns();
		if (lh_state_encode(bh.host, &enc, &err))
			bench_die("lh_state_encode", &err);
		encode[r] = (double)(bench_now_ns() - start) / 1e6;
		lh_gob_encoder_free(&enc);
		start = bench_now_ns();
		if (lh_state_save(bh.host, path, &err))
			bench_die("lh_state_save", &err);
		save[r] = (double)(bench_now_ns() - start) / 1e6;
	}
	bench_host_close(&bh);
	if (stat(path, &st) < 0)
		bench_die("stat of the state file", NULL);

	for (int r = 0; r < STATE_REPEATS; r++) {
		uint64_t start;

		bench_host_open(&bh, state_ini);
		start = bench_now_ns();
		if (lh_state_load(bh.host, path, &err))
			bench_die("lh_state_load", &err);
		load[r] = (double)(bench_now_ns() - start) / 1e6;
		if (state_live(&bh, "scsi") != STATE_SCSI || state_live(&bh, "vpmem") != STATE_VPMEM)
			bench_die("the loaded state does not hold every attachment", NULL);
		bench_host_close(&bh);
	}

	double save_ms = bench_median(save, STATE_REPEATS), load_ms = bench_median(load, STATE_REPEATS);
	double encode_ms = bench_median(encode, STATE_REPEATS);

	printf("save %.2f ms (of which encoding %.2f ms), load %.2f ms, file %lld bytes = %.1f "
	       "bytes/attachment\n", save_ms, encode_ms, load_ms, (long long)st.st_size,
	       (double)st.st_size / (double)total);
	state_verdict("lh_state_save, 10000 attachments", save_ms);
	state_verdict("lh_state_load, 10000 attachments", load_ms);
	snprintf(value, sizeof(value), "%.2f ms", encode_ms);
	bench_result("3 state", "of which encoding in memory (no I/O)", value, "-", "-");
	snprintf(value, sizeof(value), "%.1f bytes/attachment", (double)st.st_size / (double)total);
	bench_result("3 state", "state file size", value, "none set", "-");
	bench_free_paths(layers, total);
	free(path);
	return 0;
}
