/* Local APIC emulation (SDM vol. 3, chapter 10; see devices/lapic.h). */
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/smp.h>
#include <core/tsc.h>
#include <core/vm.h>
#include <devices/ioapic.h>
#include <devices/lapic.h>
#include <devices/vpic.h>
#include <lib/printk.h>
#include <x86/cpu.h>
#include <x86/processor.h>

/* Register offsets (SDM 3, table 10-1); x2APIC MSR = 0x800 + offset / 16. */
#define REG_ID       0x020
#define REG_VERSION  0x030
#define REG_TPR      0x080
#define REG_APR      0x090
#define REG_PPR      0x0a0
#define REG_EOI      0x0b0
#define REG_LDR      0x0d0
#define REG_DFR      0x0e0
#define REG_SVR      0x0f0
#define REG_ISR      0x100
#define REG_TMR      0x180
#define REG_IRR      0x200
#define REG_ESR      0x280
#define REG_ICR_LO   0x300
#define REG_ICR_HI   0x310
#define REG_LVT_TIMER 0x320
#define REG_LVT_LINT0 0x350
#define REG_LVT_ERROR 0x370
#define REG_TIMER_INIT 0x380
#define REG_TIMER_CUR  0x390
#define REG_TIMER_DIV  0x3e0
#define REG_SELF_IPI   0x3f0     /* x2APIC only */

#define NR_LVT         6
#define LVT_MASKED     (1u << 16)
#define LVT_TIMER_MODE(l) (((l) >> 17) & 3)
#define TIMER_ONESHOT  0
#define TIMER_PERIODIC 1
#define TIMER_TSC_DEADLINE 2
#define SVR_ENABLED    (1u << 8)
#define VERSION        0x00050014u   /* 6 LVT entries, integrated APIC */
#define APIC_BASE_BSP  (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN   (1ull << 11)
/* The emulated APIC timer counts at 100 MHz. */
#define TIMER_KHZ      100000ull
/* Shortest periodic timer period, as KVM's min_timer_period_us: a guest's
 * period of a few cycles would otherwise make every VM entry of every VM
 * exit at once (security review finding 6). */
#define TIMER_MIN_PERIOD_US 200

struct lapic {
	struct vcpu *v;
	uint64_t apic_base;
	uint32_t tpr, ldr, dfr, svr, esr, icr_lo, icr_hi;
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t lvt[NR_LVT];
	uint32_t timer_init, timer_div;
	uint64_t timer_start, timer_deadline;   /* TSC; deadline 0 = not armed */
	uint8_t ipi_modes_logged;               /* unemulated IPI modes, logged once */
};

static void lapic_power_up(struct lapic *a, struct vcpu *v);

static struct lapic *apic_of(const struct vcpu *v)
{
	return v->lapic;
}

static bool x2apic(const struct lapic *a)
{
	return a->apic_base & APIC_BASE_EXTD;
}

static bool test_bit(const uint32_t *map, unsigned bit)
{
	return map[bit / 32] & (1u << (bit % 32));
}

static void set_bit(uint32_t *map, unsigned bit, bool on)
{
	if (on)
		map[bit / 32] |= 1u << (bit % 32);
	else
		map[bit / 32] &= ~(1u << (bit % 32));
}

static int highest(const uint32_t *map)
{
	for (int w = 7; w >= 0; w--)
		if (map[w])
			return w * 32 + 31 - __builtin_clz(map[w]);
	return -1;
}

