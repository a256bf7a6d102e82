/*
 * Intercepted MSRs. The backends pass through only the MSRs that live in
 * the VMCB/VMCS (segment bases, SYSCALL/SYSENTER); everything else exits
 * here. The local APIC's MSRs go to devices/lapic.c. An MSR this table does not know raises #GP in the guest, as on a
 * CPU that lacks it (SDM vol. 4, 2.1).
 */
#include <core/handlers.h>
#include <core/tsc.h>
#include <devices/lapic.h>
#include <lib/printk.h>
#include <x86/processor.h>
#include <x86/vendor.h>

#define EFER_GUEST_BITS   (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

struct msr_handler {
	uint32_t msr, last;     /* one MSR, or the range msr..last */
	int (*read)(struct vcpu *v, uint32_t msr, uint64_t *val);    /* 0, or -1 for #GP */
	int (*write)(struct vcpu *v, uint32_t msr, uint64_t val);
};

static int tsc_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	(void)msr;
	*val = guest_tsc(v->vm);
	return 0;
}

static int tsc_write_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	(void)msr;
	tsc_write(v->vm, val);
	return 0;
}

static int tsc_adjust_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	(void)msr;
	*val = v->vm->tsc_adjust;
	return 0;
}

static int tsc_adjust_write_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	(void)msr;
	tsc_adjust_write(v->vm, val);
	return 0;
}

/* TSC_AUX: 32 bits, the upper half reserved (#GP). */
static int tsc_aux_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	(void)msr;
	*val = v->tsc_aux;
	return 0;
}

static int tsc_aux_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	(void)msr;
	if (val >> 32)
		return -1;
	tsc_aux_set(v, val);
	return 0;
}

static int efer_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	(void)msr;
	struct guest_sregs s;

	vendor->read_sregs(v, &s);
	*val = s.efer;
	return 0;
}

/* LMA is read-only and follows CR0.PG; only known bits may be set. */
static int efer_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	(void)msr;
	struct guest_sregs s;

	if (val & ~EFER_GUEST_BITS)
		return -1;
	vendor->read_sregs(v, &s);
	/* LME may change only with paging off (SDM 3, 9.8.5; APM 2, 3.1.7). */
	if ((s.cr0 & X86_CR0_PG) && ((val ^ s.efer) & EFER_LME))
		return -1;
	s.efer = (val & ~EFER_LMA) | (s.efer & EFER_LMA);
	vendor->write_sregs(v, &s);
	return 0;
}

static int pat_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	(void)msr;
	struct guest_sregs s;

	vendor->read_sregs(v, &s);
	*val = s.pat;
	return 0;
}

static int pat_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	(void)msr;
	struct guest_sregs s;

	/* Each byte must be a valid type: 0, 1, 4, 5, 6 or 7 (SDM 3, 11.12.2). */
	for (int i = 0; i < 8; i++) {
		uint8_t t = (val >> (i * 8)) & 0xff;

		if (t > 7 || t == 2 || t == 3)
			return -1;
	}
	vendor->read_sregs(v, &s);
	s.pat = val;
	vendor->write_sregs(v, &s);
	return 0;
}

/* Reads as 0, writes ignored: MSRs Linux touches without a fallback on
 * some CPUs, with no state worth emulating. */
static int zero_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	(void)msr;
	(void)v;
	*val = 0;
	return 0;
}

static int ignore_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	(void)msr;
	(void)v;
	(void)val;
	return 0;
}

#define MSR_MC_LAST             (MSR_MC0_CTL + 4 * MCE_BANKS - 1)
/* AMD's legacy performance counters, PerfEvtSel0-3 and PerfCtr0-3 (APM 2,
 * 13.3.1). Every AMD CPU has them whatever CPUID says, so guests (and
 * kvm-unit-tests' start-up code) touch them without a _safe access. They
 * read 0 and ignore writes, as under KVM without a virtual PMU. */

/* IA32_MISC_ENABLE (SDM 4, table 2-2): Linux reads it on Intel CPUs before
 * it has any exception handler (verify_cpu.S, the XD-disable check). The
 * guest sees fast strings on, PEBS and BTS unavailable; writes are kept. */

static int misc_enable_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	(void)msr;
	*val = v->misc_enable;
	return 0;
}

static int misc_enable_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	(void)msr;
	v->misc_enable = val;
	return 0;
}

