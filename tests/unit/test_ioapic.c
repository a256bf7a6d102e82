/* The IOAPIC model: register access, masking, edge and level delivery with
 * Remote IRR and EOI, destination decoding, unsupported delivery modes. */
// UNIT-SOURCES: hypervisor/devices/ioapic_core.c
#include <string.h>
#include <devices/ioapic.h>
#include "unit.h"

/* The local-APIC side, faked: records every delivery. */
struct delivery {
	struct vm *vm;
	uint32_t dest;
	bool logical;
	uint8_t vector;
	bool level;
};

#define MAX_DELIVERIES 16
static struct delivery deliveries[MAX_DELIVERIES];
static unsigned nr_deliveries;

void vm_apic_deliver(struct vm *vm, uint32_t dest, bool logical, uint8_t vector,
		     bool level_triggered)
{
	if (nr_deliveries < MAX_DELIVERIES)
		deliveries[nr_deliveries] = (struct delivery){ vm, dest, logical, vector, level_triggered };
	nr_deliveries++;
}

static char vm_dummy;
#define TEST_VM ((struct vm *)&vm_dummy)

static void reset(struct ioapic_state *s)
{
	ioapic_state_init(s, TEST_VM);
	nr_deliveries = 0;
	memset(deliveries, 0, sizeof(deliveries));
}

static uint32_t reg_read(struct ioapic_state *s, uint8_t reg)
{
	uint64_t v = 0;

	ioapic_mmio_write(s, IOAPIC_IOREGSEL, 4, reg);
	ioapic_mmio_read(s, IOAPIC_IOWIN, 4, &v);
	return (uint32_t)v;
}

static void reg_write(struct ioapic_state *s, uint8_t reg, uint32_t val)
{
	ioapic_mmio_write(s, IOAPIC_IOREGSEL, 4, reg);
	ioapic_mmio_write(s, IOAPIC_IOWIN, 4, val);
}

/* Programs an entry the way Linux does: high half first, then low. */
static void rte_write(struct ioapic_state *s, unsigned pin, uint64_t rte)
{
	reg_write(s, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin + 1), (uint32_t)(rte >> 32));
	reg_write(s, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin), (uint32_t)rte);
}

static uint64_t rte_read(struct ioapic_state *s, unsigned pin)
{
	return reg_read(s, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin)) |
	       (uint64_t)reg_read(s, (uint8_t)(IOAPIC_REG_REDTBL + 2 * pin + 1)) << 32;
}

static uint64_t dest(unsigned d)
{
	return (uint64_t)d << IOAPIC_RTE_DEST_SHIFT;
}

static uint64_t mode(unsigned m)
{
	return (uint64_t)m << IOAPIC_RTE_DELMODE_SHIFT;
}

static void test_registers(void)
{
	struct ioapic_state s;
	uint64_t v = 0;

	reset(&s);
	CHECK_EQ(reg_read(&s, IOAPIC_REG_VER), 0x00170011);
	CHECK_EQ(reg_read(&s, IOAPIC_REG_ID), IOAPIC_DEFAULT_ID << 24);
	reg_write(&s, IOAPIC_REG_ID, 0x05000000);
	CHECK_EQ(reg_read(&s, IOAPIC_REG_ID), 0x05000000);
	CHECK_EQ(reg_read(&s, IOAPIC_REG_ARB), 0x05000000);
	reg_write(&s, IOAPIC_REG_ID, 0xffffffff);          /* only bits 27:24 */
	CHECK_EQ(reg_read(&s, IOAPIC_REG_ID), 0x0f000000);
	reg_write(&s, IOAPIC_REG_VER, 0);
	reg_write(&s, IOAPIC_REG_ARB, 0);
	CHECK_EQ(reg_read(&s, IOAPIC_REG_VER), 0x00170011);
	CHECK_EQ(reg_read(&s, IOAPIC_REG_ARB), 0x0f000000);
	CHECK_EQ(reg_read(&s, 0x03), 0);                    /* unimplemented */
	CHECK_EQ(reg_read(&s, 0x40), 0);                    /* past entry 23 */

	/* IOREGSEL reads back. */
	ioapic_mmio_write(&s, IOAPIC_IOREGSEL, 4, 0x3f);
	CHECK_EQ(ioapic_mmio_read(&s, IOAPIC_IOREGSEL, 4, &v), IO_HANDLED);
	CHECK_EQ(v, 0x3f);

	/* Reset: every entry masked. */
	CHECK_EQ(rte_read(&s, 0), IOAPIC_RTE_MASKED);
	CHECK_EQ(rte_read(&s, 23), IOAPIC_RTE_MASKED);

	/* Writable bits read back; Remote IRR, Delivery Status and reserved bits do not. */
	rte_write(&s, 5, ~0ull);
	CHECK_EQ(rte_read(&s, 5), IOAPIC_RTE_WRITABLE);
	CHECK_EQ(rte_read(&s, 5), 0xff0000000001afffull);
	rte_write(&s, 5, 0);
	CHECK_EQ(rte_read(&s, 5), 0);
	CHECK_EQ(nr_deliveries, 0);   /* unmasking an edge pin sends nothing */

	/* Only 4-byte accesses at the two registers. */
	CHECK_EQ(ioapic_mmio_read(&s, IOAPIC_IOWIN, 1, &v), IO_UNHANDLED);
	CHECK_EQ(ioapic_mmio_read(&s, IOAPIC_IOWIN, 8, &v), IO_UNHANDLED);
	CHECK_EQ(ioapic_mmio_write(&s, IOAPIC_IOREGSEL, 2, 0), IO_UNHANDLED);
	CHECK_EQ(ioapic_mmio_read(&s, 0x20, 4, &v), IO_UNHANDLED);
	CHECK_EQ(ioapic_mmio_write(&s, 0x40, 4, 0), IO_UNHANDLED);
}

