/*
 * The local APIC model without hypervisor dependencies (host-tested by
 * tests/unit/test_vlapic.c). References: SDM vol. 3, chapter 10: 10.4 for
 * IA32_APIC_BASE and the power-up and INIT states, 10.5 for the LVT and the
 * timer, 10.6 for IPIs and destinations, 10.8 for IRR/ISR/TMR, priorities
 * and EOI, 10.9 for the SVR, 10.12 for x2APIC mode.
 *
 * Time comes in as `now`, a TSC value. Delivery is instant, so the ICR's
 * delivery-status bit always reads 0. Not modelled: APR (reads 0), the
 * error register's causes (ESR reads 0), focus checking, relocating the
 * APIC page, and SMI and the reserved IPI modes (dropped; the glue logs
 * each once).
 *
 * One physical CPU runs every vCPU (core/sched.h): no locking.
 */
#include <devices/vlapic_core.h>

bool vlapic_test(const uint32_t *map, unsigned vector)
{
	return map[vector / 32] & (1u << (vector % 32));
}

static void set_bit(uint32_t *map, unsigned vector, bool on)
{
	if (on)
		map[vector / 32] |= 1u << (vector % 32);
	else
		map[vector / 32] &= ~(1u << (vector % 32));
}

int vlapic_highest(const uint32_t *map)
{
	for (int w = 7; w >= 0; w--)
		if (map[w])
			return w * 32 + 31 - __builtin_clz(map[w]);
	return -1;
}

bool vlapic_hw_enabled(const struct vlapic *a)
{
	return a->apic_base & VLAPIC_BASE_EN;
}

bool vlapic_x2apic(const struct vlapic *a)
{
	return a->apic_base & VLAPIC_BASE_EXTD;
}

static bool sw_enabled(const struct vlapic *a)
{
	return a->svr & VLAPIC_SVR_ENABLED;
}

static unsigned timer_mode(const struct vlapic *a)
{
	return VLAPIC_LVT_TIMER_MODE(a->lvt[0]);
}

void vlapic_power_up(struct vlapic *a, uint32_t id, bool bsp, uint64_t tsc_khz)
{
	*a = (struct vlapic){ .id = id, .tsc_khz = tsc_khz,
			      .timer_khz = tsc_khz && tsc_khz < VLAPIC_TIMER_KHZ ? tsc_khz :
					   VLAPIC_TIMER_KHZ };
	a->apic_base = LAPIC_BASE | VLAPIC_BASE_EN | (bsp ? VLAPIC_BASE_BSP : 0);
	a->dfr = 0xffffffff;   /* flat model */
	a->svr = 0xff;         /* spurious vector 0xff, software disabled */
	for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
		a->lvt[i] = VLAPIC_LVT_MASKED;
}

void vlapic_init_signal(struct vlapic *a)
{
	uint64_t base = a->apic_base;
	uint32_t ldr = a->ldr;

	vlapic_power_up(a, a->id, false, a->tsc_khz);
	a->apic_base = base;
	if (vlapic_x2apic(a))
		a->ldr = ldr;
}

/* ---- priorities, IRR/ISR/TMR (10.8) ---- */

