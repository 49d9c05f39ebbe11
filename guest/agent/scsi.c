/* scsi.c - MappedVirtualDisk and SCSIDevice: a hot-plugged SCSI disk
 * found by where it is plugged, mounted, unmounted, deleted. */
#include "agent.h"

#include "guest_protocol.h"
#include "mnt.h"
#include "sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

#define SCSI_CONTROLLERS_MAX 4
#define SCSI_FIRST_SLOT 0x2 /* controller c is the virtio-scsi-pci at 00:(2+c).0 */
#define SCSI_POLL_MS 5

struct scsi_disk {
	char pci[64];            /* the controller's PCI device folder */
	char lun_dir[GA_PATH_MAX]; /* .../hostH/targetH:0:0/H:0:0:L */
	char node[64];           /* /dev/sdX or /dev/sdXN */
};

/*
 * Look up controller c, LUN l once. The SCSI host number H is whatever
 * probe order gave the controller: it is read from the tree under the
 * controller's PCI device, never computed from c. 0, -ENODEV when there
 * is no such controller (they are not hot-plugged), -ENOENT when the disk
 * (or its partition) is not there (yet).
 */
static int scsi_lookup(unsigned c, unsigned l, uint64_t partition, struct scsi_disk *d)
{
	char virtio[64], host[64], dir[GA_PATH_MAX], block[GA_PATH_MAX], name[64], part[96];
	unsigned h;

	ga_path(d->pci, sizeof(d->pci), "/sys/bus/pci/devices/0000:00:%02x.0", SCSI_FIRST_SLOT + c);
	if (!ga_sysfs_exists(d->pci))
		return -ENODEV;
	if (ga_sysfs_child(d->pci, "virtio", virtio, sizeof(virtio)) ||
	    ga_path(dir, sizeof(dir), "%s/%s", d->pci, virtio) ||
	    ga_sysfs_child(dir, "host", host, sizeof(host)) || sscanf(host, "host%u", &h) != 1)
		return -ENOENT;
	/* QEMU's scsi-hd sits at channel 0, target (scsi-id) 0, LUN l. */
	if (ga_path(d->lun_dir, sizeof(d->lun_dir), "%s/%s/%s/target%u:0:0/%u:0:0:%u", d->pci,
		    virtio, host, h, h, l) ||
	    ga_path(block, sizeof(block), "%s/block", d->lun_dir) ||
	    ga_sysfs_child(block, "sd", name, sizeof(name)))
		return -ENOENT;
	if (partition == 0)
		return ga_path(d->node, sizeof(d->node), "/dev/%s", name) ? -ENOENT : 0;
	if (ga_path(part, sizeof(part), "%s%llu", name, (unsigned long long)partition) ||
	    ga_path(dir, sizeof(dir), "%s/%s/%s", block, name, part) || !ga_sysfs_exists(dir) ||
	    ga_path(d->node, sizeof(d->node), "/dev/%s", part))
		return -ENOENT;
	return 0;
}

/* Wait for the disk, then for its device node. */
static int scsi_wait(unsigned c, unsigned l, uint64_t partition, struct scsi_disk *d,
		     struct ga_error *err)
{
	int64_t start = ga_now_ms();
	int rc, left;

	while ((rc = scsi_lookup(c, l, partition, d)) == -ENOENT &&
	       ga_now_ms() - start < LH_GUEST_DEVICE_WAIT_MS)
		ga_sleep_ms(SCSI_POLL_MS);
	if (rc == -ENODEV)
		return GA_FAIL(err, -ENODEV, "SCSI controller %u: no virtio-scsi controller at PCI "
			       "0000:00:%02x.0", c, SCSI_FIRST_SLOT + c);
	if (rc)
		return GA_FAIL(err, -ENOENT, "SCSI %u:%u%s: no disk under %s after %d ms", c, l,
			       partition ? " (partition)" : "", d->pci, LH_GUEST_DEVICE_WAIT_MS);
	left = LH_GUEST_DEVICE_WAIT_MS - (int)(ga_now_ms() - start);
	return ga_wait_node(d->node, left > 0 ? left : 0, err);
}