static void test_edge(void)
{
	struct ioapic_state s;

	reset(&s);
	rte_write(&s, 1, IOAPIC_RTE_MASKED | 0x31 | dest(2));
	ioapic_pin_set(&s, 1, true);
	CHECK_EQ(nr_deliveries, 0);               /* masked: the edge is lost */
	rte_write(&s, 1, 0x31 | dest(2));
	CHECK_EQ(nr_deliveries, 0);               /* ...not held pending */
	ioapic_pin_set(&s, 1, true);
	CHECK_EQ(nr_deliveries, 0);               /* no edge: the line was already high */
	ioapic_pin_set(&s, 1, false);
	ioapic_pin_set(&s, 1, true);
	CHECK_EQ(nr_deliveries, 1);
	CHECK(deliveries[0].vm == TEST_VM);
	CHECK_EQ(deliveries[0].dest, 2);
	CHECK(!deliveries[0].logical);
	CHECK_EQ(deliveries[0].vector, 0x31);
	CHECK(!deliveries[0].level);
	CHECK_EQ(rte_read(&s, 1) & (IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVS), 0);
	ioapic_pin_set(&s, 1, false);
	ioapic_pin_set(&s, 1, true);
	CHECK_EQ(nr_deliveries, 2);
	ioapic_vector_eoi(&s, 0x31);              /* edge: EOI changes nothing */
	CHECK_EQ(nr_deliveries, 2);
	ioapic_pin_set(&s, 24, true);             /* no such pin */
	ioapic_pin_set(&s, ~0u, true);
	CHECK_EQ(nr_deliveries, 2);
}

