/* fakehost.c - see fakehost.h. */
#include "fakehost.h"

#include "backend_calls.h"
#include "copy.h"
#include "disk.h"
#include "document.h"
#include "gob.h"
#include "loader.h"
#include "options.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

/* One lock for every fake host: tests drive plugins from several threads. */
static pthread_mutex_t fakehost_lock = PTHREAD_MUTEX_INITIALIZER;

static int fh_modify(void *ctx, const char *request_json, struct lh_error *err)
{
	struct fakehost *fh = ctx;
	cJSON *parsed = cJSON_Parse(request_json);
	char *canonical = NULL;
	size_t attempt;
	int rc = 0;

	if (!parsed)
		return LH_FAIL(err, -EINVAL, "fakehost: request is not valid JSON: %s", request_json);
	pthread_mutex_lock(&fakehost_lock);
	attempt = ++fh->n_attempts;
	if (fh->fail_at && (attempt == fh->fail_at || (fh->fail_from && attempt > fh->fail_at))) {
		rc = LH_FAIL(err, fh->fail_code ? fh->fail_code : -LH_EDRIVER,
			     "fakehost: injected failure of request %zu", attempt);
		goto out;
	}
	canonical = cJSON_PrintUnformatted(parsed);
	if (fh->n_requests == fh->cap_requests) {
		size_t cap = fh->cap_requests ? fh->cap_requests * 2 : 64;
		char **grown = realloc(fh->requests, cap * sizeof(*grown));

		if (!grown) {
			rc = LH_FAIL(err, -ENOMEM, "fakehost: out of memory");
			goto out;
		}
		fh->requests = grown;
		fh->cap_requests = cap;
	}
	fh->requests[fh->n_requests++] = canonical;
	canonical = NULL;
out:
	pthread_mutex_unlock(&fakehost_lock);
	free(canonical);
	cJSON_Delete(parsed);
	return rc;
}

