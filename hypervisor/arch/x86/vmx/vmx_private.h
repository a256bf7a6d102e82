/* Shared between the VMX backend's files (not part of the seam). */
#ifndef VMX_PRIVATE_H
#define VMX_PRIVATE_H

#include <core/vm.h>
#include "vmcs.h"
#include "vmx_caps.h"
#include "vmx_exit.h"

/* MSRs outside the VMCS that guests own while they run (see vmx.c). */
#define NR_LAZY_MSRS 5
extern const uint32_t vmx_lazy_msrs[NR_LAZY_MSRS];

struct vmx_vcpu {
	uint64_t vmcs_pa;
	unsigned host_cpu;            /* the CPU whose state the host fields name */
	bool launched;
	uint16_t vpid;
	uint64_t msrs[NR_LAZY_MSRS];
	uint64_t cr2;                 /* while another vCPU owns the real CR2 */
	struct vmx_exit_fields exit;
	uint32_t insn_error;          /* after a failed VMLAUNCH/VMRESUME */
	/* A debugger's single step (GUEST_DEBUG_STEP): by the monitor trap
	 * flag, or by a TF that is ours alone when dbg_tf_added. */
	bool dbg_step, dbg_tf_added;
	/* An NMI went in: the NMI-window exit after its IRET tells the core
	 * (vcpu_nmi_done), as SVM's IRET intercept does. */
	bool nmi_in_handler;
};

extern struct vmx_caps vmx_caps;
extern struct vmx_controls vmx_ctl;
extern uint64_t vmx_msr_bitmap_pa;

static inline struct vmx_vcpu *to_vmx(struct vcpu *v)
{
	return v->vendor;
}

/* The guest CR2 of v (not in the VMCS: it lives in the real CR2 while v
 * owns the lazily switched registers). */
uint64_t vmx_get_cr2(struct vcpu *v);
void vmx_set_cr2(struct vcpu *v, uint64_t cr2);

/* Makes v's VMCS the current one (VMPTRLD) unless it already is. */
void vmx_load(struct vcpu *v);
/* CR0 bits that must be 1 under the guest (host-owned through the mask). */
uint64_t vmx_cr0_fixed(void);
/* Writes this CPU's host state into the current VMCS. */
void vmx_vmcs_setup_host(void);
/* Writes the controls and host state of a fresh, current VMCS. */
void vmx_vmcs_setup(struct vcpu *v);
void vmx_read_sregs(struct vcpu *v, struct guest_sregs *s);
void vmx_write_sregs(struct vcpu *v, const struct guest_sregs *s);
/* Gathers the guest-state fields the entry checks look at. */
void vmx_read_guest_state(struct vmx_guest_state *g);

/* 0 after a VM exit, 1 when VMLAUNCH/VMRESUME itself failed. */
int vmx_vmenter(struct vcpu *v, int launched);
void vmx_exit_stub(void);

#endif
