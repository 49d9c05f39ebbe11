/* uuid.c - see uuid.h. */
#include "uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {5f2b1f5e-6c52-4d0a-9a8e-6c1a7e3b2d40}: fixed forever, or every layer id
 * changes. */
const uint8_t lh_uuid_layer_namespace[16] = {
	0x5f, 0x2b, 0x1f, 0x5e, 0x6c, 0x52, 0x4d, 0x0a,
	0x9a, 0x8e, 0x6c, 0x1a, 0x7e, 0x3b, 0x2d, 0x40,
};

static uint32_t rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;

		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void lh_sha1(const void *data, size_t len, uint8_t digest[20])
{
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
	const uint8_t *p = data;
	uint8_t tail[128] = { 0 };
	size_t full = len / 64 * 64, rest = len - full, tail_len;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i < full; i += 64)
		sha1_block(h, p + i);
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (size_t i = 0; i < tail_len; i += 64)
		sha1_block(h, tail + i);
	for (int i = 0; i < 20; i++)
		digest[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

void lh_uuid_v5(const uint8_t namespace_id[16], const char *name, char out[37])
{
	size_t len = strlen(name);
	uint8_t *buf = malloc(16 + len), digest[20];

	if (!buf) {
		snprintf(out, 37, "00000000-0000-0000-0000-000000000000");
		return;
	}
	memcpy(buf, namespace_id, 16);
	memcpy(buf + 16, name, len);
	lh_sha1(buf, 16 + len, digest);
	free(buf);
	digest[6] = (digest[6] & 0x0f) | 0x50; /* version 5 */
	digest[8] = (digest[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6],
		 digest[7], digest[8], digest[9], digest[10], digest[11], digest[12], digest[13],
		 digest[14], digest[15]);
}
