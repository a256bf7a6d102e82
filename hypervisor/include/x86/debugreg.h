/*
 * Guest debug registers DR0-DR3 and DR6. Neither VMCB nor VMCS holds them
 * (DR7, and on SVM DR6, are in the control block), and MOV DR is not
 * intercepted, so they belong to the running vCPU and are swapped only when
 * another vCPU runs, like the FPU (security review finding 9). The host
 * never arms a breakpoint: after every exit DR7 is the host's (0x400), so
 * guest addresses in DR0-DR3 cannot fire in the hypervisor.
 */
#ifndef X86_DEBUGREG_H
#define X86_DEBUGREG_H

#include <stdint.h>

#define DR6_INIT   0xffff0ff0ull    /* DR6 at reset (SDM 3, 18.2.3) */
#define DR7_INIT   0x400ull
#define DR7_GD     (1ull << 13)  /* general detect (SDM 3, 18.2.4) */
#define DR6_TRAP_BITS 0x600full     /* B0-B3, BD, BS: set by the #DB cause */
#define DR6_B0_B3  0xfull           /* the only bits a #DB clears (SDM 3, 18.2.3) */
#define DR6_BD     (1ull << 13)  /* general detect */
#define DR6_BS     (1ull << 14)  /* single step */

struct vcpu;

/* Back to the reset values (vCPU creation and VM restart). */
void debugreg_vcpu_reset(struct vcpu *v);
/* Makes the hardware hold v's DR0-DR3 and DR6 before it runs. */
void debugreg_switch_to(struct vcpu *v);
/* Saves v's DR0-3/DR6 if this CPU holds them (core/cpus.c). */
void debugreg_put(struct vcpu *v);
/* DR6 of v, wherever it lives now; and the same for writing. */
uint64_t debugreg_get_dr6(struct vcpu *v);
void debugreg_set_dr6(struct vcpu *v, uint64_t dr6);

#endif