struct scsi_request {
	const char *mount_path, *filesystem;
	uint64_t controller, lun, partition;
	bool read_only, ensure_fs, block_dev, encrypted;
	const struct ga_json *options;
};

static int scsi_parse(const struct ga_json *s, struct scsi_request *r, struct ga_error *err)
{
	memset(r, 0, sizeof(*r));
	r->filesystem = "ext4";
	/* hcsshim omits zero values: a missing number is 0, a missing bool false. */
	if (ga_json_string(s, "MountPath", &r->mount_path) || r->mount_path[0] != '/')
		return GA_FAIL(err, -EINVAL, "MappedVirtualDisk: MountPath must be an absolute "
			       "path");
	if (ga_json_uint(s, "Controller", SCSI_CONTROLLERS_MAX - 1, &r->controller) == -EINVAL)
		return GA_FAIL(err, -EINVAL, "MappedVirtualDisk: Controller must be 0..%d",
			       SCSI_CONTROLLERS_MAX - 1);
	if (ga_json_uint(s, "Lun", 255, &r->lun) == -EINVAL)
		return GA_FAIL(err, -EINVAL, "MappedVirtualDisk: Lun must be 0..255");
	if (ga_json_uint(s, "Partition", 1u << 20, &r->partition) == -EINVAL)
		return GA_FAIL(err, -EINVAL, "MappedVirtualDisk: bad Partition");
	if (ga_json_bool(s, "ReadOnly", &r->read_only) == -EINVAL ||
	    ga_json_bool(s, "EnsureFilesystem", &r->ensure_fs) == -EINVAL ||
	    ga_json_bool(s, "BlockDev", &r->block_dev) == -EINVAL ||
	    ga_json_bool(s, "Encrypted", &r->encrypted) == -EINVAL)
		return GA_FAIL(err, -EINVAL, "MappedVirtualDisk: ReadOnly, EnsureFilesystem, "
			       "BlockDev and Encrypted are booleans");
	if (ga_json_string(s, "Filesystem", &r->filesystem) == -EINVAL)
		return GA_FAIL(err, -EINVAL, "MappedVirtualDisk: Filesystem is not a string");
	r->options = ga_json_get(s, "Options");
	if (r->encrypted)
		return GA_FAIL(err, -EOPNOTSUPP, "MappedVirtualDisk %s: Encrypted disks need "
			       "dm-crypt, which this guest does not carry", r->mount_path);
	if (ga_json_get(s, "VerityInfo"))
		return GA_FAIL(err, -EOPNOTSUPP, "MappedVirtualDisk %s: VerityInfo needs "
			       "dm-verity, which this guest does not carry", r->mount_path);
	return 0;
}

/* BlockDev: the device itself appears at MountPath (a bind mount over a
 * file), for a container that wants the raw disk. */
static int scsi_bind_device(const struct scsi_request *r, const char *node, struct ga_error *err)
{
	char parent[GA_PATH_MAX], *slash;
	int fd, rc;

	if (ga_path(parent, sizeof(parent), "%s", r->mount_path))
		return GA_FAIL(err, -ENAMETOOLONG, "%s: path too long", r->mount_path);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		rc = ga_mkdir_p(parent, err);
		if (rc)
			return rc;
	}
	fd = open(r->mount_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return GA_SYSFAIL(err, errno, "create %s", r->mount_path);
	close(fd);
	rc = ga_mount(node, r->mount_path, "none", MS_BIND, NULL, 0, 0, err);
	if (rc == 0 && r->read_only)
		rc = ga_mount("none", r->mount_path, "none", MS_BIND | MS_REMOUNT | MS_RDONLY,
			      NULL, 0, 0, err);
	if (rc)
		ga_unmount(r->mount_path, true, NULL);
	return rc;
}

