/*
 * The most frequent keys of a stream (ports, MSRs, guest-physical pages that
 * exit), so `stats` can explain where a VM's exits go. A fixed table of
 * HOT_ENTRIES counters with the "space-saving" rule (Metwally et al.,
 * 2005): a new key takes the smallest counter's place and starts from its
 * count, so every key that occurs more than total/HOT_ENTRIES times is in
 * the table and its count is never under its true count. Pure; host-tested.
 */
#ifndef CORE_HOT_H
#define CORE_HOT_H

#include <stdint.h>

#define HOT_ENTRIES 16

struct hot_table {
	struct hot_entry {
		uint64_t key, count;
	} e[HOT_ENTRIES];
};

void hot_count(struct hot_table *t, uint64_t key);
/* The entries sorted by count, highest first, into out (n <= HOT_ENTRIES);
 * returns how many are in use. */
unsigned hot_top(const struct hot_table *t, struct hot_entry *out, unsigned n);

#endif
