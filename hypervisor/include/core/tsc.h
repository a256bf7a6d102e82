/*
 * The guest's time-stamp counter. Each VM has one TSC offset, shared by its
 * vCPUs so their TSCs agree (Linux marks an SMP guest's TSC unstable when
 * they do not); a VM's TSC starts near 0 and never shows the host's
 * uptime. RDTSC/RDTSCP run unintercepted with the offset applied by the
 * CPU (APM 2, 15.30.5; SDM 3, 26.3 "TSC offsetting"). Writes to IA32_TSC
 * and IA32_TSC_ADJUST move the offset as SDM 3, 18.17.3 describes.
 */
#ifndef CORE_TSC_H
#define CORE_TSC_H

#include <stdint.h>
#include <x86/processor.h>

struct vm;
struct vcpu;

/* The guest TSC of vm now. */
uint64_t guest_tsc(const struct vm *vm);
/* A guest TSC value (a deadline) as a host TSC value, and back; 0 stays 0
 * (it means "not armed" everywhere deadlines are kept). */
uint64_t tsc_guest_to_host(const struct vm *vm, uint64_t guest);
uint64_t tsc_host_to_guest(const struct vm *vm, uint64_t host);
/* Power-on: the VM's TSC restarts at 0, TSC_ADJUST at 0. */
void tsc_vm_reset(struct vm *vm);
/* WRMSR IA32_TSC / IA32_TSC_ADJUST. */
void tsc_write(struct vm *vm, uint64_t value);
void tsc_adjust_write(struct vm *vm, uint64_t value);
/* arch/x86/tsc_aux.c. Makes the hardware IA32_TSC_AUX hold v's value before it runs (the host
 * never uses it; RDTSCP and RDPID read it unintercepted). */
void tsc_aux_switch_to(struct vcpu *v);
void tsc_aux_vcpu_reset(struct vcpu *v);
/* This CPU forgets that its MSR holds v's value (core/cpus.c). */
void tsc_aux_put(struct vcpu *v);
/* WRMSR IA32_TSC_AUX (32 bits; the caller checks). */
void tsc_aux_set(struct vcpu *v, uint64_t value);

#endif
