/*
 * fuzz_config.c - libFuzzer target for the INI parser. Oracles: a refused
 * file is -LH_ECONFIG (or -ENOMEM) with a message naming the file and a
 * line; an accepted one has every container with layers and a scratch.
 */
#include "fuzz_check.h"
#include "config.h"

#include <errno.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct lh_config *cfg = NULL;
	struct lh_error err = { 0 };
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = lh_config_parse(text, "fuzz.ini", "/fuzz", &cfg, &err);
	if (rc) {
		FUZZ_CHECK(cfg == NULL);
		FUZZ_CHECK(rc == -LH_ECONFIG || rc == -ENOMEM);
		FUZZ_CHECK(strncmp(err.message, "fuzz.ini:", 9) == 0);
	} else {
		FUZZ_CHECK(cfg != NULL);
		for (size_t i = 0; i < cfg->n_containers; i++) {
			FUZZ_CHECK(cfg->containers[i].n_layers > 0);
			FUZZ_CHECK(cfg->containers[i].scratch != NULL);
			FUZZ_CHECK(lh_container_id_valid(cfg->containers[i].name));
		}
		lh_config_free(cfg);
	}
	free(text);
	return 0;
}
