/*
 * test_agent_client.c - the host's agent client (host/drivers/qemu/agent.c)
 * against the real agent serving one end of a socketpair
 * (layerhost-agent --serve-fd), and against scripted peers for what a real
 * agent does not do on cue: stale replies, junk, late answers.
 */
#include "agent.h"
#include "cutest.h"
#include "fixtures.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The agent serving fd (left open here), as generation gen. */
static pid_t spawn_agent(int fd, unsigned gen)
{
	pid_t pid = fork();

	if (pid == 0) {
		char fds[16], gens[16];

		snprintf(fds, sizeof(fds), "%d", fd);
		snprintf(gens, sizeof(gens), "%u", gen);
		fcntl(fd, F_SETFD, 0);
		execl(LH_TEST_AGENT, LH_TEST_AGENT, "--serve-fd", fds, "--generation", gens,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

struct pair {
	struct lh_agent *client;
	int peer;  /* the agent's end */
	pid_t agent;
};

static void pair_open(struct pair *p)
{
	struct lh_error err = { 0 };
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	p->peer = sv[1];
	p->agent = spawn_agent(sv[1], 0);
	CU_ASSERT_FATAL(p->agent > 0);
	if (lh_agent_start(sv[0], "test", TIMEOUT_MS, &p->client, &err))
		fprintf(stderr, "\n  start: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->client);
}

static void pair_close(struct pair *p)
{
	lh_agent_close(p->client);
	close(p->peer);
	if (p->agent > 0) {
		kill(p->agent, SIGKILL);
		waitpid(p->agent, NULL, 0);
	}
}

static int run(struct lh_agent *a, const struct lh_agent_exec *e, struct lh_vm_exec_result *r,
	       struct lh_error *err)
{
	lh_error_clear(err);
	return lh_agent_exec(a, e, r, err);
}

static void test_ping_and_exec(void)
{
	const char *echo[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *cat[] = { "cat", NULL }, *sleep5[] = { "sleep", "5", NULL };
	const char *lots[] = { "head", "-c", "100000", "/dev/zero", NULL };
	const char *env[] = { "sh", "-c", "echo $GREETING", NULL }, *envp[] = { "GREETING=hi", NULL };
	const char *none[] = { "no-such-command-here", NULL };
	struct lh_vm_exec_result r;
	struct lh_error err = { 0 };
	struct pair p;
	int64_t t0;

	pair_open(&p);
	CU_ASSERT_EQUAL(lh_agent_generation(p.client), 0);
	CU_ASSERT_EQUAL(lh_agent_ping(p.client, TIMEOUT_MS, &err), 0);

	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = echo }, &r, &err), 0);
	CU_ASSERT_EQUAL(r.exit_code, 3);
	CU_ASSERT_STRING_EQUAL(r.out, "out\n");
	CU_ASSERT_STRING_EQUAL(r.err, "err\n");
	CU_ASSERT_FALSE(r.timed_out);
	lh_vm_exec_result_free(&r);

	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = cat, .stdin_data = "in\xc3\xa9",
							       .stdin_len = 5 }, &r, &err), 0);
	CU_ASSERT_STRING_EQUAL(r.out, "in\xc3\xa9");
	lh_vm_exec_result_free(&r);

	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = env, .env = envp }, &r, &err),
			0);
	CU_ASSERT_STRING_EQUAL(r.out, "hi\n");
	lh_vm_exec_result_free(&r);

	/* Output is bounded; the rest is read and dropped. */
	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = lots, .max_output = 10 }, &r,
			    &err), 0);
	CU_ASSERT_EQUAL(r.exit_code, 0);
	CU_ASSERT(r.out_truncated);
	CU_ASSERT_EQUAL(r.out_len, 30); /* ten NULs, each U+FFFD */
	lh_vm_exec_result_free(&r);

	t0 = now_ms();
	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = sleep5, .timeout_ms = 200 },
			    &r, &err), 0);
	CU_ASSERT(r.timed_out);
	CU_ASSERT_EQUAL(r.signal, SIGKILL);
	CU_ASSERT_EQUAL(r.exit_code, -1);
	CU_ASSERT(now_ms() - t0 < 2000);
	lh_vm_exec_result_free(&r);

	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = none }, &r, &err),
			-LH_EDRIVER);
	ASSERT_MSG_HAS(err, "guest: exec no-such-command-here: not found in PATH");
	lh_vm_exec_result_free(&r);
	CU_ASSERT(lh_agent_alive(p.client));
	pair_close(&p);
}

/* With a root, a command the root lacks comes from the agent's PATH and
 * runs inside the root. Needs a static busybox (a dynamic program would
 * not find its libraries in the root). */