static int scsi_add(const struct scsi_request *r, struct ga_buf *detail, struct ga_error *err)
{
	struct ga_buf data = { 0 };
	unsigned long flags = 0;
	struct ga_fs_probe probe;
	struct scsi_disk d;
	bool ext4 = strcmp(r->filesystem, "ext4") == 0, formatted = false;
	int rc;

	rc = scsi_wait((unsigned)r->controller, (unsigned)r->lun, r->partition, &d, err);
	if (rc)
		goto out;
	ga_buf_member_string(detail, "device", d.node);
	if (r->block_dev) {
		rc = scsi_bind_device(r, d.node, err);
		goto out;
	}
	rc = ga_mount_target_check(r->mount_path, d.node, err);
	if (rc) {
		rc = rc > 0 ? 0 : rc; /* mounted already: a retried Add */
		goto out;
	}
	rc = ga_fs_probe(d.node, &probe, err);
	if (rc)
		goto out;
	/* A scratch arrives blank (hcsshim formats it in the guest): make
	 * it ext4 on first use. Never a disk holding anything. */
	if (!r->read_only && (probe.blank || (r->ensure_fs && !probe.ext))) {
		if (!ext4) {
			rc = GA_FAIL(err, -EOPNOTSUPP, "%s: cannot make a %s filesystem (only ext4)",
				     d.node, r->filesystem);
			goto out;
		}
		rc = ga_mkfs_ext4(d.node, err);
		if (rc)
			goto out;
		formatted = true;
	}
	ga_buf_member_bool(detail, "formatted", formatted);
	rc = ga_mount_options(r->options, &flags, &data, err);
	if (rc)
		goto out;
	/* A read-only layer: no journal replay, which would write. */
	if (r->read_only) {
		flags |= MS_RDONLY;
		if (ext4 && !strstr(data.data ? data.data : "", "noload"))
			ga_buf_puts(&data, data.len ? ",noload" : "noload");
	}
	rc = ga_mkdir_p(r->mount_path, err);
	if (rc)
		goto out;
	rc = ga_mount(d.node, r->mount_path, r->filesystem, flags, data.data, ENXIO,
		      LH_GUEST_ENXIO_WAIT_MS, err);
	if (rc)
		rmdir(r->mount_path); /* a failed add leaves nothing behind */
	if (rc && ext4 && !probe.ext && err) {
		size_t n = strlen(err->message);

		snprintf(err->message + n, sizeof(err->message) - n, ": %s on %s",
			 probe.blank ? "the disk is blank (no filesystem)" : "no ext4 filesystem",
			 d.node);
	}
out:
	ga_buf_free(&data);
	return rc;
}

int ga_scsi_disk(const struct ga_json *settings, bool add, struct ga_buf *detail,
		 struct ga_error *err)
{
	struct scsi_request r;
	int rc = scsi_parse(settings, &r, err);

	if (rc)
		return rc;
	return add ? scsi_add(&r, detail, err) : ga_unmount(r.mount_path, true, err);
}

int ga_scsi_device(const struct ga_json *settings, bool add, struct ga_error *err)
{
	uint64_t c = 0, l = 0;
	struct scsi_disk d;
	char path[GA_PATH_MAX];
	int rc;

	if (add)
		return GA_FAIL(err, -EOPNOTSUPP, "SCSIDevice: only Remove is defined (a disk "
			       "appears by itself when plugged)");
	if (ga_json_uint(settings, "Controller", SCSI_CONTROLLERS_MAX - 1, &c) == -EINVAL ||
	    ga_json_uint(settings, "Lun", 255, &l) == -EINVAL)
		return GA_FAIL(err, -EINVAL, "SCSIDevice: Controller must be 0..%d, Lun 0..255",
			       SCSI_CONTROLLERS_MAX - 1);
	rc = scsi_lookup((unsigned)c, (unsigned)l, 0, &d);
	if (rc == -ENOENT || rc == -ENODEV)
		return 0; /* not there: already removed */
	/* Flush and drop the disk before the host pulls it. */
	rc = ga_path(path, sizeof(path), "%s/delete", d.lun_dir);
	if (rc == 0)
		rc = ga_sysfs_write(path, "1");
	if (rc && rc != -ENOENT)
		return GA_SYSFAIL(err, -rc, "SCSI %llu:%llu: write 1 to %s",
				  (unsigned long long)c, (unsigned long long)l, path);
	return 0;
}
