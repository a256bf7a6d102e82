/*
 * The BIOS state of a Multiboot VM (see core/boot_bios.h). Port values:
 * Intel 8259A data sheet (231468), "Initialization Command Words"; Intel
 * 8254 data sheet (231164), "Control Word Format"; as SeaBIOS programs
 * them (src/hw/pic.c pic_reset, src/hw/timer.c pit_setup, and its
 * enable_hwirq calls for the timer, the cascade and the RTC).
 */
#include <core/boot_bios.h>
#include <devices/vpic.h>
#include <devices/vpit.h>
#include <lib/string.h>

#define PIC_M_CMD  VPIC_MASTER_PORT
#define PIC_M_DATA (VPIC_MASTER_PORT + 1)
#define PIC_S_CMD  VPIC_SLAVE_PORT
#define PIC_S_DATA (VPIC_SLAVE_PORT + 1)
#define BIOS_IRQ0_VECTOR 0x08
#define BIOS_IRQ8_VECTOR 0x70
/* Unmasked: IRQ 0 (PIT), 2 (the cascade), 8 (RTC). */
#define BIOS_MASTER_MASK 0xfa
#define BIOS_SLAVE_MASK  0xfe
/* Counter 0, LSB then MSB, mode 2 (rate generator), binary. */
#define PIT_CW_SYSTEM_TIMER ((0u << 6) | (VPIT_RW_LSB_MSB << VPIT_CW_RW_SHIFT) | \
			     (2u << VPIT_CW_MODE_SHIFT))

const struct bios_port_write bios_port_writes[] = {
	{ PIC_M_CMD, VPIC_ICW1 | VPIC_ICW1_IC4 },    /* ICW1: cascade, edge, ICW4 */
	{ PIC_S_CMD, VPIC_ICW1 | VPIC_ICW1_IC4 },
	{ PIC_M_DATA, BIOS_IRQ0_VECTOR },            /* ICW2: vector bases */
	{ PIC_S_DATA, BIOS_IRQ8_VECTOR },
	{ PIC_M_DATA, 1u << VPIC_CASCADE_IR },       /* ICW3: the slave on IR2 */
	{ PIC_S_DATA, VPIC_CASCADE_IR },             /*       its ID */
	{ PIC_M_DATA, 0x01 },                        /* ICW4: 8086 mode */
	{ PIC_S_DATA, 0x01 },
	{ PIC_M_DATA, BIOS_MASTER_MASK },            /* OCW1 */
	{ PIC_S_DATA, BIOS_SLAVE_MASK },
	{ VPIT_PORT_BASE + VPIT_CONTROL, PIT_CW_SYSTEM_TIMER },
	{ VPIT_PORT_BASE, 0x00 },                    /* count 0: 65536, 18.2 Hz */
	{ VPIT_PORT_BASE, 0x00 },
};
const unsigned bios_port_write_count = sizeof(bios_port_writes) / sizeof(bios_port_writes[0]);

/* 16-bit handlers: IRET; EOI to the master, IRET; EOI to both, IRET. */
static const uint8_t stub_iret[] = { 0xcf };
static const uint8_t stub_master[] = {
	0x50,                   /* push ax */
	0xb0, 0x20,             /* mov al, 0x20 (OCW2: non-specific EOI) */
	0xe6, PIC_M_CMD,        /* out PIC_M_CMD, al */
	0x58,                   /* pop ax */
	0xcf,                   /* iret */
};
static const uint8_t stub_slave[] = {
	0x50, 0xb0, 0x20,
	0xe6, PIC_S_CMD,        /* the slave first, then the master's IR2 */
	0xe6, PIC_M_CMD,
	0x58, 0xcf,
};
#define STUB_IRET   BIOS_STUBS_OFFSET
#define STUB_MASTER (STUB_IRET + sizeof(stub_iret))
#define STUB_SLAVE  (STUB_MASTER + sizeof(stub_master))
_Static_assert(STUB_SLAVE + sizeof(stub_slave) <= 0xfff0, "below the reset vector");

static void ivt_set(uint8_t *low, unsigned vector, uint16_t offset)
{
	uint16_t far[2] = { offset, BIOS_SEGMENT };

	memcpy(low + vector * 4, far, sizeof(far));
}

void bios_low_memory(uint8_t *low)
{
	uint8_t *stubs = low + BIOS_SEGMENT * 16;

	memcpy(stubs + STUB_IRET, stub_iret, sizeof(stub_iret));
	memcpy(stubs + STUB_MASTER, stub_master, sizeof(stub_master));
	memcpy(stubs + STUB_SLAVE, stub_slave, sizeof(stub_slave));
	for (unsigned v = 0; v < BIOS_IVT_VECTORS; v++)
		ivt_set(low, v, STUB_IRET);
	for (unsigned irq = 0; irq < 8; irq++) {
		ivt_set(low, BIOS_IRQ0_VECTOR + irq, STUB_MASTER);
		ivt_set(low, BIOS_IRQ8_VECTOR + irq, STUB_SLAVE);
	}
}
