/* The 8254 model: the sequences Linux uses (quick_pit_calibrate, the
 * PM-timer rate check, the periodic tick), every mode's count and OUT
 * timing, GATE through port 0x61, latches, read-back, BCD, and IRQ 0
 * scheduling with its rate floor. */
// UNIT-SOURCES: hypervisor/devices/vpit_core.c
#include <devices/vclock.h>
#include <devices/vpit.h>
#include "unit.h"

#define CTRL  VPIT_CONTROL

static void out8(struct vpit_state *s, unsigned off, uint8_t v, uint64_t now)
{
	if (vpit_port_write(s, off, 1, v, now) != IO_HANDLED)
		CHECK_MSG(0, "write of port offset %u refused", off);
}

static uint8_t in8(struct vpit_state *s, unsigned off, uint64_t now)
{
	uint64_t v = 0xdead;

	if (vpit_port_read(s, off, 1, &v, now) != IO_HANDLED || v > 0xff)
		CHECK_MSG(0, "read of port offset %u: %#llx", off, (unsigned long long)v);
	return (uint8_t)v;
}

/* Control word for counter `ch`, access `rw`, `mode`. */
static uint8_t cw(unsigned ch, unsigned rw, unsigned mode)
{
	return (uint8_t)(ch << 6 | rw << 4 | mode << 1);
}

static void program(struct vpit_state *s, unsigned ch, unsigned mode, uint16_t count, uint64_t now)
{
	out8(s, CTRL, cw(ch, VPIT_RW_LSB_MSB, mode), now);
	out8(s, ch, (uint8_t)count, now);
	out8(s, ch, (uint8_t)(count >> 8), now);
}

/* LSB then MSB, as Linux reads a 2-byte counter. */
static uint16_t read16(struct vpit_state *s, unsigned ch, uint64_t now)
{
	uint8_t lo = in8(s, ch, now);

	return (uint16_t)(lo | in8(s, ch, now) << 8);
}

static void test_power_on(void)
{
	struct vpit_state s;
	uint64_t v;

	vpit_state_init(&s);
	CHECK_EQ(vpit_irq_deadline(&s), 0);
	CHECK(!vpit_irq_check(&s, 1000000));
	CHECK_EQ(vpit_port_b_read(&s, 0) & VPIT_PORTB_WRITABLE, 0);   /* gate 2 low */
	CHECK(vpit_out(&s, 0, 0));                                    /* mode 3, no count: high */
	CHECK_EQ(in8(&s, CTRL, 5), 0xff);
	CHECK_EQ(vpit_port_read(&s, 0, 2, &v, 0), IO_UNHANDLED);
	CHECK_EQ(vpit_port_write(&s, 0, 2, 0, 0), IO_UNHANDLED);
	CHECK_EQ(vpit_port_read(&s, 4, 1, &v, 0), IO_UNHANDLED);
}

/* Linux's quick_pit_calibrate: gate on, counter 2 mode 0 from 0xffff, then
 * LSB/MSB read pairs waiting for the MSB to step down once per 256 ticks. */