/* Processor priority (SDM 3, 10.8.3.1). */
static uint32_t ppr(const struct lapic *a)
{
	int isrv = highest(a->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (a->tpr & 0xf0) >= isr_class ? a->tpr & 0xff : isr_class;
}

static int irr_pending(const struct lapic *a)
{
	int irrv;

	if (!a || !(a->svr & SVR_ENABLED))
		return -1;
	irrv = highest(a->irr);
	return irrv >= 0 && ((uint32_t)irrv & 0xf0) > (ppr(a) & 0xf0) ? irrv : -1;
}

/* The 8259s' INT passes through as an external interrupt: its vector
 * comes from their INTA, not from IRR, and the processor priority does
 * not hold it back (SDM 3, 10.5.1, ExtINT). */
int lapic_pending(const struct vcpu *v)
{
	int irrv = irr_pending(apic_of(v)), ext = vpic_extint_vector(v);

	return ext > irrv ? ext : irrv;
}

void lapic_ack(struct vcpu *v, uint8_t vector)
{
	struct lapic *a = apic_of(v);

	if (vpic_extint_vector(v) == vector && irr_pending(a) != vector) {
		vpic_extint_ack(v);
		return;
	}
	set_bit(a->irr, vector, false);
	set_bit(a->isr, vector, true);
}

bool lapic_offer_withdrawn(const struct vcpu *v, uint8_t vector)
{
	const struct lapic *a = apic_of(v);

	return !(a && test_bit(a->irr, vector)) && vpic_extint_vector(v) != vector &&
	       !(v->pending_irqs[vector / 64] & (1ull << (vector % 64)));
}

void lapic_accept(struct vcpu *v, uint8_t vector, bool level)
{
	struct lapic *a = apic_of(v);

	if (!a || !(a->svr & SVR_ENABLED) || vector < 16)
		return;
	set_bit(a->irr, vector, true);
	set_bit(a->tmr, vector, level);
	if (v->state == VCPU_HALTED)
		v->state = VCPU_RUNNABLE;
}

static void apic_eoi(struct lapic *a)
{
	int vector = highest(a->isr);

	if (vector < 0)
		return;
	set_bit(a->isr, (unsigned)vector, false);
	if (test_bit(a->tmr, (unsigned)vector))
		ioapic_eoi(a->v->vm, (uint8_t)vector);
}

/* ---- timer (SDM 3, 10.5.4) ---- */

static uint64_t timer_period_tsc(const struct lapic *a)
{
	/* Divide configuration: bits 0, 1, 3 encode 2^(n+1), 0b111 = 1. */
	unsigned code = (a->timer_div & 3) | ((a->timer_div >> 1) & 4);
	uint64_t div = code == 7 ? 1 : 2ull << code;

	uint64_t period = (uint64_t)a->timer_init * div * tsc_khz() / TIMER_KHZ;
	uint64_t floor = tsc_khz() * TIMER_MIN_PERIOD_US / 1000;

	return LVT_TIMER_MODE(a->lvt[0]) == TIMER_PERIODIC && period && period < floor ?
	       floor : period;
}

static void timer_start(struct lapic *a)
{
	a->timer_start = rdtsc();
	a->timer_deadline = a->timer_init ? a->timer_start + timer_period_tsc(a) : 0;
}

static uint32_t timer_current(const struct lapic *a)
{
	uint64_t period = timer_period_tsc(a), now = rdtsc(), left;

	if (!a->timer_deadline || LVT_TIMER_MODE(a->lvt[0]) == TIMER_TSC_DEADLINE || !period)
		return 0;
	left = a->timer_deadline > now ? a->timer_deadline - now : 0;
	return (uint32_t)(left * a->timer_init / period);
}

/* The host timer is armed for this deadline only while it can change
 * something: not while the last expiry still waits in IRR (they coalesce,
 * as on hardware), so a guest's fast timer interrupts other VMs' slices
 * at most once per slice of its own. */
uint64_t lapic_timer_deadline(const struct vcpu *v)
{
	const struct lapic *a = apic_of(v);

	if (!a || (a->lvt[0] & LVT_MASKED) || test_bit(a->irr, (uint8_t)a->lvt[0]))
		return 0;
	return a->timer_deadline;
}

void lapic_timer_check(struct vcpu *v, uint64_t now)
{
	struct lapic *a = apic_of(v);
	uint32_t lvt;

	if (!a || !a->timer_deadline || now < a->timer_deadline)
		return;
	lvt = a->lvt[0];
	if (LVT_TIMER_MODE(lvt) == TIMER_PERIODIC && timer_period_tsc(a)) {
		/* Catch up without a burst after a pause. */
		a->timer_deadline += timer_period_tsc(a);
		if (a->timer_deadline <= now)
			a->timer_deadline = now + timer_period_tsc(a);
	} else {
		a->timer_deadline = 0;
	}
	if (!(lvt & LVT_MASKED))
		lapic_accept(v, (uint8_t)lvt, false);
}

/* ---- IPIs (SDM 3, 10.6) ---- */

#define DFR_FLAT       0xf0000000u   /* DFR[31:28]: 1111 flat, 0000 cluster */

static bool apic_matches(const struct lapic *a, uint32_t dest, bool logical)
{
	uint32_t ldr = a->ldr >> 24;

	if (!logical)
		return dest == (x2apic(a) ? 0xffffffffu : 0xffu) || dest == a->v->id;
	if (x2apic(a))   /* cluster in [31:16], member bitmap in [15:0] (10.12.10.2) */
		return (dest >> 16) == (a->ldr >> 16) && (dest & a->ldr & 0xffff);
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	/* Flat: bit i selects LDR bit 24+i. Cluster: [7:4] the cluster,
	 * [3:0] the members (SDM 3, 10.6.2.2). */
	if ((a->dfr & DFR_FLAT) == DFR_FLAT)
		return (dest & ldr) != 0;
	return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf);
}

