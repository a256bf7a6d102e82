/* MTRRs and machine-check banks as plain guest registers (see
 * include/core/msr_machine.h). Pure: no hypervisor state, host-tested. */
#include <core/msr_machine.h>
#include <x86/msr_index.h>

/* MTRRs (SDM 3, 12.11.1-12.11.3; MSR numbers: SDM 4, table 2-2). */
#define MTRRCAP_VALUE        (MTRR_VAR_COUNT | (1u << 8) | (1u << 10))  /* VCNT, FIX, WC */
#define DEF_TYPE_E           (1u << 11)
#define DEF_TYPE_FE          (1u << 10)
#define MTRR_TYPE_WB         6
#define VAR_MASK_VALID       (1u << 11)
#define PHYS_ADDR_BITS       40     /* what CPUID 0x80000008 reports under QEMU -cpu max */
#define PHYS_MASK            (((1ull << PHYS_ADDR_BITS) - 1) & ~0xfffull)

/* Machine-check architecture (SDM 3, 16.3). */
#define MCG_CTL_P            (1u << 8)

static int fixed_index(uint32_t msr)
{
	if (msr == MSR_MTRR_FIX_64K)
		return 0;
	if (msr == MSR_MTRR_FIX_16K_80 || msr == MSR_MTRR_FIX_16K_A0)
		return 1 + (int)(msr - MSR_MTRR_FIX_16K_80);
	if (msr >= MSR_MTRR_FIX_4K_C0 && msr <= MSR_MTRR_FIX_4K_F8)
		return 3 + (int)(msr - MSR_MTRR_FIX_4K_C0);
	return -1;
}

/* Memory types a range may have: UC, WC, WT, WP, WB (12.11.2). */
static int valid_type(uint64_t t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

static int fixed_value_valid(uint64_t v)
{
	for (int i = 0; i < 8; i++)
		if (!valid_type((v >> (i * 8)) & 0xff))
			return 0;
	return 1;
}

void machine_msrs_reset(struct vcpu_machine_msrs *m)
{
	*m = (struct vcpu_machine_msrs){ .mtrr_def_type = DEF_TYPE_E | MTRR_TYPE_WB };
	for (int i = 0; i < MCE_BANKS; i++)
		m->mc_bank[i][0] = ~0ull;     /* every error source reported */
	m->mcg_ctl = ~0ull;
}

int mtrr_msr_read(const struct vcpu_machine_msrs *m, uint32_t msr, uint64_t *val)
{
	int f = fixed_index(msr);

	if (msr == MSR_IA32_MTRRCAP)
		*val = MTRRCAP_VALUE;
	else if (msr == MSR_IA32_MTRR_DEF_TYPE)
		*val = m->mtrr_def_type;
	else if (f >= 0)
		*val = m->mtrr_fixed[f];
	else if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 2 * MTRR_VAR_COUNT)
		*val = m->mtrr_var[msr - MSR_MTRR_PHYS_BASE0];
	else
		return 0;
	return 1;
}

/* Reserved bits and invalid types raise #GP, as on the CPU. */
int mtrr_msr_write(struct vcpu_machine_msrs *m, uint32_t msr, uint64_t val)
{
	int f = fixed_index(msr);

	if (msr == MSR_IA32_MTRRCAP)
		return -1;                                    /* read-only */
	if (msr == MSR_IA32_MTRR_DEF_TYPE) {
		if ((val & ~(0xffull | DEF_TYPE_E | DEF_TYPE_FE)) || !valid_type(val & 0xff))
			return -1;
		m->mtrr_def_type = val;
	} else if (f >= 0) {
		if (!fixed_value_valid(val))
			return -1;
		m->mtrr_fixed[f] = val;
	} else if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 2 * MTRR_VAR_COUNT) {
		int is_mask = (msr - MSR_MTRR_PHYS_BASE0) & 1;
		uint64_t allowed = PHYS_MASK | (is_mask ? VAR_MASK_VALID : 0xff);

		if ((val & ~allowed) || (!is_mask && !valid_type(val & 0xff)))
			return -1;
		m->mtrr_var[msr - MSR_MTRR_PHYS_BASE0] = val;
	} else {
		return 0;
	}
	return 1;
}

int mce_msr_read(const struct vcpu_machine_msrs *m, uint32_t msr, uint64_t *val)
{
	if (msr == MSR_MCG_CAP)
		*val = MCG_CTL_P | MCE_BANKS;
	else if (msr == MSR_MCG_STATUS)
		*val = m->mcg_status;
	else if (msr == MSR_MCG_CTL)
		*val = m->mcg_ctl;
	else if (msr >= MSR_MC0_CTL && msr < MSR_MC0_CTL + 4 * MCE_BANKS)
		*val = m->mc_bank[(msr - MSR_MC0_CTL) / 4][(msr - MSR_MC0_CTL) % 4];
	else
		return 0;
	return 1;
}

/* MCG_CTL takes all ones or all zeros, a bank's CTL the same except that
 * bits 10 and 0 may be clear (Linux clears bit 10 of MC4_CTL on AMD K8,
 * UnixWare bit 0 of MC1_CTL), a bank's STATUS only 0 (clearing a logged
 * error), MCG_CAP nothing (16.3.1, 16.3.2); as KVM enforces. */
int mce_msr_write(struct vcpu_machine_msrs *m, uint32_t msr, uint64_t val)
{
	if (msr == MSR_MCG_CAP)
		return -1;
	if (msr == MSR_MCG_STATUS) {
		m->mcg_status = val;
	} else if (msr == MSR_MCG_CTL) {
		if (val != 0 && val != ~0ull)
			return -1;
		m->mcg_ctl = val;
	} else if (msr >= MSR_MC0_CTL && msr < MSR_MC0_CTL + 4 * MCE_BANKS) {
		unsigned bank = (msr - MSR_MC0_CTL) / 4, reg = (msr - MSR_MC0_CTL) % 4;

		if (reg == 0 && val != 0 && (val | (1ull << 10) | 1) != ~0ull)
			return -1;
		if (reg == 1 && val != 0)
			return -1;
		m->mc_bank[bank][reg] = val;
	} else {
		return 0;
	}
	return 1;
}
