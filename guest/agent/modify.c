/* modify.c - the modify operation: one hcsshim ModificationRequest,
 * routed by its ResourceType. */
#include "agent.h"

#include "guest_protocol.h"

#include <errno.h>

int ga_modify(const struct ga_context *ctx, const struct ga_json *request, struct ga_buf *detail,
	      struct ga_error *err)
{
	const struct ga_json *m = ga_json_get(request, LH_GUEST_KEY_REQUEST), *settings;
	const char *type = NULL, *resource = NULL;
	bool add;

	if (!ctx->in_guest)
		return GA_FAIL(err, -EPERM, "modify is carried out only by the guest's agent "
			       "(this one serves a test stream)");
	if (!m || m->kind != GA_JSON_OBJECT)
		return GA_FAIL(err, -EINVAL, "modify: \"%s\" must be a ModificationRequest object",
			       LH_GUEST_KEY_REQUEST);
	if (ga_json_string(m, "RequestType", &type) || ga_json_string(m, "ResourceType", &resource))
		return GA_FAIL(err, -EINVAL, "modify: RequestType and ResourceType are required "
			       "strings");
	settings = ga_json_get(m, "Settings");
	if (!settings || settings->kind != GA_JSON_OBJECT)
		return GA_FAIL(err, -EINVAL, "modify %s %s: Settings must be an object", type,
			       resource);
	if (strcmp(type, "Add") == 0)
		add = true;
	else if (strcmp(type, "Remove") == 0)
		add = false;
	else
		return GA_FAIL(err, -EOPNOTSUPP, "modify %s %s: RequestType '%s' is not supported "
			       "(Add, Remove)", type, resource, type);
	if (strcmp(resource, "MappedVirtualDisk") == 0)
		return ga_scsi_disk(settings, add, detail, err);
	if (strcmp(resource, "SCSIDevice") == 0)
		return ga_scsi_device(settings, add, err);
	if (strcmp(resource, "VPMemDevice") == 0)
		return ga_pmem_device(settings, add, detail, err);
	if (strcmp(resource, "CombinedLayers") == 0)
		return ga_overlay(settings, add, err);
	if (strcmp(resource, "MappedDirectory") == 0)
		return ga_share(settings, add, err);
	return GA_FAIL(err, -EOPNOTSUPP, "modify %s: ResourceType '%s' is not supported by this "
		       "guest (MappedVirtualDisk, SCSIDevice, VPMemDevice, CombinedLayers, "
		       "MappedDirectory)", type, resource);
}