void vm_apic_deliver(struct vm *vm, uint32_t dest, bool logical, uint8_t vector,
		     bool level_triggered)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->lapic && apic_matches(apic_of(vm->vcpus[i]), dest, logical))
			lapic_accept(vm->vcpus[i], vector, level_triggered);
}

/* ICR fields (SDM 3, 10.6.1, figure 10-12). */
#define ICR_VECTOR(icr)     ((uint8_t)(icr))
#define ICR_MODE(icr)       (((icr) >> 8) & 7)
#define ICR_LOGICAL         (1u << 11)
#define ICR_LEVEL_ASSERT    (1u << 14)
#define ICR_TRIGGER_LEVEL   (1u << 15)
#define ICR_SHORTHAND(icr)  (((icr) >> 18) & 3)
enum { MODE_FIXED, MODE_LOWEST, MODE_SMI, MODE_RESERVED, MODE_NMI, MODE_INIT, MODE_SIPI };
enum { DEST_FIELD, DEST_SELF, DEST_ALL, DEST_OTHERS };

static bool ipi_targets(const struct lapic *a, uint64_t icr, const struct vcpu *t)
{
	bool self = t == a->v;
	uint32_t dest = x2apic(a) ? (uint32_t)(icr >> 32) : (uint32_t)(icr >> 56);

	switch (ICR_SHORTHAND(icr)) {
	case DEST_SELF:   return self;
	case DEST_ALL:    return true;
	case DEST_OTHERS: return !self;
	default:          return t->lapic && apic_matches(apic_of(t), dest, icr & ICR_LOGICAL);
	}
}

/* Lowest priority: of the vCPUs addressed, the one with the lowest
 * processor priority (ties: the lowest APIC ID) takes it (10.6.2.4). */
static struct vcpu *lowest_priority_target(const struct lapic *a, uint64_t icr)
{
	struct vm *vm = a->v->vm;
	struct vcpu *best = NULL;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *t = vm->vcpus[i];

		if (ipi_targets(a, icr, t) && (!best || ppr(apic_of(t)) < ppr(apic_of(best))))
			best = t;
	}
	return best;
}

static void ipi_deliver(uint64_t icr, struct vcpu *t)
{
	switch (ICR_MODE(icr)) {
	case MODE_FIXED:
	case MODE_LOWEST:
		lapic_accept(t, ICR_VECTOR(icr), false);
		break;
	case MODE_NMI:
		vcpu_nmi(t);
		break;
	case MODE_INIT:
		/* The level-deassert form only synchronised arbitration IDs on
		 * old APICs; it does nothing (10.6.1). */
		if ((icr & ICR_LEVEL_ASSERT) || !(icr & ICR_TRIGGER_LEVEL))
			vcpu_init_signal(t);
		break;
	case MODE_SIPI:
		vcpu_sipi(t, ICR_VECTOR(icr));
		break;
	default:
		break;
	}
}

