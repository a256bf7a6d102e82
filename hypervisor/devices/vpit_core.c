/*
 * The 8254 model without hypervisor dependencies (host-tested by
 * tests/unit/test_vpit.c). Reference: Intel 82C54 CHMOS Programmable
 * Interval Timer data sheet (231244), "Control Word Format", "Read-Back
 * Command", "Modes" 0-5 and the "Gate Pin Operations Summary"; port 0x61
 * as in the PIIX4 data sheet (82371AB, "NMI Status and Control Register").
 *
 * No state changes with time: a counter is its count, its mode and the tick
 * it was loaded, and everything a guest can read (counting element, OUT,
 * status, port 0x61) is computed from the `now` of the access.
 *
 * Timing as the data sheet gives it: a count written at tick t is loaded
 * into the counting element at t + 1, so in mode 0 OUT rises N + 1 ticks
 * after the write; in mode 2 OUT is low while the element holds 1; in mode
 * 3 it is high for the first ceil(N/2) ticks of each period; in modes 4
 * and 5 it is low for the one tick the element holds 0.
 *
 * Simplifications: a count written while modes 1, 2, 3 or 5 are counting
 * restarts the counter at once (the data sheet lets the current period or
 * one-shot end first; QEMU and KVM restart too); mode 3 with an odd count
 * reads as N - 2d mod N (the real element steps through N-1 and N on
 * alternate halves), its OUT timing is exact; the input clock is whole
 * ticks, so reads within one tick agree.
 */
#include <devices/vpit.h>

#define MODULUS_BINARY  65536u
#define MODULUS_BCD     10000u

static unsigned channel_mode(const struct vpit_channel *c)
{
	unsigned m = (c->control >> VPIT_CW_MODE_SHIFT) & 7;

	return m > 5 ? m - 4 : m;   /* 6 and 7 are modes 2 and 3 ("Control Word Format") */
}

static unsigned channel_rw(const struct vpit_channel *c)
{
	return (c->control & VPIT_CW_RW_MASK) >> VPIT_CW_RW_SHIFT;
}

static bool channel_bcd(const struct vpit_channel *c)
{
	return c->control & VPIT_CW_BCD;
}

static uint32_t channel_modulus(const struct vpit_channel *c)
{
	return channel_bcd(c) ? MODULUS_BCD : MODULUS_BINARY;
}

/* Ticks counted since the load, frozen while the counter does not run. */
static uint64_t channel_elapsed(const struct vpit_channel *c, uint64_t now)
{
	if (!c->armed || !c->running)
		return c->held;
	return now > c->start ? now - c->start : 0;
}

static uint32_t channel_count(const struct vpit_channel *c, uint64_t now)
{
	uint64_t d = channel_elapsed(c, now);
	uint32_t n = c->initial, m = channel_modulus(c);

	if (!c->armed)
		return n % m;
	switch (channel_mode(c)) {
	case 2:
		return (uint32_t)(n - d % n) % m;
	case 3:
		return (uint32_t)(n - (2 * (d % n)) % n) % m;
	default:   /* 0, 1, 4, 5 count down through 0 and wrap */
		return (uint32_t)((n % m + m - d % m) % m);
	}
}

static bool channel_out(const struct vpit_channel *c, uint64_t now)
{
	unsigned mode = channel_mode(c);
	uint64_t d = channel_elapsed(c, now), n = c->initial;

	if (!c->armed)
		return mode != 0;   /* a control word sets OUT low in mode 0, high in the others */
	switch (mode) {
	case 0:
		return d >= n;
	case 1:
		return !c->running || d >= n;
	case 2:
		return !c->running || d % n != n - 1;
	case 3:
		return !c->running || d % n < (n + 1) / 2;
	case 4:
		return d != n;
	default:   /* 5 */
		return !c->running || d != n;
	}
}

/* First tick after `t` at which OUT rises, 0 if it never will. */
static uint64_t channel_next_edge(const struct vpit_channel *c, uint64_t t)
{
	uint64_t n = c->initial, first, e;

	if (!c->armed || !c->running)
		return 0;
	switch (channel_mode(c)) {
	case 0:
	case 1:
		first = c->start + n;
		return first > t ? first : 0;
	case 4:
	case 5:
		first = c->start + n + 1;   /* low for the tick the element holds 0 */
		return first > t ? first : 0;
	default:   /* 2 and 3: a rising edge at the end of every period */
		first = c->start + n;
		if (first > t)
			return first;
		e = first + ((t - first) / n + 1) * n;
		return e;
	}
}

static void channel_irq_rearm(struct vpit_state *s, unsigned ch, uint64_t now)
{
	if (ch == 0)
		s->ch[0].irq_next = channel_next_edge(&s->ch[0], now);
}

