/* agent.c - see agent.h. */
#include "agent.h"

#include "guest_protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define AGENT_CONNECT_RETRY_MS 20
/* Ids stay below 2^53, which every JSON reader holds exactly. */
#define AGENT_ID_BASE_MASK ((1ull << 51) - 1)

struct lh_agent {
	int fd;
	char *name;
	uint64_t next_id;
	long generation;
	bool dead;
	char *buf;       /* bytes read and not yet a whole line */
	size_t len, cap;
};

static int64_t agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int agent_left(int64_t deadline)
{
	int64_t left = deadline - agent_now_ms();

	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* The connection is over: say so once, in the words that tell why. */
static int agent_closed(struct lh_agent *a, struct lh_error *err)
{
	a->dead = true;
	return LH_FAIL(err, -EPIPE, "guest agent at %s: the connection closed (QEMU exited, or "
		       "the guest powered off or panicked: see its serial log)", a->name);
}

static int agent_send(struct lh_agent *a, const cJSON *msg, int64_t deadline,
		      struct lh_error *err)
{
	char *text = cJSON_PrintUnformatted(msg);
	size_t len, done = 0;
	int rc = 0;

	if (!text)
		return LH_FAIL(err, -ENOMEM, "guest agent at %s: out of memory", a->name);
	len = strlen(text);
	text[len++] = '\n'; /* cJSON's terminating NUL becomes the newline */
	if (len > LH_GUEST_LINE_MAX) {
		rc = LH_FAIL(err, -E2BIG, "guest agent at %s: a request of %zu bytes is over the "
			     "protocol's %u", a->name, len, LH_GUEST_LINE_MAX);
		goto out;
	}
	while (done < len) {
		ssize_t n = send(a->fd, text + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd p = { a->fd, POLLOUT, 0 };

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			rc = errno == EPIPE || errno == ECONNRESET
				     ? agent_closed(a, err)
				     : LH_FAIL(err, -errno, "guest agent at %s: send: %s", a->name,
					       strerror(errno));
			goto out;
		}
		/* The socket is full: QEMU does not read while the guest has
		 * not opened the port. */
		if (poll(&p, 1, agent_left(deadline)) == 0) {
			rc = LH_FAIL(err, -ETIMEDOUT, "guest agent at %s: the request could not be "
				     "sent in time (the agent is not reading)", a->name);
			goto out;
		}
	}
out:
	free(text);
	return rc;
}

/* The next message, parsed, within the deadline. Lines that are not JSON
 * objects are dropped (the tail of a reply cut off when an earlier client
 * left). */
static int agent_receive(struct lh_agent *a, int64_t deadline, cJSON **out,
			 struct lh_error *err)
{
	*out = NULL;
	for (;;) {
		char *nl = a->len ? memchr(a->buf, '\n', a->len) : NULL;
		struct pollfd p = { a->fd, POLLIN, 0 };
		ssize_t n;

		if (nl) {
			size_t line = (size_t)(nl - a->buf);

			*nl = '\0';
			*out = cJSON_ParseWithLength(a->buf, line);
			memmove(a->buf, nl + 1, a->len - line - 1);
			a->len -= line + 1;
			if (cJSON_IsObject(*out))
				return 0;
			cJSON_Delete(*out);
			*out = NULL;
			continue;
		}
		if (a->len >= LH_GUEST_LINE_MAX) {
			a->dead = true;
			return LH_FAIL(err, -EPROTO, "guest agent at %s: a message longer than %u "
				       "bytes: not the agent's protocol", a->name, LH_GUEST_LINE_MAX);
		}
		if (a->cap - a->len < 65536) {
			size_t cap = a->cap ? a->cap * 2 : 65536 * 2;
			char *grown = realloc(a->buf, cap);

			if (!grown)
				return LH_FAIL(err, -ENOMEM, "guest agent at %s: out of memory", a->name);
			a->buf = grown;
			a->cap = cap;
		}
		n = recv(a->fd, a->buf + a->len, a->cap - a->len, MSG_DONTWAIT);
		if (n > 0) {
			a->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return agent_closed(a, err);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno == ECONNRESET ? agent_closed(a, err)
						   : LH_FAIL(err, -errno, "guest agent at %s: recv: %s",
							     a->name, strerror(errno));
		if (agent_left(deadline) == 0)
			return -ETIMEDOUT; /* the caller says for what */
		if (poll(&p, 1, agent_left(deadline)) < 0 && errno != EINTR)
			return LH_FAIL(err, -errno, "guest agent at %s: poll: %s", a->name,
				       strerror(errno));
	}
}

static double agent_number(const cJSON *obj, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int agent_send_request(struct lh_agent *a, uint64_t id, const char *op, cJSON *args,
			      int64_t deadline, struct lh_error *err)
{
	cJSON *msg = args ? args : cJSON_CreateObject();
	int rc;

	cJSON_DeleteItemFromObjectCaseSensitive(msg, LH_GUEST_KEY_ID);
	cJSON_DeleteItemFromObjectCaseSensitive(msg, LH_GUEST_KEY_OP);
	if (!msg || !cJSON_AddNumberToObject(msg, LH_GUEST_KEY_ID, (double)id) ||
	    !cJSON_AddStringToObject(msg, LH_GUEST_KEY_OP, op)) {
		cJSON_Delete(msg);
		return LH_FAIL(err, -ENOMEM, "guest agent at %s: out of memory", a->name);
	}
	rc = agent_send(a, msg, deadline, err);
	cJSON_Delete(msg);
	return rc;
}

/*
 * Wait for the reply to request id. A ready event of a new generation
 * means the agent restarted: a ping (probe) then tells whether the
 * request is still coming (its reply arrives first, requests being
 * answered in order) or died with the old agent.
 */
static int agent_wait(struct lh_agent *a, uint64_t id, const char *op, int64_t deadline,
		      int timeout_ms, cJSON **out, struct lh_error *err)
{
	uint64_t probe = 0;
	cJSON *msg = NULL;
	int rc;

	for (;;) {
		const cJSON *event, *mid;

		cJSON_Delete(msg);
		rc = agent_receive(a, deadline, &msg, err);
		if (rc == -ETIMEDOUT)
			rc = LH_FAIL(err, -ETIMEDOUT, "guest agent at %s: no answer to %s (request "
				     "%llu) within %d ms", a->name, op, (unsigned long long)id,
				     timeout_ms);
		if (rc)
			return rc;
		event = cJSON_GetObjectItemCaseSensitive(msg, LH_GUEST_KEY_EVENT);
		mid = cJSON_GetObjectItemCaseSensitive(msg, LH_GUEST_KEY_ID);
		if (cJSON_IsString(event) && strcmp(event->valuestring, LH_GUEST_EVENT_READY) == 0) {
			long gen = (long)agent_number(msg, LH_GUEST_KEY_GENERATION, -1);

			if (gen > a->generation && !probe) {
				a->generation = gen;
				probe = a->next_id++;
				rc = agent_send_request(a, probe, LH_GUEST_OP_PING, NULL, deadline, err);
				if (rc)
					return rc;
			}
			continue;
		}
		if (!cJSON_IsNumber(mid))
			continue; /* an event this client does not know */
		if ((uint64_t)mid->valuedouble == id) {
			*out = msg;
			return 0;
		}
		if (probe && (uint64_t)mid->valuedouble == probe) {
			cJSON_Delete(msg);
			return LH_FAIL(err, -ECONNRESET, "guest agent at %s restarted (generation "
				       "%ld) while handling %s (request %llu): the agent died (see "
				       "the guest's serial log); the request may be partly done",
				       a->name, a->generation, op, (unsigned long long)id);
		}
		/* A reply to an earlier request, answered after its deadline. */
	}
}

int lh_agent_call(struct lh_agent *a, const char *op, cJSON *args, int timeout_ms,
		  cJSON **reply, struct lh_error *err)
{
	int64_t deadline = agent_now_ms() + timeout_ms;
	const cJSON *ok, *text;
	cJSON *msg = NULL;
	uint64_t id;
	int rc;

	if (reply)
		*reply = NULL;
	if (a->dead) {
		cJSON_Delete(args);
		return LH_FAIL(err, -EPIPE, "guest agent at %s: the connection is closed", a->name);
	}
	id = a->next_id++;
	rc = agent_send_request(a, id, op, args, deadline, err);
	if (rc == 0)
		rc = agent_wait(a, id, op, deadline, timeout_ms, &msg, err);
	if (rc)
		return rc;
	ok = cJSON_GetObjectItemCaseSensitive(msg, LH_GUEST_KEY_OK);
	text = cJSON_GetObjectItemCaseSensitive(msg, LH_GUEST_KEY_ERROR);
	if (!cJSON_IsTrue(ok)) {
		rc = LH_FAIL(err, -LH_EDRIVER, "guest: %s", cJSON_IsString(text) ? text->valuestring
								 : "failed (no message)");
		cJSON_Delete(msg);
		return rc;
	}
	if (reply)
		*reply = msg;
	else
		cJSON_Delete(msg);
	return 0;
}

int lh_agent_ping(struct lh_agent *a, int timeout_ms, struct lh_error *err)
{
	cJSON *reply = NULL;
	int rc = lh_agent_call(a, LH_GUEST_OP_PING, NULL, timeout_ms, &reply, err);

	if (rc == 0)
		a->generation = (long)agent_number(reply, LH_GUEST_KEY_GENERATION, a->generation);
	cJSON_Delete(reply);
	return rc;
}

/*
 * The session's first ping, repeated every LH_AGENT_PING_REPEAT_MS until
 * one is answered: everything before that answer belongs to an earlier
 * session and is dropped by its id.
 */
static int agent_hello(struct lh_agent *a, int timeout_ms, struct lh_error *err)
{
	int64_t deadline = agent_now_ms() + timeout_ms;
	uint64_t first = a->next_id;
	cJSON *msg = NULL;
	int rc;

	for (;;) {
		int64_t repeat = agent_now_ms() + LH_AGENT_PING_REPEAT_MS;
		const cJSON *mid;

		rc = agent_send_request(a, a->next_id++, LH_GUEST_OP_PING, NULL, deadline, err);
		while (rc == 0) {
			rc = agent_receive(a, repeat < deadline ? repeat : deadline, &msg, err);
			if (rc)
				break;
			mid = cJSON_GetObjectItemCaseSensitive(msg, LH_GUEST_KEY_ID);
			if (cJSON_IsNumber(mid) && (uint64_t)mid->valuedouble >= first &&
			    (uint64_t)mid->valuedouble < a->next_id &&
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, LH_GUEST_KEY_OK))) {
				a->generation = (long)agent_number(msg, LH_GUEST_KEY_GENERATION, 0);
				cJSON_Delete(msg);
				return 0;
			}
			cJSON_Delete(msg);
			msg = NULL;
		}
		if (rc != -ETIMEDOUT)
			return rc;
		if (agent_left(deadline) == 0)
			return LH_FAIL(err, -ETIMEDOUT, "guest agent at %s: no answer to a ping "
				       "within %d ms", a->name, timeout_ms);
	}
}

static uint64_t agent_id_base(void)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint64_t)agent_now_ms() * 2654435761u ^ (uint64_t)getpid() << 20;
	return (r & AGENT_ID_BASE_MASK) + 1;
}

