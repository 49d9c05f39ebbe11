/*
 * image.h - the state image: everything a state file holds, as bytes and
 * as a structure, without the host that produced it.
 *
 * Layout: the 8 bytes "LHSTATE\n", then a gob stream of singleton values
 * (format version, the UVM, each backend's name + serial version + its
 * own encoded blob as []byte, each mounted container's record), then a
 * 4-byte big-endian zlib crc32 over everything before it.
 *
 * Format versions: 2 adds, after the mount counter, the boot id of the VM
 * the attachments live in ("" for none known). From 2 on, the blob of a
 * backend of ABI v2 holds no serial version of its own (the one beside it
 * is the only one); in 1 every in-tree backend began its blob with it.
 */
#ifndef LH_IMAGE_H
#define LH_IMAGE_H

#include "gob.h"
#include "records.h"

#define LH_STATE_MAGIC "LHSTATE\n"
#define LH_STATE_FORMAT_VERSION 2

struct lh_state_backend {
	char *name;
	uint32_t serial_version;   /* of the writer, for the blob */
	const uint8_t *blob;       /* borrowed: the encoder's, or the decoded bytes' */
	size_t blob_len;
	size_t blob_offset;        /* decode: where the blob starts in the file */
};

struct lh_state_image {
	uint32_t format;           /* decode: the version read; encode writes the current */
	char *uvm_id;
	enum lh_uvm_os os;
	bool physically_backed, no_direct_map, is_template, is_clone;
	char *template_name;       /* NULL: not a template */
	uint64_t mount_counter;
	char *vm_boot;             /* format 2: the VM boot the attachments live in; NULL: none */
	struct lh_state_backend *backends;
	size_t n_backends;
	struct lh_mounted **containers;
	size_t n_containers;
};

/* Append the image's bytes (magic, stream, checksum) to enc. */
int lh_state_image_encode(const struct lh_state_image *img, struct lh_gob_encoder *enc,
			  struct lh_error *err);

/*
 * Parse a state image. `name` is used in messages (the file path). On
 * success *img owns its strings and containers (lh_state_image_release)
 * and its blobs point into data, which must outlive them. A refusal names
 * the reason, in the order a reader needs it: an early end, a checksum
 * mismatch, then what does not parse; nothing is left allocated.
 */
int lh_state_image_decode(const uint8_t *data, size_t len, const char *name,
			  struct lh_state_image *img, struct lh_error *err);

/* Free what decode allocated; the image is zeroed. */
void lh_state_image_release(struct lh_state_image *img);

#endif