static void test_exec_in_root(void)
{
	const char *cat[] = { "busybox", "cat", "/etc/motd", NULL };
	const char *missing[] = { "cat", "/etc/motd", NULL };
	struct lh_vm_exec_result r;
	struct lh_error err = { 0 };
	struct pair p;
	char *root;

	if (fixture_sh("ldd \"$(command -v busybox)\" 2>&1 | grep -q 'not a dynamic'") != 0) {
		fprintf(stderr, "\n  skipped: no static busybox (apt-get install busybox-static)\n");
		return;
	}
	root = strdup(fixture_path("root/etc/motd"));
	CU_ASSERT_EQUAL_FATAL(fixture_write(root, "in the root\n", 12), 0);
	*strstr(root, "/etc/motd") = '\0';
	pair_open(&p);
	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = cat, .root = root }, &r,
			    &err), 0);
	CU_ASSERT_STRING_EQUAL(r.out, "in the root\n");
	lh_vm_exec_result_free(&r);
	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = missing, .root = "/nowhere" },
			    &r, &err), -LH_EDRIVER);
	ASSERT_MSG_HAS(err, "guest: exec cat: chroot /nowhere: No such file or directory");
	lh_vm_exec_result_free(&r);
	pair_close(&p);
	free(root);
}

static void test_refusals(void)
{
	cJSON *req = cJSON_Parse("{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\","
				 "\"Settings\":{\"MountPath\":\"/m\"}}");
	struct lh_error err = { 0 };
	struct pair p;

	pair_open(&p);
	/* The agent on a test stream is on a host: it mounts nothing. */
	CU_ASSERT_EQUAL(lh_agent_modify(p.client, req, TIMEOUT_MS, NULL, &err), -LH_EDRIVER);
	ASSERT_MSG_HAS(err, "guest: modify is carried out only by the guest's agent");
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_agent_call(p.client, "poweroff", NULL, TIMEOUT_MS, NULL, &err),
			-LH_EDRIVER);
	ASSERT_MSG_HAS(err, "only the guest's agent powers off");
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_agent_call(p.client, "frobnicate", NULL, TIMEOUT_MS, NULL, &err),
			-LH_EDRIVER);
	ASSERT_MSG_HAS(err, "guest: unknown op 'frobnicate'");
	CU_ASSERT(lh_agent_alive(p.client));
	cJSON_Delete(req);
	pair_close(&p);
}

/* The agent dies: the socket closes, and the client says so at once,
 * also on every later call. */
static void test_closed(void)
{
	const char *sleep10[] = { "sleep", "10", NULL };
	struct lh_vm_exec_result r;
	struct lh_error err = { 0 };
	struct pair p;
	int64_t t0;

	pair_open(&p);
	close(p.peer);
	p.peer = -1;
	/* Killed mid-request: the command it ran does not keep it open. */
	if (fork() == 0) {
		usleep(300 * 1000);
		kill(p.agent, SIGKILL);
		_exit(0);
	}
	t0 = now_ms();
	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = sleep10 }, &r, &err),
			-EPIPE);
	CU_ASSERT(now_ms() - t0 < 3000);
	ASSERT_MSG_HAS(err, "the connection closed (QEMU exited, or the guest powered off or "
			    "panicked");
	CU_ASSERT_FALSE(lh_agent_alive(p.client));
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_agent_ping(p.client, TIMEOUT_MS, &err), -EPIPE);
	lh_vm_exec_result_free(&r);
	waitpid(-1, NULL, 0);
	pair_close(&p);
}

struct restart {
	struct pair *p;
	pid_t second;
};

/* Kill the agent mid-request and start another on the same stream, as
 * the guest's init does. */
static void *restart_agent(void *arg)
{
	struct restart *r = arg;

	usleep(300 * 1000);
	kill(r->p->agent, SIGKILL);
	waitpid(r->p->agent, NULL, 0);
	r->second = spawn_agent(r->p->peer, 1);
	return NULL;
}

static void test_restart(void)
{
	const char *sleep10[] = { "sleep", "10", NULL };
	struct lh_vm_exec_result res;
	struct lh_error err = { 0 };
	struct restart r = { 0 };
	struct pair p;
	pthread_t t;
	int64_t t0;

	pair_open(&p);
	r.p = &p;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, restart_agent, &r), 0);
	t0 = now_ms();
	CU_ASSERT_EQUAL(run(p.client, &(struct lh_agent_exec){ .argv = sleep10 }, &res, &err),
			-ECONNRESET);
	CU_ASSERT(now_ms() - t0 < 3000);
	ASSERT_MSG_HAS(err, "restarted (generation 1) while handling exec");
	lh_vm_exec_result_free(&res);
	pthread_join(t, NULL);
	/* The new agent serves on. */
	lh_error_clear(&err);
	CU_ASSERT_EQUAL(lh_agent_ping(p.client, TIMEOUT_MS, &err), 0);
	CU_ASSERT_EQUAL(lh_agent_generation(p.client), 1);
	p.agent = r.second;
	pair_close(&p);
}

