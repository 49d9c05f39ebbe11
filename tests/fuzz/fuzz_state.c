/*
 * fuzz_state.c - libFuzzer target for state files, decoded by a host with
 * the real vpmem and scsi plugins loaded.
 *
 * The input is the body of a state file: the target adds the magic and a
 * correct checksum so the fuzzer reaches the decoders instead of stopping
 * at the checksum (which test_state covers). Oracles: a refusal leaves the
 * host holding nothing; an accepted state encodes to a canonical image
 * (the input may list things in another order) that a fresh host decodes
 * and encodes again to the very same bytes.
 */
#include "fuzz_check.h"
#include "driver.h"
#include "pipeline.h"
#include "host_state.h"

#include <stdlib.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lh_config *fuzz_cfg;
static struct lh_driver *fuzz_driver;
/* Held for the whole run: libFuzzer keeps pointers to each module's
 * coverage counters, so a plugin must never be unmapped between inputs. */
static struct lh_plugin *fuzz_pinned[2];

static int count_visit(void *arg, const struct lh_attachment_info *info)
{
	(void)info;
	(*(size_t *)arg)++;
	return 0;
}

static size_t host_holds(struct lh_host *host)
{
	size_t n = host->pipeline->n;

	for (size_t i = 0; i < host->n_instances; i++)
		host->instances[i]->ops->list(host->instances[i]->priv, count_visit, &n);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ini[] = "[host]\nplugin_dir = " LH_FUZZ_PLUGIN_DIR "\n"
				  "[uvm]\nid = uvm\nos = linux\n"
				  "[plugin.vpmem]\nmulti_mapping = false\n";
	size_t magic = strlen(LH_STATE_MAGIC), len = magic + size + 4;
	uint8_t *image = malloc(len);
	struct lh_gob_encoder again;
	struct lh_host *host = NULL;
	struct lh_error err = { 0 };
	uLong crc;

	if (!fuzz_cfg && (lh_config_parse(ini, "fuzz.ini", "/", &fuzz_cfg, &err) ||
			  lh_null_driver_open(&(struct lh_driver_params){ 0 }, &fuzz_driver, &err) ||
			  lh_plugin_load(LH_FUZZ_PLUGIN_DIR, "scsi", &fuzz_pinned[0], &err) ||
			  lh_plugin_load(LH_FUZZ_PLUGIN_DIR, "vpmem", &fuzz_pinned[1], &err))) {
		fprintf(stderr, "fuzz_state: %s\n", err.message);
		abort();
	}
	FUZZ_CHECK(image != NULL);
	FUZZ_CHECK(lh_host_open(fuzz_cfg, fuzz_driver, NULL, &host, &err) == 0);
	memcpy(image, LH_STATE_MAGIC, magic);
	memcpy(image + magic, data, size);
	crc = crc32(0, image, (uInt)(magic + size));
	for (int i = 0; i < 4; i++)
		image[magic + size + (size_t)i] = (uint8_t)(crc >> (24 - 8 * i));
	if (lh_state_decode(host, image, len, "fuzz.state", &err)) {
		FUZZ_CHECK(err.code < 0);
		FUZZ_CHECK(strstr(err.message, "fuzz.state") != NULL);
		FUZZ_CHECK(host_holds(host) == 0);
	} else {
		struct lh_gob_encoder twice;
		struct lh_host *second = NULL;

		lh_gob_encoder_init(&again);
		lh_gob_encoder_init(&twice);
		FUZZ_CHECK(lh_state_encode(host, &again, &err) == 0);
		FUZZ_CHECK(lh_host_open(fuzz_cfg, fuzz_driver, NULL, &second, &err) == 0);
		FUZZ_CHECK(lh_state_decode(second, again.data, again.len, "fuzz.state", &err) == 0);
		FUZZ_CHECK(lh_state_encode(second, &twice, &err) == 0);
		FUZZ_CHECK(twice.len == again.len && memcmp(twice.data, again.data, again.len) == 0);
		lh_host_close(second);
		lh_gob_encoder_free(&twice);
		lh_gob_encoder_free(&again);
	}
	lh_host_close(host);
	free(image);
	return 0;
}
