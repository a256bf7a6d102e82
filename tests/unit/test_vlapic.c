/* The local APIC model: register masks and read-only registers, software
 * enable, priorities, IRR/ISR/TMR and EOI, the timer in its three modes
 * against a fake clock, destinations, IPIs, IA32_APIC_BASE and x2APIC. */
// UNIT-SOURCES: hypervisor/devices/vlapic_core.c
#include <string.h>
#include <devices/vlapic_core.h>
#include "unit.h"

/* 1 GHz TSC: one count of the 100 MHz timer is 10 TSC ticks at divide 1. */
#define TSC_KHZ   1000000ull
#define TICKS_PER_COUNT 10ull
#define T0        1000000ull      /* the fake clock's start */
#define DIV_1     0xb             /* divide configuration 1011: by 1 */

static struct vlapic_action act;

static void power_up(struct vlapic *a, uint32_t id)
{
	vlapic_power_up(a, id, id == 0, TSC_KHZ);
}

static uint32_t rd(const struct vlapic *a, unsigned reg)
{
	return vlapic_reg_read(a, reg, T0);
}

static void wr(struct vlapic *a, unsigned reg, uint32_t val)
{
	vlapic_reg_write(a, reg, val, T0, &act);
}

static void enable(struct vlapic *a)
{
	wr(a, VLAPIC_REG_SVR, VLAPIC_SVR_ENABLED | 0xff);
}

/* Register offset of the 32-bit word holding `vector` in ISR/TMR/IRR. */
static unsigned word_reg(unsigned base, unsigned vector)
{
	return base + (vector / 32) * 16;
}

static bool reg_bit(const struct vlapic *a, unsigned base, unsigned vector)
{
	return rd(a, word_reg(base, vector)) & (1u << (vector % 32));
}

static void test_power_up(void)
{
	struct vlapic a, b;

	power_up(&a, 0);
	power_up(&b, 5);
	CHECK_EQ(a.apic_base, LAPIC_BASE | VLAPIC_BASE_EN | VLAPIC_BASE_BSP);
	CHECK_EQ(b.apic_base, LAPIC_BASE | VLAPIC_BASE_EN);
	CHECK_EQ(rd(&b, VLAPIC_REG_VERSION), 0x00050014);
	CHECK_EQ(rd(&b, VLAPIC_REG_VERSION) >> 16 & 0xff, VLAPIC_NR_LVT - 1);  /* max LVT entry */
	CHECK_EQ(rd(&b, VLAPIC_REG_ID), 5u << 24);
	CHECK_EQ(rd(&b, VLAPIC_REG_SVR), 0xff);
	CHECK_EQ(rd(&b, VLAPIC_REG_DFR), 0xffffffff);
	for (unsigned r = VLAPIC_REG_LVT_TIMER; r <= VLAPIC_REG_LVT_ERROR; r += 16)
		CHECK_EQ(rd(&b, r), VLAPIC_LVT_MASKED);
	CHECK_EQ(rd(&b, VLAPIC_REG_TPR), 0);
	CHECK_EQ(rd(&b, VLAPIC_REG_APR), 0);
	CHECK_EQ(rd(&b, 0x3c0), 0);                       /* reserved */
}

static void test_register_masks(void)
{
	struct vlapic a;

	power_up(&a, 2);
	enable(&a);
	wr(&a, VLAPIC_REG_TPR, 0x1ff);
	CHECK_EQ(rd(&a, VLAPIC_REG_TPR), 0xff);
	wr(&a, VLAPIC_REG_LDR, 0x12345678);
	CHECK_EQ(rd(&a, VLAPIC_REG_LDR), 0x12000000);
	wr(&a, VLAPIC_REG_DFR, 0);
	CHECK_EQ(rd(&a, VLAPIC_REG_DFR), 0x0fffffff);
	wr(&a, VLAPIC_REG_SVR, 0xffffffff);
	CHECK_EQ(rd(&a, VLAPIC_REG_SVR), 0x11ff);
	wr(&a, VLAPIC_REG_TIMER_DIV, 0xff);
	CHECK_EQ(rd(&a, VLAPIC_REG_TIMER_DIV), 0xb);
	a.esr = 0x40;
	CHECK_EQ(rd(&a, VLAPIC_REG_ESR), 0x40);
	wr(&a, VLAPIC_REG_ESR, 0x1234);                   /* a write clears it */
	CHECK_EQ(rd(&a, VLAPIC_REG_ESR), 0);
	wr(&a, VLAPIC_REG_LVT_LINT0, 0x700);
	CHECK_EQ(rd(&a, VLAPIC_REG_LVT_LINT0), 0x700);
	CHECK_EQ(a.lvt[3], 0x700);                        /* LINT0 is the fourth entry */

	/* Read-only registers ignore writes. */
	wr(&a, VLAPIC_REG_ID, 0x07000000);
	CHECK_EQ(rd(&a, VLAPIC_REG_ID), 2u << 24);
	wr(&a, VLAPIC_REG_VERSION, 0);
	CHECK_EQ(rd(&a, VLAPIC_REG_VERSION), VLAPIC_VERSION);
	wr(&a, VLAPIC_REG_TPR, 0);
	wr(&a, VLAPIC_REG_PPR, 0xf0);
	CHECK_EQ(rd(&a, VLAPIC_REG_PPR), 0);
	wr(&a, VLAPIC_REG_IRR + 0x10, 0xffffffff);
	wr(&a, VLAPIC_REG_ISR + 0x10, 0xffffffff);
	wr(&a, VLAPIC_REG_TMR + 0x10, 0xffffffff);
	CHECK_EQ(rd(&a, VLAPIC_REG_IRR + 0x10), 0);
	CHECK_EQ(rd(&a, VLAPIC_REG_ISR + 0x10), 0);
	CHECK_EQ(rd(&a, VLAPIC_REG_TMR + 0x10), 0);
	wr(&a, VLAPIC_REG_TIMER_CUR, 1234);
	CHECK_EQ(rd(&a, VLAPIC_REG_TIMER_CUR), 0);
	wr(&a, VLAPIC_REG_SELF_IPI, 0x40);                /* x2APIC only */
	CHECK(!vlapic_test(a.irr, 0x40));

	/* ICR: reads back without the delivery-status bit; the high half first. */
	wr(&a, VLAPIC_REG_ICR_HI, 0x03000000);
	CHECK_EQ(act.kind, VLAPIC_ACT_NONE);
	wr(&a, VLAPIC_REG_ICR_LO, 0x1000 | 0x4031);
	CHECK_EQ(act.kind, VLAPIC_ACT_IPI);
	CHECK_EQ(act.icr, 0x0300000000005031ull);
	CHECK_EQ(rd(&a, VLAPIC_REG_ICR_LO), 0x4031);
	CHECK_EQ(rd(&a, VLAPIC_REG_ICR_HI), 0x03000000);
}

