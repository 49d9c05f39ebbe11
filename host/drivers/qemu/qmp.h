/*
 * qmp.h - a small QEMU Machine Protocol client on cJSON.
 *
 * One client talks to one QEMU over its unix socket: it reads the greeting,
 * negotiates capabilities, tags every command with an id, and keeps the
 * asynchronous events that arrive between replies in a queue so a caller
 * can wait for one later (DEVICE_DELETED after device_del). Every wait has
 * a deadline; a socket QEMU closed is reported as such (-EPIPE), and the
 * client stays dead afterwards.
 *
 * A client is not thread-safe: its owner serialises calls.
 */
#ifndef LH_QMP_H
#define LH_QMP_H

#include <layerhost/backend.h>

#include <cjson/cJSON.h>

struct lh_qmp;

/* Default deadline for a command's reply and for an event. */
#define LH_QMP_TIMEOUT_MS 10000

/*
 * Connect to the QMP socket at path (retrying while it does not exist yet,
 * up to timeout_ms), read the greeting and leave capabilities negotiation
 * done. *out is a new client (lh_qmp_close).
 */
int lh_qmp_connect(const char *path, int timeout_ms, struct lh_qmp **out, struct lh_error *err);

/*
 * Start a client on a connected stream socket `fd` (taken over: closed by
 * lh_qmp_close, or at once on failure): read the greeting and negotiate
 * capabilities within timeout_ms. `name` names the peer in messages.
 */
int lh_qmp_start(int fd, const char *name, int timeout_ms, struct lh_qmp **out,
		 struct lh_error *err);

/*
 * Run `command` with `args` (an object, consumed even on failure; NULL for
 * none) and wait up to timeout_ms for its reply. On success *ret (if not
 * NULL) receives the "return" value, owned by the caller. QEMU's refusal
 * is -LH_EDRIVER with "<command>: <QEMU's desc>"; a dead socket -EPIPE; no
 * reply in time -ETIMEDOUT (the client is then unusable: a late reply
 * would be mistaken for the next one, so it is marked dead).
 */
int lh_qmp_execute(struct lh_qmp *q, const char *command, cJSON *args, cJSON **ret,
		   int timeout_ms, struct lh_error *err);

/*
 * The two halves of lh_qmp_execute, so that commands can be in flight
 * together: lh_qmp_send writes `command` (args consumed, as above) and
 * gives its ticket; lh_qmp_reply waits for that command's reply, with
 * lh_qmp_execute's results and errors. QEMU answers in order, so replies
 * must be awaited in the order the commands were sent; a command whose
 * reply is never awaited has its reply dropped by the next wait.
 */
int lh_qmp_send(struct lh_qmp *q, const char *command, cJSON *args, uint64_t *ticket,
		struct lh_error *err);
int lh_qmp_reply(struct lh_qmp *q, uint64_t ticket, const char *command, cJSON **ret,
		 int timeout_ms, struct lh_error *err);

/*
 * Wait up to timeout_ms for event `name` whose data.device equals `device`
 * (NULL: any), looking first at the events already queued. The matching
 * event is removed from the queue; -ETIMEDOUT if none came.
 */
int lh_qmp_wait_event(struct lh_qmp *q, const char *name, const char *device, int timeout_ms,
		      struct lh_error *err);

/* Drop queued events named `name` (NULL: all) whose data.device is
 * `device` (NULL: any). */
void lh_qmp_discard_events(struct lh_qmp *q, const char *name, const char *device);

/* Whether the socket is still usable. */
bool lh_qmp_alive(const struct lh_qmp *q);

/* The socket path given to lh_qmp_connect (borrowed). */
const char *lh_qmp_path(const struct lh_qmp *q);

/* Close and free. NULL-safe. */
void lh_qmp_close(struct lh_qmp *q);

#endif