int lh_agent_start(int fd, const char *name, int timeout_ms, struct lh_agent **out,
		   struct lh_error *err)
{
	struct lh_agent *a = calloc(1, sizeof(*a));
	int rc;

	*out = NULL;
	if (!a || !(a->name = strdup(name ? name : "(socket)"))) {
		free(a);
		close(fd);
		return LH_FAIL(err, -ENOMEM, "guest agent: out of memory");
	}
	a->fd = fd;
	a->next_id = agent_id_base();
	rc = agent_hello(a, timeout_ms, err);
	if (rc) {
		lh_agent_close(a);
		return rc;
	}
	*out = a;
	return 0;
}

/* One connect attempt: the fd, or -errno. */
static int agent_dial(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	e = errno;
	close(fd);
	return -e;
}

static int agent_open(const char *path, int timeout_ms, bool booting, struct lh_agent **out,
		      struct lh_error *err)
{
	int64_t deadline = agent_now_ms() + timeout_ms;
	int fd;

	*out = NULL;
	for (;;) {
		fd = agent_dial(path);
		if (fd >= 0 || !booting || (fd != -ENOENT && fd != -ECONNREFUSED) ||
		    agent_left(deadline) == 0)
			break;
		usleep(AGENT_CONNECT_RETRY_MS * 1000);
	}
	if (fd < 0)
		return LH_FAIL(err, fd, "guest agent at %s: cannot connect: %s%s", path,
			       strerror(-fd), fd == -ENOENT || fd == -ECONNREFUSED
						      ? " (is the VM running?)" : "");
	return lh_agent_start(fd, path, agent_left(deadline), out, err);
}

