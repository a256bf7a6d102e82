/* The set of watched ranges of a VM (include/core/watch.h). */
#include <core/watch.h>

int watch_set_add(struct watch_set *s, uint64_t gpa, uint64_t len)
{
	if (!len || len > WATCH_MAX_LEN || gpa + len < gpa)
		return -2;
	for (unsigned i = 0; i < WATCH_MAX; i++) {
		if (!s->w[i].len) {
			s->w[i] = (struct watch){ .gpa = gpa, .len = len };
			return (int)i;
		}
	}
	return -1;
}

int watch_set_find(const struct watch_set *s, uint64_t gpa)
{
	for (unsigned i = 0; i < WATCH_MAX; i++)
		if (s->w[i].len && s->w[i].gpa == gpa)
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

int watch_set_hit(const struct watch_set *s, uint64_t gpa, unsigned size)
{
	for (unsigned i = 0; i < WATCH_MAX; i++)
		if (overlaps(&s->w[i], gpa, size))
			return (int)i;
	return -1;
}

bool watch_set_covers_page(const struct watch_set *s, uint64_t page)
{
	return watch_set_hit(s, page & ~0xfffull, 4096) >= 0;
}
