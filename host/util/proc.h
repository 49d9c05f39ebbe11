/*
 * proc.h - other processes: whether one is alive, and ending it.
 *
 * A process a record names is its pid and its start time (clock ticks
 * after boot, field 22 of /proc/<pid>/stat): after it dies, or after a
 * reboot, another process may get the same pid, and layerhost must never
 * take that one for it, nor signal it.
 */
#ifndef LH_PROC_H
#define LH_PROC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Whether pid is a live (not zombie) process. For a process this run
 * started or has just checked with lh_proc_alive. */
bool lh_pid_alive(pid_t pid);

/* pid's start time; 0 when it is gone or /proc cannot tell. */
uint64_t lh_proc_start(pid_t pid);

/* Whether pid is live, not a zombie, and started at start (0: unknown,
 * the pid alone decides). */
bool lh_proc_alive(pid_t pid, uint64_t start);

/* Wait up to timeout_ms for the process to be gone, reaping it if it is
 * our child. True when it is. */
bool lh_proc_wait_gone(pid_t pid, uint64_t start, int timeout_ms);

/* End the process if it is still that one: SIGTERM, then SIGKILL after
 * wait_ms, then wait up to wait_ms more. */
void lh_proc_end(pid_t pid, uint64_t start, int wait_ms);

/* Read "pid" and "pid_start" (absent: 0) of a record object; a bare
 * number is a pid of unknown start. False when there is no pid. */
bool lh_proc_read(const cJSON *item, pid_t *pid, uint64_t *start);

#endif
