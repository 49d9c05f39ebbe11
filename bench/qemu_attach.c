/*
 * qemu_attach.c - per-attach latency of a read-only SCSI disk through
 * layerhost's qemu driver (request JSON parsed, slot checked, disk probed,
 * QMP, journal) beside a bare QMP client sending the same
 * blockdev-add / device_add / device_del + DEVICE_DELETED / blockdev-del
 * to the same VM, in the same run. Prints both and the ratio.
 *
 * Needs qemu-system-x86_64; LH_BENCH_ITERATIONS sets the count (200).
 */
#include "bench.h"
#include "registry.h"
#include "qmp.h"
#include "vm.h"

#include <stdio.h>
#include <stdlib.h>

static void bench_modify(struct lh_driver *drv, const char *uvm, const char *json)
{
	struct lh_error err = { 0 };
	cJSON *req = cJSON_Parse(json);

	if (!req || drv->ops->modify(drv, uvm, req, &err))
		bench_die("qemu driver request", &err);
	cJSON_Delete(req);
}

static void bench_qmp(struct lh_qmp *q, const char *command, const char *args)
{
	struct lh_error err = { 0 };

	if (lh_qmp_execute(q, command, args ? cJSON_Parse(args) : NULL, NULL, LH_QMP_TIMEOUT_MS,
			   &err))
		bench_die(command, &err);
}

