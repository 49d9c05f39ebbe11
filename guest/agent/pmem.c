/* pmem.c - VPMemDevice: a virtio-pmem layer found behind its PCIe root
 * port, mounted read-only, with DAX when the device allows it. */
#include "agent.h"

#include "guest_protocol.h"
#include "mnt.h"
#include "sysfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#define PMEM_DEVICES_MAX 128
#define PMEM_FIRST_SLOT 0x8  /* root port n is 00:(8 + n/8).(n%8) */
#define PMEM_ALIGN (2u << 20) /* nd_pmem maps only 2 MiB-aligned devices */
#define PMEM_POLL_MS 5
#define PMEM_RAW_RETRY_MS 100

/* Root port -> the device on its bus -> virtio -> ndbus -> region. */
static const char *const pmem_chain[] = { GA_SYSFS_PCI_DEVICE, "virtio", "ndbus", "region" };

struct pmem_dev {
	char port[64];
	char region[GA_PATH_MAX];    /* .../virtioK/ndbusX/regionY */
	char namespace[64];          /* namespaceY.0 */
	char node[64];               /* /dev/pmemZ */
	bool have_region, have_namespace, aligned;
};

/* One look at root port n. 0 with the block device; -EAGAIN with the
 * region (and maybe its namespace) but no block device yet; -ENOENT
 * before the region; -ENODEV when there is no such root port. */
static int pmem_lookup(unsigned n, struct pmem_dev *p)
{
	char dir[GA_PATH_MAX], name[GA_PATH_MAX], block[64], text[64];
	unsigned long long start, size;

	ga_path(p->port, sizeof(p->port), "/sys/bus/pci/devices/0000:00:%02x.%x",
		PMEM_FIRST_SLOT + n / 8, n % 8);
	if (!ga_sysfs_exists(p->port))
		return -ENODEV;
	snprintf(dir, sizeof(dir), "%s", p->port);
	for (size_t i = 0; i < sizeof(pmem_chain) / sizeof(pmem_chain[0]); i++) {
		size_t len = strlen(dir);

		if (ga_sysfs_child(dir, pmem_chain[i], name, sizeof(name)) ||
		    ga_path(dir + len, sizeof(dir) - len, "/%s", name))
			return -ENOENT;
	}
	if (!p->have_region) {
		if (ga_path(p->region, sizeof(p->region), "%s", dir) ||
		    ga_path(name, sizeof(name), "%s/resource", dir) ||
		    ga_sysfs_read(name, text, sizeof(text)) || sscanf(text, "%llx", &start) != 1 ||
		    ga_path(name, sizeof(name), "%s/size", dir) ||
		    ga_sysfs_read(name, text, sizeof(text)) || sscanf(text, "%llu", &size) != 1)
			return -ENOENT;
		p->aligned = start % PMEM_ALIGN == 0 && size % PMEM_ALIGN == 0;
		p->have_region = true;
	}
	if (!p->have_namespace) {
		if (ga_sysfs_child(p->region, "namespace", p->namespace, sizeof(p->namespace)))
			return -EAGAIN;
		p->have_namespace = true;
	}
	if (ga_path(dir, sizeof(dir), "%s/%s/block", p->region, p->namespace) ||
	    ga_sysfs_child(dir, "pmem", block, sizeof(block)) ||
	    ga_path(p->node, sizeof(p->node), "/dev/%s", block))
		return -EAGAIN;
	return 0;
}

/* A misaligned device: nd_pmem refused it, but takes it as a raw
 * namespace (no DAX). Errors are left to the wait to report: the device
 * simply does not appear. */
static void pmem_bind_raw(const struct pmem_dev *p)
{
	char path[GA_PATH_MAX];
	int rc;

	rc = ga_path(path, sizeof(path), "%s/%s/force_raw", p->region, p->namespace);
	if (rc == 0)
		rc = ga_sysfs_write(path, "1");
	if (rc)
		ga_log("%s: %s", path, strerror(-rc));
	if (ga_path(path, sizeof(path), "%s/%s/driver", p->region, p->namespace) == 0 &&
	    ga_sysfs_exists(path))
		return;
	rc = ga_sysfs_write("/sys/bus/nd/drivers/nd_pmem/bind", p->namespace);
	if (rc && rc != -EBUSY)
		ga_log("bind %s to nd_pmem: %s", p->namespace, strerror(-rc));
}

