/*
 * CPUID as the guest sees it: the host's values, minus what the hypervisor
 * does not virtualize, plus the hypervisor leaves (include/hv/hypercall.h).
 * Bits: SDM vol. 2A, CPUID; APM vol. 3, appendix E.
 */
#include <core/handlers.h>
#include <devices/lapic.h>
#include <hv/hypercall.h>
#include <x86/cpuid_bits.h>
#include <x86/processor.h>
#include <x86/vendor.h>


static void cpuid_leaf1(struct vcpu *v, struct cpuid_regs *r)
{
	struct guest_sregs s;

	vendor->read_sregs(v, &s);
	r->ecx &= ~(CPUID_1_ECX_MONITOR | CPUID_1_ECX_VMX | CPUID_1_ECX_SMX |
		    CPUID_1_ECX_PDCM | CPUID_1_ECX_TM2 | CPUID_1_ECX_OSXSAVE |
		    CPUID_1_ECX_DTES64 | CPUID_1_ECX_DS_CPL);
	/* The emulated local APIC has both, whatever the host has. */
	r->ecx |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE;
	if (s.cr4 & X86_CR4_OSXSAVE)
		r->ecx |= CPUID_1_ECX_OSXSAVE;
	/* MTRRs and the machine-check banks are emulated (core/msr_machine.c). */
	r->edx |= CPUID_1_EDX_MCE | CPUID_1_EDX_MCA | CPUID_1_EDX_MTRR;
	r->edx &= ~(CPUID_1_EDX_HTT | CPUID_1_EDX_ACPI | CPUID_1_EDX_TM | CPUID_1_EDX_DS);
	if (!lapic_hw_enabled(v))
		r->edx &= ~CPUID_1_EDX_APIC;
	if (v->vm->nr_vcpus > 1)
		r->edx |= CPUID_1_EDX_HTT;
	/* EBX[31:24] initial APIC ID, [23:16] logical processors. */
	r->ebx = (r->ebx & 0xffff) | (v->vm->nr_vcpus << 16) | (v->id << 24);
}

static void cpuid_zero(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	(void)v;
	(void)subleaf;
	*r = (struct cpuid_regs){ 0 };
}

static void cpuid_leaf1_filter(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	(void)subleaf;
	cpuid_leaf1(v, r);
}

/* Thermal and power: only ARAT (the APIC timer runs in deep C-states, as
 * the emulated one does), as under KVM. The rest name thermal, HWP and
 * APERF/MPERF MSRs the guest cannot read. */
static void cpuid_leaf6(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	(void)v;
	(void)subleaf;
	*r = (struct cpuid_regs){ .eax = CPUID_6_EAX_ARAT };
}

static void cpuid_leaf7(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	(void)v;
	if (subleaf != 0)
		return;
	r->edx &= ~CPUID_7_EDX_SPEC_CTRL_BITS;
	r->ebx |= CPUID_7_EBX_TSC_ADJUST;        /* emulated (core/tsc.c) */
	if (!vendor_guest_rdtscp)
		r->ecx &= ~CPUID_7_ECX_RDPID;
	r->ecx &= ~CPUID_7_ECX_PKS;              /* IA32_PKRS is not emulated */
}

/* Topology leaves: EDX is the x2APIC ID. */
static void cpuid_x2apic_id(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	(void)subleaf;
	r->edx = v->id;
}

/* XSAVE layout: the host's, which is the guest's (fpu.c saves every
 * component); EBX follows the XCR0 in force, the guest's during its exit. */
static void cpuid_leaf_d(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	(void)v;
	if (subleaf == 1)   /* no XSAVES: IA32_XSS is not emulated */
		r->eax &= ~CPUID_D_1_EAX_XSAVES;
}

