/* The 8259A pair: power-on masking, Linux's initialization and probe, the
 * cascade, priorities and rotation, EOI kinds, AEOI, ELCR and LTIM level
 * inputs, special mask and special fully nested modes, polling, register
 * reads and spurious interrupts; the vector offered before the INTA. */
// UNIT-SOURCES: hypervisor/devices/vpic_core.c
#include <devices/vpic.h>
#include "unit.h"

#define M 0
#define S 1

static void out8(struct vpic_state *s, unsigned chip, unsigned off, uint8_t v)
{
	if (vpic_port_write(s, chip, off, 1, v) != IO_HANDLED)
		CHECK_MSG(0, "write of chip %u port %u refused", chip, off);
}

static uint8_t in8(struct vpic_state *s, unsigned chip, unsigned off)
{
	uint64_t v = 0xdead;

	if (vpic_port_read(s, chip, off, 1, &v) != IO_HANDLED || v > 0xff)
		CHECK_MSG(0, "read of chip %u port %u: %#llx", chip, off, (unsigned long long)v);
	return (uint8_t)v;
}

static void pulse(struct vpic_state *s, unsigned irq)
{
	vpic_line_set(s, irq, true);
	vpic_line_set(s, irq, false);
}

/* init_8259A() of Linux (arch/x86/kernel/i8259.c), vectors 0x30/0x38. */
static void linux_init(struct vpic_state *s, bool auto_eoi)
{
	out8(s, M, 1, 0xff);
	out8(s, S, 1, 0xff);
	out8(s, M, 0, 0x11);                        /* ICW1: edge, cascade, ICW4 */
	out8(s, M, 1, 0x30);                        /* ICW2 */
	out8(s, M, 1, 1u << 2);                     /* ICW3: slave on IR2 */
	out8(s, M, 1, auto_eoi ? 0x03 : 0x01);      /* ICW4: 8086, (AEOI) */
	out8(s, S, 0, 0x11);
	out8(s, S, 1, 0x38);
	out8(s, S, 1, 2);                           /* slave ID */
	out8(s, S, 1, 0x01);
	out8(s, M, 1, 0xfb);                        /* all masked but the cascade */
	out8(s, S, 1, 0xff);
}

static void test_power_on(void)
{
	struct vpic_state s;
	uint64_t v;

	vpic_state_init(&s);
	CHECK_EQ(in8(&s, M, 1), 0xff);
	CHECK_EQ(in8(&s, S, 1), 0xff);
	for (unsigned irq = 0; irq < 16; irq++)
		pulse(&s, irq);
	CHECK(!vpic_int_pending(&s));
	CHECK_EQ(in8(&s, M, 0), 0xfb);              /* IRR: every request latched but IR2 */
	CHECK_EQ(in8(&s, S, 0), 0xff);
	/* The BIOS-like vectors, once unmasked. */
	out8(&s, M, 1, 0xfe);
	CHECK(vpic_int_pending(&s));
	CHECK_EQ(vpic_intack(&s), 0x08);
	out8(&s, M, 0, 0x20);
	out8(&s, M, 1, 0xfb);
	out8(&s, S, 1, 0xfe);
	CHECK(vpic_int_pending(&s));
	CHECK_EQ(vpic_intack(&s), 0x70);
	CHECK_EQ(vpic_port_read(&s, M, 0, 2, &v), IO_UNHANDLED);
	CHECK_EQ(vpic_port_write(&s, M, 2, 1, 0), IO_UNHANDLED);
	CHECK_EQ(vpic_elcr_read(&s, 2, 1, &v), IO_UNHANDLED);
}

/* probe_8259A(): the mask must read back, or Linux takes no PIC. */
static void test_linux_probe(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	out8(&s, S, 1, 0xff);
	out8(&s, M, 1, 0xfb);
	CHECK_EQ(in8(&s, M, 1), 0xfb);
	linux_init(&s, false);
	CHECK_EQ(in8(&s, M, 1), 0xfb);
	CHECK_EQ(in8(&s, S, 1), 0xff);
	CHECK(!vpic_int_pending(&s));
}

