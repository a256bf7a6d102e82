/* The set of watched ranges of a VM (include/core/watch.h). */
#include <core/watch.h>

int watch_set_add(struct watch_set *s, uint64_t gpa, uint64_t len, enum watch_owner owner,
		  uint64_t tag)
{
	if (!len || len > WATCH_MAX_LEN || gpa + len < gpa)
		return -2;
	for (unsigned i = 0; i < WATCH_MAX; i++) {
		if (!s->w[i].len) {
			s->w[i] = (struct watch){ .gpa = gpa, .len = len, .owner = owner, .tag = tag };
			return (int)i;
		}
	}
	return -1;
}

int watch_set_find(const struct watch_set *s, enum watch_owner owner, uint64_t tag,
		   uint64_t len)
{
	for (unsigned i = 0; i < WATCH_MAX; i++)
		if (s->w[i].len && s->w[i].owner == owner && s->w[i].tag == tag &&
		    (!len || s->w[i].len == len))
			return (int)i;
	return -1;
}

void watch_set_remove(struct watch_set *s, unsigned idx)
{
	if (idx < WATCH_MAX)
		s->w[idx] = (struct watch){ 0 };
}

static bool overlaps(const struct watch *w, uint64_t start, uint64_t len)
{
	return w->len && start < w->gpa + w->len && w->gpa < start + len;
}

unsigned watch_set_hits(const struct watch_set *s, uint64_t gpa, unsigned size)
{
	unsigned hits = 0;

	for (unsigned i = 0; i < WATCH_MAX; i++)
		if (overlaps(&s->w[i], gpa, size))
			hits |= 1u << i;
	return hits;
}

int watch_set_hit(const struct watch_set *s, uint64_t gpa, unsigned size)
{
	unsigned hits = watch_set_hits(s, gpa, size);

	return hits ? __builtin_ctz(hits) : -1;
}

bool watch_set_covers_page(const struct watch_set *s, uint64_t page)
{
	return watch_set_hit(s, page & ~0xfffull, 4096) >= 0;
}
