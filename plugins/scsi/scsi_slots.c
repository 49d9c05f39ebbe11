/* scsi_slots.c - the free-slot bitmap (see scsi_private.h). */
#include "scsi_private.h"

static void scsi_slots_set_free(struct scsi_slots *s, int index, bool free_bit)
{
	int w = index / 64;
	uint64_t bit = 1ull << (index % 64);

	if (free_bit)
		s->words[w] |= bit;
	else
		s->words[w] &= ~bit;
	if (s->words[w])
		s->summary |= 1ull << w;
	else
		s->summary &= ~(1ull << w);
}

void scsi_slots_init(struct scsi_slots *s, int controllers, int luns, bool reserve_first)
{
	memset(s, 0, sizeof(*s));
	s->controllers = controllers;
	s->luns = luns;
	for (int i = 0; i < controllers * luns; i++)
		scsi_slots_set_free(s, i, !(reserve_first && i == 0));
}

int scsi_slots_first_free(const struct scsi_slots *s)
{
	int w;

	if (!s->summary)
		return -1;
	w = __builtin_ctzll(s->summary);
	return w * 64 + __builtin_ctzll(s->words[w]);
}

void scsi_slots_take(struct scsi_slots *s, int index, struct scsi_attachment *a)
{
	s->occupant[index] = a;
	scsi_slots_set_free(s, index, false);
}

void scsi_slots_vacate(struct scsi_slots *s, int index, bool reserved)
{
	s->occupant[index] = NULL;
	scsi_slots_set_free(s, index, !reserved);
}