static void test_fully_nested_and_eoi(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	linux_init(&s, false);
	out8(&s, M, 1, 0xf0);                       /* IRQ 0, 1, 3 (and the cascade) */
	pulse(&s, 1);
	pulse(&s, 3);
	CHECK_EQ(vpic_intack(&s), 0x31);
	CHECK(!vpic_int_pending(&s));               /* IRQ 3 waits for IRQ 1's EOI */
	pulse(&s, 0);
	CHECK(vpic_int_pending(&s));                /* IRQ 0 is above IRQ 1 */
	CHECK_EQ(vpic_intack(&s), 0x30);
	out8(&s, M, 0, 0x0b);                       /* OCW3: read ISR */
	CHECK_EQ(in8(&s, M, 0), 0x03);
	out8(&s, M, 0, 0x20);                       /* non-specific EOI: IRQ 0 */
	CHECK_EQ(in8(&s, M, 0), 0x02);
	CHECK(!vpic_int_pending(&s));
	out8(&s, M, 0, 0x61);                       /* specific EOI: IRQ 1 */
	CHECK_EQ(in8(&s, M, 0), 0x00);
	CHECK(vpic_int_pending(&s));
	CHECK_EQ(vpic_intack(&s), 0x33);
	out8(&s, M, 0, 0x0a);                       /* OCW3: read IRR */
	CHECK_EQ(in8(&s, M, 0), 0x00);
	pulse(&s, 3);
	CHECK_EQ(in8(&s, M, 0), 0x08);
	out8(&s, M, 1, 0xff);                       /* masked: pending, no INT */
	out8(&s, M, 0, 0x20);
	CHECK(!vpic_int_pending(&s));
	out8(&s, M, 1, 0xf7);
	CHECK_EQ(vpic_intack(&s), 0x33);
	/* Spurious: no request left, IR7's vector. */
	CHECK(!vpic_int_pending(&s));
	CHECK_EQ(vpic_intack(&s), 0x37);
}

/* Linux's slave acknowledgement: specific EOIs to the slave and to IR2. */
static void test_cascade(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	linux_init(&s, false);
	out8(&s, S, 1, 0xee);                       /* IRQ 8 and 12 */
	pulse(&s, 12);
	CHECK(vpic_int_pending(&s));
	pulse(&s, 8);
	CHECK_EQ(vpic_intack(&s), 0x38);            /* IRQ 8 first */
	out8(&s, M, 0, 0x0b);
	out8(&s, S, 0, 0x0b);
	CHECK_EQ(in8(&s, M, 0), 0x04);
	CHECK_EQ(in8(&s, S, 0), 0x01);
	CHECK(!vpic_int_pending(&s));               /* IR2 in service on the master */
	out8(&s, S, 0, 0x60);                       /* specific EOI 0 to the slave */
	CHECK(!vpic_int_pending(&s));
	out8(&s, M, 0, 0x62);                       /* and 2 to the master */
	CHECK(vpic_int_pending(&s));
	CHECK_EQ(vpic_intack(&s), 0x3c);
	/* The master's own inputs above IR2 still get through. */
	out8(&s, M, 1, 0xfa);
	pulse(&s, 0);
	CHECK_EQ(vpic_intack(&s), 0x30);
	/* A slave request latched while masked goes out once unmasked. */
	out8(&s, M, 0, 0x20);
	out8(&s, S, 0, 0x20);
	out8(&s, M, 0, 0x20);
	pulse(&s, 9);
	out8(&s, S, 1, 0xed);
	CHECK(vpic_int_pending(&s));
	CHECK_EQ(vpic_intack(&s), 0x39);
}

