/*
 * fuzz_qmp.c - libFuzzer target for the QMP client's reading of what
 * QEMU says: the input is everything the "QEMU" end of a socket pair
 * sends (greeting, replies, events, garbage), after which its stream ends.
 * The client connects, runs a command and waits for an event. Oracles:
 * every failure is a negative code with a message naming the peer, or
 * for QEMU's own refusal the command; a success returns the reply.
 */
#include "fuzz_check.h"
#include "qmp.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* QEMU's own refusal names the command; everything else the peer. */
static void check_failure(int rc, const struct lh_error *err, const char *command)
{
	FUZZ_CHECK(rc < 0);
	FUZZ_CHECK(err->code == rc);
	if (rc == -LH_EDRIVER)
		FUZZ_CHECK(strncmp(err->message, command, strlen(command)) == 0);
	else
		FUZZ_CHECK(strstr(err->message, "fuzz-qemu") != NULL || rc == -ENOMEM);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lh_error err = { 0 };
	struct lh_qmp *q = NULL;
	cJSON *ret = NULL;
	int sv[2], rc;
	size_t done = 0;

	/* The kernel buffers the whole input: the fuzzer's inputs are small. */
	if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	while (done < size) {
		ssize_t n = write(sv[1], data + done, size - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	/* "QEMU" has said its piece: end of stream after it, but it still
	 * takes what the client sends. */
	shutdown(sv[1], SHUT_WR);
	rc = lh_qmp_start(sv[0], "fuzz-qemu", 1000, &q, &err);
	if (rc) {
		check_failure(rc, &err, "qmp_capabilities");
		FUZZ_CHECK(q == NULL);
		close(sv[1]);
		return 0;
	}
	lh_error_clear(&err);
	rc = lh_qmp_execute(q, "query-status", NULL, &ret, 1000, &err);
	if (rc)
		check_failure(rc, &err, "query-status");
	else
		FUZZ_CHECK(ret != NULL);
	cJSON_Delete(ret);
	lh_error_clear(&err);
	rc = lh_qmp_wait_event(q, "DEVICE_DELETED", "disk0-1", 10, &err);
	if (rc)
		check_failure(rc, &err, "DEVICE_DELETED");
	FUZZ_CHECK(!lh_qmp_alive(q) || rc == 0 || rc == -ETIMEDOUT);
	lh_qmp_close(q);
	close(sv[1]);
	return 0;
}
