/* SPDX-License-Identifier: MIT */
/* The op classes of chaos mode (ops.c) and what the driver (chaos.c) needs. */
#ifndef CHAOS_OPS_H
#define CHAOS_OPS_H

#include "chaos.h"

enum op_class {
	C_PIO, C_MMIO, C_MSR, C_CPUID, C_HCALL, C_XSETBV, C_CR, C_DR, C_EXC, C_SNIP,
	C_APIC, C_IPI, C_IOAPIC, C_HLT, C_RAM, C_MISC, C_SHADOW,
	NR_CLASSES
};

/* One op: its index in this vCPU's stream and its random numbers. */
struct op {
	uint64_t idx;
	uint64_t rng;
	struct cpu *c;
	struct oplog *log;
	bool traced;
};

extern const char *const class_names[NR_CLASSES];
extern uint64_t class_count[MAX_VCPUS][NR_CLASSES];

uint64_t rnd(struct op *o);
uint64_t rnd_below(struct op *o, uint64_t n);
void op_note(struct op *o, unsigned sub, uint64_t a, uint64_t b, uint64_t c);
void anomaly(struct op *o, const char *fmt, ...) PRINTF_LIKE(2, 3);
void ops_boot(unsigned vcpu);
void op_run_class(struct op *o, unsigned cls);
void op_fixup(struct op *o, unsigned cls);
void platform_sanitize(struct op *o);
void hlt_wait(uint64_t ms, bool use_apic_timer);
void ipi_wake_all_but_self(void);
void cmos_write(uint8_t index, uint8_t v);
uint8_t cmos_read(uint8_t index);
void locks_release(unsigned vcpu);
int cmos_lock_owner(void);
extern volatile bool others_up;
extern char ap_tramp_start[], ap_tramp_end[], ap_tramp_cr3[], ap_tramp_entry[], ap_reentry[];

#endif
