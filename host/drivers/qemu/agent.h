/*
 * agent.h - the host's client of the guest agent (guest/agent/), over the
 * unix socket QEMU serves for the agent's virtio-serial port. The wire
 * protocol is guest/guest_protocol.h.
 *
 * A client is one connection. It begins every session with a ping of a
 * fresh id and drops whatever came before that ping's reply (replies an
 * earlier client left in the stream), and picks its ids from a random
 * base, so it never takes another session's reply for its own. Requests
 * go one at a time: send, then wait for the reply with that id, within a
 * deadline. A reply that arrives after its deadline is recognised by its
 * id and dropped later, so a timeout does not spoil the connection.
 *
 * What the client tells apart, each failing at once with its own message:
 *  - the socket closed (-EPIPE): QEMU exited, the guest powered off, or it
 *    panicked (the guest runs with panic=-1 and QEMU with -no-reboot, so a
 *    panic ends QEMU); the client is dead afterwards;
 *  - the agent restarted while a request was outstanding (-ECONNRESET): the
 *    guest's init replaces an agent that dies, and the new one announces
 *    itself with a ready event of a new generation; the client then sends
 *    a ping, and if that is answered before the request, the dead agent
 *    took the request with it;
 *  - the agent refused (-LH_EDRIVER): its message, prefixed "guest: ";
 *  - no answer in time (-ETIMEDOUT).
 *
 * Not thread-safe: the owner serialises calls. Depends only on
 * layerhost/backend.h (struct lh_error), cJSON and POSIX.
 */
#ifndef LH_AGENT_H
#define LH_AGENT_H

#include "driver.h"

#include <layerhost/backend.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct lh_agent;

/* How often a ping is repeated while waiting for an agent that is not up
 * yet (what a host wrote before the agent opened its port is kept, but a
 * repeated ping costs nothing and survives a guest that dropped one). */
#define LH_AGENT_PING_REPEAT_MS 500
/* Added to an exec's own timeout for the reply's deadline. */
#define LH_AGENT_EXEC_SLACK_MS 5000

/*
 * Connect to the agent's socket at path and ping it, waiting up to
 * timeout_ms for the answer. A socket that is not there or not served
 * fails at once (-ENOENT, -ECONNREFUSED: no VM). *out is a new client
 * (lh_agent_close).
 */
int lh_agent_connect(const char *path, int timeout_ms, struct lh_agent **out,
		     struct lh_error *err);

/*
 * The same for a VM that is booting: retry the socket until QEMU serves
 * it and ping until the agent answers, up to timeout_ms in all.
 * -ETIMEDOUT says how long it waited.
 */
int lh_agent_wait_ready(const char *path, int timeout_ms, struct lh_agent **out,
			struct lh_error *err);

/*
 * Start a client on a connected stream socket fd (taken over: closed by
 * lh_agent_close, or at once on failure), pinging within timeout_ms.
 * name names the peer in messages.
 */
int lh_agent_start(int fd, const char *name, int timeout_ms, struct lh_agent **out,
		   struct lh_error *err);

/*
 * Send request op with the members of args (an object, consumed even on
 * failure; NULL for none; "id" and "op" are set here) and wait up to
 * timeout_ms for its reply. On success *reply (if not NULL) is the whole
 * reply object, the caller's. Errors as above.
 */
int lh_agent_call(struct lh_agent *a, const char *op, cJSON *args, int timeout_ms,
		  cJSON **reply, struct lh_error *err);

/* A ping, answered within timeout_ms. */
int lh_agent_ping(struct lh_agent *a, int timeout_ms, struct lh_error *err);

/*
 * Deliver one guest request (hcsshim's ModificationRequest, the
 * GuestRequest member of an HCS request; borrowed) and wait for it to be
 * carried out, up to timeout_ms (0: LH_GUEST_MODIFY_TIMEOUT_MS). *reply
 * (if not NULL) receives the reply (its detail members: "device", "dax",
 * "formatted", ...), the caller's.
 */
int lh_agent_modify(struct lh_agent *a, const cJSON *guest_request, int timeout_ms,
		    cJSON **reply, struct lh_error *err);

/* A command to run in the guest. */
struct lh_agent_exec {
	const char *const *argv;  /* NULL-terminated; argv[0] searched in PATH */
	const char *const *env;   /* NULL-terminated, or NULL for the agent's default */
	const char *root;         /* run with this guest folder as its root (a
				   * container's rootfs), or NULL */
	const char *cwd;          /* NULL: "/" (in root) or the agent's */
	const char *stdin_data;   /* NULL: an empty stdin */
	size_t stdin_len;
	int timeout_ms;           /* 0: LH_GUEST_EXEC_TIMEOUT_DEFAULT_MS */
	size_t max_output;        /* bytes kept per stream; 0: LH_GUEST_EXEC_OUTPUT_DEFAULT */
};

/*
 * Run e in the guest and collect its output and status. A command that
 * could not be started (not found, no such root) is a failure with the
 * guest's message; a command that ran is a success whatever its status.
 * *res (driver.h's) is zeroed first; free it with lh_vm_exec_result_free,
 * also on failure.
 */
int lh_agent_exec(struct lh_agent *a, const struct lh_agent_exec *e,
		  struct lh_vm_exec_result *res, struct lh_error *err);

/* Whether the connection is still usable (it dies when the socket closes
 * or the stream breaks). */
bool lh_agent_alive(const struct lh_agent *a);

/* The agent's generation as its last answer said (0: the first agent of
 * this boot). */
long lh_agent_generation(const struct lh_agent *a);

/* Close and free. NULL-safe. */
void lh_agent_close(struct lh_agent *a);

#endif
