/* VMCS contents: controls, host state, and the guest's registers in the
 * generic form (SDM vol. 3, 25.4-25.8). */
#include <x86/cpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>
#include "vmx_private.h"

#define AR_UNUSABLE (1u << 16)

struct dt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint64_t host_gdt_base(void)
{
	struct dt_ptr p;

	__asm__ volatile("sgdt %0" : "=m"(p));
	return p.base;
}

static uint64_t host_idt_base(void)
{
	struct dt_ptr p;

	__asm__ volatile("sidt %0" : "=m"(p));
	return p.base;
}

void vmx_vmcs_setup_host(void)
{
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SEL, HOST_CS);
	vmwrite(VMCS_HOST_SS_SEL, HOST_DS);
	vmwrite(VMCS_HOST_DS_SEL, HOST_DS);
	vmwrite(VMCS_HOST_ES_SEL, HOST_DS);
	vmwrite(VMCS_HOST_FS_SEL, 0);
	vmwrite(VMCS_HOST_GS_SEL, 0);
	vmwrite(VMCS_HOST_TR_SEL, HOST_TSS);
	vmwrite(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmwrite(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite(VMCS_HOST_TR_BASE, cpu_tss_base());
	vmwrite(VMCS_HOST_GDTR_BASE, host_gdt_base());
	vmwrite(VMCS_HOST_IDTR_BASE, host_idt_base());
	vmwrite(VMCS_HOST_SYSENTER_CS, 0);
	vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
	vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
	vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	vmwrite(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
	vmwrite(VMCS_HOST_RIP, (uintptr_t)vmx_exit_stub);
}

uint64_t vmx_cr0_fixed(void)
{
	uint64_t fixed = vmx_caps.cr0_fixed0;

	return vmx_ctl.unrestricted ? fixed & ~(X86_CR0_PE | X86_CR0_PG) : fixed;
}

void vmx_vmcs_setup(struct vcpu *v)
{
	struct vmx_vcpu *x = to_vmx(v);

	vmwrite(VMCS_PIN_CONTROLS, vmx_ctl.pin);
	vmwrite(VMCS_PROC_CONTROLS, vmx_ctl.proc);
	vmwrite(VMCS_PROC_CONTROLS2, vmx_ctl.proc2);
	vmwrite(VMCS_EXIT_CONTROLS, vmx_ctl.exit);
	vmwrite(VMCS_ENTRY_CONTROLS, vmx_ctl.entry);
	vmwrite(VMCS_EXCEPTION_BITMAP, GUEST_EXCEPTION_INTERCEPTS);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_MSR_BITMAP, vmx_msr_bitmap_pa);
	vmwrite(VMCS_EPT_POINTER, v->vm->npt.root_pa | EPTP_WB_WALK4);
	if (vmx_ctl.vpid)
		vmwrite(VMCS_VPID, x->vpid);
	/* CR4.VMXE must stay set under the guest but is hidden from it. */
	vmwrite(VMCS_CR4_MASK, X86_CR4_VMXE);
	/* Bits VMX fixes to 1 under the guest (NE; PE and PG too without
	 * unrestricted guest) are host-owned: the guest sees its own value in
	 * the read shadow and a write that changes them exits. */
	vmwrite(VMCS_CR0_MASK, vmx_cr0_fixed());
	vmwrite(VMCS_LINK_POINTER, ~0ull);
	vmwrite(VMCS_GUEST_ACTIVITY, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	vmwrite(VMCS_GUEST_DR7, 0x400);
	vmwrite(VMCS_GUEST_DEBUGCTL, 0);
	vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
	vmx_vmcs_setup_host();
}

/* Generic packed attributes <-> VMX access rights (SDM 3, 25.4.1):
 * the high nibble moves from bits 8-11 to 12-15; not present = unusable. */
static uint32_t attr_to_ar(uint16_t attr)
{
	uint32_t ar = (attr & 0xff) | ((uint32_t)(attr & 0xf00) << 4);

	return (attr & SEG_ATTR_P) ? ar : ar | AR_UNUSABLE;
}

static uint16_t ar_to_attr(uint32_t ar)
{
	if (ar & AR_UNUSABLE)
		return 0;
	return (uint16_t)((ar & 0xff) | ((ar >> 4) & 0xf00));
}

static void write_seg(enum vmcs_seg i, const struct x86_segment *s)
{
	vmwrite(VMCS_GUEST_ES_SEL + 2 * i, s->sel);
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, s->limit);
	vmwrite(VMCS_GUEST_ES_AR + 2 * i, attr_to_ar(s->attr));
	vmwrite(VMCS_GUEST_ES_BASE + 2 * i, s->base);
}

static void read_seg(enum vmcs_seg i, struct x86_segment *s)
{
	s->sel = (uint16_t)vmread(VMCS_GUEST_ES_SEL + 2 * i);
	s->limit = (uint32_t)vmread(VMCS_GUEST_ES_LIMIT + 2 * i);
	s->attr = ar_to_attr((uint32_t)vmread(VMCS_GUEST_ES_AR + 2 * i));
	s->base = vmread(VMCS_GUEST_ES_BASE + 2 * i);
}

void vmx_write_sregs(struct vcpu *v, const struct guest_sregs *s)
{
	uint64_t entry = vmx_ctl.entry & ~ENTRY_IA32E_MODE;

	vmx_load(v);
	vmwrite(VMCS_GUEST_RIP, s->rip);
	vmwrite(VMCS_GUEST_RFLAGS, s->rflags);
	vmwrite(VMCS_GUEST_CR0, s->cr0 | vmx_cr0_fixed());
	vmwrite(VMCS_CR0_SHADOW, s->cr0);
	vmwrite(VMCS_GUEST_CR3, s->cr3);
	vmwrite(VMCS_GUEST_CR4, s->cr4 | vmx_caps.cr4_fixed0);
	vmwrite(VMCS_CR4_SHADOW, s->cr4);
	vmwrite(VMCS_GUEST_EFER, s->efer);
	vmwrite(VMCS_GUEST_PAT, s->pat);
	vmwrite(VMCS_ENTRY_CONTROLS, s->efer & EFER_LMA ? entry | ENTRY_IA32E_MODE : entry);
	write_seg(VMCS_SEG_ES, &s->es);
	write_seg(VMCS_SEG_CS, &s->cs);
	write_seg(VMCS_SEG_SS, &s->ss);
	write_seg(VMCS_SEG_DS, &s->ds);
	write_seg(VMCS_SEG_FS, &s->fs);
	write_seg(VMCS_SEG_GS, &s->gs);
	write_seg(VMCS_SEG_LDTR, &s->ldtr);
	write_seg(VMCS_SEG_TR, &s->tr);
	vmwrite(VMCS_GUEST_GDTR_BASE, s->gdtr.base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, s->gdtr.limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, s->idtr.base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, s->idtr.limit);
	vmx_set_cr2(v, s->cr2);
}

void vmx_read_sregs(struct vcpu *v, struct guest_sregs *s)
{
	uint64_t cr4_mask, cr0_mask;

	vmx_load(v);
	cr4_mask = vmread(VMCS_CR4_MASK);
	cr0_mask = vmread(VMCS_CR0_MASK);
	*s = (struct guest_sregs){
		.rip = vmread(VMCS_GUEST_RIP), .rflags = vmread(VMCS_GUEST_RFLAGS),
		.cr0 = (vmread(VMCS_GUEST_CR0) & ~cr0_mask) | (vmread(VMCS_CR0_SHADOW) & cr0_mask), .cr2 = vmx_get_cr2(v), .cr3 = vmread(VMCS_GUEST_CR3),
		.cr4 = (vmread(VMCS_GUEST_CR4) & ~cr4_mask) | (vmread(VMCS_CR4_SHADOW) & cr4_mask),
		.efer = vmread(VMCS_GUEST_EFER), .pat = vmread(VMCS_GUEST_PAT),
		.gdtr = { vmread(VMCS_GUEST_GDTR_BASE), (uint32_t)vmread(VMCS_GUEST_GDTR_LIMIT) },
		.idtr = { vmread(VMCS_GUEST_IDTR_BASE), (uint32_t)vmread(VMCS_GUEST_IDTR_LIMIT) },
	};
	read_seg(VMCS_SEG_ES, &s->es);
	read_seg(VMCS_SEG_CS, &s->cs);
	read_seg(VMCS_SEG_SS, &s->ss);
	read_seg(VMCS_SEG_DS, &s->ds);
	read_seg(VMCS_SEG_FS, &s->fs);
	read_seg(VMCS_SEG_GS, &s->gs);
	read_seg(VMCS_SEG_LDTR, &s->ldtr);
	read_seg(VMCS_SEG_TR, &s->tr);
}

void vmx_read_guest_state(struct vmx_guest_state *g)
{
	*g = (struct vmx_guest_state){
		.cr0 = vmread(VMCS_GUEST_CR0), .cr4 = vmread(VMCS_GUEST_CR4),
		.efer = vmread(VMCS_GUEST_EFER), .rflags = vmread(VMCS_GUEST_RFLAGS),
		.rip = vmread(VMCS_GUEST_RIP), .dr7 = vmread(VMCS_GUEST_DR7),
		.link_pointer = vmread(VMCS_LINK_POINTER),
		.entry_controls = (uint32_t)vmread(VMCS_ENTRY_CONTROLS),
		.proc2 = (uint32_t)vmread(VMCS_PROC_CONTROLS2),
		.activity = (uint32_t)vmread(VMCS_GUEST_ACTIVITY),
		.interruptibility = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY),
		.gdtr_limit = (uint32_t)vmread(VMCS_GUEST_GDTR_LIMIT),
		.idtr_limit = (uint32_t)vmread(VMCS_GUEST_IDTR_LIMIT),
		.gdtr_base = vmread(VMCS_GUEST_GDTR_BASE), .idtr_base = vmread(VMCS_GUEST_IDTR_BASE),
	};
	for (unsigned i = 0; i < 8; i++)
		g->seg[i] = (struct vmx_seg_state){
			(uint16_t)vmread(VMCS_GUEST_ES_SEL + 2 * i),
			(uint32_t)vmread(VMCS_GUEST_ES_AR + 2 * i),
			(uint32_t)vmread(VMCS_GUEST_ES_LIMIT + 2 * i),
			vmread(VMCS_GUEST_ES_BASE + 2 * i) };
}
