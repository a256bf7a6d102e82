/* Space-saving top-N counters (see include/core/hot.h). */
#include <core/hot.h>

void hot_count(struct hot_table *t, uint64_t key)
{
	struct hot_entry *min = &t->e[0];

	for (unsigned i = 0; i < HOT_ENTRIES; i++) {
		struct hot_entry *x = &t->e[i];

		if (x->count && x->key == key) {
			x->count++;
			return;
		}
		if (x->count < min->count)
			min = x;
	}
	min->key = key;
	min->count++;
}

unsigned hot_top(const struct hot_table *t, struct hot_entry *out, unsigned n)
{
	struct hot_entry all[HOT_ENTRIES];
	unsigned used = 0;

	for (unsigned i = 0; i < HOT_ENTRIES; i++)
		if (t->e[i].count)
			all[used++] = t->e[i];
	for (unsigned i = 1; i < used; i++)          /* insertion sort, 16 entries */
		for (unsigned j = i; j > 0 && all[j].count > all[j - 1].count; j--) {
			struct hot_entry tmp = all[j];

			all[j] = all[j - 1];
			all[j - 1] = tmp;
		}
	if (n > used)
		n = used;
	for (unsigned i = 0; i < n; i++)
		out[i] = all[i];
	return n;
}
