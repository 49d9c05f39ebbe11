/* qmp.c - see qmp.h. */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A QMP line is a reply or an event; query-block on 256 disks is the
 * largest we ask for and stays far below this. */
#define QMP_LINE_MAX (16u << 20)
/* Events nobody waits for (e.g. RTC_CHANGE) must not pile up forever. */
#define QMP_EVENTS_MAX 256

struct lh_qmp {
	int fd;
	bool dead;
	char *path;
	uint64_t next_id;
	char *buf; /* bytes read but not yet returned as lines */
	size_t len, cap;
	cJSON *events; /* array of queued event objects, oldest first */
};

static int64_t qmp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int qmp_dead(struct lh_qmp *q, struct lh_error *err)
{
	q->dead = true;
	return LH_FAIL(err, -EPIPE, "QMP %s: connection closed (QEMU exited?)", q->path);
}

/* The next complete line as parsed JSON, waiting until deadline. */
static int qmp_read_message(struct lh_qmp *q, int64_t deadline, cJSON **out,
			    struct lh_error *err)
{
	*out = NULL;
	if (q->dead)
		return LH_FAIL(err, -EPIPE, "QMP %s: connection is closed", q->path);
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int64_t left;
		ssize_t n;
		int prc;

		if (nl) {
			size_t line_len = (size_t)(nl - q->buf);
			cJSON *msg;

			*nl = '\0';
			msg = cJSON_Parse(q->buf);
			memmove(q->buf, nl + 1, q->len - line_len - 1);
			q->len -= line_len + 1;
			if (!msg) {
				q->dead = true;
				return LH_FAIL(err, -EPROTO, "QMP %s: malformed message", q->path);
			}
			*out = msg;
			return 0;
		}
		if (q->len + 4096 > q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 65536;
			char *grown;

			if (cap > QMP_LINE_MAX) {
				q->dead = true;
				return LH_FAIL(err, -EPROTO, "QMP %s: message over %u bytes",
					       q->path, QMP_LINE_MAX);
			}
			grown = realloc(q->buf, cap);
			if (!grown)
				return LH_FAIL(err, -ENOMEM, "QMP %s: out of memory", q->path);
			q->buf = grown;
			q->cap = cap;
		}
		left = deadline - qmp_now_ms();
		if (left <= 0)
			return LH_FAIL(err, -ETIMEDOUT, "QMP %s: no answer in time", q->path);
		prc = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (prc < 0 && errno == EINTR)
			continue;
		if (prc < 0)
			return LH_FAIL(err, -errno, "QMP %s: poll: %s", q->path, strerror(errno));
		if (prc == 0)
			continue;
		n = recv(q->fd, q->buf + q->len, q->cap - q->len - 1, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return qmp_dead(q, err);
		q->len += (size_t)n;
	}
}

static void qmp_queue_event(struct lh_qmp *q, cJSON *event)
{
	if (cJSON_GetArraySize(q->events) >= QMP_EVENTS_MAX)
		cJSON_DeleteItemFromArray(q->events, 0);
	cJSON_AddItemToArray(q->events, event);
}

