/* scsi_attachment.c - the attachment object: names, keys, freeing. */
#include "scsi_private.h"

#include <stdlib.h>

static const char *const scsi_type_names[] = {
	[SCSI_TYPE_VIRTUAL_DISK] = "VirtualDisk",
	[SCSI_TYPE_PASS_THRU] = "PassThru",
	[SCSI_TYPE_EVD] = "ExtensibleVirtualDisk",
};

const char *scsi_type_name(enum scsi_type type)
{
	return scsi_type_names[type];
}

int scsi_type_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(scsi_type_names) / sizeof(scsi_type_names[0]); i++)
		if (strcmp(name, scsi_type_names[i]) == 0)
			return (int)i;
	return -1;
}

char *scsi_config_key(enum scsi_type type, bool read_only, const char *evd_type,
		      const char *host_path)
{
	char *key = NULL;

	if (asprintf(&key, "%d\x1f%d\x1f%s\x1f%s", (int)type, read_only ? 1 : 0, evd_type,
		     host_path) < 0)
		return NULL;
	return key;
}

void scsi_attachment_free(struct scsi_attachment *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_guest_options; i++)
		free(a->guest_options[i]);
	free(a->guest_options);
	lh_handles_fini(&a->handles);
	free(a->key);
	free(a->host_path);
	free(a->uvm_path);
	free(a->evd_type);
	free(a);
}
