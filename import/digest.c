/* digest.c - see digest.h. */
#include "digest.h"

#include <openssl/evp.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

int lh_sha256_init(struct lh_sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	h->ctx = NULL;
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -ENOMEM;
	}
	h->ctx = c;
	return 0;
}

void lh_sha256_update(struct lh_sha256 *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
}

void lh_sha256_final(struct lh_sha256 *h, uint8_t out[LH_SHA256_LEN])
{
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx, out, &n);
	lh_sha256_discard(h);
}

void lh_sha256_discard(struct lh_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool lh_digest_parse(const char *text, uint8_t out[LH_SHA256_LEN])
{
	if (!text || strncmp(text, "sha256:", 7) != 0 || strlen(text) != 7 + LH_DIGEST_HEX_LEN)
		return false;
	text += 7;
	for (int i = 0; i < LH_SHA256_LEN; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void lh_digest_hex(const uint8_t d[LH_SHA256_LEN], char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < LH_SHA256_LEN; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[LH_DIGEST_HEX_LEN] = '\0';
}

void lh_digest_format(const uint8_t d[LH_SHA256_LEN], char *out)
{
	memcpy(out, "sha256:", 7);
	lh_digest_hex(d, out + 7);
}