static void cpuid_ext1(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	(void)v;
	(void)subleaf;
	r->ecx &= ~(CPUID_8_1_ECX_SVM | CPUID_8_1_ECX_SKINIT | CPUID_8_1_ECX_PERFCTR_CORE |
		    CPUID_8_1_ECX_PERFCTR_NB | CPUID_8_1_ECX_PERFCTR_LLC);
	if (!vendor_guest_rdtscp)
		r->edx &= ~CPUID_8_1_EDX_RDTSCP;
}

/* Invariant TSC: every vCPU of a VM reads the host's TSC (constant rate)
 * through one offset, so their TSCs run at one rate and agree. Without
 * the bit Linux declares an SMP guest's TSCs unsynchronized on AMD. */
static void cpuid_ext7(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	(void)v;
	(void)subleaf;
	r->edx |= CPUID_8_7_EDX_INVARIANT_TSC;
}

static void cpuid_ext8(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r)
{
	(void)v;
	(void)subleaf;
	r->ebx &= ~(CPUID_8_8_EBX_SPEC_CTRL_BITS | CPUID_8_8_EBX_RDPRU);
}

/* Every leaf the hypervisor changes; all others are the host's as they
 * are. docs/cpu-model.md lists them with the reasons. */
static const struct cpuid_filter {
	uint32_t leaf;
	void (*fn)(struct vcpu *v, uint32_t subleaf, struct cpuid_regs *r);
} cpuid_filters[] = {
	{ 0x00000001, cpuid_leaf1_filter },
	{ 0x00000005, cpuid_zero },        /* MONITOR/MWAIT: hidden */
	{ 0x00000006, cpuid_leaf6 },
	{ 0x00000007, cpuid_leaf7 },
	{ 0x0000000a, cpuid_zero },        /* architectural PMU (Intel): none */
	{ 0x0000000b, cpuid_x2apic_id },
	{ 0x0000000d, cpuid_leaf_d },
	{ 0x0000001f, cpuid_x2apic_id },
	{ 0x80000001, cpuid_ext1 },
	{ 0x80000007, cpuid_ext7 },
	{ 0x80000008, cpuid_ext8 },
	{ 0x8000000a, cpuid_zero },        /* SVM features: none for the guest */
	{ 0x8000001f, cpuid_zero },        /* SEV: none */
	{ 0x80000022, cpuid_zero },        /* PMU v2 (AMD): none */
};

static void cpuid_emulate(struct vcpu *v, uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
	if (leaf == HV_CPUID_LEAF_BASE) {
		*r = (struct cpuid_regs){ HV_CPUID_LEAF_FEATURES, HV_CPUID_SIGNATURE_EBX,
					  HV_CPUID_SIGNATURE_ECX, HV_CPUID_SIGNATURE_EDX };
		return;
	}
	if (leaf == HV_CPUID_LEAF_FEATURES) {
		*r = (struct cpuid_regs){ .eax = HV_ABI_VERSION,
			.edx = vendor->hypercall_feature | HV_FEATURE_TIMER };
		return;
	}
	if ((leaf & 0xffff0000u) == 0x40000000u) {
		*r = (struct cpuid_regs){ 0 };
		return;
	}
	*r = cpuid(leaf, subleaf);
	for (unsigned i = 0; i < sizeof(cpuid_filters) / sizeof(cpuid_filters[0]); i++)
		if (cpuid_filters[i].leaf == leaf)
			cpuid_filters[i].fn(v, subleaf, r);
}

struct cpuid_regs cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	cpuid_emulate(v, leaf, subleaf, &r);
	return r;
}

void handle_cpuid(struct vcpu *v, struct exit_info *e)
{
	uint64_t *g = v->regs.gpr;
	struct cpuid_regs r;

	cpuid_emulate(v, (uint32_t)g[GPR_RAX], (uint32_t)g[GPR_RCX], &r);
	if (!exit_skip_insn(v, e))
		return;
	g[GPR_RAX] = r.eax;
	g[GPR_RBX] = r.ebx;
	g[GPR_RCX] = r.ecx;
	g[GPR_RDX] = r.edx;
}
