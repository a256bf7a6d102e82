/*
 * Exit recordings (console `trace start|stop|dump`): one ring of fixed
 * 32-byte records per vCPU, newest overwriting oldest with a count of what
 * was lost, a filter by VM and exit reason, and the dump's text encoding
 * (docs/tracing.md). A pure core: no hypervisor state, host unit test in
 * tests/unit/test_trace_ring.c.
 */
#ifndef CORE_TRACE_RING_H
#define CORE_TRACE_RING_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TRACE_KIND_MARK    0xff   /* a boot milestone (port 0x440), not an exit */
/* A read or write in a watched range (core/watch.c): right after the npf
 * record of the exit it caused (its GPA is that record's qual); qual is the
 * value read or written, cycles its size in bytes, TRACE_F_WRITE a write.
 * An execution (TRACE_F_EXEC): qual is the instruction's GPA, cycles 0. */
#define TRACE_KIND_WATCH   0xfe
#define TRACE_F_WRITE      0x01   /* OUT, WRMSR, a write fault */
#define TRACE_F_EXEC       0x02   /* a watched instruction fetched */

struct trace_rec {
	uint64_t tsc;        /* host TSC when the exit reached the dispatcher */
	uint64_t qual;       /* port, MSR, GPA, vector, milestone code, value; else RAX */
	uint64_t rip;        /* guest RIP of the exit */
	uint32_t cycles;     /* TSC cycles in the handler, saturated (watch: bytes) */
	uint8_t kind;        /* enum exit_reason, TRACE_KIND_MARK or TRACE_KIND_WATCH */
	uint8_t flags;       /* TRACE_F_* */
	uint16_t reserved;
};
_Static_assert(sizeof(struct trace_rec) == 32, "records stay 32 bytes: 128 a page");

struct trace_ring {
	struct trace_rec *rec;
	uint32_t cap;
	uint64_t written;    /* records pushed since the ring was set up */
};

void trace_ring_init(struct trace_ring *r, struct trace_rec *buf, uint32_t cap);
/* The slot for a new record (the oldest is overwritten when full). */
struct trace_rec *trace_ring_push(struct trace_ring *r);
/* Records kept, and records overwritten. */
uint32_t trace_ring_count(const struct trace_ring *r);
uint64_t trace_ring_lost(const struct trace_ring *r);
/* The i-th oldest record kept, i < trace_ring_count(). */
const struct trace_rec *trace_ring_at(const struct trace_ring *r, uint32_t i);

/* What a recording keeps: one VM (or all: vm < 0) and a set of reasons. */
struct trace_filter {
	int vm;
	uint32_t reasons;    /* bit per enum exit_reason */
};

/* Reasons by name ("io npf msr_write ..."), names[i] naming reason i of
 * `nr`; no names means every reason. Returns the index of the first word
 * that names no reason, or -1 when all are known. */
int trace_filter_reasons(struct trace_filter *f, char *const *words, int count,
			 const char *const *names, unsigned nr);
bool trace_filter_match(const struct trace_filter *f, unsigned vm, unsigned kind);

/* One record as a dump line (without the newline): "r TSC CYCLES KIND
 * FLAGS QUAL RIP", numbers in hex, KIND a reason name or "mark". Returns
 * the length snprintf would. */
int trace_rec_format(char *buf, size_t len, const struct trace_rec *r, const char *kind_name);

#endif