static void test_quick_pit_calibrate(void)
{
	struct vpit_state s;
	const uint64_t t0 = 5000;
	unsigned bad = 0;

	vpit_state_init(&s);
	vpit_port_b_write(&s, (uint8_t)((vpit_port_b_read(&s, t0) & ~0x02) | 0x01), t0);
	out8(&s, CTRL, 0xb0, t0);
	out8(&s, 2, 0xff, t0);
	out8(&s, 2, 0xff, t0);
	CHECK_EQ(read16(&s, 2, t0), 0xffff);        /* loaded at the next tick */
	CHECK_EQ(read16(&s, 2, t0 + 1), 0xffff);
	CHECK_EQ(read16(&s, 2, t0 + 2), 0xfffe);
	for (uint64_t d = 0; d < 50000; d += 7) {
		uint16_t got = read16(&s, 2, t0 + 1 + d);

		if (got != (uint16_t)(0xffff - d))
			bad++;
		if ((got >> 8) != (uint8_t)(0xff - d / 256))
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK(!(vpit_port_b_read(&s, t0 + 60000) & VPIT_PORTB_OUT2));
	CHECK_EQ(vpit_port_b_read(&s, t0) & VPIT_PORTB_WRITABLE, 0x01);
}

/* mach_prepare_counter / mach_countup (Linux's PM-timer rate check): mode
 * 0 with a 30 ms count; OUT2 in port 0x61 rises N + 1 ticks after the
 * MSB is written. */
static void test_mode0_out_in_port_b(void)
{
	struct vpit_state s;
	const uint32_t latch = (VPIT_HZ * 30 + 500) / 1000;
	const uint64_t t0 = 123456789;

	vpit_state_init(&s);
	vpit_port_b_write(&s, 0x01, t0 - 10);
	out8(&s, CTRL, 0xb0, t0 - 5);
	CHECK(!(vpit_port_b_read(&s, t0 - 4) & VPIT_PORTB_OUT2));    /* mode 0: low at once */
	out8(&s, 2, latch & 0xff, t0 - 3);
	out8(&s, 2, latch >> 8, t0);
	CHECK(!(vpit_port_b_read(&s, t0 + latch) & VPIT_PORTB_OUT2));
	CHECK(vpit_port_b_read(&s, t0 + latch + 1) & VPIT_PORTB_OUT2);
	CHECK(vpit_port_b_read(&s, t0 + 10 * latch) & VPIT_PORTB_OUT2);   /* stays high */
	/* The count goes on through 0 and wraps. */
	CHECK_EQ(vpit_count(&s, 2, t0 + latch + 1), 0);
	CHECK_EQ(vpit_count(&s, 2, t0 + latch + 2), 0xffff);
}

/* Mode 0 with GATE: low stops the count, high resumes it where it was. */
static void test_mode0_gate(void)
{
	struct vpit_state s;

	vpit_state_init(&s);
	vpit_port_b_write(&s, 0x01, 0);
	program(&s, 2, 0, 1000, 100);               /* loaded at 101 */
	CHECK_EQ(vpit_count(&s, 2, 401), 700);
	vpit_port_b_write(&s, 0x00, 401);
	CHECK_EQ(vpit_count(&s, 2, 5000), 700);
	CHECK(!vpit_out(&s, 2, 5000));
	vpit_port_b_write(&s, 0x01, 6000);
	CHECK_EQ(vpit_count(&s, 2, 6100), 600);
	CHECK(!vpit_out(&s, 2, 6699));
	CHECK(vpit_out(&s, 2, 6700));
	/* A count written with GATE low waits for it. */
	vpit_port_b_write(&s, 0x00, 7000);
	program(&s, 2, 0, 50, 7000);
	CHECK_EQ(vpit_count(&s, 2, 9000), 50);
	vpit_port_b_write(&s, 0x01, 9000);
	CHECK_EQ(vpit_count(&s, 2, 9010), 40);
	/* 2-byte mode: the LSB alone stops the count and drops OUT. */
	CHECK(vpit_out(&s, 2, 9100));
	out8(&s, 2, 0x10, 9100);
	CHECK(!vpit_out(&s, 2, 9200));
	out8(&s, 2, 0x00, 9200);                    /* 16, loaded at 9201 */
	CHECK(!vpit_out(&s, 2, 9216));
	CHECK(vpit_out(&s, 2, 9217));
}

/* Linux's periodic tick: counter 0, mode 2, LATCH for HZ=1000. */
static void test_mode2_periodic_irq(void)
{
	struct vpit_state s;
	const uint16_t n = (VPIT_HZ + 500) / 1000;   /* 1193 */
	const uint64_t t0 = 1000;
	const uint64_t load = t0 + 1;

	vpit_state_init(&s);
	out8(&s, CTRL, 0x34, t0);
	out8(&s, 0, n & 0xff, t0);
	CHECK_EQ(vpit_irq_deadline(&s), 0);         /* half a count arms nothing */
	out8(&s, 0, n >> 8, t0);
	CHECK_EQ(vpit_count(&s, 0, load), n);
	CHECK_EQ(vpit_count(&s, 0, load + n - 1), 1);
	CHECK(!vpit_out(&s, 0, load + n - 1));      /* low while the element holds 1 */
	CHECK(vpit_out(&s, 0, load + n - 2));
	CHECK(vpit_out(&s, 0, load + n));
	CHECK_EQ(vpit_count(&s, 0, load + n), n);   /* reloaded */
	CHECK_EQ(vpit_irq_deadline(&s), load + n);
	CHECK(!vpit_irq_check(&s, load + n - 1));
	CHECK(vpit_irq_check(&s, load + n));
	CHECK_EQ(vpit_irq_deadline(&s), load + 2 * n);
	CHECK(!vpit_irq_check(&s, load + n + 5));
	/* Five periods late: one interrupt, then the next edge after now. */
	CHECK(vpit_irq_check(&s, load + 7 * n + 3));
	CHECK_EQ(vpit_irq_deadline(&s), load + 8 * n);
	CHECK(!vpit_irq_check(&s, load + 7 * n + 4));
	/* A new control word stops the counter: no more IRQ 0. */
	out8(&s, CTRL, 0x34, load + 8 * n - 10);
	CHECK_EQ(vpit_irq_deadline(&s), 0);
	CHECK(!vpit_irq_check(&s, load + 100 * n));
}

static void test_mode3_square_wave(void)
{
	struct vpit_state s;
	unsigned high = 0, edges = 0;
	bool prev;

	vpit_state_init(&s);
	program(&s, 0, 3, 10, 0);                   /* loaded at 1 */
	for (uint64_t d = 0; d < 10; d++) {
		CHECK_EQ(vpit_count(&s, 0, 1 + d), d < 5 ? 10 - 2 * d : 20 - 2 * d);
		CHECK_EQ(vpit_out(&s, 0, 1 + d), d < 5);
	}
	program(&s, 0, 3, 7, 100);                  /* odd: high 4 ticks, low 3 */
	for (uint64_t d = 0; d < 7; d++)
		high += vpit_out(&s, 0, 101 + d);
	CHECK_EQ(high, 4);
	CHECK_EQ(vpit_irq_deadline(&s), 108);
	/* Mode 7 is mode 3; every rising edge is one period apart. */
	out8(&s, CTRL, cw(0, VPIT_RW_LSB_MSB, 7), 200);
	out8(&s, 0, 0x00, 200);
	out8(&s, 0, 0x01, 200);                     /* 256 */
	prev = vpit_out(&s, 0, 201);
	for (uint64_t t = 202; t < 201 + 4 * 256; t++) {
		bool o = vpit_out(&s, 0, t);

		edges += o && !prev;
		prev = o;
	}
	CHECK_EQ(edges, 3);
	CHECK_EQ(vpit_irq_deadline(&s), 201 + 256);
}

static void test_mode4_strobe(void)
{
	struct vpit_state s;

	vpit_state_init(&s);
	program(&s, 0, 4, 100, 0);                  /* loaded at 1 */
	CHECK(vpit_out(&s, 0, 100));
	CHECK(!vpit_out(&s, 0, 101));               /* the one tick the element holds 0 */
	CHECK(vpit_out(&s, 0, 102));
	CHECK_EQ(vpit_irq_deadline(&s), 102);
	CHECK(vpit_irq_check(&s, 102));
	CHECK_EQ(vpit_irq_deadline(&s), 0);         /* software strobe: once */
}

static void test_mode0_one_shot_irq(void)
{
	struct vpit_state s;

	vpit_state_init(&s);
	program(&s, 0, 0, 0, 10);                   /* 0 = 65536 */
	CHECK_EQ(vpit_count(&s, 0, 11), 0);
	CHECK_EQ(vpit_count(&s, 0, 12), 0xffff);
	CHECK_EQ(vpit_irq_deadline(&s), 11 + 65536);
	CHECK(vpit_irq_check(&s, 11 + 65536 + 3));
	CHECK_EQ(vpit_irq_deadline(&s), 0);
	CHECK(!vpit_irq_check(&s, 11 + 2 * 65536));
}

/* Modes 1 and 5 on counter 2: armed by the count, started by GATE. */
static void test_gate_triggered_modes(void)
{
	struct vpit_state s;
	uint8_t st;

	vpit_state_init(&s);
	program(&s, 2, 1, 20, 0);
	CHECK(vpit_out(&s, 2, 500));
	CHECK_EQ(vpit_count(&s, 2, 500), 20);
	out8(&s, CTRL, 0xc0 | VPIT_RB_NO_COUNT | VPIT_RB_COUNTER(2), 500);
	st = in8(&s, 2, 500);
	CHECK_EQ(st & VPIT_STATUS_NULL, VPIT_STATUS_NULL);   /* not loaded before the trigger */
	vpit_port_b_write(&s, 0x01, 1000);          /* trigger: loaded at 1001 */
	CHECK(!vpit_out(&s, 2, 1001));
	vpit_port_b_write(&s, 0x00, 1010);          /* the level does not matter */
	CHECK(!vpit_out(&s, 2, 1020));
	CHECK(vpit_out(&s, 2, 1021));
	vpit_port_b_write(&s, 0x01, 2000);          /* retrigger */
	CHECK(!vpit_out(&s, 2, 2005));

	program(&s, 2, 5, 20, 3000);
	vpit_port_b_write(&s, 0x00, 3000);
	CHECK(vpit_out(&s, 2, 3100));
	vpit_port_b_write(&s, 0x01, 3100);          /* loaded at 3101 */
	CHECK(vpit_out(&s, 2, 3120));
	CHECK(!vpit_out(&s, 2, 3121));
	CHECK(vpit_out(&s, 2, 3122));
}

/* Modes 2 and 3 with GATE: low holds OUT high, high starts over. */
static void test_gate_periodic_modes(void)
{
	struct vpit_state s;

	vpit_state_init(&s);
	vpit_port_b_write(&s, VPIT_PORTB_GATE2 | VPIT_PORTB_SPEAKER, 0);
	CHECK_EQ(vpit_port_b_read(&s, 0) & VPIT_PORTB_WRITABLE, 3);
	program(&s, 2, 3, 100, 0);                  /* the speaker's square wave */
	CHECK(!vpit_out(&s, 2, 1 + 60));
	vpit_port_b_write(&s, VPIT_PORTB_SPEAKER, 61);
	CHECK(vpit_out(&s, 2, 62));
	CHECK_EQ(vpit_count(&s, 2, 500), 100 - (2 * 60) % 100);   /* held */
	vpit_port_b_write(&s, VPIT_PORTB_GATE2, 1000);
	CHECK_EQ(vpit_count(&s, 2, 1001), 100);
	CHECK(vpit_out(&s, 2, 1001 + 49));
	CHECK(!vpit_out(&s, 2, 1001 + 50));
}

static void test_latch(void)
{
	struct vpit_state s;

	vpit_state_init(&s);
	program(&s, 0, 2, 1000, 0);                 /* loaded at 1 */
	out8(&s, CTRL, cw(0, VPIT_RW_LATCH, 0), 101);
	out8(&s, CTRL, cw(0, VPIT_RW_LATCH, 0), 301);   /* ignored: still unread */
	CHECK_EQ(in8(&s, 0, 500), (900 & 0xff));
	CHECK_EQ(in8(&s, 0, 600), 900 >> 8);
	CHECK_EQ(read16(&s, 0, 701), 300);          /* live again */
	/* A latch in the middle of a live 2-byte read: latched bytes first,
	 * LSB then MSB, and the live flip-flop is left where it was. */
	CHECK_EQ(in8(&s, 0, 801), 200 & 0xff);      /* live LSB */
	out8(&s, CTRL, cw(0, VPIT_RW_LATCH, 0), 851);
	CHECK_EQ(in8(&s, 0, 900), 150);
	CHECK_EQ(in8(&s, 0, 900), 0);
	CHECK_EQ(in8(&s, 0, 901), 100 >> 8);        /* the live MSB */
	/* 1-byte modes latch one byte. */
	out8(&s, CTRL, cw(1, VPIT_RW_MSB, 2), 0);
	out8(&s, 1, 0x12, 0);                       /* 0x1200, loaded at 1 */
	out8(&s, CTRL, cw(1, VPIT_RW_LATCH, 0), 1 + 0x100);
	CHECK_EQ(in8(&s, 1, 5000), 0x11);
	CHECK_EQ(in8(&s, 1, 1 + 0x300), 0x0f);
	out8(&s, CTRL, cw(1, VPIT_RW_LSB, 2), 0);
	out8(&s, 1, 0x80, 10);
	CHECK_EQ(in8(&s, 1, 11 + 0x10), 0x70);
}

static void test_read_back(void)
{
	struct vpit_state s;

	vpit_state_init(&s);
	out8(&s, CTRL, cw(2, VPIT_RW_LSB_MSB, 0) | VPIT_CW_BCD, 0);
	out8(&s, CTRL, 0xc0 | VPIT_RB_NO_COUNT | VPIT_RB_COUNTER(2), 0);
	CHECK_EQ(in8(&s, 2, 0), VPIT_STATUS_NULL | 0x31);   /* OUT low, null count, 11 000 1 */
	program(&s, 0, 2, 500, 10);
	program(&s, 1, 3, 500, 10);
	/* Status and count of counters 0 and 1 at once: status first. */
	out8(&s, CTRL, 0xc0 | VPIT_RB_COUNTER(0) | VPIT_RB_COUNTER(1), 10);
	CHECK_EQ(in8(&s, 0, 50), VPIT_STATUS_OUT | VPIT_STATUS_NULL | 0x34);
	CHECK_EQ(read16(&s, 0, 60), 500);
	out8(&s, CTRL, 0xc0 | VPIT_RB_COUNTER(0), 111);
	CHECK_EQ(in8(&s, 0, 200), VPIT_STATUS_OUT | 0x34);  /* loaded: null count clear */
	CHECK_EQ(read16(&s, 0, 300), 400);
	CHECK_EQ(in8(&s, 1, 400), VPIT_STATUS_OUT | VPIT_STATUS_NULL | 0x36);
	CHECK_EQ(read16(&s, 1, 500), 500);
	/* A second status latch before the first is read is ignored. */
	out8(&s, CTRL, 0xc0 | VPIT_RB_NO_COUNT | VPIT_RB_COUNTER(0), 600);
	out8(&s, CTRL, cw(0, VPIT_RW_LSB_MSB, 4), 601);
	CHECK_EQ(read16(&s, 0, 602), 500);          /* the control word dropped the latch */
}

static void test_bcd(void)
{
	struct vpit_state s;

	vpit_state_init(&s);
	out8(&s, CTRL, cw(0, VPIT_RW_LSB_MSB, 2) | VPIT_CW_BCD, 0);
	out8(&s, 0, 0x34, 0);
	out8(&s, 0, 0x12, 0);                       /* 1234, loaded at 1 */
	CHECK_EQ(vpit_count(&s, 0, 1), 1234);
	CHECK_EQ(read16(&s, 0, 1 + 235), 0x0999);
	CHECK_EQ(vpit_irq_deadline(&s), 1 + 1234);
	out8(&s, CTRL, cw(0, VPIT_RW_LSB_MSB, 0) | VPIT_CW_BCD, 2000);
	out8(&s, 0, 0, 2000);
	out8(&s, 0, 0, 2000);                       /* 0 = 10000 */
	CHECK_EQ(vpit_irq_deadline(&s), 2001 + 10000);
	CHECK_EQ(read16(&s, 0, 2001 + 1), 0x9999);
	CHECK_EQ(read16(&s, 0, 2001 + 10001), 0x9999);   /* wraps through 0 to 9999 */
}

/* Reads and writes of a 2-byte counter keep separate byte pointers. */
static void test_interleaved_access(void)
{
	struct vpit_state s;

	vpit_state_init(&s);
	program(&s, 1, 2, 0x4000, 0);               /* loaded at 1 */
	CHECK_EQ(in8(&s, 1, 1), 0x00);              /* LSB of 0x4000 */
	out8(&s, 1, 0x00, 2);                       /* new LSB */
	CHECK_EQ(in8(&s, 1, 2), 0x3f);              /* MSB of 0x3fff */
	out8(&s, 1, 0x20, 3);                       /* new MSB: 0x2000, loaded at 4 */
	CHECK_EQ(read16(&s, 1, 4), 0x2000);
}

static void test_irq_rate_floor(void)
{
	struct vpit_state s;
	uint64_t last = 0, t;
	unsigned n = 0;

	vpit_state_init(&s);
	program(&s, 0, 2, 2, 0);                    /* 596 kHz if honoured */
	CHECK_EQ(vpit_irq_deadline(&s), 3);
	for (t = 0; t < 100000; t++) {
		if (!vpit_irq_check(&s, t))
			continue;
		CHECK_MSG(!last || t - last >= VPIT_MIN_IRQ_TICKS, "IRQ at %llu after %llu",
			  (unsigned long long)t, (unsigned long long)last);
		last = t;
		n++;
	}
	CHECK(n >= 100000 / (VPIT_MIN_IRQ_TICKS + 2) - 1 && n <= 100000 / VPIT_MIN_IRQ_TICKS + 1);
	CHECK_EQ(vpit_count(&s, 0, 100001), 2 - (100001 - 1) % 2);   /* reads stay exact */
}

static void test_refresh_toggle(void)
{
	struct vpit_state s;
	unsigned toggles = 0;
	uint8_t prev;

	vpit_state_init(&s);
	prev = vpit_port_b_read(&s, 0) & VPIT_PORTB_REFRESH;
	for (uint64_t t = 1; t <= 18 * 100; t++) {
		uint8_t r = vpit_port_b_read(&s, t) & VPIT_PORTB_REFRESH;

		toggles += r != prev;
		prev = r;
	}
	CHECK_EQ(toggles, 100);
}

/* The TSC-to-ticks conversions the glue uses. */
static void test_vclock(void)
{
	const uint64_t tsc_hz = 2444984000ull;
	unsigned bad = 0;

	CHECK_EQ(vclock_scale(tsc_hz, tsc_hz, VPIT_HZ), VPIT_HZ);
	CHECK_EQ(vclock_scale(tsc_hz - 1, tsc_hz, VPIT_HZ), VPIT_HZ - 1);
	CHECK_EQ(vclock_scale(0, tsc_hz, VPIT_HZ), 0);
	/* A year of TSC: no overflow, exact. */
	CHECK_EQ(vclock_scale(tsc_hz * 86400 * 365, tsc_hz, VPIT_HZ), (uint64_t)VPIT_HZ * 86400 * 365);
	for (uint64_t t = 0; t < 5000000; t += 997) {
		uint64_t c = vclock_scale_ceil(t, VPIT_HZ, tsc_hz);

		bad += vclock_scale(c, tsc_hz, VPIT_HZ) < t;              /* never early */
		bad += c && vclock_scale(c - 1, tsc_hz, VPIT_HZ) >= t;    /* the first such cycle */
	}
	CHECK_EQ(bad, 0);
}

int main(void)
{
	test_power_on();
	test_quick_pit_calibrate();
	test_mode0_out_in_port_b();
	test_mode0_gate();
	test_mode2_periodic_irq();
	test_mode3_square_wave();
	test_mode4_strobe();
	test_mode0_one_shot_irq();
	test_gate_triggered_modes();
	test_gate_periodic_modes();
	test_latch();
	test_read_back();
	test_bcd();
	test_interleaved_access();
	test_irq_rate_floor();
	test_refresh_toggle();
	test_vclock();
	return unit_finish("test_vpit");
}
