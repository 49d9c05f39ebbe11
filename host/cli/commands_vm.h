/*
 * commands_vm.h - `layerhost vm start|stop|status`: the QEMU UVM the qemu
 * driver works on (vm.h). Returns the process exit code (commands.h).
 */
#ifndef LH_COMMANDS_VM_H
#define LH_COMMANDS_VM_H

#include "commands.h"

/* action: "start", "stop" or "status" (anything else is a usage error). */
int lh_cmd_vm(const struct lh_cli *cli, const char *action);

#endif
