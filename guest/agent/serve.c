/* serve.c - the agent's conversation: find the port, read requests line
 * by line, answer each (guest_protocol.h). */
#include "agent.h"

#include "guest_protocol.h"
#include "sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/reboot.h>
#include <unistd.h>

#define SERVE_IDLE_MS 10            /* between looks while no host is connected */
#define SERVE_WRITE_STALL_MS 30000  /* a connected host that stops reading */
#define SERVE_ID_MAX 9007199254740991ull /* 2^53 - 1: exact in every JSON reader */

struct serve_conn {
	int fd;
	bool port;        /* the virtio port: EOF is "no host connected", not the end */
	bool cut;         /* a reply was cut off mid-line: end that line first */
	bool skipping;    /* the current line is too long: drop it to its newline */
	bool poweroff;    /* power off once the reply is out */
	char *line;
	size_t len, cap;
};

/* Write len bytes; how many went out before the host left (or stopped
 * reading for SERVE_WRITE_STALL_MS). */
static size_t serve_write_some(int fd, const char *data, size_t len)
{
	int64_t stall = ga_now_ms();
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		struct pollfd p = { fd, POLLOUT, 0 };

		if (n > 0) {
			done += (size_t)n;
			stall = ga_now_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			break;
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			break;
		if ((p.revents & (POLLHUP | POLLERR)) || ga_now_ms() - stall > SERVE_WRITE_STALL_MS)
			break;
	}
	return done;
}

/* Write a whole message. On the port, a host that disconnects takes the
 * rest of the message with it (nobody waits for it); the next message
 * then starts on a fresh line so the next host can read it. */
static int serve_write(struct serve_conn *c, const char *data, size_t len)
{
	size_t done;

	if (c->cut && serve_write_some(c->fd, "\n", 1) != 1)
		return -EPIPE;
	c->cut = false;
	done = serve_write_some(c->fd, data, len);
	if (done == len)
		return 0;
	c->cut = done > 0;
	return -EPIPE;
}

/* The ready event, for a host that is connected right now. */
static void serve_ready(const struct ga_context *ctx, struct serve_conn *c)
{
	struct pollfd p = { c->fd, POLLOUT, 0 };
	char text[256];
	int n;

	if (poll(&p, 1, 0) != 1 || (p.revents & POLLHUP) || !(p.revents & POLLOUT))
		return;
	n = snprintf(text, sizeof(text), "{\"%s\":\"%s\",\"agent\":\"%s\",\"%s\":%d,\"%s\":%u}\n",
		     LH_GUEST_KEY_EVENT, LH_GUEST_EVENT_READY, LH_GUEST_AGENT_NAME,
		     LH_GUEST_KEY_VERSION, LH_GUEST_PROTOCOL_VERSION, LH_GUEST_KEY_GENERATION,
		     ctx->generation);
	serve_write(c, text, (size_t)n);
}

static int serve_op(const struct ga_context *ctx, struct serve_conn *c, const char *op,
		    const struct ga_json *req, struct ga_buf *detail, struct ga_error *err)
{
	if (strcmp(op, LH_GUEST_OP_PING) == 0) {
		ga_buf_member_string(detail, "agent", LH_GUEST_AGENT_NAME);
		ga_buf_member_int(detail, LH_GUEST_KEY_VERSION, LH_GUEST_PROTOCOL_VERSION);
		ga_buf_member_int(detail, LH_GUEST_KEY_GENERATION, ctx->generation);
		ga_buf_member_int(detail, "uptime_ms", ga_uptime_ms());
		ga_buf_member_string(detail, "kernel", ctx->kernel ? ctx->kernel : "");
		ga_buf_printf(detail, ",\"modules_failed\":%s",
			      ctx->modules_failed ? ctx->modules_failed : "[]");
		return 0;
	}
	if (strcmp(op, LH_GUEST_OP_MODIFY) == 0)
		return ga_modify(ctx, req, detail, err);
	if (strcmp(op, LH_GUEST_OP_EXEC) == 0)
		return ga_exec(ctx, req, detail, err);
	if (strcmp(op, LH_GUEST_OP_POWEROFF) == 0) {
		if (!ctx->in_guest)
			return GA_FAIL(err, -EPERM, "poweroff: only the guest's agent powers off");
		c->poweroff = true;
		return 0;
	}
	return GA_FAIL(err, -EOPNOTSUPP, "unknown op '%s' (%s, %s, %s, %s)", op, LH_GUEST_OP_PING,
		       LH_GUEST_OP_MODIFY, LH_GUEST_OP_EXEC, LH_GUEST_OP_POWEROFF);
}

