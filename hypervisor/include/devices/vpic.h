/*
 * The guest's two 8259A interrupt controllers, cascaded as on the PC/AT:
 * the master at ports 0x20-0x21 takes ISA IRQs 0-7, the slave at
 * 0xa0-0xa1 IRQs 8-15 and drives the master's IR2. The edge/level control
 * registers (ELCR) of the PIIX/ICH chipsets sit at 0x4d0 (master) and
 * 0x4d1 (slave). The master's INT output reaches vCPU 0.
 *
 * Two halves: a pure core (devices/vpic_core.c, host-tested) and the glue
 * (devices/vpic.c) that registers the ports, routes ISA IRQs to the PICs
 * and the IOAPIC, and offers the master's INT to vCPU 0.
 */
#ifndef DEVICES_VPIC_H
#define DEVICES_VPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <core/iobus.h>

struct vm;
struct vcpu;

#define VPIC_MASTER_PORT    0x20
#define VPIC_SLAVE_PORT     0xa0
#define VPIC_PORT_COUNT     2
#define VPIC_ELCR_PORT      0x4d0     /* master's ELCR; the slave's at 0x4d1 */
#define VPIC_ELCR_COUNT     2
#define VPIC_IRQS           16
#define VPIC_CASCADE_IR     2         /* the master input the slave drives */
/* Inputs that are always edge-triggered (PIIX4 data sheet, "ELCR1/ELCR2"):
 * IRQ 0, 1, 2 (timer, keyboard, cascade) and 8, 13 (RTC, FPU error). */
#define VPIC_ELCR_MASK_MASTER 0xf8
#define VPIC_ELCR_MASK_SLAVE  0xde

/* Command words (Intel 8259A data sheet, 231468, "Initialization Command
 * Words" and "Operation Command Words"). A0 = 0 with D4 = 1 is ICW1; with
 * D4 = 0, D3 selects OCW3 over OCW2. A0 = 1 takes ICW2-4 during
 * initialization and OCW1 (the mask) after it. */
#define VPIC_ICW1           0x10
#define VPIC_ICW1_IC4       0x01      /* ICW4 follows */
#define VPIC_ICW1_SNGL      0x02      /* no slave: no ICW3 */
#define VPIC_ICW1_LTIM      0x08      /* every input level-triggered */
#define VPIC_ICW4_AEOI      0x02
#define VPIC_ICW4_SFNM      0x10      /* special fully nested mode */
#define VPIC_OCW3           0x08
#define VPIC_OCW3_ESMM      0x40      /* change the special mask mode to SMM */
#define VPIC_OCW3_SMM       0x20
#define VPIC_OCW3_POLL      0x04
#define VPIC_OCW3_RR        0x02      /* change the register read to RIS */
#define VPIC_OCW3_RIS       0x01      /* read ISR rather than IRR */
/* OCW2 bits 7:5 (R, SL, EOI). */
#define VPIC_OCW2_NS_EOI            1
#define VPIC_OCW2_SPECIFIC_EOI      3
#define VPIC_OCW2_ROTATE_NS_EOI     5
#define VPIC_OCW2_ROTATE_SPECIFIC   7
#define VPIC_OCW2_SET_ROTATE_AEOI   4
#define VPIC_OCW2_CLEAR_ROTATE_AEOI 0
#define VPIC_OCW2_SET_PRIORITY      6
/* Poll word: bit 7 set when an input requests service, bits 2:0 the level. */
#define VPIC_POLL_INT       0x80

struct vpic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines;          /* input levels as the devices drive them */
	uint8_t elcr, elcr_mask;
	uint8_t vector_base;    /* ICW2 bits 7:3 */
	uint8_t icw3;           /* master: inputs with a slave; slave: its ID */
	uint8_t lowest;         /* input with the lowest priority (7 until rotated) */
	uint8_t init_next;      /* 0, or the ICW (2-4) the chip waits for */
	bool icw4_expected, single, ltim, aeoi, sfnm;
	bool rotate_in_aeoi, special_mask, read_isr, poll;
};

struct vpic_state {
	struct vpic_chip chip[2];   /* 0: master, 1: slave */
};

/*
 * Power-on as a PC BIOS leaves the pair (the guest is booted without
 * one): initialized for the 8086, vectors 0x08 and 0x70, the slave on IR2,
 * edge-triggered, and every input masked. A guest's own ICW1-4 replace it.
 */
void vpic_state_init(struct vpic_state *s);
/* ISA IRQ 0-15 driven to `level`. An edge-triggered input requests on 0->1. */
void vpic_line_set(struct vpic_state *s, unsigned irq, bool level);
/* The master's INT output: an unmasked request above everything in service. */
bool vpic_int_pending(const struct vpic_state *s);
/* The vector the INTA cycles would give now, without taking it, or -1
 * when the output is low or the guest polls (it then reads the request
 * itself): what the CPU is offered until it accepts. */
int vpic_int_vector(const struct vpic_state *s);
/* The INTA cycles: the vector of the highest request, now in service (or
 * the spurious IR7 vector of the chip when the request went away). */
uint8_t vpic_intack(struct vpic_state *s);
/* Accesses to a chip's two ports (`off` 0 or 1, bytes) and to the ELCR
 * pair (`off` 0 master, 1 slave). */
enum io_result vpic_port_read(struct vpic_state *s, unsigned chip, uint64_t off,
			      unsigned size, uint64_t *val);
enum io_result vpic_port_write(struct vpic_state *s, unsigned chip, uint64_t off,
			       unsigned size, uint64_t val);
enum io_result vpic_elcr_read(struct vpic_state *s, uint64_t off, unsigned size, uint64_t *val);
enum io_result vpic_elcr_write(struct vpic_state *s, uint64_t off, unsigned size, uint64_t val);

/* ---------------------------------------------------------------- glue */

/* Registers ports 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1. */
int vpic_create(struct vm *vm);
void vpic_reset(struct vm *vm);
/*
 * ISA IRQ `irq` (0-15) of a device goes to both interrupt controllers, as
 * on a PC: 8259 input `irq`, and IOAPIC pin `irq` except IRQ 0, which the
 * MADT overrides to ACPI_PIT_GSI, and IRQ 2, the cascade, which goes to
 * the 8259 only. Only the IRQ the guest unmasked somewhere gets through.
 */
void vm_isa_irq_set(struct vm *vm, unsigned irq, bool level);
/*
 * The master's INT as vCPU `v` sees it (vCPU 0 only; the others -1): the
 * vector the pair would give now, or -1. vpic_extint_ack is the INTA of
 * the CPU taking it (devices/lapic.c calls both, as the local APIC passes
 * an external interrupt through).
 */
int vpic_extint_vector(const struct vcpu *v);
void vpic_extint_ack(struct vcpu *v);

#endif