static void send_ipi(struct lapic *a, uint64_t icr)
{
	unsigned mode = ICR_MODE(icr);
	struct vm *vm = a->v->vm;

	/* The ICR reads back as written; delivery is instant, so the
	 * delivery-status bit (12) is always clear (SDM 3, 10.6.1). */
	a->icr_lo = (uint32_t)icr & ~(1u << 12);
	if (x2apic(a))
		a->icr_hi = (uint32_t)(icr >> 32);

	if (mode == MODE_SMI || mode == MODE_RESERVED) {
		/* Once per vCPU and mode: each line costs ~6 ms of the shared
		 * serial line (security review finding 10). */
		if (!(a->ipi_modes_logged & (1u << mode)))
			printk("kestrel: vm %u (%s): IPI delivery mode %u is not emulated "
			       "(logged once)\n", vm->id, vm->name, mode);
		a->ipi_modes_logged |= (uint8_t)(1u << mode);
		return;
	}
	if (mode == MODE_LOWEST && ICR_SHORTHAND(icr) == DEST_FIELD) {
		struct vcpu *t = lowest_priority_target(a, icr);

		if (t)
			ipi_deliver(icr, t);
		return;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (ipi_targets(a, icr, vm->vcpus[i]))
			ipi_deliver(icr, vm->vcpus[i]);
}

/* ---- CR8 (SDM 3, 10.8.6.1): TPR[7:4] ---- */

uint8_t lapic_read_cr8(const struct vcpu *v)
{
	return (uint8_t)(apic_of(v)->tpr >> 4);
}

void lapic_write_cr8(struct vcpu *v, uint8_t cr8)
{
	apic_of(v)->tpr = (uint32_t)(cr8 & 0xf) << 4;
}

/* ---- register file ---- */

static uint32_t reg_read(const struct lapic *a, unsigned reg)
{
	if (reg >= REG_ISR && reg < REG_ESR)
		return (reg < REG_TMR ? a->isr : reg < REG_IRR ? a->tmr : a->irr)[(reg >> 4) & 7];
	if (reg >= REG_LVT_TIMER && reg <= REG_LVT_ERROR)
		return a->lvt[(reg - REG_LVT_TIMER) >> 4];
	switch (reg) {
	case REG_ID:         return x2apic(a) ? a->v->id : a->v->id << 24;
	case REG_VERSION:    return VERSION;
	case REG_TPR:        return a->tpr;
	case REG_APR:        return 0;
	case REG_PPR:        return ppr(a);
	case REG_LDR:        return a->ldr;
	case REG_DFR:        return a->dfr;
	case REG_SVR:        return a->svr;
	case REG_ESR:        return a->esr;
	case REG_ICR_LO:     return a->icr_lo;
	case REG_ICR_HI:     return a->icr_hi;
	case REG_TIMER_INIT: return a->timer_init;
	case REG_TIMER_CUR:  return timer_current(a);
	case REG_TIMER_DIV:  return a->timer_div;
	default:             return 0;
	}
}

static void lvt_write(struct lapic *a, unsigned index, uint32_t val)
{
	uint32_t old_mode = LVT_TIMER_MODE(a->lvt[0]);

	if (!(a->svr & SVR_ENABLED))
		val |= LVT_MASKED;   /* stays masked while the APIC is disabled */
	a->lvt[index] = val;
	/* A mode change disarms the timer (SDM 3, 10.5.4.1). */
	if (index == 0 && LVT_TIMER_MODE(val) != old_mode)
		a->timer_deadline = 0;
}

static void svr_write(struct lapic *a, uint32_t val)
{
	a->svr = val & 0x11ff;
	if (!(val & SVR_ENABLED))
		for (unsigned i = 0; i < NR_LVT; i++)
			a->lvt[i] |= LVT_MASKED;
}

static void reg_write(struct lapic *a, unsigned reg, uint32_t val)
{
	if (reg >= REG_LVT_TIMER && reg <= REG_LVT_ERROR) {
		lvt_write(a, (reg - REG_LVT_TIMER) >> 4, val);
		return;
	}
	switch (reg) {
	case REG_TPR:   a->tpr = val & 0xff; break;
	case REG_EOI:   apic_eoi(a); break;
	case REG_LDR:   if (!x2apic(a)) a->ldr = val & 0xff000000; break;
	case REG_DFR:   if (!x2apic(a)) a->dfr = val | 0x0fffffff; break;
	case REG_SVR:   svr_write(a, val); break;
	case REG_ESR:   a->esr = 0; break;
	case REG_ICR_HI: a->icr_hi = val; break;
	case REG_ICR_LO: send_ipi(a, ((uint64_t)a->icr_hi << 32) | val); break;
	case REG_TIMER_INIT:
		if (LVT_TIMER_MODE(a->lvt[0]) != TIMER_TSC_DEADLINE) {
			a->timer_init = val;
			timer_start(a);
		}
		break;
	case REG_TIMER_DIV: a->timer_div = val & 0xb; break;
	case REG_SELF_IPI:  if (x2apic(a)) lapic_accept(a->v, (uint8_t)val, false); break;
	default: break;      /* read-only or reserved: ignored */
	}
}

static bool hw_enabled(const struct lapic *a)
{
	return a->apic_base & APIC_BASE_EN;
}

bool lapic_hw_enabled(const struct vcpu *v)
{
	return hw_enabled(apic_of(v));
}

bool lapic_get_state(const struct vcpu *v, struct lapic_state *st)
{
	const struct lapic *a = apic_of(v);

	if (!a)
		return false;
	*st = (struct lapic_state){
		.id = v->id, .enabled = hw_enabled(a), .x2apic = x2apic(a),
		.sw_enabled = a->svr & SVR_ENABLED, .tpr = a->tpr, .ppr = ppr(a), .svr = a->svr,
		.isr_highest = highest(a->isr), .irr_highest = highest(a->irr),
		.lvt_timer = a->lvt[0], .timer_mode = LVT_TIMER_MODE(a->lvt[0]),
		.timer_init = a->timer_init, .timer_current = timer_current(a),
		.timer_div = a->timer_div, .timer_deadline = a->timer_deadline,
	};
	return true;
}

/* xAPIC MMIO: 32-bit accesses to 16-byte aligned registers. With the APIC
 * disabled in IA32_APIC_BASE or in x2APIC mode the page is not there: it
 * reads all-ones and drops writes, like any unbacked address (10.4.3,
 * 10.12.1.2). */
static enum io_result mmio_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct lapic *a = current_vcpu ? apic_of(current_vcpu) : NULL;

	(void)opaque;
	if (!a || !hw_enabled(a) || x2apic(a))
		return IO_UNHANDLED;
	*val = size == 4 && !(off & 0xf) ? reg_read(a, (unsigned)off) : 0;
	return IO_HANDLED;
}

