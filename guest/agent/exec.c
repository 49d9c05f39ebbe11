/* exec.c - the exec operation: a command in the UVM or in a container's
 * root, its output and status in the reply. */
#include "agent.h"

#include "guest_protocol.h"
#include "run.h"

#include <errno.h>
#include <stdlib.h>

/* A JSON array of strings as a NULL-terminated vector (the strings are
 * borrowed from the tree). */
static int exec_vector(const struct ga_json *array, const char *key, size_t min, char ***out,
		       struct ga_error *err)
{
	size_t n = 0, i = 0;
	char **v;

	*out = NULL;
	if (!array)
		return min ? GA_FAIL(err, -EINVAL, "exec: \"%s\" is required", key) : 0;
	if (array->kind != GA_JSON_ARRAY)
		return GA_FAIL(err, -EINVAL, "exec: \"%s\" must be an array of strings", key);
	for (const struct ga_json *e = array->child; e; e = e->next, n++)
		if (e->kind != GA_JSON_STRING || strlen(e->string) != e->len)
			return GA_FAIL(err, -EINVAL, "exec: \"%s\"[%zu] is not a string without NUL",
				       key, n);
	if (n < min || n > LH_GUEST_EXEC_ARGS_MAX)
		return GA_FAIL(err, -EINVAL, "exec: \"%s\" must have %zu to %d entries", key, min,
			       LH_GUEST_EXEC_ARGS_MAX);
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return GA_FAIL(err, -ENOMEM, "exec: out of memory");
	for (const struct ga_json *e = array->child; e; e = e->next)
		v[i++] = e->string;
	*out = v;
	return 0;
}

int ga_exec(const struct ga_context *ctx, const struct ga_json *request, struct ga_buf *detail,
	    struct ga_error *err)
{
	struct ga_run_spec spec = { .timeout_ms = LH_GUEST_EXEC_TIMEOUT_DEFAULT_MS,
				    .max_output = LH_GUEST_EXEC_OUTPUT_DEFAULT };
	const struct ga_json *in = ga_json_get(request, LH_GUEST_EXEC_STDIN);
	struct ga_run_result res = { 0 };
	char **argv = NULL, **envp = NULL;
	uint64_t timeout = 0, max = 0;
	int rc;

	(void)ctx;
	rc = exec_vector(ga_json_get(request, LH_GUEST_EXEC_ARGV), LH_GUEST_EXEC_ARGV, 1, &argv, err);
	if (rc == 0)
		rc = exec_vector(ga_json_get(request, LH_GUEST_EXEC_ENV), LH_GUEST_EXEC_ENV, 0, &envp,
				 err);
	if (rc)
		goto out;
	if (argv[0][0] == '\0' ||
	    ga_json_string(request, LH_GUEST_EXEC_ROOT, &spec.root) == -EINVAL ||
	    ga_json_string(request, LH_GUEST_EXEC_CWD, &spec.cwd) == -EINVAL ||
	    (in && in->kind != GA_JSON_STRING)) {
		rc = GA_FAIL(err, -EINVAL, "exec: argv[0] must be a command, root, cwd and stdin "
			     "strings");
		goto out;
	}
	if (spec.root && spec.root[0] != '/') {
		rc = GA_FAIL(err, -EINVAL, "exec: root '%s' is not an absolute path", spec.root);
		goto out;
	}
	rc = ga_json_uint(request, LH_GUEST_EXEC_TIMEOUT, LH_GUEST_EXEC_TIMEOUT_MAX_MS, &timeout);
	if (rc == 0 && timeout > 0)
		spec.timeout_ms = (int)timeout;
	if (rc == -EINVAL) {
		rc = GA_FAIL(err, -EINVAL, "exec: %s must be 0..%d", LH_GUEST_EXEC_TIMEOUT,
			     LH_GUEST_EXEC_TIMEOUT_MAX_MS);
		goto out;
	}
	rc = ga_json_uint(request, LH_GUEST_EXEC_MAX_OUTPUT, LH_GUEST_EXEC_OUTPUT_MAX, &max);
	if (rc == 0 && max > 0)
		spec.max_output = (size_t)max;
	if (rc == -EINVAL) {
		rc = GA_FAIL(err, -EINVAL, "exec: %s must be 0..%u", LH_GUEST_EXEC_MAX_OUTPUT,
			     LH_GUEST_EXEC_OUTPUT_MAX);
		goto out;
	}
	spec.argv = argv;
	spec.envp = envp;
	if (in) {
		spec.stdin_data = in->string;
		spec.stdin_len = in->len;
	}
	rc = ga_run(&spec, &res, err);
	if (rc)
		goto out;
	ga_buf_member_int(detail, LH_GUEST_EXEC_EXIT_CODE, res.exit_code);
	ga_buf_member_int(detail, LH_GUEST_EXEC_SIGNAL, res.signal);
	ga_buf_member_bool(detail, LH_GUEST_EXEC_TIMED_OUT, res.timed_out);
	ga_buf_puts(detail, ",\"" LH_GUEST_EXEC_STDOUT "\":");
	ga_buf_json_string(detail, res.out.data ? res.out.data : "", res.out.len);
	ga_buf_puts(detail, ",\"" LH_GUEST_EXEC_STDERR "\":");
	ga_buf_json_string(detail, res.err.data ? res.err.data : "", res.err.len);
	ga_buf_member_bool(detail, LH_GUEST_EXEC_STDOUT_TRUNCATED, res.out_truncated);
	ga_buf_member_bool(detail, LH_GUEST_EXEC_STDERR_TRUNCATED, res.err_truncated);
	ga_buf_member_int(detail, LH_GUEST_EXEC_DURATION, res.duration_ms);
out:
	ga_buf_free(&res.out);
	ga_buf_free(&res.err);
	free(argv);
	free(envp);
	return rc;
}