static int pmem_wait(unsigned n, struct pmem_dev *p, struct ga_error *err)
{
	int64_t start = ga_now_ms(), raw_at = 0;
	int rc, left;

	memset(p, 0, sizeof(*p));
	for (;;) {
		rc = pmem_lookup(n, p);
		if (rc == 0 || rc == -ENODEV)
			break;
		if (rc == -EAGAIN && p->have_namespace && !p->aligned &&
		    ga_now_ms() - raw_at >= PMEM_RAW_RETRY_MS) {
			pmem_bind_raw(p);
			raw_at = ga_now_ms();
		}
		if (ga_now_ms() - start >= LH_GUEST_DEVICE_WAIT_MS)
			break;
		ga_sleep_ms(PMEM_POLL_MS);
	}
	if (rc == -ENODEV)
		return GA_FAIL(err, -ENODEV, "VPMem device %u: no PCIe root port at %s", n, p->port);
	if (rc)
		return GA_FAIL(err, -ENOENT, "VPMem device %u: no %s under %s after %d ms%s", n,
			       !p->have_region ? "pmem region" : !p->have_namespace ? "namespace"
											: "block device",
			       p->port, LH_GUEST_DEVICE_WAIT_MS,
			       p->have_region && !p->aligned ? " (the device is not 2 MiB-aligned "
							       "and the raw bind did not take)" : "");
	left = LH_GUEST_DEVICE_WAIT_MS - (int)(ga_now_ms() - start);
	return ga_wait_node(p->node, left > 0 ? left : 0, err);
}

int ga_pmem_device(const struct ga_json *settings, bool add, struct ga_buf *detail,
		   struct ga_error *err)
{
	const char *mount_path = NULL;
	struct ga_fs_probe probe;
	struct pmem_dev p;
	uint64_t n = 0;
	bool dax;
	int rc;

	if (ga_json_string(settings, "MountPath", &mount_path) || mount_path[0] != '/')
		return GA_FAIL(err, -EINVAL, "VPMemDevice: MountPath must be an absolute path");
	if (ga_json_uint(settings, "DeviceNumber", PMEM_DEVICES_MAX - 1, &n) == -EINVAL)
		return GA_FAIL(err, -EINVAL, "VPMemDevice: DeviceNumber must be 0..%d",
			       PMEM_DEVICES_MAX - 1);
	if (!add)
		return ga_unmount(mount_path, true, err);
	if (ga_json_get(settings, "MappingInfo"))
		return GA_FAIL(err, -EOPNOTSUPP, "VPMemDevice %s: MappingInfo (several layers in "
			       "one device) needs device-mapper, which this guest does not carry",
			       mount_path);
	if (ga_json_get(settings, "VerityInfo"))
		return GA_FAIL(err, -EOPNOTSUPP, "VPMemDevice %s: VerityInfo needs dm-verity, "
			       "which this guest does not carry", mount_path);
	rc = pmem_wait((unsigned)n, &p, err);
	if (rc == 0)
		rc = ga_mount_target_check(mount_path, p.node, err);
	if (rc)
		return rc > 0 ? 0 : rc; /* > 0: mounted already, a retried Add */
	rc = ga_fs_probe(p.node, &probe, err);
	if (rc)
		return rc;
	/* DAX maps the device's pages straight into the page cache's place:
	 * it needs an aligned device and blocks the size of a page. */
	dax = p.aligned && probe.ext && probe.block_size == (unsigned)sysconf(_SC_PAGESIZE);
	ga_buf_member_string(detail, "device", p.node);
	ga_buf_member_bool(detail, "dax", dax);
	ga_buf_member_bool(detail, "raw", !p.aligned);
	rc = ga_mkdir_p(mount_path, err);
	if (rc)
		return rc;
	rc = ga_mount(p.node, mount_path, "ext4", MS_RDONLY, dax ? "noload,dax=always" : "noload",
		      ENXIO, LH_GUEST_ENXIO_WAIT_MS, err);
	if (rc)
		rmdir(mount_path); /* a failed add leaves nothing behind */
	if (rc && !probe.ext && err) {
		size_t len = strlen(err->message);

		snprintf(err->message + len, sizeof(err->message) - len, ": no ext4 filesystem "
			 "on %s", p.node);
	}
	return rc;
}