static void test_mmio(void)
{
	struct vlapic a;
	uint64_t v = 0;

	power_up(&a, 1);
	CHECK_EQ(vlapic_mmio_read(&a, LAPIC_BASE + VLAPIC_REG_VERSION, 4, &v, T0), IO_HANDLED);
	CHECK_EQ(v, VLAPIC_VERSION);
	v = 1;
	CHECK_EQ(vlapic_mmio_read(&a, LAPIC_BASE + VLAPIC_REG_VERSION + 4, 4, &v, T0), IO_HANDLED);
	CHECK_EQ(v, 0);                                   /* not 16-byte aligned */
	v = 1;
	CHECK_EQ(vlapic_mmio_read(&a, LAPIC_BASE + VLAPIC_REG_VERSION, 2, &v, T0), IO_HANDLED);
	CHECK_EQ(v, 0);                                   /* not 4 bytes */
	vlapic_mmio_write(&a, LAPIC_BASE + VLAPIC_REG_TPR, 1, 0x20, T0, &act);
	CHECK_EQ(a.tpr, 0);
	vlapic_mmio_write(&a, LAPIC_BASE + VLAPIC_REG_TPR + 4, 4, 0x20, T0, &act);
	CHECK_EQ(a.tpr, 0);
	vlapic_mmio_write(&a, LAPIC_BASE + VLAPIC_REG_TPR, 4, 0x20, T0, &act);
	CHECK_EQ(a.tpr, 0x20);

	/* Hardware disabled or in x2APIC mode: the page is not there. */
	CHECK(vlapic_base_write(&a, LAPIC_BASE | VLAPIC_BASE_EN | VLAPIC_BASE_EXTD));
	CHECK_EQ(vlapic_mmio_read(&a, LAPIC_BASE + VLAPIC_REG_VERSION, 4, &v, T0), IO_UNHANDLED);
	CHECK_EQ(vlapic_mmio_write(&a, LAPIC_BASE + VLAPIC_REG_TPR, 4, 0x30, T0, &act), IO_UNHANDLED);
	CHECK_EQ(a.tpr, 0x20);
	CHECK(vlapic_base_write(&a, LAPIC_BASE));
	CHECK_EQ(vlapic_mmio_read(&a, LAPIC_BASE + VLAPIC_REG_VERSION, 4, &v, T0), IO_UNHANDLED);

	/* The page moves with IA32_APIC_BASE (10.4.5), as kvm-unit-tests'
	 * apic test moves it to 0xfed40000; INIT keeps it, power-up puts it
	 * back. */
	CHECK(vlapic_base_write(&a, 0xfed40000 | VLAPIC_BASE_EN));
	CHECK_EQ(vlapic_mmio_read(&a, LAPIC_BASE + VLAPIC_REG_VERSION, 4, &v, T0), IO_UNHANDLED);
	CHECK_EQ(vlapic_mmio_read(&a, 0xfed40000 + VLAPIC_REG_VERSION, 4, &v, T0), IO_HANDLED);
	CHECK_EQ(v, VLAPIC_VERSION);
	CHECK_EQ(vlapic_mmio_read(&a, 0xfed41000 + VLAPIC_REG_VERSION, 4, &v, T0), IO_UNHANDLED);
	CHECK_EQ(vlapic_mmio_write(&a, 0xfed40000 + VLAPIC_REG_TPR, 4, 0x40, T0, &act), IO_HANDLED);
	CHECK_EQ(a.tpr, 0x40);
	vlapic_init_signal(&a);
	CHECK_EQ(a.apic_base & VLAPIC_BASE_ADDR, 0xfed40000);
	CHECK(vlapic_base_write(&a, 0x12345000));               /* disabled, moved */
	CHECK_EQ(a.apic_base & VLAPIC_BASE_ADDR, 0x12345000);
	CHECK_EQ(vlapic_mmio_read(&a, 0x12345000 + VLAPIC_REG_VERSION, 4, &v, T0), IO_UNHANDLED);
	power_up(&a, 1);
	CHECK_EQ(vlapic_mmio_read(&a, LAPIC_BASE + VLAPIC_REG_VERSION, 4, &v, T0), IO_HANDLED);
}