/* PPR is TPR or the ISR's highest class, whichever is higher (10.8.3.1). */
uint32_t vlapic_ppr(const struct vlapic *a)
{
	int isrv = vlapic_highest(a->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (a->tpr & 0xf0) >= isr_class ? a->tpr & VLAPIC_TPR_WRITABLE : isr_class;
}

/* An IRR vector goes to the CPU when its class is above PPR's (10.8.3.1). */
int vlapic_pending(const struct vlapic *a)
{
	int irrv;

	if (!a || !sw_enabled(a))
		return -1;
	irrv = vlapic_highest(a->irr);
	return irrv >= 0 && ((uint32_t)irrv & 0xf0) > (vlapic_ppr(a) & 0xf0) ? irrv : -1;
}

/* Vectors 0-15 are illegal (10.5.2); a software-disabled APIC takes no
 * interrupt (10.4.7.2). */
bool vlapic_accept(struct vlapic *a, uint8_t vector, bool level)
{
	if (!sw_enabled(a) || vector < 16)
		return false;
	set_bit(a->irr, vector, true);
	set_bit(a->tmr, vector, level);
	return true;
}

void vlapic_ack(struct vlapic *a, uint8_t vector)
{
	set_bit(a->irr, vector, false);
	set_bit(a->isr, vector, true);
}

/* EOI retires the highest ISR vector (10.8.5). */
int vlapic_eoi(struct vlapic *a)
{
	int vector = vlapic_highest(a->isr);

	if (vector < 0)
		return -1;
	set_bit(a->isr, (unsigned)vector, false);
	return vlapic_test(a->tmr, (unsigned)vector) ? vector : -1;
}

uint8_t vlapic_cr8_read(const struct vlapic *a)
{
	return (uint8_t)(a->tpr >> 4);
}

void vlapic_cr8_write(struct vlapic *a, uint8_t cr8)
{
	a->tpr = (uint32_t)(cr8 & 0xf) << 4;
}

/* ---- timer (10.5.4) ---- */

static uint64_t timer_divisor(const struct vlapic *a)
{
	/* Divide configuration (figure 10-10): bits 0, 1, 3 encode 2^(n+1),
	 * 0b111 = 1. */
	unsigned code = (a->timer_div & 3) | ((a->timer_div >> 1) & 4);

	return code == 7 ? 1 : 2ull << code;
}

/* At most 2^32 counts * 128 * tsc_khz: fits 64 bits below a 33 GHz TSC. */
static uint64_t timer_period_raw(const struct vlapic *a)
{
	return (uint64_t)a->timer_init * timer_divisor(a) * a->tsc_khz / a->timer_khz;
}

static uint64_t timer_period_tsc(const struct vlapic *a)
{
	uint64_t period = timer_period_raw(a);
	uint64_t floor = a->tsc_khz * VLAPIC_TIMER_MIN_PERIOD_US / 1000;

	return timer_mode(a) == VLAPIC_TIMER_PERIODIC && period && period < floor ?
	       floor : period;
}

static void timer_start(struct vlapic *a, uint64_t now)
{
	a->timer_start = now;
	a->timer_deadline = a->timer_init ? now + timer_period_tsc(a) : 0;
}

/* The TSC ticks left, in counts at the timer's rate. Not left * init /
 * period: for a long count that product passes 2^64 (0xffffffff counts at
 * divide-by-1 are 1.1e11 ticks of a 2.6 GHz TSC) and the count read back
 * jumped around. A period stretched to the floor is short: both are small. */
uint32_t vlapic_timer_current(const struct vlapic *a, uint64_t now)
{
	uint64_t period = timer_period_tsc(a), left;

	if (!a->timer_deadline || timer_mode(a) == VLAPIC_TIMER_TSC_DEADLINE || !period)
		return 0;
	left = a->timer_deadline > now ? a->timer_deadline - now : 0;
	if (period != timer_period_raw(a))
		return (uint32_t)(left * a->timer_init / period);
	return (uint32_t)(left * a->timer_khz / (timer_divisor(a) * a->tsc_khz));
}

/* Not while the last expiry still waits in IRR: they coalesce, as on
 * hardware, so a guest's fast timer interrupts other VMs' slices at most
 * once per slice of its own. */
uint64_t vlapic_timer_deadline(const struct vlapic *a)
{
	if ((a->lvt[0] & VLAPIC_LVT_MASKED) || vlapic_test(a->irr, (uint8_t)a->lvt[0]))
		return 0;
	return a->timer_deadline;
}

bool vlapic_timer_check(struct vlapic *a, uint64_t now)
{
	uint32_t lvt = a->lvt[0];
	uint64_t period = timer_period_tsc(a);

	if (!a->timer_deadline || now < a->timer_deadline)
		return false;
	if (VLAPIC_LVT_TIMER_MODE(lvt) == VLAPIC_TIMER_PERIODIC && period) {
		/* Catch up without a burst after a pause. */
		a->timer_deadline += period;
		if (a->timer_deadline <= now)
			a->timer_deadline = now + period;
	} else {
		a->timer_deadline = 0;
	}
	return !(lvt & VLAPIC_LVT_MASKED) && vlapic_accept(a, (uint8_t)lvt, false);
}

uint64_t vlapic_tsc_deadline_read(const struct vlapic *a)
{
	return timer_mode(a) == VLAPIC_TIMER_TSC_DEADLINE ? a->timer_deadline : 0;
}

void vlapic_tsc_deadline_write(struct vlapic *a, uint64_t deadline)
{
	if (timer_mode(a) == VLAPIC_TIMER_TSC_DEADLINE)
		a->timer_deadline = deadline;
}

/* ---- destinations (10.6.2) ---- */

bool vlapic_match_dest(const struct vlapic *a, uint32_t dest, bool logical)
{
	uint32_t ldr = a->ldr >> 24;

	if (!logical)
		return dest == (vlapic_x2apic(a) ? 0xffffffffu : 0xffu) || dest == a->id;
	if (vlapic_x2apic(a))   /* cluster in [31:16], member bitmap in [15:0] (10.12.10.2) */
		return (dest >> 16) == (a->ldr >> 16) && (dest & a->ldr & 0xffff);
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	/* Flat: bit i selects LDR bit 24+i. Cluster: [7:4] the cluster,
	 * [3:0] the members (10.6.2.2). */
	if ((a->dfr & VLAPIC_DFR_FLAT) == VLAPIC_DFR_FLAT)
		return (dest & ldr) != 0;
	return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf);
}

