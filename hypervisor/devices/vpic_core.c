/*
 * The cascaded 8259A pair without hypervisor dependencies (host-tested by
 * tests/unit/test_vpic.c). Reference: Intel 8259A Programmable Interrupt
 * Controller data sheet (231468): "Interrupt Sequence", "Initialization
 * Command Words", "Operation Command Words", "Fully Nested Mode",
 * "Automatic Rotation", "Specific Rotation", "Special Mask Mode", "Poll
 * Command", "Reading the 8259A Status", "Edge and Level Triggered Modes";
 * ELCR from the PIIX4 data sheet (82371AB).
 *
 * Priorities: input `lowest` has priority 7, the one after it priority 0;
 * rotation only moves `lowest`. A request goes out when its input is
 * unmasked and has a higher priority than every input in service (in the
 * special mask mode, masked inputs in service do not count; in the special
 * fully nested mode the master lets its slave input interrupt itself).
 *
 * The slave's INT is the master's IR2 as a level: the master's IRR bit 2
 * follows the slave's output at every change, so a second slave request
 * gets through after the first one's INTA, as the real cascade does.
 *
 * Not modelled: the 8080/8085 mode (the vector is always base | input),
 * buffered mode (M/S is taken from the wiring: chip 0 is the master) and
 * the slave ID check (the master's INTA reaches the one slave).
 */
#include <devices/vpic.h>

#define MASTER 0
#define SLAVE  1

static uint8_t bit(unsigned ir)
{
	return (uint8_t)(1u << ir);
}