int main(void)
{
	long iterations = bench_env_long("LH_BENCH_ITERATIONS", 200);
	struct bench_samples drv_add = { 0 }, drv_del = { 0 }, bare_add = { 0 }, bare_del = { 0 };
	struct lh_error err = { 0 };
	struct lh_config *cfg = NULL;
	struct lh_driver_params params;
	struct lh_driver *drv = NULL;
	struct lh_host *host = NULL;
	struct lh_qmp *bare = NULL;
	char *ini, *vhd = bench_path("layer.vhd"), *control, add[1024], blk[1024], dev[256];
	char value[64], ratio[64];
	uint64_t t0;

	bench_banner("qemu driver: per-attach latency vs a bare QMP client");
	bench_param("iterations", "%ld", iterations);
	if (system("command -v qemu-system-x86_64 >/dev/null") != 0) {
		bench_result("7 qemu driver", "attach median (layerhost vs bare QMP)",
			     "not run: qemu-system-x86_64 not installed (apt-get install "
			     "--no-install-recommends qemu-system-x86)", "-", "-");
		return 0;
	}
	bench_make_vhd(vhd, 1 << 20);
	if (asprintf(&ini, "[host]\nplugin_dir = %s\ndriver = qemu\nrun_dir = %s/run\n"
		     "journal = %s/journal\njournal_fsync = never\n[uvm]\nid = bench\nos = linux\n"
		     "guest = none\nmemory = 128M\n[plugin.vpmem]\nmulti_mapping = false\nmax_devices = 1\n",
		     LH_BENCH_PLUGIN_DIR, bench_workdir(), bench_workdir()) < 0 ||
	    lh_config_parse(ini, "bench.ini", bench_workdir(), &cfg, &err))
		bench_die("config", &err);
	/* The driver from the registry, sized by the backends a host loads. */
	lh_config_driver_params(cfg, &params);
	if (lh_driver_open("qemu", &params, &drv, &err) ||
	    lh_host_open(cfg, drv, NULL, &host, &err))
		bench_die("driver", &err);
	if (lh_host_vm_start(host, &err))
		bench_die("vm start", &err);
	if (asprintf(&control, "%s/bench.control", cfg->run_dir) < 0 ||
	    lh_qmp_connect(control, LH_QMP_TIMEOUT_MS, &bare, &err))
		bench_die("bare QMP client", &err);

	snprintf(add, sizeof(add),
		 "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/0/Attachments/0\",\"RequestType\":"
		 "\"Add\",\"Settings\":{\"Type\":\"VirtualDisk\",\"Path\":\"%s\",\"ReadOnly\":true}}",
		 vhd);
	snprintf(blk, sizeof(blk),
		 "{\"driver\":\"vpc\",\"node-name\":\"bare\",\"read-only\":true,\"file\":{\"driver\":"
		 "\"file\",\"filename\":\"%s\",\"read-only\":true}}", vhd);
	snprintf(dev, sizeof(dev), "{\"driver\":\"scsi-hd\",\"id\":\"bare-disk\",\"bus\":\"scsi0.0\","
		 "\"channel\":0,\"scsi-id\":0,\"lun\":1,\"drive\":\"bare\"}");
	for (long i = 0; i < iterations; i++) {
		t0 = bench_now_ns();
		bench_modify(drv, "bench", add);
		bench_samples_add(&drv_add, bench_now_ns() - t0);
		t0 = bench_now_ns();
		bench_modify(drv, "bench", "{\"ResourcePath\":\"VirtualMachine/Devices/Scsi/0/"
			     "Attachments/0\",\"RequestType\":\"Remove\"}");
		/* A removal completes at the flush that ends a command. */
		if (drv->ops->flush(drv, &err))
			bench_die("qemu driver flush", &err);
		bench_samples_add(&drv_del, bench_now_ns() - t0);

		t0 = bench_now_ns();
		bench_qmp(bare, "blockdev-add", blk);
		bench_qmp(bare, "device_add", dev);
		bench_samples_add(&bare_add, bench_now_ns() - t0);
		t0 = bench_now_ns();
		bench_qmp(bare, "device_del", "{\"id\":\"bare-disk\"}");
		if (lh_qmp_wait_event(bare, "DEVICE_DELETED", "bare-disk", LH_QMP_TIMEOUT_MS, &err))
			bench_die("DEVICE_DELETED", &err);
		bench_qmp(bare, "blockdev-del", "{\"node-name\":\"bare\"}");
		bench_samples_add(&bare_del, bench_now_ns() - t0);
	}
	{
		double d_add = (double)bench_samples_quantile(&drv_add, 0.5) / 1e3;
		double b_add = (double)bench_samples_quantile(&bare_add, 0.5) / 1e3;
		double d_del = (double)bench_samples_quantile(&drv_del, 0.5) / 1e3;
		double b_del = (double)bench_samples_quantile(&bare_del, 0.5) / 1e3;

		printf("attach  median: layerhost %.1f us, bare QMP %.1f us, ratio %.2f\n", d_add,
		       b_add, d_add / b_add);
		printf("detach  median: layerhost %.1f us, bare QMP %.1f us, ratio %.2f\n", d_del,
		       b_del, d_del / b_del);
		snprintf(value, sizeof(value), "%.1f us vs %.1f us", d_add, b_add);
		snprintf(ratio, sizeof(ratio), "%.2f", d_add / b_add);
		bench_result("7 qemu driver", "attach median (layerhost vs bare QMP)", value, "-",
			     "-");
		bench_result("7 qemu driver", "ratio layerhost / bare QMP, attach", ratio, "-", "-");
		snprintf(value, sizeof(value), "%.1f us vs %.1f us", d_del, b_del);
		snprintf(ratio, sizeof(ratio), "%.2f", d_del / b_del);
		bench_result("7 qemu driver", "detach median (layerhost vs bare QMP)", value, "-",
			     "-");
		bench_result("7 qemu driver", "ratio layerhost / bare QMP, detach", ratio, "-", "-");
	}
	lh_qmp_close(bare);
	if (lh_host_vm_stop(host, &err))
		bench_die("vm stop", &err);
	lh_host_close(host);
	lh_driver_close(drv);
	lh_config_free(cfg);
	bench_samples_free(&drv_add);
	bench_samples_free(&drv_del);
	bench_samples_free(&bare_add);
	bench_samples_free(&bare_del);
	free(control);
	free(ini);
	free(vhd);
	return 0;
}