static void test_software_enable(void)
{
	struct vlapic a;

	power_up(&a, 1);
	CHECK(!vlapic_accept(&a, 0x40, false));           /* software disabled at power-up */
	CHECK(!vlapic_test(a.irr, 0x40));
	wr(&a, VLAPIC_REG_LVT_TIMER, 0x40);               /* stays masked */
	CHECK_EQ(rd(&a, VLAPIC_REG_LVT_TIMER), VLAPIC_LVT_MASKED | 0x40);
	enable(&a);
	CHECK(vlapic_accept(&a, 0x40, false));
	CHECK_EQ(vlapic_pending(&a), 0x40);
	wr(&a, VLAPIC_REG_LVT_TIMER, 0x41);
	wr(&a, VLAPIC_REG_LVT_ERROR, 0x42);
	CHECK_EQ(rd(&a, VLAPIC_REG_LVT_TIMER), 0x41);
	wr(&a, VLAPIC_REG_SVR, 0xff);                     /* disable: every LVT masked */
	CHECK_EQ(rd(&a, VLAPIC_REG_LVT_TIMER), VLAPIC_LVT_MASKED | 0x41);
	CHECK_EQ(rd(&a, VLAPIC_REG_LVT_ERROR), VLAPIC_LVT_MASKED | 0x42);
	CHECK_EQ(vlapic_pending(&a), -1);                 /* IRR kept, nothing delivered */
	CHECK(vlapic_test(a.irr, 0x40));
	CHECK(!vlapic_accept(&a, 0x50, false));
	CHECK_EQ(vlapic_pending(NULL), -1);

	enable(&a);
	CHECK(!vlapic_accept(&a, 15, false));             /* vectors 0-15 are illegal */
	CHECK(vlapic_accept(&a, 16, false));
	vlapic_ack(&a, 0x40);
	vlapic_eoi(&a);
	CHECK_EQ(vlapic_pending(&a), 16);                 /* the lowest legal vector */
}

static void test_priority(void)
{
	struct vlapic a;

	power_up(&a, 0);
	enable(&a);
	wr(&a, VLAPIC_REG_TPR, 0x30);
	CHECK_EQ(rd(&a, VLAPIC_REG_PPR), 0x30);
	vlapic_accept(&a, 0x35, false);
	CHECK_EQ(vlapic_pending(&a), -1);                 /* same class as TPR: held */
	vlapic_accept(&a, 0x41, false);
	CHECK_EQ(vlapic_pending(&a), 0x41);
	vlapic_ack(&a, 0x41);
	CHECK_EQ(rd(&a, VLAPIC_REG_PPR), 0x40);           /* ISR class above TPR */
	vlapic_accept(&a, 0x4f, false);
	CHECK_EQ(vlapic_pending(&a), -1);                 /* same class as ISR: held */
	vlapic_accept(&a, 0x52, false);
	CHECK_EQ(vlapic_pending(&a), 0x52);
	wr(&a, VLAPIC_REG_TPR, 0x5f);
	CHECK_EQ(rd(&a, VLAPIC_REG_PPR), 0x5f);           /* TPR whole when its class wins */
	CHECK_EQ(vlapic_pending(&a), -1);
	wr(&a, VLAPIC_REG_TPR, 0x4a);
	CHECK_EQ(rd(&a, VLAPIC_REG_PPR), 0x4a);           /* equal class: TPR */
	CHECK_EQ(vlapic_pending(&a), 0x52);

	/* CR8 is TPR[7:4]. */
	vlapic_cr8_write(&a, 0x16);
	CHECK_EQ(a.tpr, 0x60);
	CHECK_EQ(vlapic_cr8_read(&a), 6);
	CHECK_EQ(vlapic_pending(&a), -1);
	wr(&a, VLAPIC_REG_TPR, 0x7c);
	CHECK_EQ(vlapic_cr8_read(&a), 7);
}

static void test_eoi_order(void)
{
	struct vlapic a;

	power_up(&a, 0);
	enable(&a);
	CHECK_EQ(vlapic_eoi(&a), -1);                     /* nothing in service */
	vlapic_accept(&a, 0x30, false);
	vlapic_ack(&a, 0x30);
	CHECK(!reg_bit(&a, VLAPIC_REG_IRR, 0x30));
	CHECK(reg_bit(&a, VLAPIC_REG_ISR, 0x30));
	vlapic_accept(&a, 0x50, false);                   /* nests: higher class */
	CHECK_EQ(vlapic_pending(&a), 0x50);
	vlapic_ack(&a, 0x50);
	vlapic_accept(&a, 0x31, false);
	CHECK_EQ(vlapic_pending(&a), -1);                 /* below the 0x50 in service */
	wr(&a, VLAPIC_REG_EOI, 0);                        /* retires the highest: 0x50 */
	CHECK_EQ(act.kind, VLAPIC_ACT_EOI);               /* edge: only the scheduler cares */
	CHECK_EQ(act.vector, 0x50);
	CHECK(!reg_bit(&a, VLAPIC_REG_ISR, 0x50));
	CHECK(reg_bit(&a, VLAPIC_REG_ISR, 0x30));
	CHECK_EQ(vlapic_pending(&a), -1);                 /* 0x31 still below 0x30's class */
	wr(&a, VLAPIC_REG_EOI, 0);
	CHECK(!reg_bit(&a, VLAPIC_REG_ISR, 0x30));
	CHECK_EQ(vlapic_pending(&a), 0x31);
	CHECK_EQ(vlapic_highest(a.isr), -1);
}