static uint16_t to_bcd(uint32_t v)
{
	v %= MODULUS_BCD;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

/* Digits above 9 count as their binary value, as a decade counter loaded
 * with them would pass through them once. */
static uint32_t from_bcd(uint16_t v)
{
	return (v >> 12) * 1000u + ((v >> 8) & 0xf) * 100u + ((v >> 4) & 0xf) * 10u + (v & 0xf);
}

/* The counting element as a read or latch shows it. */
static uint16_t channel_reg(const struct vpit_channel *c, uint64_t now)
{
	uint32_t v = channel_count(c, now);

	return channel_bcd(c) ? to_bcd(v) : (uint16_t)v;
}

/* A new count (the whole of it, in register format). */
static void channel_load(struct vpit_state *s, unsigned ch, uint16_t raw, uint64_t now)
{
	struct vpit_channel *c = &s->ch[ch];
	uint32_t n = channel_bcd(c) ? from_bcd(raw) % MODULUS_BCD : raw;
	unsigned mode = channel_mode(c);

	c->initial = n ? n : channel_modulus(c);
	c->armed = true;
	c->held = 0;
	c->start = now + 1;
	/* Modes 1 and 5 wait for a rising GATE edge; the others count while
	 * GATE is high (Gate Pin Operations Summary). */
	c->running = mode != 1 && mode != 5 && c->gate;
	channel_irq_rearm(s, ch, now);
}

static void channel_control(struct vpit_state *s, unsigned ch, uint8_t cw)
{
	struct vpit_channel *c = &s->ch[ch];

	c->control = cw & 0x3f;
	c->armed = false;
	c->running = false;
	c->held = 0;
	c->status_latched = false;
	c->latched_bytes = 0;
	c->read_msb = false;
	c->write_msb = false;
	c->irq_next = 0;
}

/* Counter latch command: ignored while an earlier latch is unread. */
static void channel_latch_count(struct vpit_channel *c, uint64_t now)
{
	if (c->latched_bytes)
		return;
	c->latch = channel_reg(c, now);
	c->latched_bytes = channel_rw(c) == VPIT_RW_LSB_MSB ? 2 : 1;
}

static bool channel_null_count(const struct vpit_channel *c, uint64_t now)
{
	unsigned mode = channel_mode(c);

	if (!c->armed)
		return true;
	if (!c->running)
		return mode == 1 || mode == 5;   /* loaded only by the trigger */
	return now < c->start;
}

static void channel_latch_status(struct vpit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)(c->control | (channel_out(c, now) ? VPIT_STATUS_OUT : 0) |
			      (channel_null_count(c, now) ? VPIT_STATUS_NULL : 0));
	c->status_latched = true;
}

static void pit_read_back(struct vpit_state *s, uint8_t cmd, uint64_t now)
{
	for (unsigned ch = 0; ch < VPIT_CHANNELS; ch++) {
		if (!(cmd & VPIT_RB_COUNTER(ch)))
			continue;
		if (!(cmd & VPIT_RB_NO_COUNT))
			channel_latch_count(&s->ch[ch], now);
		if (!(cmd & VPIT_RB_NO_STATUS))
			channel_latch_status(&s->ch[ch], now);
	}
}

static void pit_control_write(struct vpit_state *s, uint8_t cw, uint64_t now)
{
	unsigned sc = cw >> VPIT_CW_SC_SHIFT;

	if (sc == VPIT_CW_READ_BACK)
		pit_read_back(s, cw, now);
	else if (((cw & VPIT_CW_RW_MASK) >> VPIT_CW_RW_SHIFT) == VPIT_RW_LATCH)
		channel_latch_count(&s->ch[sc], now);
	else
		channel_control(s, sc, cw);
}

/* In 2-byte mode, writing the LSB in mode 0 stops the count and sets OUT
 * low at once (Mode 0); the MSB completes the count. */
static void pit_data_write(struct vpit_state *s, unsigned ch, uint8_t val, uint64_t now)
{
	struct vpit_channel *c = &s->ch[ch];

	switch (channel_rw(c)) {
	case VPIT_RW_LSB:
		channel_load(s, ch, val, now);
		break;
	case VPIT_RW_MSB:
		channel_load(s, ch, (uint16_t)(val << 8), now);
		break;
	default:
		if (!c->write_msb) {
			c->lsb = val;
			c->write_msb = true;
			if (channel_mode(c) == 0) {
				c->armed = false;
				c->irq_next = 0;
			}
		} else {
			c->write_msb = false;
			channel_load(s, ch, (uint16_t)(c->lsb | val << 8), now);
		}
	}
}

static uint8_t byte_of(uint16_t v, bool msb)
{
	return (uint8_t)(msb ? v >> 8 : v);
}