/* Answer one request line; too_long: it was dropped for its length. */
static void serve_line(const struct ga_context *ctx, struct serve_conn *c, bool too_long)
{
	struct ga_buf reply = { 0 }, detail = { 0 };
	struct ga_error err = { 0 };
	struct ga_json *req = NULL;
	const char *op = "?";
	uint64_t id = 0;
	char why[160];

	if (too_long) {
		GA_FAIL(&err, -E2BIG, "request longer than %u bytes (dropped)", LH_GUEST_LINE_MAX);
	} else if (strspn(c->line, " \t\r") == c->len) {
		return; /* an empty line: nothing asked */
	} else if (ga_json_parse(c->line, c->len, &req, why, sizeof(why))) {
		GA_FAIL(&err, -EINVAL, "malformed request: %s", why);
	} else if (req->kind != GA_JSON_OBJECT) {
		GA_FAIL(&err, -EINVAL, "a request must be a JSON object");
	} else if (ga_json_uint(req, LH_GUEST_KEY_ID, SERVE_ID_MAX, &id) || id == 0) {
		id = 0;
		GA_FAIL(&err, -EINVAL, "a request needs an \"id\", an integer in 1..2^53-1");
	} else if (ga_json_string(req, LH_GUEST_KEY_OP, &op)) {
		op = "?";
		GA_FAIL(&err, -EINVAL, "request %llu has no \"op\"", (unsigned long long)id);
	} else {
		serve_op(ctx, c, op, req, &detail, &err);
	}
	if (id)
		ga_buf_printf(&reply, "{\"%s\":%llu", LH_GUEST_KEY_ID, (unsigned long long)id);
	else
		ga_buf_printf(&reply, "{\"%s\":null", LH_GUEST_KEY_ID);
	if (err.code == 0 && !detail.failed) {
		ga_buf_member_bool(&reply, LH_GUEST_KEY_OK, true);
		ga_buf_add(&reply, detail.data ? detail.data : "", detail.len);
	} else {
		if (err.code == 0)
			GA_FAIL(&err, -ENOMEM, "out of memory for the reply");
		ga_buf_member_bool(&reply, LH_GUEST_KEY_OK, false);
		ga_buf_member_string(&reply, LH_GUEST_KEY_ERROR, err.message);
		if (err.sys_errno)
			ga_buf_member_int(&reply, LH_GUEST_KEY_ERRNO, err.sys_errno);
		ga_log("request %llu %s: %s", (unsigned long long)id, op, err.message);
		c->poweroff = false;
	}
	ga_buf_puts(&reply, "}\n");
	if (reply.failed) {
		ga_buf_free(&reply);
		ga_buf_printf(&reply, "{\"%s\":%llu,\"%s\":false,\"%s\":\"out of memory\"}\n",
			      LH_GUEST_KEY_ID, (unsigned long long)id, LH_GUEST_KEY_OK,
			      LH_GUEST_KEY_ERROR);
	}
	if (!reply.failed && serve_write(c, reply.data, reply.len))
		ga_log("request %llu %s: the host left before the reply", (unsigned long long)id,
		       op);
	ga_buf_free(&reply);
	ga_buf_free(&detail);
	ga_json_free(req);
	if (c->poweroff) {
		ga_log("powering off");
		sync();
		reboot(RB_POWER_OFF);
	}
}