static void test_level_eoi(void)
{
	struct vlapic a;

	power_up(&a, 0);
	enable(&a);
	vlapic_accept(&a, 0x61, true);
	CHECK(reg_bit(&a, VLAPIC_REG_TMR, 0x61));
	vlapic_ack(&a, 0x61);
	vlapic_accept(&a, 0x70, false);
	vlapic_ack(&a, 0x70);
	wr(&a, VLAPIC_REG_EOI, 0);                        /* 0x70, edge */
	CHECK_EQ(act.kind, VLAPIC_ACT_EOI);
	CHECK_EQ(act.vector, 0x70);
	wr(&a, VLAPIC_REG_EOI, 0);                        /* 0x61, level */
	CHECK_EQ(act.kind, VLAPIC_ACT_EOI_LEVEL);
	CHECK_EQ(act.vector, 0x61);
	wr(&a, VLAPIC_REG_EOI, 0);                        /* empty */
	CHECK_EQ(act.kind, VLAPIC_ACT_NONE);
	/* The same vector arriving edge-triggered clears TMR. */
	vlapic_accept(&a, 0x61, false);
	CHECK(!reg_bit(&a, VLAPIC_REG_TMR, 0x61));
	vlapic_ack(&a, 0x61);
	CHECK_EQ(vlapic_eoi(&a), -1);
}

/* LVT timer entry: vector, mode, unmasked. */
static void timer_setup(struct vlapic *a, unsigned mode, uint8_t vector, uint32_t div)
{
	power_up(a, 0);
	enable(a);
	wr(a, VLAPIC_REG_TIMER_DIV, div);
	wr(a, VLAPIC_REG_LVT_TIMER, mode << 17 | vector);
}

static void test_oneshot(void)
{
	struct vlapic a;
	uint64_t period = 1000 * TICKS_PER_COUNT;

	timer_setup(&a, VLAPIC_TIMER_ONESHOT, 0x40, DIV_1);
	CHECK_EQ(vlapic_timer_deadline(&a), 0);           /* not armed */
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 1000, T0, &act);
	CHECK_EQ(rd(&a, VLAPIC_REG_TIMER_INIT), 1000);
	CHECK_EQ(vlapic_timer_deadline(&a), T0 + period);
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0), 1000);
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + 2500), 750);
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + period - 10), 1);
	CHECK(!vlapic_timer_check(&a, T0 + period - 1));
	CHECK(!vlapic_test(a.irr, 0x40));
	CHECK(vlapic_timer_check(&a, T0 + period));
	CHECK(vlapic_test(a.irr, 0x40));
	CHECK(!vlapic_test(a.tmr, 0x40));                 /* the timer is edge-triggered */
	CHECK_EQ(a.timer_deadline, 0);                    /* one-shot: disarmed */
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + period + 5), 0);
	CHECK(!vlapic_timer_check(&a, T0 + 2 * period));

	/* Rearmed: the host timer waits while the last expiry sits in IRR. */
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 1000, T0 + period, &act);
	CHECK_EQ(a.timer_deadline, T0 + 2 * period);
	CHECK_EQ(vlapic_timer_deadline(&a), 0);
	vlapic_ack(&a, 0x40);
	CHECK_EQ(vlapic_timer_deadline(&a), T0 + 2 * period);
	/* Initial count 0 stops the timer. */
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 0, T0 + period, &act);
	CHECK_EQ(vlapic_timer_deadline(&a), 0);
	CHECK(!vlapic_timer_check(&a, T0 + 3 * period));
}

static void test_periodic(void)
{
	struct vlapic a;
	uint64_t period = 50000 * TICKS_PER_COUNT, now;   /* above the floor */

	timer_setup(&a, VLAPIC_TIMER_PERIODIC, 0x41, DIV_1);
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 50000, T0, &act);
	CHECK(vlapic_timer_check(&a, T0 + period));
	CHECK_EQ(a.timer_deadline, T0 + 2 * period);      /* reloaded from the old deadline */
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + period + 10000), 49000);
	vlapic_ack(&a, 0x41);
	/* Checked a little late: the next deadline keeps the rhythm. */
	CHECK(vlapic_timer_check(&a, T0 + 2 * period + 300));
	CHECK_EQ(a.timer_deadline, T0 + 3 * period);
	vlapic_ack(&a, 0x41);
	/* After a pause of many periods: one interrupt, then a full period. */
	now = T0 + 10 * period + 7;
	CHECK(vlapic_timer_check(&a, now));
	CHECK_EQ(a.timer_deadline, now + period);
	vlapic_ack(&a, 0x41);
	CHECK(!vlapic_timer_check(&a, now + 1));
	CHECK(!vlapic_timer_check(&a, now + period - 1));
	CHECK(!vlapic_test(a.irr, 0x41));
	CHECK(vlapic_timer_check(&a, now + period));

	/* Tiny periods are raised to the floor (200 us of TSC). */
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 1, T0, &act);
	CHECK_EQ(a.timer_deadline, T0 + TSC_KHZ * VLAPIC_TIMER_MIN_PERIOD_US / 1000);
	/* ...but a one-shot of the same count is not. */
	wr(&a, VLAPIC_REG_LVT_TIMER, 0x41);
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 1, T0, &act);
	CHECK_EQ(a.timer_deadline, T0 + TICKS_PER_COUNT);
}