/* The destination field is ICR[63:56] in xAPIC mode, ICR[63:32] in
 * x2APIC mode (10.12.9). */
bool vlapic_ipi_targets(const struct vlapic *src, uint64_t icr, const struct vlapic *t)
{
	bool self = t == src;
	uint32_t dest = vlapic_x2apic(src) ? (uint32_t)(icr >> 32) : (uint32_t)(icr >> 56);

	switch (VLAPIC_ICR_SHORTHAND(icr)) {
	case VLAPIC_DEST_SELF:   return self;
	case VLAPIC_DEST_ALL:    return true;
	case VLAPIC_DEST_OTHERS: return !self;
	default:                 return t && vlapic_match_dest(t, dest, icr & VLAPIC_ICR_LOGICAL);
	}
}

/* The ICR reads back as written, delivery status (bit 12) clear: delivery
 * is instant (10.6.1). SMI and the reserved mode are not emulated. */
static void icr_write(struct vlapic *a, uint64_t icr, struct vlapic_action *act)
{
	unsigned mode = VLAPIC_ICR_MODE(icr);

	a->icr_lo = (uint32_t)icr & ~VLAPIC_ICR_BUSY;
	if (vlapic_x2apic(a))
		a->icr_hi = (uint32_t)(icr >> 32);
	act->icr = icr;
	if (mode == VLAPIC_MODE_SMI || mode == VLAPIC_MODE_RESERVED) {
		/* Once per APIC and mode: each log line costs ~6 ms of the
		 * shared serial line (security review finding 10). */
		bool first = !(a->ipi_modes_logged & (1u << mode));

		a->ipi_modes_logged |= (uint8_t)(1u << mode);
		act->kind = first ? VLAPIC_ACT_IPI_UNEMULATED : VLAPIC_ACT_NONE;
		return;
	}
	act->kind = VLAPIC_ACT_IPI;
}

/* ---- register file (table 10-1) ---- */

