/*
 * lh_list.h - creation-order lists (part of lh_plugin_common, see
 * CMakeLists.txt beside this file).
 *
 * The plugins list and encode their objects in the order they were made,
 * which a hash map does not keep (lh_map.h), so an object also sits in a
 * doubly linked list: its struct has `prev` and `next` pointers of its own
 * type, its owner a head and a tail pointer. These macros keep the pointers
 * typed, so code reading the list walks `o->next` as before.
 *
 * Each argument is evaluated more than once: pass plain lvalues. Not
 * thread-safe; not part of the backend ABI.
 */
#ifndef LH_PLUGIN_LIST_H
#define LH_PLUGIN_LIST_H

#include <stddef.h>

/* Put node (in no list) at the tail of the list head..tail. */
#define LH_LIST_APPEND(head, tail, node)         \
	do {                                     \
		(node)->prev = (tail);           \
		(node)->next = NULL;             \
		if (tail)                        \
			(tail)->next = (node);   \
		else                             \
			(head) = (node);         \
		(tail) = (node);                 \
	} while (0)

/* Take node out of the list head..tail; its prev and next become NULL. */
#define LH_LIST_REMOVE(head, tail, node)                         \
	do {                                                     \
		if ((node)->prev)                                \
			(node)->prev->next = (node)->next;       \
		else                                             \
			(head) = (node)->next;                   \
		if ((node)->next)                                \
			(node)->next->prev = (node)->prev;       \
		else                                             \
			(tail) = (node)->prev;                   \
		(node)->prev = (node)->next = NULL;              \
	} while (0)

#endif
