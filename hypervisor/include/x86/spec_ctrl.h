/* Speculation barriers between VMs (arch/x86/spec_ctrl.c). */
#ifndef X86_SPEC_CTRL_H
#define X86_SPEC_CTRL_H

#include <stdbool.h>

/* Finds out which barriers the CPU has. */
void spec_ctrl_init(void);
/* Before running a vCPU of `vm`: a barrier if another VM ran last. */
void spec_ctrl_vm_switch(const void *vm);

#endif
