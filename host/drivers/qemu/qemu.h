/*
 * qemu.h - the qemu driver: HCS modify requests carried out on a
 * QEMU UVM over QMP (the VM is started by `layerhost vm start`, vm.h).
 *
 * What each request becomes:
 *  - Scsi/<c>/Attachments/<l> Add: blockdev-add (format named: vpc for a
 *    VHD, vhdx, raw; host_device for PassThru; read-only as asked) node
 *    "blk<c>-<l>", then device_add scsi-hd "disk<c>-<l>" at scsi<c>.0
 *    channel 0 scsi-id 0 lun <l>. Remove: device_del, DEVICE_DELETED,
 *    blockdev-del. ExtensibleVirtualDisk is refused (no QEMU equivalent).
 *  - VirtualPMem/Devices/<N> Add: object-add memory-backend-file
 *    "pmem-mem<N>" over the layer (size: the VHD's data, file length - 512,
 *    whole 4 KiB pages; share, read-only as asked), device_add
 *    virtio-pmem-pci "pmem<N>" on root port rp<N>. Remove: QEMU cannot
 *    unplug virtio-pmem, so the device stays, marked "removed" in the VM
 *    record; slot N refuses adds (-LH_ENOLOCATION, so the LCOW pipeline
 *    falls back to SCSI) until the next VM start. Mappings (multi-mapping)
 *    are refused: QEMU maps one whole file per device.
 *  - VirtualSmb/Shares Add: a virtiofsd per share (read-only shares behind
 *    a read-only bind mount in the daemon's own mount namespace), chardev
 *    "fs-<name>-chr", device_add vhost-user-fs-pci "fs-<name>" tag <name>
 *    on a free share root port. Remove: device_del, DEVICE_DELETED,
 *    chardev-remove, the daemon reaped. Update (a file share's
 *    AllowedFiles) is accepted and journalled only: virtiofsd shares the
 *    whole directory, so the guest already sees every file in it.
 *  - Guest requests (a GuestRequest member, or a request that is only
 *    one, such as CombinedLayers): with a guest (the VM record names its
 *    agent, vm.h), delivered to the agent over its virtio-serial port
 *    (guest.c; one connection per VM, made at the first guest request and
 *    again when it died) in hcsshim's order: an Add realises the device,
 *    then the guest mounts it, and a guest failure undoes the device
 *    (SCSI unplugged, VPMem marked for removal) and fails the request
 *    with the guest's message; a Remove has the guest unmount first (for
 *    SCSI, then let go of the disk: the SCSIDevice removal hcsshim sends),
 *    then removes the device. Without a guest they go nowhere.
 *    The journal line says which: "guest":"delivered", "undelivered", or
 *    the guest's error (the request then failed).
 *
 * Every request the driver carries out is then appended to the journal
 * ([host] journal) through an inner journal driver, so the journal stays
 * the one record of what was asked. QEMU's error text is carried into err
 * together with the request's type and resource path.
 *
 * The VM is sized from what the backends need (configure); vm_start,
 * vm_stop and vm_status are the launcher's (vm.h); vm_exec runs a command
 * through the guest's agent.
 *
 * The driver connects lazily, on the first request for a UVM id, from the
 * VM record <run_dir>/<id>.vm, so a new process (restore) reconnects to
 * the running VM; the pmem and share bookkeeping lives in that record.
 */
#ifndef LH_QEMU_H
#define LH_QEMU_H

#include "driver.h"

/*
 * Open the qemu driver (params' strings borrowed: they must outlive it).
 * Its configure refuses (-LH_ECONFIG) backends that pack several layers
 * per VPMem device: [plugin.vpmem] multi_mapping must be false.
 */
int lh_qemu_driver_open(const struct lh_driver_params *params, struct lh_driver **out,
			struct lh_error *err);

#endif