uint32_t vlapic_reg_read(const struct vlapic *a, unsigned reg, uint64_t now)
{
	if (reg >= VLAPIC_REG_ISR && reg < VLAPIC_REG_ESR)
		return (reg < VLAPIC_REG_TMR ? a->isr : reg < VLAPIC_REG_IRR ? a->tmr : a->irr)
		       [(reg >> 4) & 7];
	if (reg >= VLAPIC_REG_LVT_TIMER && reg <= VLAPIC_REG_LVT_ERROR)
		return a->lvt[(reg - VLAPIC_REG_LVT_TIMER) >> 4];
	switch (reg) {
	case VLAPIC_REG_ID:         return vlapic_x2apic(a) ? a->id : a->id << 24;   /* 10.4.6 */
	case VLAPIC_REG_VERSION:    return VLAPIC_VERSION;
	case VLAPIC_REG_TPR:        return a->tpr;
	case VLAPIC_REG_APR:        return 0;
	case VLAPIC_REG_PPR:        return vlapic_ppr(a);
	case VLAPIC_REG_LDR:        return a->ldr;
	case VLAPIC_REG_DFR:        return a->dfr;
	case VLAPIC_REG_SVR:        return a->svr;
	case VLAPIC_REG_ESR:        return a->esr;
	case VLAPIC_REG_ICR_LO:     return a->icr_lo;
	case VLAPIC_REG_ICR_HI:     return a->icr_hi;
	case VLAPIC_REG_TIMER_INIT: return a->timer_init;
	case VLAPIC_REG_TIMER_CUR:  return vlapic_timer_current(a, now);
	case VLAPIC_REG_TIMER_DIV:  return a->timer_div;
	default:                    return 0;
	}
}

static void lvt_write(struct vlapic *a, unsigned index, uint32_t val)
{
	uint32_t old_mode = timer_mode(a);

	if (!sw_enabled(a))
		val |= VLAPIC_LVT_MASKED;   /* stays masked while software disabled (10.4.7.2) */
	a->lvt[index] = val;
	/* Into or out of TSC-deadline mode disarms the timer (10.5.4.1);
	 * between one-shot and periodic the count goes on where it was, and
	 * the new mode decides what happens at 0 (as KVM; kvm-unit-tests'
	 * apic_change_mode). */
	if (index == 0 && VLAPIC_LVT_TIMER_MODE(val) != old_mode &&
	    (old_mode == VLAPIC_TIMER_TSC_DEADLINE ||
	     VLAPIC_LVT_TIMER_MODE(val) == VLAPIC_TIMER_TSC_DEADLINE))
		a->timer_deadline = 0;
}

/* Clearing the software enable masks every LVT entry (10.4.7.2). */
static void svr_write(struct vlapic *a, uint32_t val)
{
	a->svr = val & VLAPIC_SVR_WRITABLE;
	if (!(val & VLAPIC_SVR_ENABLED))
		for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
			a->lvt[i] |= VLAPIC_LVT_MASKED;
}

static void timer_init_write(struct vlapic *a, uint32_t val, uint64_t now)
{
	/* Ignored in TSC-deadline mode (10.5.4.1). */
	if (timer_mode(a) != VLAPIC_TIMER_TSC_DEADLINE) {
		a->timer_init = val;
		timer_start(a, now);
	}
}

static void eoi_write(struct vlapic *a, struct vlapic_action *act)
{
	int retired = vlapic_highest(a->isr);
	int level = vlapic_eoi(a);

	if (level >= 0)
		*act = (struct vlapic_action){ .kind = VLAPIC_ACT_EOI_LEVEL, .vector = (uint8_t)level };
	else if (retired >= 0)
		*act = (struct vlapic_action){ .kind = VLAPIC_ACT_EOI, .vector = (uint8_t)retired };
}

static void self_ipi_write(struct vlapic *a, uint32_t val, struct vlapic_action *act)
{
	if (vlapic_x2apic(a) && vlapic_accept(a, (uint8_t)val, false))
		*act = (struct vlapic_action){ .kind = VLAPIC_ACT_ACCEPTED, .vector = (uint8_t)val };
}

