/* guest_boot.c - see guest_boot.h. */
#include "guest_boot.h"

#include "guest_protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A formatted string (malloc'd), NULL when out of memory. */
static char *boot_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *boot_format(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

int lh_guest_boot_args(const struct lh_guest_boot *b, int (*add)(void *ctx, const char *arg),
		       void *ctx)
{
	char *serial = NULL, *chardev = NULL, *vser = NULL;
	int rc = -ENOMEM;

	/* A comma would end the value in QEMU's option syntax. */
	if (!b->kernel || !b->initrd || !b->serial_log || !b->agent_socket ||
	    strchr(b->agent_socket, ',') || strchr(b->serial_log, ','))
		return -EINVAL;
	serial = boot_format("file:%s", b->serial_log);
	chardev = boot_format("socket,id=lh-agent,path=%s,server=on,wait=off", b->agent_socket);
	vser = boot_format("virtio-serial-pci,id=lh-vser,bus=pcie.0,addr=%s", LH_GUEST_VSERIAL_ADDR);
	if (serial && chardev && vser) {
		const char *args[] = {
			"-kernel", b->kernel,
			"-initrd", b->initrd,
			"-append", b->cmdline ? b->cmdline : LH_GUEST_CMDLINE_DEFAULT,
			"-serial", serial,
			"-no-reboot",
			"-device", vser,
			"-chardev", chardev,
			"-device", "virtserialport,bus=lh-vser.0,chardev=lh-agent,name="
				   LH_GUEST_PORT_NAME,
		};

		rc = 0;
		for (size_t i = 0; rc == 0 && i < sizeof(args) / sizeof(args[0]); i++)
			rc = add(ctx, args[i]);
	}
	free(serial);
	free(chardev);
	free(vser);
	return rc;
}
