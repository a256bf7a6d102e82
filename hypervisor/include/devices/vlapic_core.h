/*
 * The guest's local APIC without hypervisor dependencies (SDM vol. 3,
 * chapter 10; host-tested by tests/unit/test_vlapic.c): the register file,
 * priorities, IRR/ISR/TMR, EOI, the timer and the IPI destination match.
 * Time is an argument: `now` is a TSC value, and the timer's 100 MHz count
 * is converted to TSC ticks with the TSC frequency given at power-up.
 *
 * What needs the hypervisor stays with the glue (devices/lapic.c): which
 * vCPU an APIC is, waking it, the 8259s' ExtINT, the IOAPIC's EOI, IPI
 * delivery (NMI, INIT, SIPI) and the guest/host TSC offset. Register
 * writes tell the glue what is left to do through struct vlapic_action.
 */
#ifndef DEVICES_VLAPIC_CORE_H
#define DEVICES_VLAPIC_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <core/iobus.h>
#include <devices/lapic.h>

/* Register offsets in the xAPIC page (SDM 3, table 10-1); the x2APIC MSR
 * of a register is 0x800 + offset / 16 (table 10-6). */
#define VLAPIC_REG_ID         0x020
#define VLAPIC_REG_VERSION    0x030
#define VLAPIC_REG_TPR        0x080
#define VLAPIC_REG_APR        0x090
#define VLAPIC_REG_PPR        0x0a0
#define VLAPIC_REG_EOI        0x0b0
#define VLAPIC_REG_LDR        0x0d0
#define VLAPIC_REG_DFR        0x0e0
#define VLAPIC_REG_SVR        0x0f0
#define VLAPIC_REG_ISR        0x100   /* 8 registers, 32 vectors each */
#define VLAPIC_REG_TMR        0x180
#define VLAPIC_REG_IRR        0x200
#define VLAPIC_REG_ESR        0x280
#define VLAPIC_REG_ICR_LO     0x300
#define VLAPIC_REG_ICR_HI     0x310
#define VLAPIC_REG_LVT_TIMER  0x320   /* then thermal, perfmon, LINT0, LINT1 */
#define VLAPIC_REG_LVT_LINT0  0x350
#define VLAPIC_REG_LVT_ERROR  0x370
#define VLAPIC_REG_TIMER_INIT 0x380
#define VLAPIC_REG_TIMER_CUR  0x390
#define VLAPIC_REG_TIMER_DIV  0x3e0
#define VLAPIC_REG_SELF_IPI   0x3f0   /* x2APIC only (10.12.11) */

#define VLAPIC_NR_LVT         6
_Static_assert(VLAPIC_REG_LVT_TIMER + 16 * (VLAPIC_NR_LVT - 1) == VLAPIC_REG_LVT_ERROR,
	       "the LVT registers are contiguous, timer first, error last");
_Static_assert(0x800 + VLAPIC_REG_SELF_IPI / 16 == 0x83f, "SELF IPI is MSR 0x83f (table 10-6)");

/* Version register (10.4.8): 6 LVT entries (max LVT 5), integrated APIC. */
#define VLAPIC_VERSION        0x00050014u

/* LVT entries (10.5.1, figure 10-8). */
#define VLAPIC_LVT_MASKED     (1u << 16)
#define VLAPIC_LVT_TIMER_MODE(l) (((l) >> 17) & 3)
#define VLAPIC_TIMER_ONESHOT  0
#define VLAPIC_TIMER_PERIODIC 1
#define VLAPIC_TIMER_TSC_DEADLINE 2

/* Spurious-interrupt vector register (10.9, figure 10-23): vector, APIC
 * software enable (8), focus checking (9, reads 0 here), EOI-broadcast
 * suppression (12). */
#define VLAPIC_SVR_ENABLED    (1u << 8)
#define VLAPIC_SVR_WRITABLE   0x11ffu

/* TPR (10.8.3.1, figure 10-18): bits 7:0, the class in 7:4. */
#define VLAPIC_TPR_WRITABLE   0xffu
/* xAPIC LDR (10.6.2.2, figure 10-13): the logical ID in bits 31:24. */
#define VLAPIC_LDR_WRITABLE   0xff000000u
/* Divide configuration (10.5.4, figure 10-10): bits 0, 1 and 3. */
#define VLAPIC_DIV_WRITABLE   0xbu

/* DFR (10.6.2.2, figure 10-14): bits 31:28 the model, 1111 flat, 0000
 * cluster; bits 27:0 reserved, read as 1. */