void vlapic_reg_write(struct vlapic *a, unsigned reg, uint32_t val, uint64_t now,
		      struct vlapic_action *act)
{
	*act = (struct vlapic_action){ .kind = VLAPIC_ACT_NONE };
	if (reg >= VLAPIC_REG_LVT_TIMER && reg <= VLAPIC_REG_LVT_ERROR) {
		lvt_write(a, (reg - VLAPIC_REG_LVT_TIMER) >> 4, val);
		return;
	}
	switch (reg) {
	case VLAPIC_REG_TPR:    a->tpr = val & VLAPIC_TPR_WRITABLE; break;
	case VLAPIC_REG_EOI:    eoi_write(a, act); break;
	/* LDR and DFR are read-only in x2APIC mode (10.12.10.1). */
	case VLAPIC_REG_LDR:    if (!vlapic_x2apic(a)) a->ldr = val & VLAPIC_LDR_WRITABLE; break;
	case VLAPIC_REG_DFR:    if (!vlapic_x2apic(a)) a->dfr = val | VLAPIC_DFR_RESERVED; break;
	case VLAPIC_REG_SVR:    svr_write(a, val); break;
	case VLAPIC_REG_ESR:    a->esr = 0; break;
	case VLAPIC_REG_ICR_HI: a->icr_hi = val; break;
	case VLAPIC_REG_ICR_LO: icr_write(a, ((uint64_t)a->icr_hi << 32) | val, act); break;
	case VLAPIC_REG_TIMER_INIT: timer_init_write(a, val, now); break;
	case VLAPIC_REG_TIMER_DIV:  a->timer_div = val & VLAPIC_DIV_WRITABLE; break;
	case VLAPIC_REG_SELF_IPI:   self_ipi_write(a, val, act); break;
	default: break;      /* read-only or reserved: ignored */
	}
}

static bool on_page(const struct vlapic *a, uint64_t gpa)
{
	return vlapic_hw_enabled(a) && !vlapic_x2apic(a) &&
	       (gpa & VLAPIC_BASE_ADDR) == (a->apic_base & VLAPIC_BASE_ADDR);
}

/* 32-bit accesses to 16-byte aligned registers; other accesses read 0 and
 * write nothing. */
enum io_result vlapic_mmio_read(const struct vlapic *a, uint64_t gpa, unsigned size,
				uint64_t *val, uint64_t now)
{
	uint64_t off = gpa & 0xfff;

	if (!on_page(a, gpa))
		return IO_UNHANDLED;
	*val = size == 4 && !(off & 0xf) ? vlapic_reg_read(a, (unsigned)off, now) : 0;
	return IO_HANDLED;
}

enum io_result vlapic_mmio_write(struct vlapic *a, uint64_t gpa, unsigned size, uint64_t val,
				 uint64_t now, struct vlapic_action *act)
{
	uint64_t off = gpa & 0xfff;

	*act = (struct vlapic_action){ .kind = VLAPIC_ACT_NONE };
	if (!on_page(a, gpa))
		return IO_UNHANDLED;
	if (size == 4 && !(off & 0xf))
		vlapic_reg_write(a, (unsigned)off, (uint32_t)val, now, act);
	return IO_HANDLED;
}

/* x2APIC MSR access (10.12.1.2 and table 10-6): which registers read and
 * write; the rest (APR, DFR, ICR's high half, CMCI without MCG_CMCI_P,
 * reserved offsets) raise #GP either way. */
