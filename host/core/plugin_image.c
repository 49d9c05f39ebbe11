/* plugin_image.c - see plugin_image.h. */
#include "plugin_image.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>

#define IMAGE_MAX_SEGMENTS 16
#define IMAGE_MAX_OPTIONS 256

struct image_segment {
	uintptr_t start, end;
	bool exec;
};

/* The loaded segments of the object that holds `entry`. */
struct plugin_image {
	uintptr_t entry;
	struct image_segment seg[IMAGE_MAX_SEGMENTS];
	size_t n;
};

static int image_find(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct plugin_image *img = arg;
	bool mine = false;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && img->entry >= start && img->entry < start + ph->p_memsz)
			mine = true;
	}
	if (!mine)
		return 0;
	for (int i = 0; i < info->dlpi_phnum && img->n < IMAGE_MAX_SEGMENTS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R))
			continue;
		img->seg[img->n].start = info->dlpi_addr + ph->p_vaddr;
		img->seg[img->n].end = img->seg[img->n].start + ph->p_memsz;
		img->seg[img->n].exec = (ph->p_flags & PF_X) != 0;
		img->n++;
	}
	return 1;
}

/* The segment holding [p, p + len), or NULL. */
static const struct image_segment *image_holds(const struct plugin_image *img, const void *p,
					       size_t len)
{
	uintptr_t a = (uintptr_t)p;

	for (size_t i = 0; i < img->n; i++)
		if (a >= img->seg[i].start && a < img->seg[i].end && len <= img->seg[i].end - a)
			return &img->seg[i];
	return NULL;
}

/* A string that lies in the image and ends there, within the bound. */
static bool image_string(const struct plugin_image *img, const char *s)
{
	const struct image_segment *seg = image_holds(img, s, 1);
	size_t room;

	if (!seg)
		return false;
	room = seg->end - (uintptr_t)s;
	if (room > LH_PLUGIN_STRING_MAX)
		room = LH_PLUGIN_STRING_MAX;
	return memchr(s, '\0', room) != NULL;
}

static int image_check_slots(const struct plugin_image *img, const struct lh_backend *ops,
			     size_t size, const char *file, struct lh_error *err)
{
	static const struct {
		const char *name;
		size_t offset;
	} slots[] = {
		{ "open", offsetof(struct lh_backend, open) },
		{ "attach", offsetof(struct lh_backend, attach) },
		{ "release", offsetof(struct lh_backend, release) },
		{ "encode", offsetof(struct lh_backend, encode) },
		{ "decode", offsetof(struct lh_backend, decode) },
		{ "clone", offsetof(struct lh_backend, clone) },
		{ "list", offsetof(struct lh_backend, list) },
		{ "close", offsetof(struct lh_backend, close) },
		{ "vm_needs", offsetof(struct lh_backend, vm_needs) },
	};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		const struct image_segment *seg;
		void *fn;

		if (slots[i].offset + sizeof(fn) > size)
			continue;
		memcpy(&fn, (const char *)ops + slots[i].offset, sizeof(fn));
		if (!fn)
			continue;
		seg = image_holds(img, fn, 1);
		if (!seg || !seg->exec)
			return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: backend table's '%s' slot %p "
				       "points outside the plugin's code", file, slots[i].name, fn);
	}
	return 0;
}

static int image_check_options(const struct plugin_image *img, const struct lh_backend *ops,
			       size_t size, const char *file, struct lh_error *err)
{
	size_t stride = LH_OPTION_V1_SIZE;

	if (ops->abi_version >= 2 && size >= offsetof(struct lh_backend, option_size) +
						     sizeof(ops->option_size) &&
	    ops->option_size > stride)
		stride = ops->option_size;
	for (size_t i = 0; ops->options && i < IMAGE_MAX_OPTIONS; i++) {
		const struct lh_option *o =
			(const struct lh_option *)((const char *)ops->options + i * stride);

		if ((uintptr_t)o % _Alignof(struct lh_option) || !image_holds(img, o, stride))
			return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: backend table's option %zu lies "
				       "outside the plugin's memory", file, i);
		if (!o->name)
			return 0;
		if (!image_string(img, o->name) ||
		    (o->default_value && !image_string(img, o->default_value)) ||
		    (o->help && !image_string(img, o->help)))
			return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: backend table's option %zu has a "
				       "string outside the plugin's memory or longer than %d bytes",
				       file, i, LH_PLUGIN_STRING_MAX - 1);
	}
	if (ops->options)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: backend table's options do not end "
			       "within %d entries", file, IMAGE_MAX_OPTIONS);
	return 0;
}

int lh_plugin_image_check(const void *entry, const struct lh_backend *ops, const char *file,
			  struct lh_error *err)
{
	struct plugin_image img = { .entry = (uintptr_t)entry };
	size_t size;
	int rc;

	if (!ops || (uintptr_t)ops % _Alignof(struct lh_backend))
		return 0;
	dl_iterate_phdr(image_find, &img);
	if (img.n == 0)
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: cannot find the plugin's loaded "
			       "segments", file);
	/* The version and size first: they say how much table there is. */
	if (!image_holds(&img, ops, offsetof(struct lh_backend, name)))
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: entry point returned a table pointer "
			       "%p outside the plugin's memory", file, (const void *)ops);
	size = ops->struct_size < sizeof(*ops) ? ops->struct_size : sizeof(*ops);
	if (size < offsetof(struct lh_backend, name))
		return 0; /* too small: lh_backend_check says so */
	if (!image_holds(&img, ops, size))
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: backend table of %u bytes runs past the "
			       "plugin's memory", file, ops->struct_size);
	if (size >= offsetof(struct lh_backend, name) + sizeof(ops->name) && ops->name &&
	    !image_string(&img, ops->name))
		return LH_FAIL(err, -LH_EUNSUPPORTED, "%s: backend table's name %p is not a "
			       "string in the plugin's memory of at most %d bytes", file,
			       (const void *)ops->name, LH_PLUGIN_STRING_MAX - 1);
	rc = image_check_slots(&img, ops, size, file, err);
	if (rc == 0 && size >= offsetof(struct lh_backend, options) + sizeof(ops->options))
		rc = image_check_options(&img, ops, size, file, err);
	return rc;
}