#define VLAPIC_DFR_FLAT       0xf0000000u
#define VLAPIC_DFR_RESERVED   0x0fffffffu

/* IA32_APIC_BASE (10.4.4, figure 10-5; 10.12.1). */
#define VLAPIC_BASE_BSP       (1ull << 8)
#define VLAPIC_BASE_EXTD      (1ull << 10)
#define VLAPIC_BASE_EN        (1ull << 11)
#define VLAPIC_BASE_MODE      (VLAPIC_BASE_EN | VLAPIC_BASE_EXTD)
#define VLAPIC_BASE_RESERVED  0x2ffull        /* bits 0-7 and 9 */
/* Bits 12 up: the xAPIC page's address; those at and above MAXPHYADDR are
 * reserved too, which the caller checks (it knows the guest's CPUID). */
#define VLAPIC_BASE_ADDR      (~0xfffull)

/* The emulated timer counts at 100 MHz (before the divider), or at the
 * TSC's rate where the TSC is slower (Bochs's is 50 MHz): on every real CPU
 * the bus clock is slower than the TSC, and guests rely on it (kvm-unit-
 * tests' one-shot check wants at least one TSC tick a count). */
#define VLAPIC_TIMER_KHZ      100000ull
/* Shortest periodic timer period, as KVM's min_timer_period_us: a guest's
 * period of a few cycles would otherwise make every VM entry of every VM
 * exit at once (security review finding 6). */
#define VLAPIC_TIMER_MIN_PERIOD_US 200

/* ICR fields (10.6.1, figure 10-12). */
#define VLAPIC_ICR_VECTOR(icr)    ((uint8_t)(icr))
#define VLAPIC_ICR_MODE(icr)      ((unsigned)((icr) >> 8) & 7)
#define VLAPIC_ICR_LOGICAL        (1u << 11)
#define VLAPIC_ICR_BUSY           (1u << 12)   /* delivery status */
#define VLAPIC_ICR_LEVEL_ASSERT   (1u << 14)
#define VLAPIC_ICR_TRIGGER_LEVEL  (1u << 15)
#define VLAPIC_ICR_SHORTHAND(icr) ((unsigned)((icr) >> 18) & 3)
enum vlapic_icr_mode {
	VLAPIC_MODE_FIXED, VLAPIC_MODE_LOWEST, VLAPIC_MODE_SMI, VLAPIC_MODE_RESERVED,
	VLAPIC_MODE_NMI, VLAPIC_MODE_INIT, VLAPIC_MODE_SIPI,
};
enum vlapic_icr_shorthand {
	VLAPIC_DEST_FIELD, VLAPIC_DEST_SELF, VLAPIC_DEST_ALL, VLAPIC_DEST_OTHERS,
};

struct vlapic {
	uint32_t id;                      /* the APIC ID, the vCPU's number */
	uint64_t tsc_khz;                 /* for the timer's count-to-TSC conversion */
	uint64_t timer_khz;               /* the timer's count rate, at most tsc_khz */
	uint64_t apic_base;               /* IA32_APIC_BASE */
	uint32_t tpr, ldr, dfr, svr, esr, icr_lo, icr_hi;
	uint32_t irr[8], isr[8], tmr[8];  /* one bit a vector, as the registers show them */
	uint32_t lvt[VLAPIC_NR_LVT];      /* timer, thermal, perfmon, LINT0, LINT1, error */
	uint32_t timer_init, timer_div;
	uint64_t timer_start, timer_deadline;   /* TSC; deadline 0 = not armed */
	uint8_t ipi_modes_logged;         /* unemulated IPI modes met, one bit a mode */
};
_Static_assert(sizeof(((struct vlapic *)0)->irr) * 8 == 256, "IRR holds a bit per vector");

/* What a register write leaves to the glue. */
enum vlapic_action_kind {
	VLAPIC_ACT_NONE,
	VLAPIC_ACT_EOI,             /* EOI of an edge-triggered vector */
	VLAPIC_ACT_EOI_LEVEL,       /* EOI of a level-triggered vector: tell the IOAPIC too */
	VLAPIC_ACT_IPI,             /* deliver the IPI in `icr` (already latched) */
	VLAPIC_ACT_IPI_UNEMULATED,  /* an IPI mode met for the first time: log it */
	VLAPIC_ACT_ACCEPTED,        /* `vector` entered IRR (x2APIC self IPI): wake */
};
struct vlapic_action {
	enum vlapic_action_kind kind;
	uint8_t vector;
	uint64_t icr;
};