int lh_agent_connect(const char *path, int timeout_ms, struct lh_agent **out,
		     struct lh_error *err)
{
	return agent_open(path, timeout_ms, false, out, err);
}

int lh_agent_wait_ready(const char *path, int timeout_ms, struct lh_agent **out,
			struct lh_error *err)
{
	struct lh_error local = { 0 };
	int rc = agent_open(path, timeout_ms, true, out, &local);

	if (rc == -ETIMEDOUT)
		return LH_FAIL(err, rc, "guest agent at %s: not ready within %d ms of the VM's "
			       "start (see the guest's serial log)", path, timeout_ms);
	if (rc)
		return lh_error_set(err, rc, local.func, "%s", local.message);
	return 0;
}

int lh_agent_modify(struct lh_agent *a, const cJSON *guest_request, int timeout_ms,
		    cJSON **reply, struct lh_error *err)
{
	cJSON *args = cJSON_CreateObject(), *copy = cJSON_Duplicate(guest_request, true);

	if (!args || !copy || !cJSON_AddItemToObject(args, LH_GUEST_KEY_REQUEST, copy)) {
		cJSON_Delete(args);
		cJSON_Delete(copy);
		return LH_FAIL(err, -ENOMEM, "guest agent at %s: out of memory", a->name);
	}
	return lh_agent_call(a, LH_GUEST_OP_MODIFY, args,
			     timeout_ms > 0 ? timeout_ms : LH_GUEST_MODIFY_TIMEOUT_MS, reply, err);
}