/* Split what arrived into lines and answer each. */
static void serve_feed(const struct ga_context *ctx, struct serve_conn *c, const char *data,
		       size_t n)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;

		if (!c->skipping && c->len + take + 2 > LH_GUEST_LINE_MAX) {
			c->skipping = true;
		} else if (!c->skipping && c->len + take + 1 > c->cap) {
			size_t cap = c->cap ? c->cap : 4096;
			char *grown;

			while (cap < c->len + take + 1)
				cap *= 2;
			grown = realloc(c->line, cap);
			if (grown) {
				c->line = grown;
				c->cap = cap;
			} else {
				c->skipping = true;
			}
		}
		if (!c->skipping) {
			memcpy(c->line + c->len, data, take);
			c->len += take;
			c->line[c->len] = '\0';
		}
		if (!nl)
			return;
		serve_line(ctx, c, c->skipping);
		c->len = 0;
		c->skipping = false;
		data = nl + 1;
		n -= take + 1;
	}
}

static int serve_loop(const struct ga_context *ctx, struct serve_conn *c)
{
	static char chunk[65536];
	bool connected = true;

	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		ssize_t n = read(c->fd, chunk, sizeof(chunk));
		struct pollfd p = { c->fd, POLLIN, 0 };

		if (n > 0) {
			connected = true;
			serve_feed(ctx, c, chunk, (size_t)n);
			continue;
		}
		if (n == 0 && !c->port)
			return 0;
		if (n == 0) {
			/* No host on the other end: what it left half sent is
			 * gone with it. Look again shortly. */
			if (connected)
				c->len = 0, c->skipping = false;
			connected = false;
			ga_sleep_ms(SERVE_IDLE_MS);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			ga_log("read: %s", strerror(errno));
			return 1;
		}
		if (poll(&p, 1, -1) < 0 && errno != EINTR) {
			ga_log("poll: %s", strerror(errno));
			return 1;
		}
	}
}

int ga_serve_fd(const struct ga_context *ctx, int fd)
{
	struct serve_conn c = { .fd = fd };
	int rc;

	/* Commands exec runs must not hold the stream open after we die. */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	serve_ready(ctx, &c);
	rc = serve_loop(ctx, &c);
	free(c.line);
	return rc;
}

/* /dev/vportNpM of the port named LH_GUEST_PORT_NAME: without udev there
 * is no by-name link, so the names under /sys/class/virtio-ports decide. */
static int serve_find_port(char *dev, size_t cap)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	char path[512], name[128];
	int rc = -ENOENT;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
		if (ga_sysfs_read(path, name, sizeof(name)) == 0 &&
		    strcmp(name, LH_GUEST_PORT_NAME) == 0) {
			snprintf(dev, cap, "/dev/%s", e->d_name);
			rc = 0;
			break;
		}
	}
	if (d)
		closedir(d);
	return rc;
}

int ga_serve_port(const struct ga_context *ctx)
{
	int64_t since = ga_now_ms();
	struct serve_conn c = { .fd = -1, .port = true };
	bool told = false;
	char dev[300];
	int rc;

	/* The port opens once: a second open is EBUSY until the first closes
	 * (an agent that died and is being replaced). */
	for (;;) {
		if (serve_find_port(dev, sizeof(dev)) == 0) {
			c.fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
			if (c.fd >= 0)
				break;
			if (errno != ENOENT && !told) {
				ga_log("open %s: %s; retrying", dev, strerror(errno));
				told = true;
			}
		}
		if (!told && ga_now_ms() - since > 2000) {
			ga_log("waiting for the virtio-serial port '%s'", LH_GUEST_PORT_NAME);
			told = true;
		}
		ga_sleep_ms(SERVE_IDLE_MS);
	}
	ga_log("serving on %s (generation %u, %lld ms after boot)", dev, ctx->generation,
	       (long long)ga_uptime_ms());
	serve_ready(ctx, &c);
	rc = serve_loop(ctx, &c);
	close(c.fd);
	free(c.line);
	return rc;
}
