/* vsmb_share.c - share objects, host paths, share options and request JSON. */
#include "vsmb.h"

#include "lh_handles.h"
#include "lh_request.h"

#include <errno.h>
#include <stdlib.h>

#define VSMB_READ_ONLY_SET                                                              \
	(VSMB_BIT(VSMB_READ_ONLY) | VSMB_BIT(VSMB_SHARE_READ) | VSMB_BIT(VSMB_CACHE_IO) | \
	 VSMB_BIT(VSMB_PSEUDO_OPLOCKS))

/* ---- keys ---------------------------------------------------------------- */

uint64_t vsmb_key_hash(const struct vsmb_key *key)
{
	unsigned char kind = (unsigned char)((key->file_share ? 2 : 0) | (key->read_only ? 1 : 0));

	return lh_hash_bytes(lh_hash_bytes(LH_HASH_INIT, &kind, 1), key->path, strlen(key->path));
}

bool vsmb_share_matches(const void *share, const void *key)
{
	const struct vsmb_share *s = share;
	const struct vsmb_key *k = key;

	return s->file_share == k->file_share && s->read_only == k->read_only &&
	       strcmp(s->path, k->path) == 0;
}

/* ---- paths --------------------------------------------------------------- */

int vsmb_clean_path(const char *src, char *dst, size_t cap)
{
	size_t len = 1;

	if (!src || src[0] != '/')
		return -EINVAL;
	if (cap < 2)
		return -ENAMETOOLONG;
	dst[0] = '/';
	for (const char *p = src; *p;) {
		const char *start;
		size_t n;

		while (*p == '/')
			p++;
		start = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - start);
		if (n == 0 || (n == 1 && start[0] == '.'))
			continue;
		if (n == 2 && start[0] == '.' && start[1] == '.') {
			/* ".." at the root stays at the root, as in Go. */
			while (len > 1 && dst[len - 1] != '/')
				len--;
			if (len > 1)
				len--;
			continue;
		}
		if (len + (len > 1) + n + 1 > cap)
			return -ENAMETOOLONG;
		if (len > 1)
			dst[len++] = '/';
		memcpy(dst + len, start, n);
		len += n;
	}
	dst[len] = '\0';
	return 0;
}

void vsmb_parent_path(const char *clean, char *dst, size_t cap)
{
	const char *slash = strrchr(clean, '/');
	size_t n = slash && slash != clean ? (size_t)(slash - clean) : 1;

	snprintf(dst, cap, "%.*s", (int)n, clean);
}

void vsmb_uvm_path(const struct vsmb_share *share, const struct vsmb_file *file, char *buf,
		   size_t cap)
{
	if (file)
		snprintf(buf, cap, "%s%s\\%s", VSMB_GUEST_PREFIX, share->name, file->base);
	else
		snprintf(buf, cap, "%s%s", VSMB_GUEST_PREFIX, share->name);
}

/* ---- options ------------------------------------------------------------- */

uint32_t vsmb_saveable_options(uint32_t options)
{
	if (options & VSMB_BIT(VSMB_READ_ONLY)) {
		options |= VSMB_READ_ONLY_SET;
		options &= ~VSMB_BIT(VSMB_NO_OPLOCKS);
	} else {
		/* hcsshim: oplocks on writable shares of a saved VM cause
		 * intermittent access-denied errors on older builds. */
		options &= ~VSMB_READ_ONLY_SET;
		options |= VSMB_BIT(VSMB_NO_OPLOCKS);
	}
	return options | VSMB_BIT(VSMB_NO_LOCKS) | VSMB_BIT(VSMB_PSEUDO_DIRNOTIFY) |
	       VSMB_BIT(VSMB_NO_DIRECTMAP);
}

uint32_t vsmb_default_options(const struct vsmb_priv *priv, bool read_only, bool layer,
			      bool file_share)
{
	const struct lh_uvm_info *uvm = priv->host->uvm(priv->host->ctx);
	uint32_t options = 0;

	if (priv->no_direct_map || (uvm && (uvm->no_direct_map || uvm->physically_backed)))
		options |= VSMB_BIT(VSMB_NO_DIRECTMAP);
	if (read_only)
		options |= VSMB_READ_ONLY_SET;
	if (layer)
		options |= VSMB_BIT(VSMB_TAKE_BACKUP_PRIVILEGE);
	if (file_share)
		options |= VSMB_BIT(VSMB_RESTRICT_FILE_ACCESS) | VSMB_BIT(VSMB_SINGLE_FILE_MAPPING);
	if (uvm && uvm->is_template)
		options = vsmb_saveable_options(options);
	return options;
}