static cJSON *agent_strings(const char *const *v)
{
	cJSON *array = cJSON_CreateArray();

	for (size_t i = 0; array && v && v[i]; i++) {
		cJSON *s = cJSON_CreateString(v[i]);

		if (!s || !cJSON_AddItemToArray(array, s)) {
			cJSON_Delete(s);
			cJSON_Delete(array);
			return NULL;
		}
	}
	return array;
}

/* A string member of reply, copied; "" when absent. */
static char *agent_take_string(const cJSON *reply, const char *key, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, key);
	const char *s = cJSON_IsString(v) ? v->valuestring : "";

	*len = strlen(s);
	return strdup(s);
}

int lh_agent_exec(struct lh_agent *a, const struct lh_agent_exec *e,
		  struct lh_vm_exec_result *res, struct lh_error *err)
{
	int timeout = e->timeout_ms > 0 ? e->timeout_ms : LH_GUEST_EXEC_TIMEOUT_DEFAULT_MS;
	cJSON *args = cJSON_CreateObject(), *reply = NULL, *argv = agent_strings(e->argv);
	cJSON *env = e->env ? agent_strings(e->env) : NULL;
	bool ok;
	int rc;

	memset(res, 0, sizeof(*res));
	ok = args && argv && cJSON_AddItemToObject(args, LH_GUEST_EXEC_ARGV, argv);
	if (!ok)
		cJSON_Delete(argv);
	if (ok && e->env)
		ok = env && cJSON_AddItemToObject(args, LH_GUEST_EXEC_ENV, env);
	else
		cJSON_Delete(env);
	ok = ok && (!e->root || cJSON_AddStringToObject(args, LH_GUEST_EXEC_ROOT, e->root)) &&
	     (!e->cwd || cJSON_AddStringToObject(args, LH_GUEST_EXEC_CWD, e->cwd)) &&
	     cJSON_AddNumberToObject(args, LH_GUEST_EXEC_TIMEOUT, timeout) &&
	     (!e->max_output ||
	      cJSON_AddNumberToObject(args, LH_GUEST_EXEC_MAX_OUTPUT, (double)e->max_output));
	if (ok && e->stdin_data) {
		/* The protocol carries text: a NUL ends what is sent. */
		char *copy = strndup(e->stdin_data, e->stdin_len);

		ok = copy && cJSON_AddStringToObject(args, LH_GUEST_EXEC_STDIN, copy);
		free(copy);
	}
	if (!ok) {
		cJSON_Delete(args);
		return LH_FAIL(err, -ENOMEM, "guest agent at %s: out of memory", a->name);
	}
	rc = lh_agent_call(a, LH_GUEST_OP_EXEC, args, timeout + LH_AGENT_EXEC_SLACK_MS, &reply,
			   err);
	if (rc)
		return rc;
	res->exit_code = (int)agent_number(reply, LH_GUEST_EXEC_EXIT_CODE, -1);
	res->signal = (int)agent_number(reply, LH_GUEST_EXEC_SIGNAL, 0);
	res->timed_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply,
								       LH_GUEST_EXEC_TIMED_OUT));
	res->out_truncated = cJSON_IsTrue(
		cJSON_GetObjectItemCaseSensitive(reply, LH_GUEST_EXEC_STDOUT_TRUNCATED));
	res->err_truncated = cJSON_IsTrue(
		cJSON_GetObjectItemCaseSensitive(reply, LH_GUEST_EXEC_STDERR_TRUNCATED));
	res->duration_ms = (long)agent_number(reply, LH_GUEST_EXEC_DURATION, 0);
	res->out = agent_take_string(reply, LH_GUEST_EXEC_STDOUT, &res->out_len);
	res->err = agent_take_string(reply, LH_GUEST_EXEC_STDERR, &res->err_len);
	cJSON_Delete(reply);
	if (!res->out || !res->err)
		return LH_FAIL(err, -ENOMEM, "guest agent at %s: out of memory", a->name);
	return 0;
}

bool lh_agent_alive(const struct lh_agent *a)
{
	return a && !a->dead;
}

long lh_agent_generation(const struct lh_agent *a)
{
	return a ? a->generation : -1;
}

void lh_agent_close(struct lh_agent *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	free(a->buf);
	free(a->name);
	free(a);
}
