/*
 * layout.h - an OCI image layout on disk (image-spec's image-layout.md):
 * which image a reference names, its manifest, its config and its layers,
 * every JSON blob checked against its descriptor (size and sha256) before
 * it is believed.
 *
 *   LAYOUT/oci-layout                {"imageLayoutVersion": "1.0.0"}
 *   LAYOUT/index.json                descriptors of images; the tag is the
 *                                    annotation org.opencontainers.image.ref.name
 *   LAYOUT/blobs/sha256/<hex>        manifests, indexes, configs, layers
 *
 * Docker's media types (a "docker save" converted by skopeo) are taken as
 * their OCI equivalents.
 */
#ifndef LH_IMPORT_LAYOUT_H
#define LH_IMPORT_LAYOUT_H

#include "digest.h"
#include "stream.h"

#include <layerhost/backend.h>

#include <stddef.h>
#include <stdint.h>

struct lh_layer_ref {
	char *media_type;
	enum lh_compression compression;
	char digest[LH_DIGEST_STR_MAX]; /* of the blob as stored */
	uint8_t digest_bin[LH_SHA256_LEN];
	uint64_t size;
	char diff_id[LH_DIGEST_STR_MAX]; /* of the tar, from the config's rootfs.diff_ids */
	uint8_t diff_id_bin[LH_SHA256_LEN];
	char *path; /* the blob file */
};

struct lh_image {
	char *ref;          /* the tag that named it, or NULL */
	char manifest[LH_DIGEST_STR_MAX];
	char config[LH_DIGEST_STR_MAX];
	char *architecture; /* the config's, or NULL */
	size_t n_layers;
	struct lh_layer_ref *layers; /* base first, as the manifest lists them */
};

/*
 * Resolve ref (a tag, a manifest digest "sha256:...", or NULL when the
 * index lists one image) in the layout at dir down to its layers: nested
 * indexes by platform linux/amd64, the config's os must be linux, every
 * layer's media type known and its blob present. *out is the caller's
 * (lh_layout_free). Refusals are -LH_ECORRUPT (or -ENOENT for a missing
 * file), naming the file or blob and what is wrong with it.
 */
int lh_layout_open(const char *dir, const char *ref, struct lh_image **out,
		   struct lh_error *err);

/* NULL accepted. */
void lh_layout_free(struct lh_image *img);

/* Media types of layers this importer converts, for messages and --help. */
extern const char *const lh_layer_media_types[];

#endif