static void test_sfnm(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	linux_init(&s, false);
	out8(&s, M, 0, 0x11);
	out8(&s, M, 1, 0x30);
	out8(&s, M, 1, 0x04);
	out8(&s, M, 1, 0x11);                       /* ICW4: SFNM */
	out8(&s, M, 1, 0xfb);
	out8(&s, S, 1, 0x00);
	pulse(&s, 12);
	CHECK_EQ(vpic_intack(&s), 0x3c);
	pulse(&s, 9);                               /* above IRQ 12 on the slave */
	CHECK(vpic_int_pending(&s));                /* IR2 interrupts IR2 */
	CHECK_EQ(vpic_intack(&s), 0x39);
	pulse(&s, 13);                              /* below IRQ 9, 12: blocked by the slave */
	CHECK(!vpic_int_pending(&s));
	/* Without SFNM the same request waits for the master's EOI. */
	linux_init(&s, false);
	out8(&s, S, 1, 0x00);
	pulse(&s, 12);
	CHECK_EQ(vpic_intack(&s), 0x3c);
	pulse(&s, 9);
	CHECK(!vpic_int_pending(&s));
	out8(&s, M, 0, 0x20);
	CHECK_EQ(vpic_intack(&s), 0x39);
}

static void test_rotation(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	linux_init(&s, false);
	out8(&s, M, 1, 0x00);
	pulse(&s, 0);
	pulse(&s, 5);
	CHECK_EQ(vpic_intack(&s), 0x30);
	out8(&s, M, 0, 0xa0);                       /* rotate on non-specific EOI: 0 lowest */
	pulse(&s, 0);
	CHECK_EQ(vpic_intack(&s), 0x35);            /* 5 now above 0 */
	out8(&s, M, 0, 0xe5);                       /* rotate on specific EOI 5: 5 lowest */
	CHECK_EQ(vpic_intack(&s), 0x30);
	out8(&s, M, 0, 0x20);
	out8(&s, M, 0, 0xc3);                       /* set priority: 3 lowest, 4 highest */
	pulse(&s, 7);
	pulse(&s, 4);
	pulse(&s, 1);
	CHECK_EQ(vpic_intack(&s), 0x34);
	out8(&s, M, 0, 0x20);
	CHECK_EQ(vpic_intack(&s), 0x37);
	out8(&s, M, 0, 0x20);
	CHECK_EQ(vpic_intack(&s), 0x31);
}

static void test_auto_eoi(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	linux_init(&s, true);
	out8(&s, M, 1, 0x00);
	pulse(&s, 3);
	CHECK_EQ(vpic_intack(&s), 0x33);
	out8(&s, M, 0, 0x0b);
	CHECK_EQ(in8(&s, M, 0), 0x00);              /* nothing in service */
	pulse(&s, 4);
	CHECK_EQ(vpic_intack(&s), 0x34);            /* no EOI needed */
	out8(&s, M, 0, 0x80);                       /* rotate in AEOI mode */
	pulse(&s, 1);
	pulse(&s, 6);
	CHECK_EQ(vpic_intack(&s), 0x31);            /* 1 becomes the lowest */
	pulse(&s, 1);
	CHECK_EQ(vpic_intack(&s), 0x36);
	out8(&s, M, 0, 0x00);                       /* rotation off */
	CHECK_EQ(vpic_intack(&s), 0x31);
}

