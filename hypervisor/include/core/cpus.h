/*
 * Running on several physical CPUs (core/cpus.c; docs/smp.md has the
 * locking rules). One lock, the hypervisor lock, covers all hypervisor
 * state: a CPU holds it whenever it runs hypervisor code and drops it only
 * to enter a guest, to idle, and while it waits for it. What the other
 * CPUs hold of a vCPU (its VMCS, FPU and debug registers) they give up on
 * request: vcpu_claim().
 */
#ifndef CORE_CPUS_H
#define CORE_CPUS_H

#include <stdbool.h>
#include <stdint.h>

struct pcpu;
struct vcpu;
struct vm;

void hv_lock(void);
void hv_unlock(void);

/* Makes `c` leave guest mode or HLT (an IPI); nothing if `c` is this CPU. */
void cpu_kick(struct pcpu *c);
/* Something `v` waits for changed: its CPU looks again. */
void vcpu_kick(const struct vcpu *v);
void vm_kick(const struct vm *vm);

/* Runs fn(arg) on `c` and returns when it has; the caller holds the lock,
 * `c` runs it while it waits for the lock (so never in guest mode). */
void cpu_call(struct pcpu *c, void (*fn)(void *arg), void *arg);

/* Makes the state `v` left in another CPU's registers and VMCS reachable
 * from this one: that CPU saves it to memory first. Every backend access
 * to a vCPU starts with it; on the vCPU's own CPU it costs a compare. */
void vcpu_claim(struct vcpu *v);
/* Returns once no other CPU runs a vCPU of `vm` with translations from
 * before (after its nested page tables lost rights). */
void cpus_leave_guest(const struct vm *vm);

/* Around the backend's VM entry: the lock is dropped before, taken again
 * after. false: meanwhile the vCPU was reset, sent INIT or given registers
 * by gdb, or its VM stopped, so what the exit reports is stale and must be
 * dropped (the instruction runs again from the new state, if ever). */
void guest_enter(struct vcpu *v);
bool guest_exit(struct vcpu *v);

/* The CPU for vCPU `index` of a VM whose hv.cfg says `cpus = mask`: the
 * index-th online CPU of the mask, cyclically; -1 when none is online.
 * mask 0: the next online CPU round-robin over all VMs. */
int cpus_place(uint64_t mask, unsigned index);

#endif