/* A latched status comes first, then a latched count, then the live
 * element; reads and writes of a 2-byte counter have their own byte
 * pointers, so they may interleave ("Read Operations"). */
static uint8_t pit_data_read(struct vpit_channel *c, uint64_t now)
{
	unsigned rw = channel_rw(c);
	bool msb;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latched_bytes) {
		msb = rw == VPIT_RW_MSB || (rw == VPIT_RW_LSB_MSB && c->latched_bytes == 1);
		c->latched_bytes--;
		return byte_of(c->latch, msb);
	}
	msb = rw == VPIT_RW_MSB;
	if (rw == VPIT_RW_LSB_MSB) {
		msb = c->read_msb;
		c->read_msb = !c->read_msb;
	}
	return byte_of(channel_reg(c, now), msb);
}

void vpit_state_init(struct vpit_state *s)
{
	*s = (struct vpit_state){ 0 };
	for (unsigned ch = 0; ch < VPIT_CHANNELS; ch++) {
		s->ch[ch].control = VPIT_RW_LSB_MSB << VPIT_CW_RW_SHIFT | 3 << VPIT_CW_MODE_SHIFT;
		s->ch[ch].initial = MODULUS_BINARY;
		s->ch[ch].gate = ch != 2;
	}
}

enum io_result vpit_port_read(struct vpit_state *s, uint64_t off, unsigned size,
			      uint64_t *val, uint64_t now)
{
	if (size != 1 || off >= VPIT_PORT_COUNT)
		return IO_UNHANDLED;
	/* The control word register cannot be read: the bus floats. */
	*val = off == VPIT_CONTROL ? 0xff : pit_data_read(&s->ch[off], now);
	return IO_HANDLED;
}

enum io_result vpit_port_write(struct vpit_state *s, uint64_t off, unsigned size,
			       uint64_t val, uint64_t now)
{
	if (size != 1 || off >= VPIT_PORT_COUNT)
		return IO_UNHANDLED;
	if (off == VPIT_CONTROL)
		pit_control_write(s, (uint8_t)val, now);
	else
		pit_data_write(s, (unsigned)off, (uint8_t)val, now);
	return IO_HANDLED;
}

/*
 * GATE (Gate Pin Operations Summary): modes 0 and 4 pause while it is low
 * and go on from where they stopped; modes 2 and 3 stop with OUT high and
 * start over on the rising edge; modes 1 and 5 are (re)triggered by the
 * rising edge and ignore the level.
 */
static void channel_gate(struct vpit_state *s, unsigned ch, bool level, uint64_t now)
{
	struct vpit_channel *c = &s->ch[ch];
	unsigned mode = channel_mode(c);

	if (c->gate == level)
		return;
	c->gate = level;
	if (!c->armed)
		return;
	if (mode == 0 || mode == 4) {
		if (level) {
			c->start = now - c->held;
			c->held = 0;
		} else {
			c->held = channel_elapsed(c, now);
		}
		c->running = level;
	} else if (mode == 2 || mode == 3) {
		if (level) {
			c->start = now + 1;
			c->held = 0;
		} else {
			c->held = channel_elapsed(c, now);
		}
		c->running = level;
	} else if (level) {
		c->start = now + 1;
		c->held = 0;
		c->running = true;
	}
	channel_irq_rearm(s, ch, now);
}

uint8_t vpit_port_b_read(struct vpit_state *s, uint64_t now)
{
	uint8_t v = s->port_b & VPIT_PORTB_WRITABLE;

	if ((now / VPIT_REFRESH_TICKS) & 1)
		v |= VPIT_PORTB_REFRESH;
	if (channel_out(&s->ch[2], now))
		v |= VPIT_PORTB_OUT2;
	return v;
}

void vpit_port_b_write(struct vpit_state *s, uint8_t val, uint64_t now)
{
	s->port_b = val & VPIT_PORTB_WRITABLE;
	channel_gate(s, 2, val & VPIT_PORTB_GATE2, now);
}

bool vpit_out(const struct vpit_state *s, unsigned ch, uint64_t now)
{
	return ch < VPIT_CHANNELS && channel_out(&s->ch[ch], now);
}

uint32_t vpit_count(const struct vpit_state *s, unsigned ch, uint64_t now)
{
	return ch < VPIT_CHANNELS ? channel_count(&s->ch[ch], now) : 0;
}

uint64_t vpit_irq_deadline(const struct vpit_state *s)
{
	return s->ch[0].irq_next;
}

bool vpit_irq_check(struct vpit_state *s, uint64_t now)
{
	struct vpit_channel *c = &s->ch[0];
	uint64_t after;

	if (!c->irq_next || now < c->irq_next)
		return false;
	after = c->irq_next + VPIT_MIN_IRQ_TICKS - 1;
	c->irq_next = channel_next_edge(c, after > now ? after : now);
	return true;
}
