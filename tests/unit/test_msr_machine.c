/* MTRRs and machine-check banks: power-on values as firmware leaves them,
 * values kept, and the writes hardware refuses with #GP (SDM 3, 12.11 and
 * 16.3). */
// UNIT-SOURCES: hypervisor/core/msr_machine.c
#include <core/msr_machine.h>
#include "unit.h"

static struct vcpu_machine_msrs m;

static uint64_t rd(int (*read)(const struct vcpu_machine_msrs *, uint32_t, uint64_t *),
		   uint32_t msr)
{
	uint64_t v = 0xdead;

	CHECK_MSG(read(&m, msr, &v) == 1, "MSR %#x readable", msr);
	return v;
}

int main(void)
{
	machine_msrs_reset(&m);
	/* MTRRcap: 8 variable ranges, fixed ranges, write-combining. */
	CHECK_EQ(rd(mtrr_msr_read, 0xfe), 0x508);
	CHECK_EQ(mtrr_msr_write(&m, 0xfe, 0), -1);
	/* Enabled, default write-back, as firmware leaves them. */
	CHECK_EQ(rd(mtrr_msr_read, 0x2ff), 0x806);
	CHECK_EQ(mtrr_msr_write(&m, 0x2ff, 0xc00), 1);          /* default UC */
	CHECK_EQ(rd(mtrr_msr_read, 0x2ff), 0xc00);
	CHECK_EQ(mtrr_msr_write(&m, 0x2ff, 0xc02), -1);         /* type 2 is reserved */
	CHECK_EQ(mtrr_msr_write(&m, 0x2ff, 0x1c06), -1);        /* reserved bit 12 */
	/* Variable ranges: base with a type, mask with the valid bit. */
	CHECK_EQ(mtrr_msr_write(&m, 0x200, 0x80000000 | 0), 1);
	CHECK_EQ(mtrr_msr_write(&m, 0x201, 0xff80000000ull | 0x800), 1);
	CHECK_EQ(rd(mtrr_msr_read, 0x201), 0xff80000800ull);
	CHECK_EQ(mtrr_msr_write(&m, 0x202, 0x3), -1);           /* type 3 */
	CHECK_EQ(mtrr_msr_write(&m, 0x203, 0x400), -1);         /* mask reserved bit */
	CHECK_EQ(mtrr_msr_write(&m, 0x20e, 1ull << 45), -1);    /* above the address width */
	/* Fixed ranges: eight types a register. */
	CHECK_EQ(mtrr_msr_write(&m, 0x250, 0x0606060606060606ull), 1);
	CHECK_EQ(rd(mtrr_msr_read, 0x250), 0x0606060606060606ull);
	CHECK_EQ(mtrr_msr_write(&m, 0x26f, 0x0006060606060606ull), 1);
	CHECK_EQ(mtrr_msr_write(&m, 0x259, 0x0206060606060606ull), -1);
	CHECK_EQ(mtrr_msr_read(&m, 0x260, &(uint64_t){ 0 }), 0);  /* not an MTRR */

	/* MCG_CAP: ten banks and MCG_CTL; read-only. */
	CHECK_EQ(rd(mce_msr_read, 0x179), 0x10a);
	CHECK_EQ(mce_msr_write(&m, 0x179, 0), -1);
	CHECK_EQ(mce_msr_write(&m, 0x17b, 0x1), -1);            /* all or nothing */
	CHECK_EQ(mce_msr_write(&m, 0x17b, 0), 1);
	CHECK_EQ(rd(mce_msr_read, 0x400), ~0ull);                /* MC0_CTL */
	CHECK_EQ(mce_msr_write(&m, 0x400 + 4 * 9, 0x1f), -1);    /* MC9_CTL: some bits */
	CHECK_EQ(mce_msr_write(&m, 0x400 + 4 * 9, 0), 1);        /* none */
	CHECK_EQ(rd(mce_msr_read, 0x400 + 4 * 9), 0);
	CHECK_EQ(mce_msr_write(&m, 0x400 + 4 * 4, ~0ull & ~(1ull << 10)), 1);  /* K8 GART */
	CHECK_EQ(mce_msr_write(&m, 0x400 + 4 * 1, ~0ull & ~1ull), 1);          /* UnixWare */
	CHECK_EQ(rd(mce_msr_read, 0x400 + 4 * 1), ~1ull);
	CHECK_EQ(mce_msr_write(&m, 0x401, 0), 1);                /* clear MC0_STATUS */
	CHECK_EQ(mce_msr_write(&m, 0x401, 1), -1);               /* but not set it */
	CHECK_EQ(mce_msr_read(&m, 0x400 + 4 * 10, &(uint64_t){ 0 }), 0);   /* bank 10 */
	return unit_finish("test_msr_machine");
}
