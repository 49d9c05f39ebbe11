/*
 * uuid.h - name-based (version 5, SHA-1) UUIDs, RFC 4122 section 4.3.
 */
#ifndef LH_UUID_H
#define LH_UUID_H

#include <stddef.h>
#include <stdint.h>

/* The namespace layerhost derives layer ids in. */
extern const uint8_t lh_uuid_layer_namespace[16];

/* UUID v5 of name in namespace, as 36 lowercase characters and a NUL. */
void lh_uuid_v5(const uint8_t namespace_id[16], const char *name, char out[37]);

/* SHA-1 of data (exposed for tests against known vectors). */
void lh_sha1(const void *data, size_t len, uint8_t digest[20]);

#endif
