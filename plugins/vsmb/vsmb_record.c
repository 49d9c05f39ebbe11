/*
 * vsmb_record.c - hcsshim's VSMBShare gob record, byte for byte (hcsshim
 * d816cbe89, VSMBShare.GobEncode): one stream of its own Encoder holding
 *
 *   uint32 serial version (1) | string HostPath | string name |
 *   []string allowedFiles | string guestPath |
 *   hcsschema.VirtualSmbShareOptions (a struct of 17 bools)
 *
 * so the []string and the options struct are each preceded by their type
 * definition. Depends on backend.h only, so the tests compile it directly
 * and hold it against the bytes Go writes (tests/vsmb/oracle).
 */
#include "vsmb.h"

#include <errno.h>
#include <stdlib.h>

/* hcsschema.VirtualSmbShareOptions: field names (also the JSON tags) and
 * order, indexed by enum vsmb_option_bit. */
static const struct lh_gob_field vsmb_option_fields[VSMB_OPTION_COUNT] = {
	[VSMB_READ_ONLY] = { "ReadOnly", LH_GOB_BOOL },
	[VSMB_SHARE_READ] = { "ShareRead", LH_GOB_BOOL },
	[VSMB_CACHE_IO] = { "CacheIo", LH_GOB_BOOL },
	[VSMB_NO_OPLOCKS] = { "NoOplocks", LH_GOB_BOOL },
	[VSMB_TAKE_BACKUP_PRIVILEGE] = { "TakeBackupPrivilege", LH_GOB_BOOL },
	[VSMB_USE_SHARE_ROOT_IDENTITY] = { "UseShareRootIdentity", LH_GOB_BOOL },
	[VSMB_NO_DIRECTMAP] = { "NoDirectmap", LH_GOB_BOOL },
	[VSMB_NO_LOCKS] = { "NoLocks", LH_GOB_BOOL },
	[VSMB_NO_DIRNOTIFY] = { "NoDirnotify", LH_GOB_BOOL },
	[VSMB_VM_SHARED_MEMORY] = { "VmSharedMemory", LH_GOB_BOOL },
	[VSMB_RESTRICT_FILE_ACCESS] = { "RestrictFileAccess", LH_GOB_BOOL },
	[VSMB_FORCE_LEVEL_II_OPLOCKS] = { "ForceLevelIIOplocks", LH_GOB_BOOL },
	[VSMB_REPARSE_BASE_LAYER] = { "ReparseBaseLayer", LH_GOB_BOOL },
	[VSMB_PSEUDO_OPLOCKS] = { "PseudoOplocks", LH_GOB_BOOL },
	[VSMB_NON_CACHE_IO] = { "NonCacheIo", LH_GOB_BOOL },
	[VSMB_PSEUDO_DIRNOTIFY] = { "PseudoDirnotify", LH_GOB_BOOL },
	[VSMB_SINGLE_FILE_MAPPING] = { "SingleFileMapping", LH_GOB_BOOL },
};

const struct lh_gob_struct_type vsmb_options_type = {
	.name = "VirtualSmbShareOptions",
	.fields = vsmb_option_fields,
	.n_fields = VSMB_OPTION_COUNT,
};

int vsmb_record_write(const struct lh_gob_codec *gob, struct lh_gob_encoder *enc,
		      const struct vsmb_record *rec)
{
	union lh_gob_value options[VSMB_OPTION_COUNT];
	int rc;

	for (int bit = 0; bit < VSMB_OPTION_COUNT; bit++)
		options[bit].b = rec->options & VSMB_BIT(bit);
	rc = gob->put_uint(enc, VSMB_RECORD_SERIAL_VERSION);
	rc = rc ? rc : gob->put_string(enc, rec->host_path);
	rc = rc ? rc : gob->put_string(enc, rec->name);
	rc = rc ? rc : gob->put_strings(enc, (const char *const *)rec->files, rec->n_files);
	rc = rc ? rc : gob->put_string(enc, rec->guest_path);
	rc = rc ? rc : gob->put_struct(enc, &vsmb_options_type, options);
	return rc;
}

void vsmb_record_free(struct vsmb_record *rec)
{
	for (size_t i = 0; i < rec->n_files; i++)
		free(rec->files[i]);
	free(rec->files);
	free(rec->host_path);
	free(rec->name);
	free(rec->guest_path);
	memset(rec, 0, sizeof(*rec));
}

int vsmb_record_add_file(struct vsmb_record *rec, const char *path)
{
	char **files = realloc(rec->files, (rec->n_files + 1) * sizeof(*files));

	if (!files)
		return -ENOMEM;
	rec->files = files;
	files[rec->n_files] = strdup(path);
	if (!files[rec->n_files])
		return -ENOMEM;
	rec->n_files++;
	return 0;
}

/* A string of at most LH_PATH_CAP - 1 bytes into a fresh allocation. */
static int vsmb_record_string(const struct lh_gob_codec *gob, struct lh_gob_decoder *dec,
			      char **out, struct lh_error *err)
{
	char *buf = malloc(LH_PATH_CAP);
	int rc;

	if (!buf)
		return LH_FAIL(err, -ENOMEM, "vsmb: out of memory decoding a share");
	rc = gob->get_string(dec, buf, LH_PATH_CAP, err);
	if (rc == 0 && !(*out = strdup(buf)))
		rc = LH_FAIL(err, -ENOMEM, "vsmb: out of memory decoding a share");
	free(buf);
	return rc;
}

static int vsmb_record_file(void *arg, size_t index, const char *value, struct lh_error *err)
{
	(void)index;
	if (vsmb_record_add_file(arg, value))
		return LH_FAIL(err, -ENOMEM, "vsmb: out of memory decoding a share");
	return 0;
}

int vsmb_record_read(const struct lh_gob_codec *gob, struct lh_gob_decoder *dec,
		     struct vsmb_record *rec, struct lh_error *err)
{
	union lh_gob_value options[VSMB_OPTION_COUNT];
	uint64_t version;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rc = gob->get_uint(dec, &version, err);
	if (rc == 0 && version != VSMB_RECORD_SERIAL_VERSION)
		rc = LH_FAIL(err, version == 0 || version > UINT32_MAX ? -LH_ECORRUPT : -LH_EVERSION,
			     "vsmb: VSMBShare record of serial version %llu, this build knows %d",
			     (unsigned long long)version, VSMB_RECORD_SERIAL_VERSION);
	rc = rc ? rc : vsmb_record_string(gob, dec, &rec->host_path, err);
	rc = rc ? rc : vsmb_record_string(gob, dec, &rec->name, err);
	rc = rc ? rc : gob->get_strings(dec, VSMB_MAX_FILES, LH_PATH_CAP, vsmb_record_file, rec,
					err);
	rc = rc ? rc : vsmb_record_string(gob, dec, &rec->guest_path, err);
	rc = rc ? rc : gob->get_struct(dec, &vsmb_options_type, options, err);
	if (rc == 0 && gob->remaining(dec))
		rc = LH_FAIL(err, -LH_ECORRUPT, "vsmb: %zu bytes after the VSMBShare record of '%s'",
			     gob->remaining(dec), rec->host_path);
	for (int bit = 0; rc == 0 && bit < VSMB_OPTION_COUNT; bit++)
		if (options[bit].b)
			rec->options |= VSMB_BIT(bit);
	if (rc)
		vsmb_record_free(rec);
	return rc;
}