static int qmp_send(struct lh_qmp *q, const char *text, size_t len, struct lh_error *err)
{
	size_t done = 0;

	if (q->dead)
		return LH_FAIL(err, -EPIPE, "QMP %s: connection is closed", q->path);
	while (done < len) {
		ssize_t n = send(q->fd, text + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return qmp_dead(q, err);
		done += (size_t)n;
	}
	return 0;
}

int lh_qmp_send(struct lh_qmp *q, const char *command, cJSON *args, uint64_t *ticket,
		struct lh_error *err)
{
	cJSON *msg = cJSON_CreateObject();
	char id[32], *text = NULL;
	size_t len;
	int rc;

	snprintf(id, sizeof(id), "lh-%llu", (unsigned long long)(q->next_id + 1));
	if (msg && args && cJSON_AddItemToObject(msg, "arguments", args))
		args = NULL; /* msg owns them now */
	if (!msg || args || !cJSON_AddStringToObject(msg, "execute", command) ||
	    !cJSON_AddStringToObject(msg, "id", id) || !(text = cJSON_PrintUnformatted(msg))) {
		cJSON_Delete(args);
		cJSON_Delete(msg);
		return LH_FAIL(err, -ENOMEM, "QMP %s: out of memory", command);
	}
	cJSON_Delete(msg);
	/* The command and its line end in one write: QEMU reads it at once. */
	len = strlen(text);
	text[len] = '\n';
	rc = qmp_send(q, text, len + 1, err);
	free(text);
	if (rc == 0)
		*ticket = ++q->next_id;
	return rc;
}

int lh_qmp_reply(struct lh_qmp *q, uint64_t ticket, const char *command, cJSON **ret,
		 int timeout_ms, struct lh_error *err)
{
	int64_t deadline = qmp_now_ms() + timeout_ms;
	cJSON *reply = NULL, *item;
	char id[32];
	int rc;

	if (ret)
		*ret = NULL;
	snprintf(id, sizeof(id), "lh-%llu", (unsigned long long)ticket);
	for (;;) {
		rc = qmp_read_message(q, deadline, &reply, err);
		if (rc)
			break;
		if (cJSON_GetObjectItemCaseSensitive(reply, "event")) {
			qmp_queue_event(q, reply);
			reply = NULL;
			continue;
		}
		item = cJSON_GetObjectItemCaseSensitive(reply, "id");
		if (!cJSON_IsString(item) || strcmp(item->valuestring, id) != 0) {
			/* A reply to an earlier command that timed out cannot
			 * happen (the client died then), nor one out of order
			 * (QEMU answers in order); anything else is noise. */
			cJSON_Delete(reply);
			reply = NULL;
			continue;
		}
		break;
	}
	if (rc == -ETIMEDOUT) {
		q->dead = true;
		lh_error_clear(err);
		rc = LH_FAIL(err, -ETIMEDOUT, "QMP %s: no reply to %s within %d ms", q->path,
			     command, timeout_ms);
	}
	if (rc)
		goto out;
	item = cJSON_GetObjectItemCaseSensitive(reply, "error");
	if (item) {
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(item, "desc");

		rc = LH_FAIL(err, -LH_EDRIVER, "%s: %s", command,
			     cJSON_IsString(desc) ? desc->valuestring : "QEMU refused it");
		goto out;
	}
	if (!cJSON_GetObjectItemCaseSensitive(reply, "return")) {
		q->dead = true;
		rc = LH_FAIL(err, -EPROTO, "QMP %s: the reply to %s has neither return nor error",
			     q->path, command);
		goto out;
	}
	if (ret)
		*ret = cJSON_DetachItemFromObjectCaseSensitive(reply, "return");
out:
	cJSON_Delete(reply);
	return rc;
}

int lh_qmp_execute(struct lh_qmp *q, const char *command, cJSON *args, cJSON **ret,
		   int timeout_ms, struct lh_error *err)
{
	uint64_t ticket;
	int rc = lh_qmp_send(q, command, args, &ticket, err);

	if (ret)
		*ret = NULL;
	return rc ? rc : lh_qmp_reply(q, ticket, command, ret, timeout_ms, err);
}

static bool qmp_event_matches(const cJSON *event, const char *name, const char *device)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(event, "event");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(event, "data");
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(data, "device");

	if (!cJSON_IsString(ev) || (name && strcmp(ev->valuestring, name) != 0))
		return false;
	return !device || (cJSON_IsString(dev) && strcmp(dev->valuestring, device) == 0);
}

int lh_qmp_wait_event(struct lh_qmp *q, const char *name, const char *device, int timeout_ms,
		      struct lh_error *err)
{
	int64_t deadline = qmp_now_ms() + timeout_ms;
	cJSON *event;
	int i = 0, rc;