static enum io_result mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct lapic *a = current_vcpu ? apic_of(current_vcpu) : NULL;

	(void)opaque;
	if (!a || !hw_enabled(a) || x2apic(a))
		return IO_UNHANDLED;
	if (size == 4 && !(off & 0xf))
		reg_write(a, (unsigned)off, (uint32_t)val);
	return IO_HANDLED;
}

static const struct io_ops lapic_mmio_ops = { .read = mmio_read, .write = mmio_write };

int lapic_mmio_register(struct vm *vm)
{
	return iobus_register(&vm->mmio.bus, LAPIC_BASE, PAGE_SIZE, &lapic_mmio_ops, vm, "lapic");
}

#define APIC_BASE_MODE (APIC_BASE_EN | APIC_BASE_EXTD)
#define APIC_BASE_RESERVED 0x2ffull     /* bits 0-7 and 9 */

/* The mode changes IA32_APIC_BASE allows (SDM 3, 10.12.5, figure 10-27):
 * disabled -> xAPIC -> x2APIC, and either back to disabled; EXTD without
 * EN is invalid. Anything else is #GP; so are reserved bits. The base
 * address stays at 0xfee00000 (relocation is not emulated). Disabling the
 * APIC puts it back to its power-up state (10.4.3). */
static bool apic_base_write(struct lapic *a, uint64_t val)
{
	uint64_t from = a->apic_base & APIC_BASE_MODE, to = val & APIC_BASE_MODE;
	bool ok = from == to || to == 0 || (from == 0 && to == APIC_BASE_EN) ||
		  (from == APIC_BASE_EN && to == APIC_BASE_MODE);

	if ((val & APIC_BASE_RESERVED) || to == APIC_BASE_EXTD || !ok)
		return false;
	if (!to && from) {
		uint64_t bsp = a->apic_base & APIC_BASE_BSP;

		lapic_power_up(a, a->v);
		a->apic_base = bsp | LAPIC_BASE;
		return true;
	}
	a->apic_base = (a->apic_base & APIC_BASE_BSP) | to | LAPIC_BASE;
	if (to == APIC_BASE_MODE && from != to)   /* x2APIC logical ID (10.12.10.2) */
		a->ldr = ((a->v->id >> 4) << 16) | (1u << (a->v->id & 0xf));
	return true;
}

/* x2APIC MSR access (SDM 3, 10.12.1.2 and table 10-6): which registers
 * read and write; the rest (APR, DFR, ICR's high half, CMCI without
 * MCG_CMCI_P, reserved offsets) raise #GP either way. */
