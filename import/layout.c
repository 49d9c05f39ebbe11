/* layout.c - see layout.h. */
#include "layout.h"
#include "import_error.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Index, manifest and config blobs are small; a larger one is not one. */
#define JSON_MAX (16u << 20)
#define NESTING_MAX 4

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REF_ANNOTATION "org.opencontainers.image.ref.name"

static const struct {
	const char *type;
	enum lh_compression comp;
} layer_types[] = {
	{ "application/vnd.oci.image.layer.v1.tar", LH_COMPRESSION_NONE },
	{ "application/vnd.oci.image.layer.v1.tar+gzip", LH_COMPRESSION_GZIP },
	{ "application/vnd.oci.image.layer.v1.tar+zstd", LH_COMPRESSION_ZSTD },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar", LH_COMPRESSION_NONE },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", LH_COMPRESSION_GZIP },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", LH_COMPRESSION_ZSTD },
	{ "application/vnd.docker.image.rootfs.diff.tar", LH_COMPRESSION_NONE },
	{ "application/vnd.docker.image.rootfs.diff.tar.gzip", LH_COMPRESSION_GZIP },
	{ "application/vnd.docker.image.rootfs.diff.tar.zstd", LH_COMPRESSION_ZSTD },
	{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", LH_COMPRESSION_GZIP },
};

const char *const lh_layer_media_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar[+gzip|+zstd]",
	"application/vnd.docker.image.rootfs.diff.tar[.gzip|.zstd]",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	NULL,
};

struct desc {
	const char *media_type; /* type (a copy: descriptors outlive their JSON), or NULL */
	char type[160];
	char digest[LH_DIGEST_STR_MAX];
	uint8_t bin[LH_SHA256_LEN];
	uint64_t size;
};

/* ---- files and blobs ---------------------------------------------------- */

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static char *blob_path(const char *dir, const uint8_t digest[LH_SHA256_LEN])
{
	char name[16 + LH_DIGEST_HEX_LEN];

	memcpy(name, "blobs/sha256/", 13);
	lh_digest_hex(digest, name + 13);
	return join(dir, name);
}

/* Read path whole (at most JSON_MAX bytes) into *buf (NUL-terminated). */
static int read_small(const char *path, const char *what, char **buf, size_t *len,
		      struct lh_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	size_t got = 0;

	*buf = NULL;
	if (fd < 0)
		return LH_FAIL(err, -errno, "%s%s: cannot read: %s", what, path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s%s: not a regular file", what, path);
		goto out;
	}
	if ((uint64_t)st.st_size > JSON_MAX) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s%s: %lld bytes; a JSON document here is at most %u",
			     what, path, (long long)st.st_size, JSON_MAX);
		goto out;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		rc = LH_FAIL(err, -ENOMEM, "%s%s: out of memory", what, path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = LH_FAIL(err, n < 0 ? -errno : -EIO, "%s%s: cannot read: %s", what, path,
				     n < 0 ? strerror(errno) : "file shrank");
			goto out;
		}
		got += (size_t)n;
	}
	(*buf)[got] = '\0';
	*len = got;
out:
	close(fd);
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

static int parse_json(const char *text, size_t len, const char *what, cJSON **out,
		      struct lh_error *err)
{
	const char *end = NULL;

	*out = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!*out)
		return LH_FAIL(err, -LH_ECORRUPT, "%s: not valid JSON (at byte %lld)", what,
			       end ? (long long)(end - text) : 0ll);
	if (!cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		return LH_FAIL(err, -LH_ECORRUPT, "%s: not a JSON object", what);
	}
	return 0;
}

/* A JSON blob a descriptor names: present, of its size and digest. */
static int read_blob_json(const char *dir, const struct desc *d, const char *what,
			  cJSON **out, struct lh_error *err)
{
	char *path = blob_path(dir, d->bin), *text = NULL, label[160];
	uint8_t got[LH_SHA256_LEN];
	char got_str[LH_DIGEST_STR_MAX];
	struct lh_sha256 h;
	size_t len = 0;
	int rc;

	*out = NULL;
	snprintf(label, sizeof(label), "%s %s", what, d->digest);
	if (!path)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	rc = read_small(path, "", &text, &len, err);
	if (rc) {
		lh_import_error_prefix(err, "%s", label);
		goto out;
	}
	if (len != d->size) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: the blob holds %zu bytes, its descriptor says %llu",
			     label, len, (unsigned long long)d->size);
		goto out;
	}
	if (lh_sha256_init(&h)) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	lh_sha256_update(&h, text, len);
	lh_sha256_final(&h, got);
	if (memcmp(got, d->bin, LH_SHA256_LEN) != 0) {
		lh_digest_format(got, got_str);
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: digest mismatch: the blob hashes to %s", label,
			     got_str);
		goto out;
	}
	rc = parse_json(text, len, label, out, err);
