/*
 * testplugin.c - one minimal backend, bent by compile definitions into each
 * way a plugin can be wrong, so the loader's refusals are tested on real
 * shared objects:
 *   TP_NAME="x"        the table's name (default "good"); TP_NULL_NAME: NULL
 *   TP_NO_ENTRY        export no entry symbol
 *   TP_ABI=n           abi_version n
 *   TP_SMALL           struct_size that stops before close
 *   TP_MISSING_<SLOT>  leave that mandatory slot NULL
 *   TP_V1              an ABI v1 table (version 1, the v1 size, no v2 members)
 *   TP_BIG_RESULT      a result struct 4 KiB larger than the host's, written
 *                      whole by attach (a plugin built against a grown header)
 *   TP_BAD_OPTION      an option whose field lies outside priv
 *   TP_MISALIGNED      the entry returns a pointer no table can have
 *   TP_WILD_TABLE      the entry returns an aligned pointer to nothing mapped
 *   TP_WILD_NAME       the name points to nothing mapped
 *   TP_LONG_NAME       the name is a string longer than any name can be
 *   TP_WILD_SLOT       the attach slot points at data, not code
 *   TP_HUGE_RESULT     an attach result of a gigabyte
 */
#include <layerhost/backend.h>

#include <errno.h>

#ifndef TP_NAME
#define TP_NAME "good"
#endif
#ifdef TP_V1
#define TP_ABI 1
#endif
#ifndef TP_ABI
#define TP_ABI LH_BACKEND_ABI_VERSION
#endif

/* What a header of a later ABI might make of the result. */
struct tp_big_result {
	struct lh_attach_result v2;
	char later_fields[4096];
};

/* Each variant leaves some slot functions unreferenced. */
#define TP_FN static __attribute__((unused))

struct tp_priv {
	const struct lh_host_services *host;
	uint64_t next_handle;
	uint64_t live; /* bit i: handle i + 1 is live (tests use a few) */
};

TP_FN int tp_open(void *priv, const struct lh_host_services *host, struct lh_error *err)
{
	struct tp_priv *p = priv;

	(void)err;
	p->host = host;
	p->next_handle = 1;
	return 0;
}

TP_FN int tp_attach(void *priv, const struct lh_attach_request *req,
		     struct lh_attach_result *out, struct lh_error *err)
{
	struct tp_priv *p = priv;

	if (p->next_handle > 64)
		return LH_FAIL(err, -LH_ENOLOCATION, "%s: no handles left", req->host_path);
#ifdef TP_BIG_RESULT
	memset(out, 0x5a, sizeof(struct tp_big_result));
#endif
	memset(out, 0, sizeof(*out));
	out->handle = p->next_handle++;
	out->controller = out->lun = out->device = -1;
	p->live |= 1ull << (out->handle - 1);
	return 0;
}

TP_FN int tp_release(void *priv, uint64_t handle, struct lh_error *err)
{
	struct tp_priv *p = priv;

	if (handle == 0 || handle > 64 || !(p->live & (1ull << (handle - 1))))
		return LH_FAIL(err, -LH_ENOTATTACHED, "handle %llu is not attached",
			       (unsigned long long)handle);
	p->live &= ~(1ull << (handle - 1));
	return 0;
}

TP_FN int tp_encode(void *priv, struct lh_gob_encoder *enc, struct lh_error *err)
{
	struct tp_priv *p = priv;

	(void)err;
	return p->host->gob->put_uint(enc, p->live);
}

TP_FN int tp_decode(void *priv, struct lh_gob_decoder *dec, struct lh_error *err)
{
	struct tp_priv *p = priv;

	return p->host->gob->get_uint(dec, &p->live, err);
}

TP_FN void tp_close(void *priv)
{
	(void)priv;
}

#ifdef TP_SMALL
#define TP_SIZE offsetof(struct lh_backend, close)
#elif defined(TP_V1)
#define TP_SIZE LH_BACKEND_V1_SIZE
#else
#define TP_SIZE sizeof(struct lh_backend)
#endif

#ifdef TP_MISSING_OPEN
#define TP_OPEN NULL
#else
#define TP_OPEN tp_open
#endif
#ifdef TP_MISSING_ATTACH
#define TP_ATTACH NULL
#else
#define TP_ATTACH tp_attach
#endif
#ifdef TP_MISSING_RELEASE
#define TP_RELEASE NULL
#else
#define TP_RELEASE tp_release
#endif
#ifdef TP_MISSING_ENCODE
#define TP_ENCODE NULL
#else
#define TP_ENCODE tp_encode
#endif
#ifdef TP_MISSING_DECODE
#define TP_DECODE NULL
#else
#define TP_DECODE tp_decode
#endif
#ifdef TP_MISSING_CLOSE
#define TP_CLOSE NULL
#else
#define TP_CLOSE tp_close
#endif

#ifdef TP_LONG_NAME
/* No NUL for far past the bound the host reads to. */
static const char tp_long_name[4096] = { [0 ... 4094] = 'x' };
#endif
#ifdef TP_WILD_SLOT
static const char tp_not_code[64];
#endif

#ifdef TP_BAD_OPTION
static const struct lh_option tp_options[] = {
	{ .name = "beyond", .type = LH_OPT_INT, .offset = sizeof(struct tp_priv) - 4,
	  .min = 0, .max = 9, .default_value = "1", .help = "a field past priv's end" },
	{ .name = NULL },
};
#define TP_OPTIONS tp_options
#else
#define TP_OPTIONS NULL
#endif

static const struct lh_backend tp_backend = {
	.abi_version = TP_ABI,
	.struct_size = TP_SIZE,
#ifdef TP_NULL_NAME
	.name = NULL,
#elif defined(TP_WILD_NAME)
	.name = (const char *)64,
#elif defined(TP_LONG_NAME)
	.name = tp_long_name,
#else
	.name = TP_NAME,
#endif
	.priv_size = sizeof(struct tp_priv),
	.options = TP_OPTIONS,
	.serial_version = 1,
	.open = TP_OPEN,       /* v1 */
#ifdef TP_WILD_SLOT
	.attach = (int (*)(void *, const struct lh_attach_request *, struct lh_attach_result *,
			   struct lh_error *))(const void *)tp_not_code, /* v1 */
#else
	.attach = TP_ATTACH,   /* v1 */
#endif
	.release = TP_RELEASE, /* v1 */
	.encode = TP_ENCODE,   /* v1 */
	.decode = TP_DECODE,   /* v1 */
	.clone = NULL,         /* v1 */
	.list = NULL,          /* v1 */
	.close = TP_CLOSE,     /* v1 */
#ifndef TP_V1
#ifdef TP_BIG_RESULT
	.result_size = sizeof(struct tp_big_result), /* v2 */
#elif defined(TP_HUGE_RESULT)
	.result_size = 1u << 30, /* v2 */
#else
	.result_size = sizeof(struct lh_attach_result), /* v2 */
#endif
	.option_size = sizeof(struct lh_option), /* v2 */
#endif
};

#ifdef TP_NO_ENTRY
/* Something to export, under the wrong name. */
LH_BACKEND_EXPORT const struct lh_backend *layerhost_backend_entry_v0(void)
{
	return &tp_backend;
}
#else
LH_BACKEND_EXPORT const struct lh_backend *layerhost_backend_entry(void)
{
#ifdef TP_MISALIGNED
	return (const struct lh_backend *)((const char *)&tp_backend + 1);
#elif defined(TP_WILD_TABLE)
	(void)tp_backend;
	return (const struct lh_backend *)(uintptr_t)4096;
#else
	return &tp_backend;
#endif
}
#endif