static int mtrr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	return mtrr_msr_read(&v->machine, msr, val) == 1 ? 0 : -1;
}

static int mtrr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	return mtrr_msr_write(&v->machine, msr, val) == 1 ? 0 : -1;
}

static int mce_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	return mce_msr_read(&v->machine, msr, val) == 1 ? 0 : -1;
}

static int mce_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	return mce_msr_write(&v->machine, msr, val) == 1 ? 0 : -1;
}

static const struct msr_handler msr_table[] = {
	{ MSR_K7_EVNTSEL0, MSR_K7_PERFCTR3, zero_read, ignore_write },
	/* The microcode revision (IA32_BIOS_SIGN_ID; AMD's PATCH_LEVEL is the
	 * same number): 0, no update loaded; writes (the update trigger) are
	 * ignored. Intel's PLATFORM_INFO: 0, no ratios, no CPUID faulting. */
	{ MSR_IA32_BIOS_SIGN_ID, 0, zero_read, ignore_write },
	{ MSR_AMD_SYSCFG, 0, zero_read, ignore_write },
	{ MSR_PLATFORM_INFO, 0, zero_read, NULL },
	{ MSR_IA32_MTRRCAP, 0, mtrr_read, mtrr_write },
	{ MSR_MTRR_PHYS_BASE0, MSR_MTRR_PHYS_MASK7, mtrr_read, mtrr_write },
	{ MSR_MTRR_FIX_64K, 0, mtrr_read, mtrr_write },
	{ MSR_MTRR_FIX_16K_80, MSR_MTRR_FIX_16K_A0, mtrr_read, mtrr_write },
	{ MSR_MTRR_FIX_4K_C0, MSR_MTRR_FIX_4K_F8, mtrr_read, mtrr_write },
	{ MSR_IA32_MTRR_DEF_TYPE, 0, mtrr_read, mtrr_write },
	{ MSR_MCG_CAP, MSR_MCG_CTL, mce_read, mce_write },
	{ MSR_MC0_CTL, MSR_MC_LAST, mce_read, mce_write },
	{ MSR_AMD_INT_PENDING_MSG, 0, zero_read, ignore_write },
	{ MSR_IA32_MISC_ENABLE, 0, misc_enable_read, misc_enable_write },
	{ MSR_IA32_TSC,    0, tsc_read,        tsc_write_msr },
	{ MSR_IA32_TSC_ADJUST, 0, tsc_adjust_read, tsc_adjust_write_msr },
	{ MSR_TSC_AUX,     0, tsc_aux_read,    tsc_aux_write },
	{ MSR_EFER,        0, efer_read,       efer_write },
	{ MSR_IA32_PAT,    0, pat_read,        pat_write },
};

static const struct msr_handler *msr_find(uint32_t msr)
{
	for (unsigned i = 0; i < sizeof(msr_table) / sizeof(msr_table[0]); i++)
		if (msr == msr_table[i].msr ||
		    (msr > msr_table[i].msr && msr <= msr_table[i].last))
			return &msr_table[i];
	return NULL;
}

void handle_msr_read(struct vcpu *v, struct exit_info *e)
{
	uint32_t msr = (uint32_t)v->regs.gpr[GPR_RCX];
	const struct msr_handler *h = msr_find(msr);
	uint64_t val = 0;
	bool ok;

	hot_count(&v->vm->hot_msrs, msr);
	if (lapic_msr_read(v, msr, &val, &ok) ? !ok : !h || !h->read || h->read(v, msr, &val)) {
		vendor->inject_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	if (!exit_skip_insn(v, e))
		return;
	v->regs.gpr[GPR_RAX] = (uint32_t)val;
	v->regs.gpr[GPR_RDX] = val >> 32;
}

void handle_msr_write(struct vcpu *v, struct exit_info *e)
{
	uint32_t msr = (uint32_t)v->regs.gpr[GPR_RCX];
	uint64_t val = (uint32_t)v->regs.gpr[GPR_RAX] | (v->regs.gpr[GPR_RDX] << 32);
	const struct msr_handler *h = msr_find(msr);
	bool ok;

	hot_count(&v->vm->hot_msrs, msr | HOT_WRITE);
	if (lapic_msr_write(v, msr, val, &ok) ? !ok : !h || !h->write || h->write(v, msr, val)) {
		vendor->inject_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	exit_skip_insn(v, e);
}
