/*
 * The memory-type range registers and the machine-check architecture as a
 * guest sees them (SDM 3, 12.11 and 16): registers that hold what the
 * guest writes, with the hardware's reserved-bit rules, so CPUID can
 * advertise MTRR, MCE and MCA and guests set them up as on a real CPU.
 * They change nothing on the host: guest memory types come from the
 * nested page tables (write-back), and no machine check is ever injected.
 */
#ifndef CORE_MSR_MACHINE_H
#define CORE_MSR_MACHINE_H

#include <stdint.h>

#define MTRR_VAR_COUNT  8
#define MTRR_FIXED_COUNT 11
#define MCE_BANKS       10

struct vcpu_machine_msrs {
	uint64_t mtrr_def_type;
	uint64_t mtrr_fixed[MTRR_FIXED_COUNT];
	uint64_t mtrr_var[2 * MTRR_VAR_COUNT];    /* base, mask pairs */
	uint64_t mcg_status, mcg_ctl;
	uint64_t mc_bank[MCE_BANKS][4];          /* CTL, STATUS, ADDR, MISC */
};

struct vcpu;

/* Power-on values, as firmware leaves them: MTRRs on, default write-back. */
void machine_msrs_reset(struct vcpu_machine_msrs *m);
/* 1 when msr is one of these (then *val or the write is done, or -1 for
 * #GP is returned), 0 when it is not. */
int mtrr_msr_read(const struct vcpu_machine_msrs *m, uint32_t msr, uint64_t *val);
int mtrr_msr_write(struct vcpu_machine_msrs *m, uint32_t msr, uint64_t val);
int mce_msr_read(const struct vcpu_machine_msrs *m, uint32_t msr, uint64_t *val);
int mce_msr_write(struct vcpu_machine_msrs *m, uint32_t msr, uint64_t val);

#endif
