/* The set of watched ranges of a VM (include/core/watch.h). */
#include <core/watch.h>

int watch_set_add(struct watch_set *s, uint64_t gpa, uint64_t len, unsigned access,
		  enum watch_owner owner, uint64_t tag)
{
	if (!len || len > WATCH_MAX_LEN || gpa + len < gpa || !access || access & ~WATCH_ANY)
		return -2;
	for (unsigned i = 0; i < WATCH_MAX; i++) {
		if (!s->w[i].len) {
			s->w[i] = (struct watch){ .gpa = gpa, .len = len, .access = access,
						  .owner = owner, .tag = tag };
			return (int)i;
		}
	}
	return -1;
}

int watch_set_find(const struct watch_set *s, enum watch_owner owner, uint64_t tag,
		   uint64_t len, unsigned access)
{
	for (unsigned i = 0; i < WATCH_MAX; i++)
		if (s->w[i].len && s->w[i].owner == owner && s->w[i].tag == tag &&
		    (!len || s->w[i].len == len) && (!access || s->w[i].access == access))
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

unsigned watch_set_hits(const struct watch_set *s, uint64_t gpa, unsigned size,
			unsigned access)
{
	unsigned hits = 0;

	for (unsigned i = 0; i < WATCH_MAX; i++)
		if (s->w[i].access & access && overlaps(&s->w[i], gpa, size))
			hits |= 1u << i;
	return hits;
}

int watch_set_hit(const struct watch_set *s, uint64_t gpa, unsigned size)
{
	unsigned hits = watch_set_hits(s, gpa, size, WATCH_ACCESS);

	return hits ? __builtin_ctz(hits) : -1;
}

unsigned watch_set_page_access(const struct watch_set *s, uint64_t page)
{
	unsigned access = 0;

	for (unsigned i = 0; i < WATCH_MAX; i++)
		if (overlaps(&s->w[i], page & ~0xfffull, 4096))
			access |= s->w[i].access;
	return access;
}
