/* share.c - MappedDirectory: a host folder shared through virtio-fs,
 * mounted by its tag. */
#include "agent.h"

#include "guest_protocol.h"
#include "mnt.h"

#include <errno.h>
#include <sys/mount.h>

int ga_share(const struct ga_json *settings, bool add, struct ga_error *err)
{
	const char *mount_path = NULL, *tag = NULL;
	bool read_only = false;
	int rc;

	if (ga_json_string(settings, "MountPath", &mount_path) || mount_path[0] != '/')
		return GA_FAIL(err, -EINVAL, "MappedDirectory: MountPath must be an absolute path");
	if (!add)
		return ga_unmount(mount_path, true, err);
	if (ga_json_string(settings, "ShareName", &tag) || !tag[0])
		return GA_FAIL(err, -EINVAL, "MappedDirectory %s: ShareName (the virtio-fs tag) "
			       "is missing", mount_path);
	if (ga_json_bool(settings, "ReadOnly", &read_only) == -EINVAL)
		return GA_FAIL(err, -EINVAL, "MappedDirectory %s: ReadOnly is not a boolean",
			       mount_path);
	rc = ga_mount_target_check(mount_path, NULL, err);
	if (rc == 0)
		rc = ga_mkdir_p(mount_path, err);
	if (rc)
		return rc;
	/* virtio-fs answers EINVAL for a tag until the hot-plugged device
	 * has bound: the one transient refusal, waited out. */
	rc = ga_mount(tag, mount_path, "virtiofs", read_only ? MS_RDONLY : 0, NULL, EINVAL,
		      LH_GUEST_VIRTIOFS_WAIT_MS, err);
	if (rc)
		ga_unmount(mount_path, true, NULL);
	return rc;
}