static void test_level(void)
{
	const uint64_t level = IOAPIC_RTE_LEVEL | 0x39 | dest(1);
	struct ioapic_state s;

	reset(&s);
	rte_write(&s, 9, level);
	ioapic_pin_set(&s, 9, true);
	CHECK_EQ(nr_deliveries, 1);
	CHECK(deliveries[0].level);
	CHECK_EQ(deliveries[0].vector, 0x39);
	CHECK(rte_read(&s, 9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_pin_set(&s, 9, true);              /* still high, awaiting EOI */
	CHECK_EQ(nr_deliveries, 1);
	ioapic_vector_eoi(&s, 0x41);              /* another vector */
	CHECK_EQ(nr_deliveries, 1);
	CHECK(rte_read(&s, 9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_vector_eoi(&s, 0x39);              /* line still high: again */
	CHECK_EQ(nr_deliveries, 2);
	CHECK(rte_read(&s, 9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_pin_set(&s, 9, false);
	CHECK_EQ(nr_deliveries, 2);
	ioapic_vector_eoi(&s, 0x39);              /* line low: just cleared */
	CHECK_EQ(nr_deliveries, 2);
	CHECK_EQ(rte_read(&s, 9) & IOAPIC_RTE_REMOTE_IRR, 0);

	/* Masked while asserted: nothing until unmasked, then at once. */
	rte_write(&s, 9, level | IOAPIC_RTE_MASKED);
	ioapic_pin_set(&s, 9, true);
	CHECK_EQ(nr_deliveries, 2);
	rte_write(&s, 9, level);
	CHECK_EQ(nr_deliveries, 3);
	CHECK(rte_read(&s, 9) & IOAPIC_RTE_REMOTE_IRR);

	/* Rewriting the entry keeps Remote IRR; making it edge clears it. */
	rte_write(&s, 9, level | IOAPIC_RTE_POLARITY_LOW);
	CHECK(rte_read(&s, 9) & IOAPIC_RTE_REMOTE_IRR);
	CHECK_EQ(nr_deliveries, 3);
	rte_write(&s, 9, (level & ~IOAPIC_RTE_LEVEL) | IOAPIC_RTE_MASKED);
	CHECK_EQ(rte_read(&s, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
	rte_write(&s, 9, level);                  /* back to level, line high: fires */
	CHECK_EQ(nr_deliveries, 4);
	CHECK(deliveries[3].level);
}

static void test_destinations(void)
{
	struct ioapic_state s;

	reset(&s);
	rte_write(&s, 3, 0x43 | dest(3));
	rte_write(&s, 4, 0x44 | IOAPIC_RTE_DEST_LOGICAL | dest(0x0a));
	rte_write(&s, 5, 0x45 | mode(IOAPIC_DELMODE_LOWEST) | IOAPIC_RTE_DEST_LOGICAL | dest(0x0c));
	rte_write(&s, 6, 0x46 | mode(IOAPIC_DELMODE_LOWEST) | dest(0xff));
	rte_write(&s, 7, 0x47 | dest(0xff));
	for (unsigned pin = 3; pin <= 7; pin++)
		ioapic_pin_set(&s, pin, true);
	CHECK_EQ(nr_deliveries, 5);
	CHECK(deliveries[0].dest == 3 && !deliveries[0].logical && deliveries[0].vector == 0x43);
	CHECK(deliveries[1].dest == 0x0a && deliveries[1].logical && deliveries[1].vector == 0x44);
	/* Lowest priority: the first APIC in the mask, sent physically. */
	CHECK(deliveries[2].dest == 2 && !deliveries[2].logical && deliveries[2].vector == 0x45);
	CHECK(deliveries[3].dest == 0 && !deliveries[3].logical && deliveries[3].vector == 0x46);
	CHECK(deliveries[4].dest == 0xff && !deliveries[4].logical && deliveries[4].vector == 0x47);

	/* An empty logical mask reaches nobody: no delivery, no Remote IRR. */
	rte_write(&s, 8, 0x48 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_DEST_LOGICAL | dest(0));
	ioapic_pin_set(&s, 8, true);
	CHECK_EQ(nr_deliveries, 5);
	CHECK_EQ(rte_read(&s, 8) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Vectors 0x00-0x0f are illegal: dropped. */
	rte_write(&s, 10, 0x0f | dest(0));
	ioapic_pin_set(&s, 10, true);
	CHECK_EQ(nr_deliveries, 5);
}

static void test_unsupported_modes(void)
{
	struct ioapic_state s;

	reset(&s);
	rte_write(&s, 2, 0x30 | mode(IOAPIC_DELMODE_NMI));
	ioapic_pin_set(&s, 2, true);
	CHECK_EQ(nr_deliveries, 0);
	CHECK_EQ(s.unsupported_new, 1u << IOAPIC_DELMODE_NMI);
	s.unsupported_new = 0;                    /* the glue logged it */
	ioapic_pin_set(&s, 2, false);
	ioapic_pin_set(&s, 2, true);
	CHECK_EQ(nr_deliveries, 0);
	CHECK_EQ(s.unsupported_new, 0);           /* once only */
	rte_write(&s, 0, 0x30 | mode(IOAPIC_DELMODE_EXTINT));
	ioapic_pin_set(&s, 0, true);
	CHECK_EQ(s.unsupported_new, 1u << IOAPIC_DELMODE_EXTINT);
	CHECK_EQ(nr_deliveries, 0);
}

int main(void)
{
	test_registers();
	test_edge();
	test_level();
	test_destinations();
	test_unsupported_modes();
	return unit_finish("test_ioapic");
}
