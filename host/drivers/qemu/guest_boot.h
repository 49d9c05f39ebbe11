/*
 * guest_boot.h - the QEMU arguments that boot a real Linux guest with the
 * agent: kernel, initramfs, command line, console log and the agent's
 * virtio-serial port. They go beside the machine vm.c builds (q35, the
 * virtio-scsi controllers at pcie.0 slots 0x2-0x5, root ports from 0x8,
 * guest RAM from a shared memfd) and need it to run (no -S).
 */
#ifndef LH_GUEST_BOOT_H
#define LH_GUEST_BOOT_H

/* A panic reboots at once, and -no-reboot turns the reboot into QEMU's
 * exit: a guest that panics closes the agent's socket instead of hanging. */
#define LH_GUEST_CMDLINE_DEFAULT "console=ttyS0 quiet panic=-1"
/* The pcie.0 slot of the agent's virtio-serial controller: free in vm.c's
 * layout (0x2-0x5 SCSI controllers, 0x8 on root ports). */
#define LH_GUEST_VSERIAL_ADDR "0x7"

struct lh_guest_boot {
	const char *kernel;       /* an ELF vmlinux (booted through PVH) or a bzImage */
	const char *initrd;       /* guest/mkinitramfs.sh's initramfs.cpio */
	const char *cmdline;      /* NULL: LH_GUEST_CMDLINE_DEFAULT */
	const char *serial_log;   /* the guest's console goes to this file */
	const char *agent_socket; /* the unix socket QEMU serves for the agent's port */
};

/*
 * Hand each argument, in order, to add(ctx, arg) (arg is borrowed for the
 * call); stops at add's first non-zero return, which it returns. 0 or
 * -ENOMEM, -EINVAL when a path is missing.
 *
 *   -kernel K -initrd I -append CMDLINE -serial file:LOG -no-reboot
 *   -device virtio-serial-pci,id=lh-vser,bus=pcie.0,addr=0x7
 *   -chardev socket,id=lh-agent,path=SOCK,server=on,wait=off
 *   -device virtserialport,bus=lh-vser.0,chardev=lh-agent,name=layerhost.agent
 */
int lh_guest_boot_args(const struct lh_guest_boot *b, int (*add)(void *ctx, const char *arg),
		       void *ctx);

#endif