static void test_level_inputs(void)
{
	struct vpic_state s;
	uint64_t v;

	vpic_state_init(&s);
	linux_init(&s, false);
	CHECK_EQ(vpic_elcr_write(&s, 0, 2, 0xffff), IO_HANDLED);
	CHECK_EQ(vpic_elcr_read(&s, 0, 2, &v), IO_HANDLED);
	CHECK_EQ(v, 0xdef8);                        /* IRQ 0-2, 8, 13 stay edge */
	CHECK_EQ(vpic_elcr_write(&s, 0, 1, 0x20), IO_HANDLED);   /* IRQ 5 level */
	CHECK_EQ(vpic_elcr_write(&s, 1, 1, 0x00), IO_HANDLED);
	CHECK_EQ(vpic_elcr_read(&s, 1, 1, &v), IO_HANDLED);
	CHECK_EQ(v, 0);
	out8(&s, M, 1, 0x00);
	vpic_line_set(&s, 5, true);
	CHECK_EQ(vpic_intack(&s), 0x35);
	out8(&s, M, 0, 0x20);
	CHECK(vpic_int_pending(&s));                /* still high: again */
	CHECK_EQ(vpic_intack(&s), 0x35);
	vpic_line_set(&s, 5, false);
	out8(&s, M, 0, 0x20);
	CHECK(!vpic_int_pending(&s));
	/* A request that goes away before the INTA is gone (level). */
	vpic_line_set(&s, 5, true);
	vpic_line_set(&s, 5, false);
	CHECK(!vpic_int_pending(&s));
	/* An edge input keeps it. */
	pulse(&s, 6);
	CHECK_EQ(vpic_intack(&s), 0x36);
	out8(&s, M, 0, 0x20);
	/* Turning level with the line high requests at once. */
	vpic_line_set(&s, 7, true);
	CHECK_EQ(vpic_intack(&s), 0x37);
	out8(&s, M, 0, 0x20);
	CHECK(!vpic_int_pending(&s));
	CHECK_EQ(vpic_elcr_write(&s, 0, 1, 0xa0), IO_HANDLED);
	CHECK_EQ(vpic_intack(&s), 0x37);
	out8(&s, M, 0, 0x20);
	/* LTIM: every input of the chip level-triggered. */
	vpic_line_set(&s, 7, false);
	CHECK_EQ(vpic_elcr_write(&s, 0, 1, 0x00), IO_HANDLED);
	out8(&s, M, 0, 0x19);
	out8(&s, M, 1, 0x30);
	out8(&s, M, 1, 0x04);
	out8(&s, M, 1, 0x01);
	out8(&s, M, 1, 0xfe);
	vpic_line_set(&s, 0, true);
	CHECK_EQ(vpic_intack(&s), 0x30);
	out8(&s, M, 0, 0x20);
	CHECK_EQ(vpic_intack(&s), 0x30);
	CHECK_EQ(vpic_elcr_write(&s, 0, 4, 0), IO_UNHANDLED);
}

/* After ICW1 an input must rise again; and nothing goes out mid-init. */
static void test_reinit(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	linux_init(&s, false);
	out8(&s, M, 1, 0xfe);
	vpic_line_set(&s, 0, true);                 /* held high */
	out8(&s, M, 0, 0x11);
	CHECK_EQ(in8(&s, M, 1), 0x00);              /* ICW1 clears the mask */
	CHECK(!vpic_int_pending(&s));
	out8(&s, M, 1, 0x40);
	pulse(&s, 1);
	CHECK(!vpic_int_pending(&s));               /* waiting for ICW3 */
	out8(&s, M, 1, 0x04);
	out8(&s, M, 1, 0x01);
	CHECK(vpic_int_pending(&s));                /* IRQ 1's edge, not IRQ 0's level */
	CHECK_EQ(vpic_intack(&s), 0x41);
	CHECK(!vpic_int_pending(&s));
	vpic_line_set(&s, 0, false);
	vpic_line_set(&s, 0, true);
	CHECK(vpic_int_pending(&s));
	/* A single chip without ICW4: no ICW3, no ICW4 functions. */
	out8(&s, M, 0, 0x12);
	out8(&s, M, 1, 0x50);
	out8(&s, M, 1, 0xfd);                       /* OCW1 already */
	CHECK_EQ(in8(&s, M, 1), 0xfd);
	pulse(&s, 1);
	CHECK_EQ(vpic_intack(&s), 0x51);
	pulse(&s, 2);                               /* no cascade: a plain input */
	out8(&s, M, 1, 0xfb);
	out8(&s, M, 0, 0x20);
	CHECK_EQ(vpic_intack(&s), 0x52);
}