/* Power-up state (10.4.7.1); `tsc_khz` converts the timer's count. */
void vlapic_power_up(struct vlapic *a, uint32_t id, bool bsp, uint64_t tsc_khz);
/* INIT: power-up state but for IA32_APIC_BASE and, in x2APIC mode, the
 * logical ID (10.4.7.3, 10.12.5.1). */
void vlapic_init_signal(struct vlapic *a);

bool vlapic_hw_enabled(const struct vlapic *a);
bool vlapic_x2apic(const struct vlapic *a);
/* Processor priority (10.8.3.1). */
uint32_t vlapic_ppr(const struct vlapic *a);
/* Highest vector set in a 256-bit map (irr, isr, tmr), -1 if none. */
int vlapic_highest(const uint32_t *map);
bool vlapic_test(const uint32_t *map, unsigned vector);

/* A fixed interrupt arrives; false when the APIC drops it (software
 * disabled, or vector 0-15). */
bool vlapic_accept(struct vlapic *a, uint8_t vector, bool level);
/* The highest IRR vector above the processor priority, or -1 (also when
 * software disabled or `a` is NULL). */
int vlapic_pending(const struct vlapic *a);
/* The CPU takes `vector`: IRR -> ISR. */
void vlapic_ack(struct vlapic *a, uint8_t vector);
/* EOI: retires the highest ISR vector; returns it when TMR says it was
 * level-triggered (the IOAPIC wants to know), else -1. */
int vlapic_eoi(struct vlapic *a);

/* CR8 is TPR[7:4] (10.8.6.1). */
uint8_t vlapic_cr8_read(const struct vlapic *a);
void vlapic_cr8_write(struct vlapic *a, uint8_t cr8);

/* The timer (10.5.4). Current count at `now`. */
uint32_t vlapic_timer_current(const struct vlapic *a, uint64_t now);
/* The deadline worth arming a host timer for: 0 while the LVT entry is
 * masked or its last expiry still waits in IRR. */
uint64_t vlapic_timer_deadline(const struct vlapic *a);
/* Expires the timer if its deadline has passed; true when that put the
 * timer vector in IRR. */
bool vlapic_timer_check(struct vlapic *a, uint64_t now);
/* IA32_TSC_DEADLINE in host TSC units: reads 0 outside TSC-deadline mode,
 * writes are dropped there (10.5.4.1). */
uint64_t vlapic_tsc_deadline_read(const struct vlapic *a);
void vlapic_tsc_deadline_write(struct vlapic *a, uint64_t deadline);

/* Whether an APIC is addressed by an interrupt message's destination
 * (10.6.2; 10.12.10 in x2APIC mode). */
bool vlapic_match_dest(const struct vlapic *a, uint32_t dest, bool logical);
/* Whether the IPI `icr` sent by `src` goes to `t` (shorthand or
 * destination field; `t` NULL: a vCPU without an APIC, matched by
 * shorthand only). */
bool vlapic_ipi_targets(const struct vlapic *src, uint64_t icr, const struct vlapic *t);

/* One 32-bit register at xAPIC offset `reg`; unknown ones read 0 and
 * ignore writes. */
uint32_t vlapic_reg_read(const struct vlapic *a, unsigned reg, uint64_t now);
void vlapic_reg_write(struct vlapic *a, unsigned reg, uint32_t val, uint64_t now,
		      struct vlapic_action *act);
/* An access to guest-physical `gpa`: IO_UNHANDLED unless it falls in the
 * xAPIC page where IA32_APIC_BASE puts it (10.4.5), and never while the
 * APIC is disabled or in x2APIC mode (the page is not there, 10.4.3). */
enum io_result vlapic_mmio_read(const struct vlapic *a, uint64_t gpa, unsigned size,
				uint64_t *val, uint64_t now);
enum io_result vlapic_mmio_write(struct vlapic *a, uint64_t gpa, unsigned size, uint64_t val,
				 uint64_t now, struct vlapic_action *act);
/* An x2APIC MSR, by register offset ((msr - 0x800) * 16); false is #GP. */
bool vlapic_x2apic_read(const struct vlapic *a, unsigned reg, uint64_t *val, uint64_t now);
bool vlapic_x2apic_write(struct vlapic *a, unsigned reg, uint64_t val, uint64_t now,
			 struct vlapic_action *act);
/* WRMSR IA32_APIC_BASE; false is #GP. */
bool vlapic_base_write(struct vlapic *a, uint64_t val);

#endif
