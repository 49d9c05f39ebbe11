/* overlay.c - CombinedLayers: a container's rootfs as an overlay of its
 * layers under its scratch. */
#include "agent.h"

#include "mnt.h"
#include "sysfs.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* The kernel copies at most one page of mount options. */
#define OVERLAY_DATA_MAX 4095

/* overlayfs splits lowerdir at ':' and the options at ','. */
static bool overlay_path_ok(const char *path)
{
	return path[0] == '/' && !strpbrk(path, ":,");
}

static int overlay_add(const struct ga_json *s, const char *root, struct ga_error *err)
{
	const struct ga_json *layers = ga_json_get(s, "Layers");
	const char *scratch = NULL;
	char upper[GA_PATH_MAX], work[GA_PATH_MAX];
	struct ga_buf data = { 0 };
	unsigned long flags = 0;
	size_t count = 0;
	struct stat st;
	int rc = 0;

	if (!layers || layers->kind != GA_JSON_ARRAY || !layers->child)
		return GA_FAIL(err, -EINVAL, "CombinedLayers %s: Layers must list at least one "
			       "layer", root);
	if (ga_json_string(s, "ScratchPath", &scratch) == -EINVAL ||
	    (scratch && scratch[0] && !overlay_path_ok(scratch)))
		return GA_FAIL(err, -EINVAL, "CombinedLayers %s: ScratchPath must be an absolute "
			       "path without ':' or ','", root);
	if (scratch && !scratch[0])
		scratch = NULL;
	/* hcsshim's order: Layers[0] is the topmost layer, and overlayfs's
	 * lowerdir lists the topmost first too, so the order carries over. */
	ga_buf_puts(&data, "lowerdir=");
	for (const struct ga_json *l = layers->child; l; l = l->next) {
		const char *path = NULL;

		count++;
		if (ga_json_string(l, "Path", &path) || !overlay_path_ok(path)) {
			rc = GA_FAIL(err, -EINVAL, "CombinedLayers %s: layer %zu: Path must be an "
				     "absolute path without ':' or ','", root, count - 1);
			goto out;
		}
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			rc = GA_SYSFAIL(err, errno ? errno : ENOTDIR, "CombinedLayers %s: layer "
					"%zu: %s", root, count - 1, path);
			goto out;
		}
		ga_buf_printf(&data, "%s%s", count > 1 ? ":" : "", path);
	}
	if (scratch) {
		snprintf(upper, sizeof(upper), "%s/upper", scratch);
		snprintf(work, sizeof(work), "%s/work", scratch);
		rc = ga_mkdir_p(upper, err);
		if (rc == 0)
			rc = ga_mkdir_p(work, err);
		if (rc)
			goto out;
		ga_buf_printf(&data, ",upperdir=%s,workdir=%s", upper, work);
	} else {
		flags |= MS_RDONLY;
	}
	if (data.failed) {
		rc = GA_FAIL(err, -ENOMEM, "CombinedLayers %s: out of memory", root);
		goto out;
	}
	if (data.len > OVERLAY_DATA_MAX) {
		rc = GA_FAIL(err, -E2BIG, "CombinedLayers %s: %zu layers make %zu bytes of overlay "
			     "options; the kernel takes %d", root, count, data.len,
			     OVERLAY_DATA_MAX);
		goto out;
	}
	rc = ga_mount_target_check(root, NULL, err);
	if (rc == 0)
		rc = ga_mkdir_p(root, err);
	if (rc)
		goto out;
	if (count == 1 && !scratch) {
		/* overlayfs wants two lowers without an upper: one read-only
		 * layer is the layer itself, read-only. */
		const char *only = NULL;

		ga_json_string(layers->child, "Path", &only);
		rc = ga_mount(only, root, "none", MS_BIND, NULL, 0, 0, err);
		if (rc == 0)
			rc = ga_mount("none", root, "none", MS_BIND | MS_REMOUNT | MS_RDONLY, NULL, 0,
				      0, err);
		if (rc)
			ga_unmount(root, true, NULL);
		goto out;
	}
	rc = ga_mount("overlay", root, "overlay", flags, data.data, 0, 0, err);
	if (rc)
		rmdir(root); /* a failed add leaves nothing behind */
out:
	ga_buf_free(&data);
	return rc;
}

int ga_overlay(const struct ga_json *settings, bool add, struct ga_error *err)
{
	const char *root = NULL;

	if (ga_json_string(settings, "ContainerRootPath", &root) || root[0] != '/')
		return GA_FAIL(err, -EINVAL, "CombinedLayers: ContainerRootPath must be an "
			       "absolute path");
	return add ? overlay_add(settings, root, err) : ga_unmount(root, true, err);
}