/* A scripted peer: answers each request line as told. */
struct script {
	int fd;
	int mode;
};

enum { SCRIPT_STALE_FIRST, SCRIPT_LATE };

static void *script_peer(void *arg)
{
	struct script *s = arg;
	FILE *in = fdopen(dup(s->fd), "r");
	char line[4096];
	int n = 0;

	while (in && fgets(line, sizeof(line), in)) {
		cJSON *req = cJSON_Parse(line);
		double id = cJSON_GetObjectItem(req, "id")->valuedouble;

		n++;
		if (s->mode == SCRIPT_STALE_FIRST && n == 1)
			/* What an earlier session and a cut-off reply left. */
			dprintf(s->fd, "{\"id\":%.0f,\"ok\":false}\n\"junk\"\n}{ not json\n"
				       "{\"event\":\"ready\",\"generation\":0}\n{\"event\":\"new\"}\n",
				id - 1);
		if (s->mode == SCRIPT_LATE && n == 2) {
			usleep(400 * 1000); /* past the client's deadline */
			dprintf(s->fd, "{\"id\":%.0f,\"ok\":true,\"late\":true}\n", id);
		} else {
			dprintf(s->fd, "{\"id\":%.0f,\"ok\":true,\"generation\":0,\"n\":%d}\n", id,
				n);
		}
		cJSON_Delete(req);
	}
	if (in)
		fclose(in);
	return NULL;
}

static void test_scripted(void)
{
	struct lh_error err = { 0 };
	struct lh_agent *a = NULL;
	struct script s;
	cJSON *reply = NULL;
	pthread_t t;
	int sv[2];

	for (int mode = SCRIPT_STALE_FIRST; mode <= SCRIPT_LATE; mode++) {
		CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		s.fd = sv[1];
		s.mode = mode;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, script_peer, &s), 0);
		lh_error_clear(&err);
		CU_ASSERT_EQUAL(lh_agent_start(sv[0], "script", TIMEOUT_MS, &a, &err), 0);
		if (mode == SCRIPT_LATE) {
			/* Request 2 times out; its reply, come late, is not
			 * taken for request 3's. */
			CU_ASSERT_EQUAL(lh_agent_call(a, "ping", NULL, 200, NULL, &err), -ETIMEDOUT);
			ASSERT_MSG_HAS(err, "no answer to ping (request");
			CU_ASSERT(lh_agent_alive(a));
		}
		lh_error_clear(&err);
		CU_ASSERT_EQUAL(lh_agent_call(a, "ping", NULL, TIMEOUT_MS, &reply, &err), 0);
		CU_ASSERT_EQUAL(cJSON_GetObjectItem(reply, "n")->valueint, mode == SCRIPT_LATE ? 3 : 2);
		CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(reply, "late"));
		cJSON_Delete(reply);
		lh_agent_close(a);
		shutdown(sv[1], SHUT_RDWR);
		pthread_join(t, NULL);
		close(sv[1]);
	}
}

struct late_server {
	const char *path;
	pid_t agent;
	int fd;
};

/* The socket appears 300 ms late, as QEMU's does while it starts. */
static void *serve_late(void *arg)
{
	struct late_server *l = arg;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	usleep(300 * 1000);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", l->path);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 1) < 0)
		return NULL;
	l->fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	if (l->fd >= 0)
		l->agent = spawn_agent(l->fd, 0);
	close(s);
	return NULL;
}

static void test_connect(void)
{
	struct late_server l = { .path = fixture_path("agent.sock"), .fd = -1 };
	struct lh_error err = { 0 };
	struct lh_agent *a = NULL;
	pthread_t t;

	CU_ASSERT_EQUAL(lh_agent_connect(l.path, TIMEOUT_MS, &a, &err), -ENOENT);
	ASSERT_MSG_HAS(err, "cannot connect: No such file or directory (is the VM running?)");
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, serve_late, &l), 0);
	lh_error_clear(&err);
	if (lh_agent_wait_ready(l.path, TIMEOUT_MS, &a, &err))
		fprintf(stderr, "\n  wait_ready: %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL(a);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(lh_agent_ping(a, TIMEOUT_MS, &err), 0);
	lh_agent_close(a);
	if (l.agent > 0) {
		kill(l.agent, SIGKILL);
		waitpid(l.agent, NULL, 0);
	}
	if (l.fd >= 0)
		close(l.fd);
	unlink(l.path);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		{ "ping and exec", test_ping_and_exec },
		{ "exec in a root", test_exec_in_root },
		{ "refusals", test_refusals },
		{ "socket closed", test_closed },
		{ "agent restarted mid-request", test_restart },
		{ "stale, junk and late replies", test_scripted },
		{ "connect and wait_ready", test_connect },
		{ NULL, NULL },
	};

	signal(SIGPIPE, SIG_IGN);
	return cutest_run("agent client", cases, fixture_cleanup);
}