out:
	free(text);
	free(path);
	return rc;
}

/* ---- descriptors ----------------------------------------------------------- */

static const char *get_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int parse_desc(const cJSON *j, const char *what, struct desc *d, struct lh_error *err)
{
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(j, "size");
	const char *digest = get_string(j, "digest");

	memset(d, 0, sizeof(*d));
	if (!cJSON_IsObject(j))
		return LH_FAIL(err, -LH_ECORRUPT, "%s: a descriptor that is not an object", what);
	if (!digest)
		return LH_FAIL(err, -LH_ECORRUPT, "%s: a descriptor without a digest", what);
	if (!lh_digest_parse(digest, d->bin))
		return LH_FAIL(err, -LH_ECORRUPT,
			       "%s: digest '%.80s' is not sha256:<64 lowercase hex digits>", what,
			       digest);
	if (!cJSON_IsNumber(size) || size->valuedouble < 0 ||
	    size->valuedouble > 9007199254740992.0 ||
	    size->valuedouble != (double)(uint64_t)size->valuedouble)
		return LH_FAIL(err, -LH_ECORRUPT, "%s %s: the descriptor has no valid size", what,
			       digest);
	snprintf(d->digest, sizeof(d->digest), "%s", digest);
	d->size = (uint64_t)size->valuedouble;
	if (get_string(j, "mediaType")) {
		/* a longer one is no type known here; keep enough to name it */
		snprintf(d->type, sizeof(d->type), "%s", get_string(j, "mediaType"));
		d->media_type = d->type;
	}
	return 0;
}

static bool is_index_type(const char *t)
{
	return t && (!strcmp(t, MT_OCI_INDEX) || !strcmp(t, MT_DOCKER_LIST));
}

static bool is_manifest_type(const char *t)
{
	return t && (!strcmp(t, MT_OCI_MANIFEST) || !strcmp(t, MT_DOCKER_MANIFEST));
}

/* What a JSON document is, when its descriptor does not say. */
static const char *doc_type(const cJSON *doc)
{
	const char *t = get_string(doc, "mediaType");

	if (t)
		return t;
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "manifests")))
		return MT_OCI_INDEX;
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "layers")))
		return MT_OCI_MANIFEST;
	return NULL;
}

/* The tags an index lists, for a message: "a, b, c". */
static void list_tags(const cJSON *manifests, char *out, size_t cap)
{
	size_t len = 0;
	const cJSON *m;

	out[0] = '\0';
	cJSON_ArrayForEach(m, manifests) {
		const char *tag = get_string(cJSON_GetObjectItemCaseSensitive(m, "annotations"),
					     REF_ANNOTATION);

		if (tag && len + strlen(tag) + 3 < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "", tag);
	}
	if (!len)
		snprintf(out, cap, "none");
}

/* index.json's entry for ref (a tag or a digest), or its only entry. */
static int pick_from_index(const cJSON *manifests, const char *ref, const char *what,
			   const cJSON **out, struct lh_error *err)
{
	const cJSON *m, *found = NULL;
	char tags[512];
	int n = 0, total = cJSON_GetArraySize(manifests);

	list_tags(manifests, tags, sizeof(tags));
	if (!ref) {
		if (total != 1)
			return LH_FAIL(err, -LH_ECORRUPT,
				       "%s lists %d images: name one as LAYOUT:TAG (tags: %s)", what,
				       total, tags);
		*out = cJSON_GetArrayItem(manifests, 0);
		return 0;
	}
	cJSON_ArrayForEach(m, manifests) {
		const char *tag = get_string(cJSON_GetObjectItemCaseSensitive(m, "annotations"),
					     REF_ANNOTATION);
		const char *digest = get_string(m, "digest");

		if ((tag && !strcmp(tag, ref)) || (digest && !strcmp(digest, ref))) {
			found = m;
			n++;
		}
	}
	if (n == 0)
		return LH_FAIL(err, -LH_ECORRUPT, "%s has no image named '%s' (tags: %s)", what, ref,
			       tags);
	if (n > 1)
		return LH_FAIL(err, -LH_ECORRUPT, "%s names %d images '%s'; use a digest instead",
			       what, n, ref);
	*out = found;
	return 0;
}

/* A nested index's entry for linux/amd64. */
static int pick_platform(const cJSON *manifests, const char *what, const cJSON **out,
			 struct lh_error *err)
{
	char seen[512];
	size_t len = 0;
	const cJSON *m;

