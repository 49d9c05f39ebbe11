/* backend_calls.c - see backend_calls.h. */
#include "backend_calls.h"

#include "gob.h"

#include <errno.h>
#include <stdlib.h>

/* The largest priv and attach result (and option entry) a table may ask
 * the host to allocate. */
#define LH_BACKEND_PRIV_MAX (256u << 20)
#define LH_BACKEND_RESULT_MAX (1u << 20)

/* A v1 table has none of the v2 members; these read them by the rules. */
static size_t backend_result_size(const struct lh_backend *ops)
{
	return LH_HAS_MEMBER(struct lh_backend, ops->struct_size, result_size) &&
			       ops->abi_version >= 2
		       ? ops->result_size
		       : LH_ATTACH_RESULT_V1_SIZE;
}

struct lh_option_list lh_backend_options(const struct lh_backend *ops)
{
	struct lh_option_list list = { ops->name, ops->options, LH_OPTION_V1_SIZE };

	if (ops->abi_version >= 2 && LH_HAS_MEMBER(struct lh_backend, ops->struct_size, option_size))
		list.stride = ops->option_size;
	return list;
}

int lh_backend_check(const struct lh_backend *ops, const char *file, struct lh_error *err)
{
	static const struct {
		const char *name;
		size_t offset;
	} mandatory[] = {
		{ "open", offsetof(struct lh_backend, open) },
		{ "attach", offsetof(struct lh_backend, attach) },
		{ "release", offsetof(struct lh_backend, release) },
		{ "encode", offsetof(struct lh_backend, encode) },
		{ "decode", offsetof(struct lh_backend, decode) },
		{ "close", offsetof(struct lh_backend, close) },
	};
	struct lh_option_list options;

	if (!ops)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: entry point returned no backend table",
			       file);
	/* A table pointer the plugin made up would crash the first read. */
	if ((uintptr_t)ops % _Alignof(struct lh_backend))
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: entry point returned a misaligned "
			       "table pointer %p", file, (const void *)ops);
	if (ops->abi_version < LH_BACKEND_ABI_MIN || ops->abi_version > LH_BACKEND_ABI_VERSION)
		return LH_FAIL(err, -LH_EVERSION,
			       "%s: backend ABI version %u is not supported (this host speaks "
			       "%d..%d)", file, ops->abi_version, LH_BACKEND_ABI_MIN,
			       LH_BACKEND_ABI_VERSION);
	if (ops->struct_size < LH_BACKEND_V1_SIZE)
		return LH_FAIL(err, -LH_EVERSION,
			       "%s: backend table is %u bytes, smaller than ABI v1's %zu", file,
			       ops->struct_size, (size_t)LH_BACKEND_V1_SIZE);
	if (!ops->name || !ops->name[0])
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: backend table has no name", file);
	for (size_t i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++) {
		void *slot;

		memcpy(&slot, (const char *)ops + mandatory[i].offset, sizeof(slot));
		if (!slot)
			return LH_FAIL(err, -LH_EUNSUPPORTED,
				       "%s: backend '%s' has no '%s' slot, which is mandatory", file,
				       ops->name, mandatory[i].name);
	}
	if (ops->abi_version >= 2 &&
	    !LH_HAS_MEMBER(struct lh_backend, ops->struct_size, option_size))
		return LH_FAIL(err, -LH_EVERSION, "%s: backend '%s' says ABI v2 but its table is "
			       "%u bytes, short of v2's sizes", file, ops->name, ops->struct_size);
	if (backend_result_size(ops) < LH_ATTACH_RESULT_V1_SIZE)
		return LH_FAIL(err, -LH_EVERSION, "%s: backend '%s' declares a %zu-byte attach "
			       "result, smaller than ABI v1's %zu", file, ops->name,
			       backend_result_size(ops), LH_ATTACH_RESULT_V1_SIZE);
	/* The host allocates these sizes: a garbage one must not become a
	 * gigabyte calloc or an exhausted machine. */
	if (ops->priv_size > LH_BACKEND_PRIV_MAX || backend_result_size(ops) > LH_BACKEND_RESULT_MAX)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: backend '%s' declares a %zu-byte priv and "
			       "a %zu-byte attach result, beyond the %u and %u bytes a backend may "
			       "have", file, ops->name, ops->priv_size, backend_result_size(ops),
			       LH_BACKEND_PRIV_MAX, LH_BACKEND_RESULT_MAX);
	options = lh_backend_options(ops);
	if (options.stride > LH_BACKEND_RESULT_MAX)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: backend '%s' declares %zu-byte options",
			       file, ops->name, options.stride);
	if (options.stride < LH_OPTION_V1_SIZE)
		return LH_FAIL(err, -LH_EVERSION, "%s: backend '%s' declares %zu-byte options, "
			       "smaller than ABI v1's %zu", file, ops->name, options.stride,
			       LH_OPTION_V1_SIZE);
	return lh_options_check_layout(&options, ops->priv_size, file, err);
}

