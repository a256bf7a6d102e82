/* The host CPU: descriptor tables, exceptions, interrupts, LAPIC, time. */
#ifndef X86_CPU_H
#define X86_CPU_H

#include <stdbool.h>
#include <stdint.h>

#define HOST_CS        0x08
#define HOST_DS        0x10
#define HOST_TSS       0x18

#define VECTOR_TIMER     0x20
#define VECTOR_KICK      0xf0    /* another CPU wants this one out of a guest or HLT */
#define VECTOR_SPURIOUS  0xff

/* Frame built by the exception/interrupt stubs (arch/x86/entry.S). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Loads the hypervisor's GDT, TSS and IDT. */
void cpu_tables_init(void);
/* Base of the hypervisor's TSS (VMX host state). */
uint64_t cpu_tss_base(void);
/* Called from the stubs. */
void trap_handle(struct trap_frame *f);

/* Builds and loads the hypervisor's identity-mapped page tables. */
void host_paging_init(uint64_t top);

/* Local APIC (xAPIC, MMIO). */
void lapic_init(void);
void lapic_eoi(void);
/* INIT and start-up IPIs to another CPU (SDM 3, 8.4.4.1). */
void lapic_send_init(uint32_t apic_id);
void lapic_send_startup(uint32_t apic_id, uint8_t vector);
/* A fixed interrupt to another CPU (kicks, core/cpus.c). */
void lapic_send_fixed(uint32_t apic_id, uint8_t vector);
void lapic_timer_arm(uint64_t deadline_tsc);
/* Calibration helpers: a masked one-shot from 0xffffffff, and its count. */
void lapic_timer_start_oneshot_max(void);
uint32_t lapic_timer_count(void);

/* Time, calibrated against the PIT at start-up. */
void time_calibrate(void);
uint64_t tsc_khz(void);
uint32_t lapic_ticks_per_ms(void);
static inline uint64_t ms_to_tsc(uint64_t ms)
{
	return ms * tsc_khz();
}
/* Physical NMIs the host took (counted, never fatal). */
extern volatile uint64_t nmi_count;

#endif