static void fh_vlog(void *ctx, enum lh_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void fh_vlog(void *ctx, enum lh_log_level level, const char *fmt, va_list ap)
{
	struct fakehost *fh = ctx;

	(void)level;
	pthread_mutex_lock(&fakehost_lock);
	vsnprintf(fh->last_log, sizeof(fh->last_log), fmt, ap);
	fh->n_logs++;
	if (getenv("LH_TEST_VERBOSE"))
		fprintf(stderr, "[%s] %s\n", fh->backend ? fh->backend->name : "?", fh->last_log);
	pthread_mutex_unlock(&fakehost_lock);
}

static void fh_log(void *ctx, enum lh_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fh_log(void *ctx, enum lh_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fh_vlog(ctx, level, fmt, ap);
	va_end(ap);
}

static int fh_copy_file(void *ctx, const char *src, const char *dst, struct lh_error *err)
{
	struct fakehost *fh = ctx;
	size_t n;

	pthread_mutex_lock(&fakehost_lock);
	n = ++fh->n_copies;
	pthread_mutex_unlock(&fakehost_lock);
	if (fh->fail_copy_at && n == fh->fail_copy_at)
		return LH_FAIL(err, -ENOSPC, "fakehost: injected failure of copy %zu (%s -> %s)", n,
			       src, dst);
	return lh_copy_file(src, dst, LH_COPY_ALLOW_ALL, NULL, err);
}

static int fh_grant(void *ctx, const char *path, enum lh_vm_access access, struct lh_error *err)
{
	struct fakehost *fh = ctx;

	(void)err;
	pthread_mutex_lock(&fakehost_lock);
	fh->n_grants++;
	fh->last_grant = access;
	snprintf(fh->last_grant_path, sizeof(fh->last_grant_path), "%s", path);
	pthread_mutex_unlock(&fakehost_lock);
	return 0;
}

static const struct lh_uvm_info *fh_uvm(void *ctx)
{
	return &((struct fakehost *)ctx)->uvm;
}

static uint64_t fh_next_mount_id(void *ctx)
{
	struct fakehost *fh = ctx;
	uint64_t id;

	pthread_mutex_lock(&fakehost_lock);
	id = fh->mount_counter++;
	pthread_mutex_unlock(&fakehost_lock);
	return id;
}

static int fh_probe_disk(void *ctx, const char *path, struct lh_disk_info *info,
			 struct lh_error *err)
{
	(void)ctx;
	return lh_disk_probe(path, info, err);
}

static int fh_document_add(void *ctx, const char *path, const char *json, struct lh_error *err)
{
	struct fakehost *fh = ctx;
	int rc;

	if (!fh->document)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "fakehost: no clone document");
	pthread_mutex_lock(&fakehost_lock);
	rc = lh_document_add(fh->document, path, json, err);
	pthread_mutex_unlock(&fakehost_lock);
	return rc;
}

void fakehost_init(struct fakehost *fh, enum lh_uvm_os os)
{
	memset(fh, 0, sizeof(*fh));
	snprintf(fh->uvm_id, sizeof(fh->uvm_id), "uvm-test");
	fh->uvm.id = fh->uvm_id;
	fh->uvm.os = os;
	fh->services.abi_version = LH_BACKEND_ABI_VERSION;
	fh->services.struct_size = sizeof(fh->services);
	fh->services.ctx = fh;
	fh->services.modify = fh_modify;
	fh->services.log = fh_log;
	fh->services.copy_file = fh_copy_file;
	fh->services.grant_vm_access = fh_grant;
	fh->services.uvm = fh_uvm;
	fh->services.next_mount_id = fh_next_mount_id;
	fh->services.probe_disk = fh_probe_disk;
	fh->services.document_add = fh_document_add;
	fh->services.gob = &lh_gob_codec;
	fh->services.vlog = fh_vlog;
	fh->services.gob_size = sizeof(lh_gob_codec);
}

void fakehost_enable_document(struct fakehost *fh)
{
	if (!fh->document)
		fh->document = cJSON_CreateObject();
}

void fakehost_clear_requests(struct fakehost *fh)
{
	for (size_t i = 0; i < fh->n_requests; i++)
		free(fh->requests[i]);
	fh->n_requests = 0;
	fh->n_attempts = 0;
}

void fakehost_fini(struct fakehost *fh)
{
	if (fh->priv && fh->backend)
		fh->backend->close(fh->priv);
	free(fh->priv);
	lh_plugin_unload(fh->plugin);
	fakehost_clear_requests(fh);
	free(fh->requests);
	cJSON_Delete(fh->document);
	memset(fh, 0, sizeof(*fh));
}

/* Defaults, then the test's pairs, into a fresh priv; then open. */
static int fakehost_open_backend(struct fakehost *fh, const struct lh_backend *ops,
				 const char *const *options, struct lh_error *err)
{
	void *priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	int rc;

	if (!priv)
		return LH_FAIL(err, -ENOMEM, "fakehost: out of memory");
	struct lh_option_list list = lh_backend_options(ops);

	rc = lh_options_set_defaults(&list, priv, err);
	for (size_t i = 0; rc == 0 && options && options[i]; i += 2)
		rc = lh_options_apply(&list, priv, options[i], options[i + 1], options[i], err);
	fh->backend = ops;
	if (rc == 0)
		rc = ops->open(priv, &fh->services, err);
	if (rc) {
		free(priv);
		return rc;
	}
	fh->priv = priv;
	return 0;
}

int fakehost_open(struct fakehost *fh, const char *name, const char *const *options,
		  struct lh_error *err)
{
	struct lh_plugin *plugin = NULL;
	int rc = lh_plugin_load(LH_TEST_PLUGIN_DIR, name, &plugin, err);

	if (rc)
		return rc;
	fh->plugin = plugin;
	return fakehost_open_backend(fh, plugin->ops, options, err);
}

int fakehost_open_like(struct fakehost *clone_fh, const struct fakehost *fh,
		       const char *const *options, struct lh_error *err)
{
	return fakehost_open_backend(clone_fh, fh->backend, options, err);
}

const char *fakehost_request(const struct fakehost *fh, size_t i)
{
	return i < fh->n_requests ? fh->requests[i] : NULL;
}

int fakehost_encode(struct fakehost *fh, uint8_t **data, size_t *len, struct lh_error *err)
{
	struct lh_gob_encoder enc;
	int rc;

	lh_gob_encoder_init(&enc);
	rc = fh->backend->encode(fh->priv, &enc, err);
	if (rc == 0 && enc.failed)
		rc = LH_FAIL(err, -ENOMEM, "fakehost: encoder out of memory");
	if (rc) {
		lh_gob_encoder_free(&enc);
		return rc;
	}
	*data = enc.data;
	*len = enc.len;
	return 0;
}

int fakehost_decode(struct fakehost *fh, const uint8_t *data, size_t len, struct lh_error *err)
{
	return fakehost_decode_version(fh, data, len, fh->backend->serial_version, err);
}

int fakehost_decode_version(struct fakehost *fh, const uint8_t *data, size_t len,
			    uint32_t version, struct lh_error *err)
{
	struct lh_gob_decoder dec;
	int rc;

	lh_gob_decoder_init(&dec, data, len, 0);
	dec.version = version;
	rc = fh->backend->decode(fh->priv, &dec, err);
	if (rc == 0 && lh_gob_remaining(&dec))
		rc = LH_FAIL(err, -LH_ECORRUPT, "fakehost: %zu bytes left after decode",
			     lh_gob_remaining(&dec));
	return rc;
}

struct lh_attach_request fakehost_request_init(const char *host_path, uint32_t flags)
{
	struct lh_attach_request req;

	memset(&req, 0, sizeof(req));
	req.struct_size = sizeof(req);
	req.host_path = host_path;
	req.flags = flags;
	req.controller = -1;
	req.lun = -1;
	return req;
}

static int count_visit(void *arg, const struct lh_attachment_info *info)
{
	(void)info;
	(*(size_t *)arg)++;
	return 0;
}

size_t fakehost_count_attachments(struct fakehost *fh)
{
	size_t n = 0;

	if (fh->backend->list)
		fh->backend->list(fh->priv, count_visit, &n);
	return n;
}

/* ---- golden files ------------------------------------------------------- */

static int mkdir_parents(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int golden_check_bytes(const char *name, const uint8_t *data, size_t len)
{
	char path[4096];
	FILE *f;
	uint8_t *want = NULL;
	long want_len;
	int equal = 0;

	snprintf(path, sizeof(path), "%s/golden/%s", LH_TEST_SOURCE_DIR, name);
	if (getenv("LH_UPDATE_GOLDEN")) {
		mkdir_parents(path);
		f = fopen(path, "wb");
		if (!f)
			return 0;
		fwrite(data, 1, len, f);
		fclose(f);
		fprintf(stderr, "golden: wrote %s\n", path);
		return 1;
	}
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "golden: %s is missing (run with LH_UPDATE_GOLDEN=1)\n", path);
		return 0;
	}
	fseek(f, 0, SEEK_END);
	want_len = ftell(f);
	rewind(f);
	want = malloc(want_len > 0 ? (size_t)want_len : 1);
	if (want && fread(want, 1, (size_t)want_len, f) == (size_t)want_len)
		equal = (size_t)want_len == len && memcmp(want, data, len) == 0;
	fclose(f);
	if (!equal)
		fprintf(stderr, "golden: %s differs\n  want: %.*s\n  got:  %.*s\n", path,
			(int)want_len, want ? (char *)want : "", (int)len, (const char *)data);
	free(want);
	return equal;
}

int golden_check(const char *name, const char *text)
{
	/* Golden text files end with a newline so editors leave them alone. */
	size_t len = strlen(text);
	char *with_newline = malloc(len + 2);
	int rc;

	if (!with_newline)
		return 0;
	memcpy(with_newline, text, len);
	with_newline[len] = '\n';
	with_newline[len + 1] = '\0';
	rc = golden_check_bytes(name, (const uint8_t *)with_newline, len + 1);
	free(with_newline);
	return rc;
}
