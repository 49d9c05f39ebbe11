/* services.c - see services.h. */
#include "services.h"

#include "copy.h"
#include "disk.h"
#include "document.h"
#include "gob.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int svc_modify(void *ctx, const char *request_json, struct lh_error *err)
{
	struct lh_instance *inst = ctx;

	return lh_host_modify(inst->host, request_json, err);
}

static void svc_vlog(void *ctx, enum lh_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void svc_vlog(void *ctx, enum lh_log_level level, const char *fmt, va_list ap)
{
	lh_vlog(level, ((struct lh_instance *)ctx)->name, fmt, ap);
}

static void svc_log(void *ctx, enum lh_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void svc_log(void *ctx, enum lh_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	svc_vlog(ctx, level, fmt, ap);
	va_end(ap);
}

static int svc_copy_file(void *ctx, const char *src, const char *dst, struct lh_error *err)
{
	(void)ctx;
	return lh_copy_file(src, dst, LH_COPY_ALLOW_ALL, NULL, err);
}

/* On Linux a VM process opens files with the host's own credentials: the
 * grant is a check that the file is reachable with the access asked. */
static int svc_grant_vm_access(void *ctx, const char *path, enum lh_vm_access wanted,
			       struct lh_error *err)
{
	struct lh_instance *inst = ctx;

	if (wanted == LH_ACCESS_NONE)
		return 0;
	if (access(path, R_OK) < 0)
		return LH_FAIL(err, -errno, "%s: the VM cannot be granted access: %s", path,
			       strerror(errno));
	lh_log(LH_LOG_DEBUG, inst->name, "granted %s access to %s",
	       wanted == LH_ACCESS_THIS_VM ? "this-VM" : "VM-group", path);
	return 0;
}

static const struct lh_uvm_info *svc_uvm(void *ctx)
{
	return &((struct lh_instance *)ctx)->host->uvm;
}

static uint64_t svc_next_mount_id(void *ctx)
{
	return atomic_fetch_add(&((struct lh_instance *)ctx)->host->mount_counter, 1);
}

static int svc_probe_disk(void *ctx, const char *path, struct lh_disk_info *info,
			  struct lh_error *err)
{
	(void)ctx;
	return lh_disk_probe(path, info, err);
}

static int svc_document_add(void *ctx, const char *path, const char *json, struct lh_error *err)
{
	struct lh_host *host = ((struct lh_instance *)ctx)->host;
	int rc;

	if (!host->document)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: no compute-system document outside a clone",
			       path);
	pthread_mutex_lock(&host->document_lock);
	rc = lh_document_add(host->document, path, json, err);
	pthread_mutex_unlock(&host->document_lock);
	return rc;
}

void lh_services_init(struct lh_host_services *svc, struct lh_instance *inst)
{
	memset(svc, 0, sizeof(*svc));
	svc->abi_version = LH_BACKEND_ABI_VERSION;
	svc->struct_size = sizeof(*svc);
	svc->ctx = inst;
	svc->modify = svc_modify;
	svc->log = svc_log;
	svc->copy_file = svc_copy_file;
	svc->grant_vm_access = svc_grant_vm_access;
	svc->uvm = svc_uvm;
	svc->next_mount_id = svc_next_mount_id;
	svc->probe_disk = svc_probe_disk;
	svc->document_add = svc_document_add;
	svc->gob = &lh_gob_codec;
	svc->vlog = svc_vlog;
	svc->gob_size = sizeof(lh_gob_codec);
}