#define X2_R 1u
#define X2_W 2u
static unsigned x2apic_access(unsigned reg)
{
	if ((reg >= REG_ISR && reg < REG_ESR) || reg == REG_ID || reg == REG_VERSION ||
	    reg == REG_PPR || reg == REG_LDR || reg == REG_TIMER_CUR)
		return X2_R;
	if ((reg >= REG_LVT_TIMER && reg <= REG_LVT_ERROR) || reg == REG_TPR || reg == REG_SVR ||
	    reg == REG_ESR || reg == REG_ICR_LO || reg == REG_TIMER_INIT || reg == REG_TIMER_DIV)
		return X2_R | X2_W;
	if (reg == REG_EOI || reg == REG_SELF_IPI)
		return X2_W;
	return 0;
}

/* A write the register refuses with #GP: bits 63:32 outside the ICR, a
 * non-zero EOI, SELF IPI bits 31:8 (10.12.1.2, 10.12.11). */
static bool x2apic_write_ok(unsigned reg, uint64_t val)
{
	if (!(x2apic_access(reg) & X2_W) || (reg != REG_ICR_LO && (val >> 32)))
		return false;
	return !(reg == REG_EOI && val) && !(reg == REG_SELF_IPI && (val >> 8));
}

bool lapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool *ok)
{
	struct lapic *a = apic_of(v);
	unsigned reg = (msr - MSR_X2APIC_FIRST) << 4;

	*ok = true;
	if (msr == MSR_IA32_APIC_BASE)
		*val = a->apic_base;
	else if (msr == MSR_TSC_DEADLINE)
		*val = LVT_TIMER_MODE(a->lvt[0]) == TIMER_TSC_DEADLINE ?
		       tsc_host_to_guest(v->vm, a->timer_deadline) : 0;
	else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) {
		*ok = x2apic(a) && (x2apic_access(reg) & X2_R);
		if (*ok)
			*val = reg == REG_ICR_LO ? (uint64_t)a->icr_hi << 32 | a->icr_lo :
			       reg_read(a, reg);
	}
	else
		return false;
	return true;
}

bool lapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool *ok)
{
	struct lapic *a = apic_of(v);
	unsigned reg = (msr - MSR_X2APIC_FIRST) << 4;

	*ok = true;
	if (msr == MSR_IA32_APIC_BASE) {
		*ok = apic_base_write(a, val);
	} else if (msr == MSR_TSC_DEADLINE) {
		if (LVT_TIMER_MODE(a->lvt[0]) == TIMER_TSC_DEADLINE)
			a->timer_deadline = tsc_guest_to_host(v->vm, val);
	} else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) {
		if (!(*ok = x2apic(a) && x2apic_write_ok(reg, val)))
			return true;
		if (reg == REG_ICR_LO)
			send_ipi(a, val);
		else
			reg_write(a, reg, (uint32_t)val);
	} else {
		return false;
	}
	return true;
}

/* Power-up state (SDM 3, 10.4.7.1). */
static void lapic_power_up(struct lapic *a, struct vcpu *v)
{
	*a = (struct lapic){ 0 };
	a->v = v;
	a->apic_base = LAPIC_BASE | APIC_BASE_EN | (v->id == 0 ? APIC_BASE_BSP : 0);
	a->dfr = 0xffffffff;
	a->svr = 0xff;
	for (unsigned i = 0; i < NR_LVT; i++)
		a->lvt[i] = LVT_MASKED;
}

int lapic_create(struct vcpu *v)
{
	struct lapic *a = page_alloc_ptr(1);

	_Static_assert(sizeof(*a) <= PAGE_SIZE, "one page");
	if (!a)
		return -1;
	lapic_power_up(a, v);
	v->lapic = a;
	return 0;
}

void lapic_reset(struct vcpu *v)
{
	lapic_power_up(v->lapic, v);
}

/* INIT resets the APIC as power-up does, but the APIC base MSR (enable
 * and x2APIC mode) and the IDs stay (SDM 3, 10.4.7.3 and 10.12.5.1). */
void lapic_init_signal(struct vcpu *v)
{
	struct lapic *a = apic_of(v);
	uint64_t base = a->apic_base;
	uint32_t ldr = a->ldr;

	lapic_power_up(a, v);
	a->apic_base = base;
	if (x2apic(a))
		a->ldr = ldr;
}