static void test_masked_lvt(void)
{
	struct vlapic a;
	uint64_t period = 100 * TICKS_PER_COUNT;

	timer_setup(&a, VLAPIC_TIMER_ONESHOT, 0x42, DIV_1);
	wr(&a, VLAPIC_REG_LVT_TIMER, VLAPIC_LVT_MASKED | 0x42);
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 100, T0, &act);
	CHECK_EQ(vlapic_timer_deadline(&a), 0);           /* no host timer for it */
	CHECK_EQ(a.timer_deadline, T0 + period);          /* but it counts */
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + period / 2), 50);
	CHECK(!vlapic_timer_check(&a, T0 + period));
	CHECK(!vlapic_test(a.irr, 0x42));
	CHECK_EQ(a.timer_deadline, 0);                    /* expired all the same */

	/* Periodic and masked: keeps its rhythm, delivers nothing. */
	wr(&a, VLAPIC_REG_LVT_TIMER, VLAPIC_LVT_MASKED | 1u << 17 | 0x42);
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 100000, T0, &act);
	CHECK(!vlapic_timer_check(&a, T0 + 1000000));
	CHECK_EQ(a.timer_deadline, T0 + 2000000);
	CHECK_EQ(vlapic_highest(a.irr), -1);
}

static void test_divide(void)
{
	static const struct { uint32_t code, div; } divs[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	struct vlapic a;

	for (unsigned i = 0; i < sizeof(divs) / sizeof(divs[0]); i++) {
		timer_setup(&a, VLAPIC_TIMER_ONESHOT, 0x43, divs[i].code);
		vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 1000, T0, &act);
		CHECK_MSG(a.timer_deadline == T0 + 1000 * divs[i].div * TICKS_PER_COUNT,
			  "divide code %#x", divs[i].code);
		/* Halfway through, half the count is left, whatever the divider. */
		CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR,
					 T0 + 500 * divs[i].div * TICKS_PER_COUNT), 500);
	}
	/* Bit 2 is not part of the code: 0x4 reads back as 0 and divides by 2. */
	timer_setup(&a, VLAPIC_TIMER_ONESHOT, 0x43, 0x4);
	CHECK_EQ(rd(&a, VLAPIC_REG_TIMER_DIV), 0);
}

/* A TSC slower than the 100 MHz bus (Bochs's runs at 50 MHz): the timer
 * counts at the TSC's rate, so a count is never shorter than a TSC tick,
 * as on every real CPU. */
static void test_slow_tsc(void)
{
	struct vlapic a;

	vlapic_power_up(&a, 0, true, 50000);
	enable(&a);
	wr(&a, VLAPIC_REG_TIMER_DIV, DIV_1);
	wr(&a, VLAPIC_REG_LVT_TIMER, VLAPIC_TIMER_ONESHOT << 17 | 0x44);
	wr(&a, VLAPIC_REG_TIMER_INIT, 0x10000);
	CHECK_EQ(a.timer_deadline, T0 + 0x10000);
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + 0x8000), 0x8000);
	/* A TSC rate of 0 (not measured) keeps the bus rate, not a division by 0. */
	vlapic_power_up(&a, 0, true, 0);
	CHECK_EQ(a.timer_khz, VLAPIC_TIMER_KHZ);
}

/* The longest count at a GHz TSC: 0xffffffff counts at divide-by-1 are
 * 1.1e11 ticks of a 2.6 GHz TSC, and left * init passed 2^64, so the count
 * read back jumped around (the minimal guest's lapic-oneshot saw 1825834,
 * then 152277617). It must count down from the initial count, evenly. */
static void test_long_count(void)
{
	static const uint32_t codes[] = { DIV_1, 0xa };    /* by 1, by 128 */
	const uint64_t tsc_khz = 2600000;
	struct vlapic a;

	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		uint64_t period;
		uint32_t last = 0xffffffffu;

		vlapic_power_up(&a, 0, true, tsc_khz);
		enable(&a);
		wr(&a, VLAPIC_REG_TIMER_DIV, codes[i]);
		wr(&a, VLAPIC_REG_LVT_TIMER, VLAPIC_TIMER_ONESHOT << 17 | 0x44);
		wr(&a, VLAPIC_REG_TIMER_INIT, 0xffffffffu);
		period = a.timer_deadline - T0;
		CHECK_EQ(rd(&a, VLAPIC_REG_TIMER_CUR), 0xffffffffu);
		for (unsigned k = 1; k <= 1000; k++) {
			uint32_t cur = vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR,
						       T0 + period / 1000 * k);
			uint64_t want = 0xffffffffull / 1000 * (1000 - k);

			CHECK_MSG(cur <= last && cur + 2000 >= want && cur <= want + 2000,
				  "divide code %#x, %u/1000 of the period: %u, want about %lu",
				  codes[i], k, cur, want);
			last = cur;
		}
	}
}

