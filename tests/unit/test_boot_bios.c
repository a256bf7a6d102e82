/* The BIOS state of Multiboot VMs (core/boot_bios.c), on the 8259 and
 * 8254 models themselves: the port writes leave the pair at vectors
 * 0x08/0x70 with only the timer, the cascade and the RTC unmasked, and
 * counter 0 ticking at 18.2 Hz; every vector of the table has a handler,
 * and running the hardware-IRQ handlers (a few 16-bit instructions,
 * interpreted here) ends each interrupt so the next one gets through. */
// UNIT-SOURCES: hypervisor/core/boot_bios.c hypervisor/devices/vpic_core.c hypervisor/devices/vpit_core.c
#include <stdlib.h>
#include <string.h>
#include <core/boot_bios.h>
#include <devices/vpic.h>
#include <devices/vpit.h>
#include "unit.h"

#define T0 1000u                       /* input-clock tick of the BIOS's writes */

struct machine {
	uint8_t *low;
	struct vpic_state pic;
	struct vpit_state pit;
};

static void port_out(struct machine *m, uint16_t port, uint8_t val)
{
	enum io_result r = IO_UNHANDLED;

	if ((port & ~1u) == VPIC_MASTER_PORT || (port & ~1u) == VPIC_SLAVE_PORT)
		r = vpic_port_write(&m->pic, port >= VPIC_SLAVE_PORT, port & 1, 1, val);
	else if (port >= VPIT_PORT_BASE && port < VPIT_PORT_BASE + VPIT_PORT_COUNT)
		r = vpit_port_write(&m->pit, port - VPIT_PORT_BASE, 1, val, T0);
	CHECK_MSG(r == IO_HANDLED, "port %#x refused", port);
}

static void machine_boot(struct machine *m)
{
	m->low = calloc(1, BIOS_LOW_MEMORY);
	vpic_state_init(&m->pic);
	vpit_state_init(&m->pit);
	bios_low_memory(m->low);
	for (unsigned i = 0; i < bios_port_write_count; i++)
		port_out(m, bios_port_writes[i].port, bios_port_writes[i].value);
}

/* The handler IVT[vector] points to, run to its IRET: only the opcodes a
 * BIOS stub needs (push/pop ax, mov al, out imm8, iret). Returns the
 * number of instructions, 0 if one is not understood. */
static unsigned run_handler(struct machine *m, unsigned vector)
{
	uint16_t far[2];
	const uint8_t *ip;
	uint8_t al = 0;

	memcpy(far, m->low + vector * 4, sizeof(far));
	CHECK_EQ(far[1], BIOS_SEGMENT);
	ip = m->low + far[1] * 16u + far[0];
	for (unsigned n = 1; n < 16; n++) {
		switch (*ip) {
		case 0x50: case 0x58: ip += 1; break;              /* push ax / pop ax */
		case 0xb0: al = ip[1]; ip += 2; break;             /* mov al, imm8 */
		case 0xe6: port_out(m, ip[1], al); ip += 2; break; /* out imm8, al */
		case 0xcf: return n;                               /* iret */
		default: return 0;
		}
	}
	return 0;
}

static void pulse(struct machine *m, unsigned irq)
{
	vpic_line_set(&m->pic, irq, true);
	vpic_line_set(&m->pic, irq, false);
}

/* IRQ `irq` is delivered at `vector` and its handler ends it: a second
 * request is taken at once, at the same vector. */
static void check_irq_served(struct machine *m, unsigned irq, int vector)
{
	for (unsigned round = 0; round < 2; round++) {
		pulse(m, irq);
		CHECK_EQ(vpic_int_vector(&m->pic), vector);
		CHECK_EQ(vpic_intack(&m->pic), vector);
		CHECK(run_handler(m, (unsigned)vector) > 1);
		CHECK_EQ(vpic_int_vector(&m->pic), -1);
	}
}

static void test_pic(void)
{
	struct machine m;
	uint64_t elcr;

	machine_boot(&m);
	check_irq_served(&m, 0, 0x08);      /* the PIT */
	check_irq_served(&m, 8, 0x70);      /* the RTC, through the cascade */
	/* The rest stays masked: kvm-unit-tests' IRQ 11 (its test device),
	 * the UART's IRQ 4. */
	for (unsigned irq = 1; irq < 16; irq++)
		if (irq != 2 && irq != 8) {
			pulse(&m, irq);
			CHECK_MSG(vpic_int_vector(&m.pic) < 0, "IRQ %u unmasked", irq);
		}
	CHECK_EQ(vpic_elcr_read(&m.pic, 0, 2, &elcr), IO_HANDLED);
	CHECK_EQ(elcr, 0);                  /* every ISA IRQ edge-triggered */
	free(m.low);
}

/* Mode 2 with count 0: an IRQ 0 edge every 65536 input ticks. */
static void test_pit(void)
{
	struct machine m;
	uint64_t first;

	machine_boot(&m);
	first = vpit_irq_deadline(&m.pit);
	/* The count is loaded at the first clock pulse after the write. */
	CHECK(first > T0 && first <= T0 + 1 + 65536);
	CHECK(!vpit_irq_check(&m.pit, first - 1));
	CHECK(vpit_irq_check(&m.pit, first));
	CHECK_EQ(vpit_irq_deadline(&m.pit), first + 65536);
	free(m.low);
}

/* Every vector has a handler: hardware IRQs end the interrupt, the rest
 * (the CPU's exceptions, software interrupts) only return. */
static void test_ivt(void)
{
	struct machine m;

	machine_boot(&m);
	for (unsigned v = 0; v < BIOS_IVT_VECTORS; v++) {
		bool hw = (v >= 0x08 && v < 0x10) || (v >= 0x70 && v < 0x78);

		CHECK_MSG(hw ? run_handler(&m, v) > 1 : run_handler(&m, v) == 1,
			  "vector %#x", v);
	}
	free(m.low);
}

int main(void)
{
	test_pic();
	test_pit();
	test_ivt();
	return unit_finish("test_boot_bios");
}
