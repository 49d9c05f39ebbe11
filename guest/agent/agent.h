/*
 * agent.h - what the guest agent's files share: errors, clocks, logging,
 * the request context, and each operation's entry point.
 *
 * The agent is layerhost's guest half (guest_protocol.h describes the
 * wire): the initramfs's /init, which prepares the guest and keeps one
 * serving process running (main.c), and that process (serve.c), which
 * carries out the host's requests with system calls (mounts, sysfs
 * writes, finit_module), never by running tools, except mke2fs for a
 * blank scratch and the commands `exec` asks for.
 *
 * Names: ga_<module>_<verb> ("guest agent"); errors as everywhere in
 * layerhost: int 0 or a negative errno, the detail once, where it
 * happens, in the caller's struct ga_error.
 */
#ifndef GA_AGENT_H
#define GA_AGENT_H

#include "json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GA_ERROR_MAX 1024

struct ga_error {
	int code;       /* negative errno; 0 while nothing failed */
	int sys_errno;  /* errno of the failed system call (>0), 0 if none */
	char message[GA_ERROR_MAX];
};

/* Record the first failure (later ones are ignored); returns code. */
int ga_error_set(struct ga_error *err, int code, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A failure that is not a system call's. */
#define GA_FAIL(err, code, ...) ga_error_set((err), (code), 0, __VA_ARGS__)
/* A system call's failure: errno (saved by the caller in e) and its text
 * go into the message after the caller's words. */
#define GA_SYSFAIL(err, e, fmt, ...) \
	ga_error_set((err), -(e), (e), fmt ": %s", __VA_ARGS__, strerror(e))

/* Milliseconds on the monotonic clock. */
int64_t ga_now_ms(void);
void ga_sleep_ms(int ms);
/* Milliseconds since the (guest's) boot. */
int64_t ga_uptime_ms(void);

/* One line to the console (the serial log), prefixed with the agent's
 * name. Logging never fails the caller. */
void ga_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What a request may do and where it runs. */
struct ga_context {
	bool in_guest;     /* the guest's agent: modify and poweroff act */
	unsigned generation; /* agent starts in this boot (0: the first) */
	int64_t started_ms;
	const char *kernel;  /* uname release */
	const char *modules_failed; /* JSON array text of modules that did not load */
};

/*
 * The operations. Each reads its request (the whole message, an object)
 * and, on success, may append members to the reply in detail (",\"k\":v"
 * pairs). On failure err says what failed.
 */
int ga_modify(const struct ga_context *ctx, const struct ga_json *request, struct ga_buf *detail,
	      struct ga_error *err);
int ga_exec(const struct ga_context *ctx, const struct ga_json *request, struct ga_buf *detail,
	    struct ga_error *err);

/* The request kinds of ga_modify, one file each: Settings is the
 * ModificationRequest's, add false for Remove. */
int ga_scsi_disk(const struct ga_json *settings, bool add, struct ga_buf *detail,
		 struct ga_error *err);
int ga_scsi_device(const struct ga_json *settings, bool add, struct ga_error *err);
int ga_pmem_device(const struct ga_json *settings, bool add, struct ga_buf *detail,
		   struct ga_error *err);
int ga_overlay(const struct ga_json *settings, bool add, struct ga_error *err);
int ga_share(const struct ga_json *settings, bool add, struct ga_error *err);

/* Serve requests on fd until it ends (ga_serve_fd, for tests: EOF ends
 * it) or forever on the virtio port (ga_serve_port: EOF is a host that is
 * not connected). Return an exit status. */
int ga_serve_fd(const struct ga_context *ctx, int fd);
int ga_serve_port(const struct ga_context *ctx);

/* Load the modules /etc/layerhost/modules names, in order, from
 * /lib/modules/<name>.ko. Returns the names that failed as a JSON array
 * text (malloc'd; "[]" when none). */
char *ga_modules_load(void);

#endif