/* Inputs sensed by level: every one with LTIM, else those the ELCR sets. */
static uint8_t chip_level_inputs(const struct vpic_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

/* The input of `mask` with the highest priority, or -1. */
static int chip_highest(const struct vpic_chip *c, uint8_t mask)
{
	for (unsigned p = 0; p < 8; p++) {
		unsigned ir = (c->lowest + 1 + p) & 7;

		if (mask & bit(ir))
			return (int)ir;
	}
	return -1;
}

static unsigned chip_priority(const struct vpic_chip *c, unsigned ir)
{
	return (ir - c->lowest - 1) & 7;   /* 0 is the highest */
}

static bool chip_has_slave(const struct vpic_chip *c, unsigned ir)
{
	return !c->single && (c->icw3 & bit(ir));
}

/* The input the chip raises INT for, or -1 ("Fully Nested Mode"). */
static int chip_request(const struct vpic_chip *c, bool master)
{
	uint8_t in_service = c->isr;
	int ir = chip_highest(c, c->irr & ~c->imr), svc;

	if (ir < 0 || c->init_next)
		return -1;
	if (c->special_mask)
		in_service &= ~c->imr;
	svc = chip_highest(c, in_service);
	if (svc < 0)
		return ir;
	if (chip_priority(c, (unsigned)ir) < chip_priority(c, (unsigned)svc))
		return ir;
	if (ir == svc && master && c->sfnm && chip_has_slave(c, (unsigned)ir))
		return ir;
	return -1;
}

/* The slave's output into the master's cascade input. */
static void pic_cascade(struct vpic_state *s)
{
	struct vpic_chip *m = &s->chip[MASTER];
	uint8_t b = bit(VPIC_CASCADE_IR);

	if (!chip_has_slave(m, VPIC_CASCADE_IR))
		return;
	if (chip_request(&s->chip[SLAVE], false) >= 0)
		m->irr |= b;
	else
		m->irr &= ~b;
}

/* "Edge and Level Triggered Modes": an edge input latches a request on
 * the rising edge; a level input requests while it is high. */
static void chip_line_set(struct vpic_chip *c, unsigned ir, bool level)
{
	uint8_t b = bit(ir);

	if (chip_level_inputs(c) & b) {
		if (level)
			c->irr |= b;
		else
			c->irr &= ~b;
	} else if (level && !(c->lines & b)) {
		c->irr |= b;
	}
	if (level)
		c->lines |= b;
	else
		c->lines &= ~b;
}

void vpic_line_set(struct vpic_state *s, unsigned irq, bool level)
{
	if (irq >= VPIC_IRQS)
		return;
	chip_line_set(&s->chip[irq / 8], irq % 8, level);
	pic_cascade(s);
}

bool vpic_int_pending(const struct vpic_state *s)
{
	return chip_request(&s->chip[MASTER], true) >= 0;
}

/* The INTA of one input: in service, its edge request consumed; with
 * AEOI the end of interrupt comes with the INTA itself. */
static void chip_ack(struct vpic_chip *c, unsigned ir)
{
	if (!(chip_level_inputs(c) & bit(ir)))
		c->irr &= ~bit(ir);
	if (!c->aeoi)
		c->isr |= bit(ir);
	else if (c->rotate_in_aeoi)
		c->lowest = (uint8_t)ir;
}

/* A chip asked for a vector without a request answers with IR7's
 * ("Interrupt Sequence", the spurious interrupt). */
static uint8_t chip_vector(const struct vpic_chip *c, int ir)
{
	return (uint8_t)(c->vector_base | (ir < 0 ? 7 : (unsigned)ir));
}

int vpic_int_vector(const struct vpic_state *s)
{
	const struct vpic_chip *m = &s->chip[MASTER];
	int ir = chip_request(m, true);

	if (ir < 0 || m->poll)
		return -1;
	if (chip_has_slave(m, (unsigned)ir))
		return chip_vector(&s->chip[SLAVE], chip_request(&s->chip[SLAVE], false));
	return chip_vector(m, ir);
}

uint8_t vpic_intack(struct vpic_state *s)
{
	struct vpic_chip *m = &s->chip[MASTER], *sl = &s->chip[SLAVE];
	int ir = chip_request(m, true), sir;
	uint8_t vector;

	if (ir < 0)
		return chip_vector(m, -1);
	if (chip_has_slave(m, (unsigned)ir)) {
		sir = chip_request(sl, false);
		if (sir >= 0)
			chip_ack(sl, (unsigned)sir);
		vector = chip_vector(sl, sir);
	} else {
		vector = chip_vector(m, ir);
	}
	chip_ack(m, (unsigned)ir);
	pic_cascade(s);
	return vector;
}

/* ICW1: what the data sheet lists under "Initialization Command Words":
 * edge sense reset (a new rising edge is needed), mask cleared, IR7
 * lowest, special mask mode off, IRR selected for reading, and without
 * IC4 every ICW4 function off. In-service and pending requests are
 * dropped too: the chip is starting over. */
static void chip_icw1(struct vpic_chip *c, uint8_t val)
{
	c->ltim = val & VPIC_ICW1_LTIM;
	c->single = val & VPIC_ICW1_SNGL;
	c->icw4_expected = val & VPIC_ICW1_IC4;
	c->imr = 0;
	c->isr = 0;
	c->irr = c->lines & chip_level_inputs(c);
	c->lowest = 7;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->rotate_in_aeoi = false;
	if (!c->icw4_expected) {
		c->aeoi = false;
		c->sfnm = false;
	}
	c->init_next = 2;
}

static void chip_icw(struct vpic_chip *c, uint8_t val)
{
	switch (c->init_next) {
	case 2:
		c->vector_base = val & 0xf8;
		c->init_next = !c->single ? 3 : c->icw4_expected ? 4 : 0;
		break;
	case 3:
		c->icw3 = val;
		c->init_next = c->icw4_expected ? 4 : 0;
		break;
	default:
		c->aeoi = val & VPIC_ICW4_AEOI;
		c->sfnm = val & VPIC_ICW4_SFNM;
		c->init_next = 0;
	}
}

/* OCW2: end of interrupt and rotations. A non-specific EOI ends the
 * highest-priority input in service. */
static void chip_ocw2(struct vpic_chip *c, uint8_t val)
{
	unsigned level = val & 7;
	int ir;

	switch (val >> 5) {
	case VPIC_OCW2_NS_EOI:
	case VPIC_OCW2_ROTATE_NS_EOI:
		ir = chip_highest(c, c->isr);
		if (ir < 0)
			break;
		c->isr &= ~bit((unsigned)ir);
		if (val >> 5 == VPIC_OCW2_ROTATE_NS_EOI)
			c->lowest = (uint8_t)ir;
		break;
	case VPIC_OCW2_SPECIFIC_EOI:
		c->isr &= ~bit(level);
		break;
	case VPIC_OCW2_ROTATE_SPECIFIC:
		c->isr &= ~bit(level);
		c->lowest = (uint8_t)level;
		break;
	case VPIC_OCW2_SET_ROTATE_AEOI:
		c->rotate_in_aeoi = true;
		break;
	case VPIC_OCW2_CLEAR_ROTATE_AEOI:
		c->rotate_in_aeoi = false;
		break;
	case VPIC_OCW2_SET_PRIORITY:
		c->lowest = (uint8_t)level;
		break;
	default:   /* 2: no operation */
		break;
	}
}

static void chip_ocw3(struct vpic_chip *c, uint8_t val)
{
	if (val & VPIC_OCW3_ESMM)
		c->special_mask = val & VPIC_OCW3_SMM;
	if (val & VPIC_OCW3_POLL)
		c->poll = true;
	if (val & VPIC_OCW3_RR)
		c->read_isr = val & VPIC_OCW3_RIS;
}

/* "Poll Command": the read after it is the INTA of the highest request,
 * returned as a poll word instead of a vector. */
static uint8_t pic_poll(struct vpic_state *s, unsigned chip)
{
	struct vpic_chip *c = &s->chip[chip];
	int ir = chip_request(c, chip == MASTER);

	c->poll = false;
	if (ir < 0)
		return 0;
	chip_ack(c, (unsigned)ir);
	return (uint8_t)(VPIC_POLL_INT | (unsigned)ir);
}

void vpic_state_init(struct vpic_state *s)
{
	*s = (struct vpic_state){ 0 };
	for (unsigned i = 0; i < 2; i++) {
		struct vpic_chip *c = &s->chip[i];

		c->imr = 0xff;
		c->lowest = 7;
		c->icw4_expected = true;
	}
	s->chip[MASTER].vector_base = 0x08;
	s->chip[MASTER].icw3 = bit(VPIC_CASCADE_IR);
	s->chip[MASTER].elcr_mask = VPIC_ELCR_MASK_MASTER;
	s->chip[SLAVE].vector_base = 0x70;
	s->chip[SLAVE].icw3 = VPIC_CASCADE_IR;
	s->chip[SLAVE].elcr_mask = VPIC_ELCR_MASK_SLAVE;
}

enum io_result vpic_port_read(struct vpic_state *s, unsigned chip, uint64_t off,
			      unsigned size, uint64_t *val)
{
	struct vpic_chip *c = &s->chip[chip & 1];

	if (size != 1 || off >= VPIC_PORT_COUNT)
		return IO_UNHANDLED;
	if (off == 1)
		*val = c->imr;
	else if (c->poll)
		*val = pic_poll(s, chip & 1);
	else
		*val = c->read_isr ? c->isr : c->irr;
	pic_cascade(s);
	return IO_HANDLED;
}

enum io_result vpic_port_write(struct vpic_state *s, unsigned chip, uint64_t off,
			       unsigned size, uint64_t val)
{
	struct vpic_chip *c = &s->chip[chip & 1];
	uint8_t v = (uint8_t)val;

	if (size != 1 || off >= VPIC_PORT_COUNT)
		return IO_UNHANDLED;
	if (off == 0 && (v & VPIC_ICW1))
		chip_icw1(c, v);
	else if (off == 0 && (v & VPIC_OCW3))
		chip_ocw3(c, v);
	else if (off == 0)
		chip_ocw2(c, v);
	else if (c->init_next)
		chip_icw(c, v);
	else
		c->imr = v;   /* OCW1 */
	pic_cascade(s);
	return IO_HANDLED;
}

enum io_result vpic_elcr_read(struct vpic_state *s, uint64_t off, unsigned size, uint64_t *val)
{
	if (size == 1 && off < VPIC_ELCR_COUNT)
		*val = s->chip[off].elcr;
	else if (size == 2 && off == 0)
		*val = s->chip[MASTER].elcr | (uint64_t)s->chip[SLAVE].elcr << 8;
	else
		return IO_UNHANDLED;
	return IO_HANDLED;
}

/* A level-sensitive input requests exactly while its line is high; one
 * turning edge-sensitive keeps a request it already has. */
static void chip_elcr_write(struct vpic_chip *c, uint8_t val)
{
	uint8_t level;

	c->elcr = val & c->elcr_mask;
	level = chip_level_inputs(c);
	c->irr = (uint8_t)((c->irr & ~level) | (c->lines & level));
}

enum io_result vpic_elcr_write(struct vpic_state *s, uint64_t off, unsigned size, uint64_t val)
{
	if (size == 1 && off < VPIC_ELCR_COUNT) {
		chip_elcr_write(&s->chip[off], (uint8_t)val);
	} else if (size == 2 && off == 0) {
		chip_elcr_write(&s->chip[MASTER], (uint8_t)val);
		chip_elcr_write(&s->chip[SLAVE], (uint8_t)(val >> 8));
	} else {
		return IO_UNHANDLED;
	}
	pic_cascade(s);
	return IO_HANDLED;
}
