/* Exit handlers, one per generic exit reason (dispatched by core/exit.c). */
#ifndef CORE_HANDLERS_H
#define CORE_HANDLERS_H

#include <core/exit.h>
#include <core/vm.h>

void handle_cpuid(struct vcpu *v, struct exit_info *e);
/* CPUID leaf/subleaf as v sees it (core/cpuid.c). */
struct cpuid_regs cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t subleaf);
void handle_msr_read(struct vcpu *v, struct exit_info *e);
void handle_msr_write(struct vcpu *v, struct exit_info *e);
void handle_hypercall(struct vcpu *v, struct exit_info *e);
void handle_io(struct vcpu *v, struct exit_info *e);
void handle_npf(struct vcpu *v, struct exit_info *e);

/* Moves past an instruction the hypervisor carried out, raising the
 * single-step #DB it owes when the guest's RFLAGS.TF is set. */
void exit_complete_insn(struct vcpu *v, unsigned len);
/* exit_complete_insn for the exiting instruction; stops the VM (and
 * returns false) when its length could not be determined. */
bool exit_skip_insn(struct vcpu *v, const struct exit_info *e);
/* Stops the VM and prints the backend's dump of the vCPU. */
void exit_stop_vm(struct vcpu *v, const struct exit_info *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
