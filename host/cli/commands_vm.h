/*
 * commands_vm.h - `layerhost vm start|stop|status|exec`: the QEMU UVM the
 * qemu driver works on, and its guest. Returns the process exit code
 * (commands.h).
 */
#ifndef LH_COMMANDS_VM_H
#define LH_COMMANDS_VM_H

#include "commands.h"

/* action: "start", "stop" or "status" (anything else is a usage error). */
int lh_cmd_vm(const struct lh_cli *cli, const char *action);

/*
 * `vm exec [--container ID] -- CMD [ARGS]`: run argv (n words) in the
 * VM's guest, in container cli->container's rootfs (from the state) when
 * given, and print its stdout and stderr (or, with --json, one document).
 * Returns the command's exit status (128 + N when signal N ended it, 124
 * when it ran out of time), or 1 / 2 when it could not be run.
 */
int lh_cmd_vm_exec(const struct lh_cli *cli, char *const *argv, int n);

#endif
