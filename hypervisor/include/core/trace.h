/*
 * Exit trace: a fixed-size ring of small fixed records, newest overwriting
 * oldest, for exit-tracing and introspection from the console (`trace`).
 * Build with TRACE=0 (make TRACE=0) to compile it out of the exit path.
 */
#ifndef CORE_TRACE_H
#define CORE_TRACE_H

#include <stdint.h>
#include <core/exit.h>

#ifndef CONFIG_TRACE
#define CONFIG_TRACE 1
#endif

#define TRACE_RECORDS 256

struct trace_record {
	uint64_t tsc;
	uint64_t detail;      /* port, guest-physical address, vector or RAX */
	uint32_t raw;         /* vendor exit code */
	uint8_t reason;       /* enum exit_reason */
	uint8_t vm, vcpu;
	uint8_t reserved;
};
_Static_assert(sizeof(struct trace_record) == 24, "trace records stay small");

struct vcpu;

#if CONFIG_TRACE
void trace_exit(const struct vcpu *v, const struct exit_info *e);
#else
static inline void trace_exit(const struct vcpu *v, const struct exit_info *e)
{
	(void)v;
	(void)e;
}
#endif
/* Prints the newest `count` records, oldest first (all VMs, or one). */
void trace_print(unsigned count, int vm_id);

#endif