static void test_tsc_deadline(void)
{
	struct vlapic a;

	timer_setup(&a, VLAPIC_TIMER_ONESHOT, 0x44, DIV_1);
	vlapic_tsc_deadline_write(&a, T0 + 5000);          /* not in TSC-deadline mode */
	CHECK_EQ(a.timer_deadline, 0);
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 1000, T0, &act);
	CHECK_EQ(vlapic_tsc_deadline_read(&a), 0);         /* reads 0 outside the mode */

	/* Changing the mode disarms the timer. */
	wr(&a, VLAPIC_REG_LVT_TIMER, 2u << 17 | 0x44);
	CHECK_EQ(a.timer_deadline, 0);
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 2000, T0, &act);  /* ignored */
	CHECK_EQ(rd(&a, VLAPIC_REG_TIMER_INIT), 1000);
	CHECK_EQ(a.timer_deadline, 0);
	vlapic_tsc_deadline_write(&a, T0 + 5000);
	CHECK_EQ(vlapic_tsc_deadline_read(&a), T0 + 5000);
	CHECK_EQ(vlapic_timer_deadline(&a), T0 + 5000);
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0), 0);  /* no count in this mode */
	CHECK(!vlapic_timer_check(&a, T0 + 4999));
	CHECK(vlapic_timer_check(&a, T0 + 5000));
	CHECK(vlapic_test(a.irr, 0x44));
	CHECK_EQ(vlapic_tsc_deadline_read(&a), 0);         /* fired: disarmed */
	vlapic_tsc_deadline_write(&a, T0 + 9000);
	vlapic_tsc_deadline_write(&a, 0);                  /* writing 0 disarms */
	CHECK(!vlapic_timer_check(&a, T0 + 10000));

	/* Back to one-shot: disarmed again. */
	vlapic_tsc_deadline_write(&a, T0 + 9000);
	wr(&a, VLAPIC_REG_LVT_TIMER, 0x44);
	CHECK_EQ(a.timer_deadline, 0);
	/* The same mode rewritten keeps the timer armed. */
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 1000, T0, &act);
	wr(&a, VLAPIC_REG_LVT_TIMER, 0x45);
	CHECK_EQ(a.timer_deadline, T0 + 1000 * TICKS_PER_COUNT);
}

/* Between one-shot and periodic the count goes on (only TSC-deadline mode,
 * in or out, disarms: SDM 3, 10.5.4.1); the mode at 0 decides. */
static void test_mode_change(void)
{
	struct vlapic a;
	uint64_t period = 50000 * TICKS_PER_COUNT;

	timer_setup(&a, VLAPIC_TIMER_ONESHOT, 0x46, DIV_1);
	vlapic_reg_write(&a, VLAPIC_REG_TIMER_INIT, 50000, T0, &act);
	wr(&a, VLAPIC_REG_LVT_TIMER, 1u << 17 | 0x46);               /* periodic */
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + period / 2), 25000);
	CHECK(vlapic_timer_check(&a, T0 + period));
	CHECK_EQ(a.timer_deadline, T0 + 2 * period);                  /* reloaded */
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + period), 50000);
	vlapic_ack(&a, 0x46);
	wr(&a, VLAPIC_REG_LVT_TIMER, 0x46);                           /* one-shot */
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + period * 3 / 2), 25000);
	CHECK(vlapic_timer_check(&a, T0 + 2 * period));
	CHECK_EQ(a.timer_deadline, 0);                                /* and stops */
	vlapic_ack(&a, 0x46);
	/* Stopped at 0, then periodic: it stays at 0. */
	wr(&a, VLAPIC_REG_LVT_TIMER, 1u << 17 | 0x46);
	CHECK_EQ(vlapic_reg_read(&a, VLAPIC_REG_TIMER_CUR, T0 + 3 * period), 0);
	CHECK(!vlapic_timer_check(&a, T0 + 4 * period));
}

static void test_destinations(void)
{
	struct vlapic a;

	/* Physical: the APIC ID, or the broadcast ID of the mode. */
	power_up(&a, 3);
	CHECK(vlapic_match_dest(&a, 3, false));
	CHECK(!vlapic_match_dest(&a, 4, false));
	CHECK(vlapic_match_dest(&a, 0xff, false));
	CHECK(!vlapic_match_dest(&a, 0xffffffff, false));

	/* Logical flat: a bitmap of LDR[31:24]. */
	wr(&a, VLAPIC_REG_LDR, 0x04000000);
	CHECK(vlapic_match_dest(&a, 0x04, true));
	CHECK(vlapic_match_dest(&a, 0x0c, true));
	CHECK(!vlapic_match_dest(&a, 0x08, true));
	CHECK(!vlapic_match_dest(&a, 0x00, true));
	CHECK(vlapic_match_dest(&a, 0xff, true));
	CHECK(!vlapic_match_dest(&a, 0x04, false));      /* 4 is not the ID */

	/* Logical cluster: [7:4] the cluster, [3:0] the members. */
	wr(&a, VLAPIC_REG_DFR, 0);
	wr(&a, VLAPIC_REG_LDR, 0x21000000);
	CHECK(vlapic_match_dest(&a, 0x21, true));
	CHECK(vlapic_match_dest(&a, 0x23, true));
	CHECK(!vlapic_match_dest(&a, 0x31, true));       /* other cluster */
	CHECK(!vlapic_match_dest(&a, 0x22, true));       /* other member */
	CHECK(!vlapic_match_dest(&a, 0x01, true));       /* flat reading would match */
	CHECK(vlapic_match_dest(&a, 0xff, true));

	/* x2APIC: 32-bit IDs, logical ID derived from the ID (10.12.10.2). */
	power_up(&a, 0x13);
	CHECK(vlapic_base_write(&a, LAPIC_BASE | VLAPIC_BASE_EN | VLAPIC_BASE_EXTD));
	CHECK_EQ(a.ldr, 0x00010008);
	CHECK_EQ(rd(&a, VLAPIC_REG_ID), 0x13);
	CHECK(vlapic_match_dest(&a, 0x13, false));
	CHECK(!vlapic_match_dest(&a, 0x13000000, false));
	CHECK(vlapic_match_dest(&a, 0xffffffff, false));
	CHECK(!vlapic_match_dest(&a, 0xff, false));      /* 0xff is an ID in x2APIC mode */
	CHECK(vlapic_match_dest(&a, 0x00010008, true));
	CHECK(vlapic_match_dest(&a, 0x0001000c, true));
	CHECK(!vlapic_match_dest(&a, 0x00020008, true)); /* other cluster */
	CHECK(!vlapic_match_dest(&a, 0x00010004, true)); /* other member */
	wr(&a, VLAPIC_REG_LDR, 0xff000000);               /* read-only in x2APIC mode */
	CHECK_EQ(a.ldr, 0x00010008);
}