static void test_special_mask(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	linux_init(&s, false);
	out8(&s, M, 1, 0x00);
	pulse(&s, 3);
	CHECK_EQ(vpic_intack(&s), 0x33);
	pulse(&s, 5);
	CHECK(!vpic_int_pending(&s));
	out8(&s, M, 1, 0x08);                       /* mask the input in service */
	out8(&s, M, 0, 0x68);                       /* OCW3: set special mask mode */
	CHECK(vpic_int_pending(&s));
	CHECK_EQ(vpic_intack(&s), 0x35);
	out8(&s, M, 0, 0x65);                       /* specific EOI 5 */
	out8(&s, M, 0, 0x48);                       /* reset special mask mode */
	pulse(&s, 6);
	CHECK(!vpic_int_pending(&s));               /* IR3 in service blocks again */
	out8(&s, M, 0, 0x63);
	CHECK_EQ(vpic_intack(&s), 0x36);
}

static void test_poll(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	linux_init(&s, false);
	out8(&s, M, 1, 0x00);
	out8(&s, M, 0, 0x0c);                       /* OCW3: poll */
	CHECK_EQ(in8(&s, M, 0), 0x00);              /* nothing */
	pulse(&s, 6);
	pulse(&s, 4);
	out8(&s, M, 0, 0x0c);
	CHECK_EQ(in8(&s, M, 0), VPIC_POLL_INT | 4);
	CHECK_EQ(in8(&s, M, 0), 0x40);              /* back to IRR: IRQ 6 */
	out8(&s, M, 0, 0x0b);
	CHECK_EQ(in8(&s, M, 0), 0x10);              /* IRQ 4 in service, as after an INTA */
	out8(&s, M, 0, 0x20);
	out8(&s, M, 0, 0x0c);
	CHECK_EQ(in8(&s, M, 0), VPIC_POLL_INT | 6);
}

/* What the CPU is offered before its INTA is what the INTA then gives,
 * and looking does not take it: master and slave inputs, a request
 * masked before the INTA, nothing pending, and a poll set up. */
static void test_int_vector(void)
{
	struct vpic_state s;

	vpic_state_init(&s);
	linux_init(&s, false);
	CHECK_EQ(vpic_int_vector(&s), -1);
	out8(&s, M, 1, 0xfa);                       /* IRQ 0 and the cascade */
	out8(&s, S, 1, 0xfd);                       /* IRQ 9 */
	pulse(&s, 0);
	pulse(&s, 9);
	CHECK_EQ(vpic_int_vector(&s), 0x30);
	CHECK_EQ(vpic_int_vector(&s), 0x30);        /* still there: nothing taken */
	CHECK_EQ(in8(&s, M, 0), 0x05);              /* IRR: IRQ 0 and IR2 */
	CHECK_EQ(vpic_intack(&s), 0x30);
	CHECK_EQ(vpic_int_vector(&s), -1);          /* IRQ 0 in service blocks IR2 */
	out8(&s, M, 0, 0x20);
	CHECK_EQ(vpic_int_vector(&s), 0x39);
	CHECK_EQ(vpic_intack(&s), 0x39);
	out8(&s, S, 0, 0x20);
	out8(&s, M, 0, 0x20);
	/* Masked before the INTA: no longer offered, and the edge stays
	 * latched for when the guest unmasks it. */
	pulse(&s, 0);
	CHECK_EQ(vpic_int_vector(&s), 0x30);
	out8(&s, M, 1, 0xff);
	CHECK_EQ(vpic_int_vector(&s), -1);
	out8(&s, M, 1, 0xfe);
	CHECK_EQ(vpic_int_vector(&s), 0x30);
	/* A poll takes the request through the ports, not the CPU. */
	out8(&s, M, 0, 0x0c);
	CHECK_EQ(vpic_int_vector(&s), -1);
	CHECK_EQ(in8(&s, M, 0), VPIC_POLL_INT | 0);
}

int main(void)
{
	test_power_on();
	test_linux_probe();
	test_fully_nested_and_eoi();
	test_cascade();
	test_sfnm();
	test_rotation();
	test_auto_eoi();
	test_level_inputs();
	test_reinit();
	test_special_mask();
	test_poll();
	test_int_vector();
	return unit_finish("test_vpic");
}