	cJSON_ArrayForEach(event, q->events) {
		if (qmp_event_matches(event, name, device)) {
			cJSON_DeleteItemFromArray(q->events, i);
			return 0;
		}
		i++;
	}
	for (;;) {
		struct lh_error local = { 0 };

		rc = qmp_read_message(q, deadline, &event, &local);
		if (rc == -ETIMEDOUT)
			return LH_FAIL(err, rc, "QMP %s: no %s event for '%s' within %d ms",
				       q->path, name, device ? device : "*", timeout_ms);
		if (rc)
			return lh_error_set(err, rc, local.func, "%s", local.message);
		if (!cJSON_GetObjectItemCaseSensitive(event, "event")) {
			cJSON_Delete(event); /* no command is outstanding */
			continue;
		}
		if (qmp_event_matches(event, name, device)) {
			cJSON_Delete(event);
			return 0;
		}
		qmp_queue_event(q, event);
	}
}

void lh_qmp_discard_events(struct lh_qmp *q, const char *name, const char *device)
{
	cJSON *event = q->events->child;

	while (event) {
		cJSON *next = event->next;

		if (qmp_event_matches(event, name, device))
			cJSON_Delete(cJSON_DetachItemViaPointer(q->events, event));
		event = next;
	}
}

bool lh_qmp_alive(const struct lh_qmp *q)
{
	return q && !q->dead;
}

const char *lh_qmp_path(const struct lh_qmp *q)
{
	return q->path;
}

static int qmp_dial(const char *path, int64_t deadline, int *fd_out, struct lh_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(addr.sun_path))
		return LH_FAIL(err, -ENAMETOOLONG, "QMP socket path too long: %s", path);
	strcpy(addr.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

		if (fd < 0)
			return LH_FAIL(err, -errno, "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			*fd_out = fd;
			return 0;
		}
		e = errno;
		close(fd);
		/* QEMU creates the socket a moment after it starts. */
		if ((e != ENOENT && e != ECONNREFUSED) || qmp_now_ms() >= deadline)
			return LH_FAIL(err, -e, "QMP %s: cannot connect: %s", path, strerror(e));
		usleep(10000);
	}
}

int lh_qmp_start(int fd, const char *name, int timeout_ms, struct lh_qmp **out,
		 struct lh_error *err)
{
	int64_t deadline = qmp_now_ms() + timeout_ms;
	struct lh_qmp *q = calloc(1, sizeof(*q));
	cJSON *greeting = NULL;
	int rc;

	*out = NULL;
	if (!q) {
		close(fd);
		return LH_FAIL(err, -ENOMEM, "QMP: out of memory");
	}
	q->fd = fd;
	if (!(q->path = strdup(name)) || !(q->events = cJSON_CreateArray())) {
		rc = LH_FAIL(err, -ENOMEM, "QMP: out of memory");
		goto fail;
	}
	rc = qmp_read_message(q, deadline, &greeting, err);
	if (rc == -ETIMEDOUT) {
		/* A monitor serves one client; the others wait unanswered. */
		lh_error_clear(err);
		rc = LH_FAIL(err, rc, "QMP %s: no greeting within %d ms (another client holds "
			     "this monitor?)", name, timeout_ms);
	}
	if (rc)
		goto fail;
	if (!cJSON_GetObjectItemCaseSensitive(greeting, "QMP")) {
		rc = LH_FAIL(err, -EPROTO, "QMP %s: no greeting (is this a QMP socket?)", name);
		goto fail;
	}
	rc = lh_qmp_execute(q, "qmp_capabilities", NULL, NULL, (int)(deadline - qmp_now_ms()) + 1,
			    err);
	if (rc)
		goto fail;
	cJSON_Delete(greeting);
	*out = q;
	return 0;
fail:
	cJSON_Delete(greeting);
	lh_qmp_close(q);
	return rc;
}

int lh_qmp_connect(const char *path, int timeout_ms, struct lh_qmp **out, struct lh_error *err)
{
	int64_t deadline = qmp_now_ms() + timeout_ms;
	int fd = -1, rc;

	*out = NULL;
	rc = qmp_dial(path, deadline, &fd, err);
	if (rc == 0)
		rc = lh_qmp_start(fd, path, (int)(deadline - qmp_now_ms()) + 1, out, err);
	return rc;
}

void lh_qmp_close(struct lh_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	cJSON_Delete(q->events);
	free(q->buf);
	free(q->path);
	free(q);
}