	seen[0] = '\0';
	cJSON_ArrayForEach(m, manifests) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "platform");
		const char *os = get_string(p, "os"), *arch = get_string(p, "architecture");

		if (os && arch && !strcmp(os, "linux") && !strcmp(arch, "amd64")) {
			*out = m;
			return 0;
		}
		if (len + 40 < sizeof(seen))
			len += (size_t)snprintf(seen + len, sizeof(seen) - len, "%s%.16s/%.16s",
						len ? ", " : "", os ? os : "?", arch ? arch : "?");
	}
	return LH_FAIL(err, -LH_ECORRUPT, "%s has no linux/amd64 image (platforms: %s)", what,
		       len ? seen : "none");
}

/* ---- the image ---------------------------------------------------------------- */

static int take_layers(const char *dir, const cJSON *manifest, const cJSON *config,
		       const char *mwhat, const char *cwhat, struct lh_image *img,
		       struct lh_error *err)
{
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(manifest, "layers");
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(config, "rootfs");
	const cJSON *diff_ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
	const char *rootfs_type = get_string(rootfs, "type");
	int n;

	if (!cJSON_IsArray(layers))
		return LH_FAIL(err, -LH_ECORRUPT, "%s: no \"layers\" array", mwhat);
	if (!cJSON_IsArray(diff_ids) || (rootfs_type && strcmp(rootfs_type, "layers")))
		return LH_FAIL(err, -LH_ECORRUPT, "%s: no rootfs.diff_ids array of type \"layers\"",
			       cwhat);
	n = cJSON_GetArraySize(layers);
	if (n != cJSON_GetArraySize(diff_ids))
		return LH_FAIL(err, -LH_ECORRUPT,
			       "%s lists %d layers, its config %s %d diff_ids", mwhat, n, cwhat,
			       cJSON_GetArraySize(diff_ids));
	if (n == 0)
		return LH_FAIL(err, -LH_ECORRUPT, "%s: an image without layers", mwhat);
	img->layers = calloc((size_t)n, sizeof(*img->layers));
	if (!img->layers)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	img->n_layers = (size_t)n;
	for (int i = 0; i < n; i++) {
		struct lh_layer_ref *l = &img->layers[i];
		const cJSON *diff = cJSON_GetArrayItem(diff_ids, i);
		char what[LH_DIGEST_STR_MAX + 32];
		struct desc d;
		struct stat st;
		size_t t;
		int rc;

		snprintf(what, sizeof(what), "layer %d/%d", i + 1, n);
		rc = parse_desc(cJSON_GetArrayItem(layers, i), what, &d, err);
		if (rc)
			return rc;
		snprintf(what, sizeof(what), "layer %d/%d (%s)", i + 1, n, d.digest);
		for (t = 0; t < sizeof(layer_types) / sizeof(layer_types[0]); t++)
			if (d.media_type && !strcmp(d.media_type, layer_types[t].type))
				break;
		if (t == sizeof(layer_types) / sizeof(layer_types[0]))
			return LH_FAIL(err, -LH_ECORRUPT,
				       "%s: media type '%.100s' is not a layer this importer "
				       "converts (tar, tar+gzip, tar+zstd, and Docker's)",
				       what, d.media_type ? d.media_type : "(none)");
		if (!cJSON_IsString(diff) || !lh_digest_parse(diff->valuestring, l->diff_id_bin))
			return LH_FAIL(err, -LH_ECORRUPT,
				       "%s: rootfs.diff_ids[%d] is not sha256:<64 lowercase hex digits>",
				       cwhat, i);
		l->media_type = strdup(d.media_type);
		l->compression = layer_types[t].comp;
		memcpy(l->digest, d.digest, sizeof(l->digest));
		memcpy(l->digest_bin, d.bin, sizeof(l->digest_bin));
		l->size = d.size;
		lh_digest_format(l->diff_id_bin, l->diff_id);
		l->path = blob_path(dir, d.bin);
		if (!l->media_type || !l->path)
			return LH_FAIL(err, -ENOMEM, "out of memory");
		if (stat(l->path, &st) != 0)
			return LH_FAIL(err, -errno, "%s: blob missing: %s: %s", what, l->path,
				       strerror(errno));
		/* checked here too, for a layer the store has already (its blob
		 * is not read then) */
		if ((uint64_t)st.st_size != d.size)
			return LH_FAIL(err, -LH_ECORRUPT, "%s: %s holds %llu bytes, the descriptor says %llu",
				       what, l->path, (unsigned long long)st.st_size,
				       (unsigned long long)d.size);
	}
	return 0;
}

static int check_layout_file(const char *dir, struct lh_error *err)
{
	char *path = join(dir, "oci-layout"), *text = NULL;
	cJSON *j = NULL;
	size_t len;
	int rc;

	if (!path)
		return LH_FAIL(err, -ENOMEM, "out of memory");
	rc = read_small(path, "", &text, &len, err);
	if (rc) {
		lh_import_error_prefix(err, "%s: not an OCI image layout", dir);
		goto out;
	}
	rc = parse_json(text, len, path, &j, err);
	if (rc == 0 && !get_string(j, "imageLayoutVersion"))
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: no imageLayoutVersion", path);
out:
	cJSON_Delete(j);
	free(text);
	free(path);
	return rc;
}