#define X2_R 1u
#define X2_W 2u
static unsigned x2apic_access(unsigned reg)
{
	if ((reg >= VLAPIC_REG_ISR && reg < VLAPIC_REG_ESR) || reg == VLAPIC_REG_ID ||
	    reg == VLAPIC_REG_VERSION || reg == VLAPIC_REG_PPR || reg == VLAPIC_REG_LDR ||
	    reg == VLAPIC_REG_TIMER_CUR)
		return X2_R;
	if ((reg >= VLAPIC_REG_LVT_TIMER && reg <= VLAPIC_REG_LVT_ERROR) ||
	    reg == VLAPIC_REG_TPR || reg == VLAPIC_REG_SVR || reg == VLAPIC_REG_ESR ||
	    reg == VLAPIC_REG_ICR_LO || reg == VLAPIC_REG_TIMER_INIT || reg == VLAPIC_REG_TIMER_DIV)
		return X2_R | X2_W;
	if (reg == VLAPIC_REG_EOI || reg == VLAPIC_REG_SELF_IPI)
		return X2_W;
	return 0;
}

/* A write the register refuses with #GP: bits 63:32 outside the ICR, a
 * non-zero EOI, SELF IPI bits 31:8 (10.12.1.2, 10.12.11). */
static bool x2apic_write_ok(unsigned reg, uint64_t val)
{
	if (!(x2apic_access(reg) & X2_W) || (reg != VLAPIC_REG_ICR_LO && (val >> 32)))
		return false;
	return !(reg == VLAPIC_REG_EOI && val) && !(reg == VLAPIC_REG_SELF_IPI && (val >> 8));
}

/* The ICR is one 64-bit MSR in x2APIC mode (10.12.9). */
bool vlapic_x2apic_read(const struct vlapic *a, unsigned reg, uint64_t *val, uint64_t now)
{
	if (!vlapic_x2apic(a) || !(x2apic_access(reg) & X2_R))
		return false;
	*val = reg == VLAPIC_REG_ICR_LO ? (uint64_t)a->icr_hi << 32 | a->icr_lo :
	       vlapic_reg_read(a, reg, now);
	return true;
}

bool vlapic_x2apic_write(struct vlapic *a, unsigned reg, uint64_t val, uint64_t now,
			 struct vlapic_action *act)
{
	*act = (struct vlapic_action){ .kind = VLAPIC_ACT_NONE };
	if (!vlapic_x2apic(a) || !x2apic_write_ok(reg, val))
		return false;
	if (reg == VLAPIC_REG_ICR_LO)
		icr_write(a, val, act);
	else
		vlapic_reg_write(a, reg, (uint32_t)val, now, act);
	return true;
}

/* The mode changes IA32_APIC_BASE allows (10.12.5, figure 10-27):
 * disabled -> xAPIC -> x2APIC, and either back to disabled; EXTD without
 * EN is invalid. Anything else is #GP; so are reserved bits. The page
 * moves to the address written (10.4.5), also while disabled; INIT keeps
 * it, reset puts it back. Disabling the APIC puts its registers back to
 * their power-up state (10.4.3). */
bool vlapic_base_write(struct vlapic *a, uint64_t val)
{
	uint64_t from = a->apic_base & VLAPIC_BASE_MODE, to = val & VLAPIC_BASE_MODE;
	uint64_t bsp = a->apic_base & VLAPIC_BASE_BSP;
	bool ok = from == to || to == 0 || (from == 0 && to == VLAPIC_BASE_EN) ||
		  (from == VLAPIC_BASE_EN && to == VLAPIC_BASE_MODE);

	if ((val & VLAPIC_BASE_RESERVED) || to == VLAPIC_BASE_EXTD || !ok)
		return false;
	if (!to && from) {
		vlapic_power_up(a, a->id, false, a->tsc_khz);
		a->apic_base = bsp | (val & VLAPIC_BASE_ADDR);
		return true;
	}
	a->apic_base = bsp | to | (val & VLAPIC_BASE_ADDR);
	if (to == VLAPIC_BASE_MODE && from != to)   /* x2APIC logical ID (10.12.10.2) */
		a->ldr = ((a->id >> 4) << 16) | (1u << (a->id & 0xf));
	return true;
}
