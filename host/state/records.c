/* records.c - see records.h. */
#include "records.h"

#include <ctype.h>
#include <stdlib.h>

void lh_attached_clear(struct lh_attached *a)
{
	free(a->backend);
	free(a->host_path);
	free(a->uvm_path);
	free(a->location);
	memset(a, 0, sizeof(*a));
}

void lh_mounted_free(struct lh_mounted *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_layers; i++)
		lh_attached_clear(&m->layers[i]);
	free(m->layers);
	lh_attached_clear(&m->scratch);
	free(m->id);
	free(m->rootfs);
	free(m->scratch_path);
	free(m);
}

const char *lh_kind_name(enum lh_container_kind kind)
{
	switch (kind) {
	case LH_KIND_LCOW: return "lcow";
	case LH_KIND_WCOW: return "wcow";
	case LH_KIND_HOST: return "host";
	default: return "unknown";
	}
}

bool lh_container_id_valid(const char *s)
{
	size_t n = 0;

	if (!s || !isalnum((unsigned char)s[0]))
		return false;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && !strchr("_.-", s[n]))
			return false;
	return n <= 128;
}