int lh_layout_open(const char *dir, const char *ref, struct lh_image **out,
		   struct lh_error *err)
{
	struct lh_image *img = calloc(1, sizeof(*img));
	char *index_path = join(dir, "index.json"), *text = NULL;
	cJSON *index = NULL, *doc = NULL, *manifest = NULL, *config = NULL;
	const cJSON *entry = NULL;
	char what[LH_DIGEST_STR_MAX + 32], cwhat[LH_DIGEST_STR_MAX + 16];
	const char *os, *arch;
	struct desc d;
	size_t len;
	int rc;

	*out = NULL;
	if (!img || !index_path) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = check_layout_file(dir, err);
	if (rc == 0)
		rc = read_small(index_path, "", &text, &len, err);
	if (rc == 0)
		rc = parse_json(text, len, index_path, &index, err);
	if (rc)
		goto out;
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(index, "manifests"))) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: no \"manifests\" array", index_path);
		goto out;
	}
	rc = pick_from_index(cJSON_GetObjectItemCaseSensitive(index, "manifests"), ref,
			     index_path, &entry, err);
	if (rc == 0)
		rc = parse_desc(entry, index_path, &d, err);
	if (rc)
		goto out;
	if (ref) {
		img->ref = strdup(ref);
		if (!img->ref) {
			rc = LH_FAIL(err, -ENOMEM, "out of memory");
			goto out;
		}
	}

	/* down through indexes to a manifest */
	for (int depth = 0;; depth++) {
		const char *type;

		snprintf(what, sizeof(what), "%s %s", is_index_type(d.media_type) ? "index" : "manifest",
			 d.digest);
		if (depth > NESTING_MAX) {
			rc = LH_FAIL(err, -LH_ECORRUPT, "%s: indexes nested deeper than %d", what,
				     NESTING_MAX);
			goto out;
		}
		if (d.media_type && !is_index_type(d.media_type) && !is_manifest_type(d.media_type)) {
			rc = LH_FAIL(err, -LH_ECORRUPT,
				     "%s: media type '%.100s' is neither an image index nor a manifest",
				     d.digest, d.media_type);
			goto out;
		}
		cJSON_Delete(doc);
		rc = read_blob_json(dir, &d, is_index_type(d.media_type) ? "index" : "manifest", &doc,
				    err);
		if (rc)
			goto out;
		type = d.media_type ? d.media_type : doc_type(doc);
		if (is_manifest_type(type)) {
			manifest = doc;
			doc = NULL;
			break;
		}
		if (!is_index_type(type)) {
			rc = LH_FAIL(err, -LH_ECORRUPT, "%s: neither an image index nor a manifest",
				     what);
			goto out;
		}
		if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "manifests"))) {
			rc = LH_FAIL(err, -LH_ECORRUPT, "%s: no \"manifests\" array", what);
			goto out;
		}
		rc = pick_platform(cJSON_GetObjectItemCaseSensitive(doc, "manifests"), what, &entry,
				   err);
		if (rc == 0)
			rc = parse_desc(entry, what, &d, err);
		if (rc)
			goto out;
	}
	memcpy(img->manifest, d.digest, sizeof(img->manifest));

	rc = parse_desc(cJSON_GetObjectItemCaseSensitive(manifest, "config"), what, &d, err);
	if (rc)
		goto out;
	snprintf(cwhat, sizeof(cwhat), "config %s", d.digest);
	rc = read_blob_json(dir, &d, "config", &config, err);
	if (rc)
		goto out;
	memcpy(img->config, d.digest, sizeof(img->config));
	os = get_string(config, "os");
	if (!os || strcmp(os, "linux")) {
		rc = LH_FAIL(err, -LH_ECORRUPT, "%s: os is '%.32s'; layerhost imports linux images",
			     cwhat, os ? os : "(none)");
		goto out;
	}
	arch = get_string(config, "architecture");
	if (arch && !(img->architecture = strdup(arch))) {
		rc = LH_FAIL(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = take_layers(dir, manifest, config, what, cwhat, img, err);
out:
	cJSON_Delete(config);
	cJSON_Delete(manifest);
	cJSON_Delete(doc);
	cJSON_Delete(index);
	free(text);
	free(index_path);
	if (rc)
		lh_layout_free(img);
	else
		*out = img;
	return rc;
}

void lh_layout_free(struct lh_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->n_layers; i++) {
		free(img->layers[i].media_type);
		free(img->layers[i].path);
	}
	free(img->layers);
	free(img->architecture);
	free(img->ref);
	free(img);
}
