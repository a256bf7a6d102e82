/* Exit recordings: rings, filter and dump encoding (include/core/trace_ring.h). */
#include <core/trace_ring.h>
#include <lib/printk.h>
#include <lib/string.h>

void trace_ring_init(struct trace_ring *r, struct trace_rec *buf, uint32_t cap)
{
	r->rec = buf;
	r->cap = cap;
	r->written = 0;
}

struct trace_rec *trace_ring_push(struct trace_ring *r)
{
	struct trace_rec *t = &r->rec[r->written++ % r->cap];

	memset(t, 0, sizeof(*t));
	return t;
}

uint32_t trace_ring_count(const struct trace_ring *r)
{
	return r->written < r->cap ? (uint32_t)r->written : r->cap;
}

uint64_t trace_ring_lost(const struct trace_ring *r)
{
	return r->written - trace_ring_count(r);
}

const struct trace_rec *trace_ring_at(const struct trace_ring *r, uint32_t i)
{
	return &r->rec[(trace_ring_lost(r) + i) % r->cap];
}

int trace_filter_reasons(struct trace_filter *f, char *const *words, int count,
			 const char *const *names, unsigned nr)
{
	f->reasons = count ? 0 : ~0u;
	for (int w = 0; w < count; w++) {
		unsigned i = 0;

		while (i < nr && i < 32 && strcmp(words[w], names[i]))
			i++;
		if (i == nr || i == 32)
			return w;
		f->reasons |= 1u << i;
	}
	return -1;
}

bool trace_filter_match(const struct trace_filter *f, unsigned vm, unsigned kind)
{
	if (f->vm >= 0 && vm != (unsigned)f->vm)
		return false;
	return kind == TRACE_KIND_MARK || (kind < 32 && (f->reasons >> kind & 1));
}

int trace_rec_format(char *buf, size_t len, const struct trace_rec *r, const char *kind_name)
{
	return snprintf(buf, len, "r %lx %x %s %x %lx %lx", r->tsc, r->cycles, kind_name,
			r->flags, r->qual, r->rip);
}
