/*
 * bench_memory.c - benchmark 6: peak resident memory of a host holding
 * 10,000 attachments, and what each attachment adds.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#define MEMORY_SCSI 1000
#define MEMORY_VPMEM 9000

static long memory_maxrss_kib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		bench_die("getrusage", NULL);
	return ru.ru_maxrss;
}

int main(void)
{
	size_t total = MEMORY_SCSI + MEMORY_VPMEM;
	char **layers = bench_make_layers("mem", total);
	struct bench_host bh;
	long before, after;
	char value[96];

	bench_banner("benchmark 6: peak resident memory");
	bench_param("attachments", "%zu: %d SCSI disks (scsi.so, 4 x 256 LUNs) + %d VPMem layers "
		    "(vpmem.so, multi-mapped), each a distinct read-only file with one handle, "
		    "null driver", total, MEMORY_SCSI, MEMORY_VPMEM);
	bench_param("measure", "getrusage(RUSAGE_SELF).ru_maxrss after the host is open with "
		    "nothing attached (baseline), and after every attachment is made");
	bench_host_open(&bh, "[uvm]\nos = linux\n"
			"[plugin.scsi]\ncontrollers = 4\nluns_per_controller = 256\n"
			"[plugin.vpmem]\nmax_devices = 128\n");
	before = memory_maxrss_kib();
	for (size_t i = 0; i < total; i++)
		(void)bench_attach(bench_instance(&bh, i < MEMORY_SCSI ? "scsi" : "vpmem"), layers[i]);
	after = memory_maxrss_kib();
	bench_host_close(&bh);

	printf("peak RSS: %ld KiB with nothing attached, %ld KiB with %zu attachments: %.0f bytes "
	       "per attachment\n", before, after, total, (double)(after - before) * 1024.0 /
	       (double)total);
	snprintf(value, sizeof(value), "%.1f MiB (baseline %.1f MiB)", after / 1024.0,
		 before / 1024.0);
	bench_result("6 memory", "peak RSS with 10000 attachments", value, "none set", "-");
	snprintf(value, sizeof(value), "%.0f bytes", (double)(after - before) * 1024.0 /
		 (double)total);
	bench_result("6 memory", "RSS added per attachment", value, "none set", "-");
	bench_free_paths(layers, total);
	return 0;
}