int lh_backend_open(struct lh_instance *inst, struct lh_error *err)
{
	return inst->ops->open(inst->priv, &inst->services, err);
}

int lh_backend_attach(struct lh_instance *inst, const struct lh_attach_request *req,
		      struct lh_attach_result *out, struct lh_error *err)
{
	size_t size = backend_result_size(inst->ops);
	struct lh_attach_result *buf = out;
	int rc;

	/* A plugin built against a grown header writes a bigger result. */
	if (size > sizeof(*out)) {
		buf = calloc(1, size);
		if (!buf)
			return LH_FAIL(err, -ENOMEM, "backend %s: out of memory", inst->name);
	}
	memset(out, 0, sizeof(*out));
	rc = inst->ops->attach(inst->priv, req, buf, err);
	if (buf != out) {
		if (rc == 0)
			memcpy(out, buf, sizeof(*out));
		free(buf);
	}
	return rc;
}

int lh_backend_release(struct lh_instance *inst, uint64_t handle, struct lh_error *err)
{
	return inst->ops->release(inst->priv, handle, err);
}

int lh_backend_encode(struct lh_instance *inst, struct lh_gob_encoder *enc,
		      struct lh_error *err)
{
	return inst->ops->encode(inst->priv, enc, err);
}

int lh_backend_decode(struct lh_instance *inst, struct lh_gob_decoder *dec,
		      struct lh_error *err)
{
	return inst->ops->decode(inst->priv, dec, err);
}

bool lh_backend_can_clone(const struct lh_instance *inst)
{
	return inst->ops->clone != NULL;
}

int lh_backend_clone(struct lh_instance *tmpl, struct lh_instance *clone,
		     const struct lh_clone_request *req, struct lh_error *err)
{
	if (!lh_backend_can_clone(tmpl))
		return LH_FAIL(err, -LH_EUNSUPPORTED, "backend %s cannot clone its attachments",
			       tmpl->name);
	return tmpl->ops->clone(tmpl->priv, clone->priv, req, err);
}

bool lh_backend_can_list(const struct lh_instance *inst)
{
	return inst->ops->list != NULL;
}

int lh_backend_list(struct lh_instance *inst, lh_visit_fn fn, void *arg)
{
	return lh_backend_can_list(inst) ? inst->ops->list(inst->priv, fn, arg) : 0;
}

void lh_backend_vm_needs(struct lh_instance *inst, struct lh_vm_needs *needs)
{
	if (inst->ops->abi_version >= 2 && LH_HAS_SLOT(struct lh_backend, inst->ops, vm_needs))
		inst->ops->vm_needs(inst->priv, needs);
}

uint32_t lh_backend_roles(const struct lh_instance *inst)
{
	return inst->ops->abi_version >= 2 &&
			       LH_HAS_MEMBER(struct lh_backend, inst->ops->struct_size, roles)
		       ? inst->ops->roles
		       : 0;
}

bool lh_backend_blob_unversioned(const struct lh_instance *inst)
{
	return inst->ops->abi_version >= 2;
}

void lh_backend_close(struct lh_instance *inst)
{
	inst->ops->close(inst->priv);
}