/* ---- share objects ------------------------------------------------------- */

struct vsmb_share *vsmb_share_new(uint64_t number, const struct vsmb_key *key, uint32_t options)
{
	struct vsmb_share *share = calloc(1, sizeof(*share));

	if (!share)
		return NULL;
	share->number = number;
	snprintf(share->name, sizeof(share->name), "s%llx", (unsigned long long)number);
	snprintf(share->path, sizeof(share->path), "%s", key->path);
	share->file_share = key->file_share;
	share->read_only = key->read_only;
	share->options = options;
	share->hash = vsmb_key_hash(key);
	share->state = VSMB_ADDING;
	lh_map_init(&share->file_map, LH_MAP_STRING, NULL);
	return share;
}

void vsmb_share_free(struct vsmb_share *share)
{
	if (!share)
		return;
	for (size_t i = 0; i < share->n_files; i++) {
		free(share->files[i]->path);
		free(share->files[i]);
	}
	free(share->files);
	lh_map_fini(&share->file_map);
	free(share);
}

int vsmb_share_reserve_file(struct vsmb_share *share)
{
	struct vsmb_file **files = lh_array_grow(share->files, &share->cap_files,
						 share->n_files + 1, sizeof(*files));
	int rc = -ENOMEM;

	if (files) {
		share->files = files;
		rc = lh_map_reserve(&share->file_map, 1);
	}
	return rc;
}

struct vsmb_file *vsmb_share_add_file(struct vsmb_share *share, const char *path)
{
	struct vsmb_file *file = calloc(1, sizeof(*file));

	if (!file || vsmb_share_reserve_file(share) != 0)
		goto fail;
	file->path = strdup(path);
	if (!file->path)
		goto fail;
	file->base = strrchr(file->path, '/') + 1;
	if (lh_map_put_str(&share->file_map, file->path, file) != 0)
		goto fail;
	file->index = share->n_files;
	share->files[share->n_files++] = file;
	return file;
fail:
	if (file)
		free(file->path);
	free(file);
	return NULL;
}

/* ---- JSON ---------------------------------------------------------------- */

/* VirtualSmbShare{Name, Path, AllowedFiles, Options}: every field omitempty,
 * Options a pointer (so present, possibly {}, whenever it is set). */
static cJSON *vsmb_share_object(const struct vsmb_share *share, uint32_t options,
				const char *extra_file, bool with_settings)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *opts;

	if (!obj || !cJSON_AddStringToObject(obj, "Name", share->name))
		goto fail;
	if (!with_settings)
		return obj;
	if (!cJSON_AddStringToObject(obj, "Path", share->path))
		goto fail;
	if (share->n_files || extra_file) {
		cJSON *files = cJSON_AddArrayToObject(obj, "AllowedFiles");

		for (size_t i = 0; files && i < share->n_files; i++)
			if (!cJSON_AddItemToArray(files, cJSON_CreateString(share->files[i]->path)))
				files = NULL;
		if (files && extra_file && !cJSON_AddItemToArray(files, cJSON_CreateString(extra_file)))
			files = NULL;
		if (!files)
			goto fail;
	}
	opts = cJSON_AddObjectToObject(obj, "Options");
	if (!opts)
		goto fail;
	for (int bit = 0; bit < VSMB_OPTION_COUNT; bit++)
		if ((options & VSMB_BIT(bit)) && !cJSON_AddTrueToObject(opts, vsmb_options_type.fields[bit].name))
			goto fail;
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}

char *vsmb_share_json(const struct vsmb_share *share, uint32_t options, const char *extra_file)
{
	return lh_json_print(vsmb_share_object(share, options, extra_file, true));
}

/* No GuestRequest: the guest finds a share by its name, nothing to mount. */
char *vsmb_request_json(const char *request_type, const struct vsmb_share *share,
			const char *extra_file)
{
	bool remove = strcmp(request_type, "Remove") == 0;
	cJSON *req = lh_request_new(VSMB_RESOURCE_PATH, request_type);

	req = lh_request_add_settings(req, vsmb_share_object(share, share->options, extra_file,
							     !remove));
	return lh_json_print(req);
}
