/*
 * Guest FPU/SSE/AVX state and XCR0. The hypervisor itself never touches
 * these registers (it is built with -mgeneral-regs-only), so they hold the
 * running vCPU's values and are swapped only when another vCPU runs.
 */
#ifndef X86_FPU_H
#define X86_FPU_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* Enables FXSAVE/XSAVE use on the host; returns the bytes a vCPU's save
 * area needs. */
void fpu_init(void);
/* Allocates v's save area in its initial state (XCR0 = x87). 0 or -1. */
int fpu_vcpu_init(struct vcpu *v);
/* Back to the initial state (VM restart). */
void fpu_vcpu_reset(struct vcpu *v);
/* Makes the hardware hold v's FPU state and XCR0 before it runs. */
void fpu_switch_to(struct vcpu *v);
/* Saves v's registers to its area if this CPU holds them (core/cpus.c). */
void fpu_put(struct vcpu *v);
/* XSETBV from the guest (ECX = index, EDX:EAX = value): false when the
 * value is invalid, and the guest gets #GP (SDM 2B, XSETBV). */
bool fpu_set_xcr0(struct vcpu *v, uint32_t index, uint64_t value);

#endif