static void test_ipi_targets(void)
{
	struct vlapic a, b;
	uint64_t fixed = 0x30;

	power_up(&a, 0);
	power_up(&b, 1);
	/* xAPIC: destination in ICR[63:56]. */
	CHECK(vlapic_ipi_targets(&a, fixed | 1ull << 56, &b));
	CHECK(!vlapic_ipi_targets(&a, fixed | 1ull << 32, &b));
	CHECK(!vlapic_ipi_targets(&a, fixed | 2ull << 56, &b));
	CHECK(vlapic_ipi_targets(&a, fixed | 0xffull << 56, &a));
	CHECK(!vlapic_ipi_targets(&a, fixed | 1ull << 56, NULL));
	/* Shorthands ignore the destination. */
	CHECK(vlapic_ipi_targets(&a, fixed | VLAPIC_DEST_SELF << 18, &a));
	CHECK(!vlapic_ipi_targets(&a, fixed | VLAPIC_DEST_SELF << 18, &b));
	CHECK(vlapic_ipi_targets(&a, fixed | VLAPIC_DEST_ALL << 18, &a));
	CHECK(vlapic_ipi_targets(&a, fixed | VLAPIC_DEST_ALL << 18, NULL));
	CHECK(!vlapic_ipi_targets(&a, fixed | VLAPIC_DEST_OTHERS << 18, &a));
	CHECK(vlapic_ipi_targets(&a, fixed | VLAPIC_DEST_OTHERS << 18, &b));
	/* Logical. */
	wr(&b, VLAPIC_REG_LDR, 0x02000000);
	CHECK(vlapic_ipi_targets(&a, fixed | VLAPIC_ICR_LOGICAL | 2ull << 56, &b));
	CHECK(!vlapic_ipi_targets(&a, fixed | 2ull << 56, &b));   /* physical 2 */
	/* x2APIC sender: destination in ICR[63:32]. */
	CHECK(vlapic_base_write(&a, LAPIC_BASE | VLAPIC_BASE_EN | VLAPIC_BASE_EXTD));
	CHECK(vlapic_ipi_targets(&a, fixed | 1ull << 32, &b));
	CHECK(!vlapic_ipi_targets(&a, fixed | 1ull << 56, &b));
}

static void test_icr_modes(void)
{
	struct vlapic a;

	power_up(&a, 0);
	enable(&a);
	wr(&a, VLAPIC_REG_ICR_LO, VLAPIC_MODE_SMI << 8);
	CHECK_EQ(act.kind, VLAPIC_ACT_IPI_UNEMULATED);
	CHECK_EQ(VLAPIC_ICR_MODE(act.icr), VLAPIC_MODE_SMI);
	wr(&a, VLAPIC_REG_ICR_LO, VLAPIC_MODE_SMI << 8);
	CHECK_EQ(act.kind, VLAPIC_ACT_NONE);              /* logged once */
	CHECK_EQ(rd(&a, VLAPIC_REG_ICR_LO), VLAPIC_MODE_SMI << 8);
	wr(&a, VLAPIC_REG_ICR_LO, VLAPIC_MODE_RESERVED << 8);
	CHECK_EQ(act.kind, VLAPIC_ACT_IPI_UNEMULATED);
	wr(&a, VLAPIC_REG_ICR_LO, VLAPIC_MODE_INIT << 8 | VLAPIC_ICR_LEVEL_ASSERT);
	CHECK_EQ(act.kind, VLAPIC_ACT_IPI);
	CHECK_EQ(VLAPIC_ICR_MODE(act.icr), VLAPIC_MODE_INIT);
}

static void test_apic_base(void)
{
	struct vlapic a;
	const uint64_t en = VLAPIC_BASE_EN, x2 = VLAPIC_BASE_EN | VLAPIC_BASE_EXTD;

	power_up(&a, 0);
	CHECK(!vlapic_base_write(&a, LAPIC_BASE | en | 1));         /* reserved bit */
	CHECK(!vlapic_base_write(&a, LAPIC_BASE | VLAPIC_BASE_EXTD)); /* EXTD without EN */
	CHECK(vlapic_base_write(&a, LAPIC_BASE | x2));
	CHECK(vlapic_x2apic(&a));
	CHECK(!vlapic_base_write(&a, LAPIC_BASE | en));             /* x2APIC -> xAPIC */
	CHECK(vlapic_x2apic(&a));
	/* Disabling resets the APIC; BSP stays. */
	enable(&a);
	wr(&a, VLAPIC_REG_TPR, 0x20);
	wr(&a, VLAPIC_REG_LVT_TIMER, 0x40);
	CHECK(vlapic_base_write(&a, LAPIC_BASE));
	CHECK_EQ(a.apic_base, LAPIC_BASE | VLAPIC_BASE_BSP);
	CHECK(!vlapic_hw_enabled(&a));
	CHECK_EQ(a.tpr, 0);
	CHECK_EQ(a.svr, 0xff);
	CHECK_EQ(a.lvt[0], VLAPIC_LVT_MASKED);
	CHECK_EQ(a.tsc_khz, TSC_KHZ);
	CHECK(!vlapic_base_write(&a, LAPIC_BASE | x2));             /* disabled -> x2APIC */
	CHECK(vlapic_base_write(&a, LAPIC_BASE | en));
	CHECK(vlapic_hw_enabled(&a) && !vlapic_x2apic(&a));
	CHECK_EQ(a.apic_base, LAPIC_BASE | en | VLAPIC_BASE_BSP);
}

static void test_x2apic_msrs(void)
{
	struct vlapic a;
	uint64_t v = 0;

	power_up(&a, 1);
	CHECK(!vlapic_x2apic_read(&a, VLAPIC_REG_VERSION, &v, T0));  /* xAPIC mode: #GP */
	CHECK(vlapic_base_write(&a, LAPIC_BASE | VLAPIC_BASE_EN | VLAPIC_BASE_EXTD));
	CHECK(vlapic_x2apic_read(&a, VLAPIC_REG_VERSION, &v, T0));
	CHECK_EQ(v, VLAPIC_VERSION);
	CHECK(!vlapic_x2apic_read(&a, VLAPIC_REG_DFR, &v, T0));
	CHECK(!vlapic_x2apic_read(&a, VLAPIC_REG_ICR_HI, &v, T0));
	CHECK(!vlapic_x2apic_read(&a, VLAPIC_REG_EOI, &v, T0));      /* write-only */
	CHECK(!vlapic_x2apic_write(&a, VLAPIC_REG_ID, 5, T0, &act)); /* read-only */
	CHECK(!vlapic_x2apic_write(&a, VLAPIC_REG_TPR, 1ull << 32, T0, &act));
	CHECK(vlapic_x2apic_write(&a, VLAPIC_REG_SVR, 0x1ff, T0, &act));
	CHECK(!vlapic_x2apic_write(&a, VLAPIC_REG_EOI, 1, T0, &act));
	CHECK(vlapic_x2apic_write(&a, VLAPIC_REG_EOI, 0, T0, &act));
	CHECK(!vlapic_x2apic_write(&a, VLAPIC_REG_SELF_IPI, 0x140, T0, &act));
	CHECK(!vlapic_test(a.irr, 0x40));
	CHECK(vlapic_x2apic_write(&a, VLAPIC_REG_SELF_IPI, 0x40, T0, &act));
	CHECK_EQ(act.kind, VLAPIC_ACT_ACCEPTED);
	CHECK(vlapic_test(a.irr, 0x40));
	/* The ICR is one 64-bit register. */
	CHECK(vlapic_x2apic_write(&a, VLAPIC_REG_ICR_LO, 0x0000000700001031ull, T0, &act));
	CHECK_EQ(act.kind, VLAPIC_ACT_IPI);
	CHECK_EQ(act.icr, 0x0000000700001031ull);
	CHECK(vlapic_x2apic_read(&a, VLAPIC_REG_ICR_LO, &v, T0));
	CHECK_EQ(v, 0x0000000700000031ull);
	CHECK(!vlapic_x2apic_write(&a, VLAPIC_REG_ICR_HI, 0, T0, &act));
}

static void test_init_signal(void)
{
	struct vlapic a;

	power_up(&a, 0x21);
	enable(&a);
	CHECK(vlapic_base_write(&a, LAPIC_BASE | VLAPIC_BASE_EN | VLAPIC_BASE_EXTD));
	vlapic_accept(&a, 0x50, false);
	wr(&a, VLAPIC_REG_LVT_TIMER, 0x40);
	vlapic_init_signal(&a);
	CHECK(vlapic_x2apic(&a));                          /* IA32_APIC_BASE kept */
	CHECK_EQ(a.ldr, 0x00020002);                       /* x2APIC logical ID kept */
	CHECK_EQ(vlapic_highest(a.irr), -1);
	CHECK_EQ(a.svr, 0xff);
	CHECK_EQ(a.lvt[0], VLAPIC_LVT_MASKED);
	CHECK_EQ(rd(&a, VLAPIC_REG_ID), 0x21);

	/* In xAPIC mode the logical ID goes back to 0. */
	power_up(&a, 1);
	wr(&a, VLAPIC_REG_LDR, 0x08000000);
	vlapic_init_signal(&a);
	CHECK_EQ(a.ldr, 0);
	CHECK(vlapic_hw_enabled(&a));
}

int main(void)
{
	test_power_up();
	test_register_masks();
	test_mmio();
	test_software_enable();
	test_priority();
	test_eoi_order();
	test_level_eoi();
	test_oneshot();
	test_periodic();
	test_masked_lvt();
	test_divide();
	test_slow_tsc();
	test_long_count();
	test_tsc_deadline();
	test_mode_change();
	test_destinations();
	test_ipi_targets();
	test_icr_modes();
	test_apic_base();
	test_x2apic_msrs();
	test_init_signal();
	return unit_finish("test_vlapic");
}
