/*
 * I/O APIC, Intel 82093AA compatible, at 0xfec00000: 24 interrupt pins
 * routed to the local APICs by a redirection table the guest programs.
 *
 * Two halves: a pure core (devices/ioapic_core.c, host-tested) and the glue
 * (devices/ioapic.c) that registers it on the VM's MMIO bus and finds a
 * VM's IOAPIC for the device and local-APIC models.
 */
#ifndef DEVICES_IOAPIC_H
#define DEVICES_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <core/iobus.h>

struct vm;

#define IOAPIC_BASE        0xfec00000ull
#define IOAPIC_MMIO_SIZE   0x1000
#define IOAPIC_PINS        24
#define IOAPIC_VERSION     0x11    /* the 82093AA's */
/* IOAPICID at reset; the ACPI MADT must give the same. */
#define IOAPIC_DEFAULT_ID  0

/* Memory-mapped registers (82093AA datasheet, 3.1); 32-bit accesses. */
#define IOAPIC_IOREGSEL    0x00
#define IOAPIC_IOWIN       0x10

/* Registers behind IOREGSEL (3.2). */
#define IOAPIC_REG_ID      0x00    /* bits 27:24 */
#define IOAPIC_REG_VER     0x01    /* 23:16 max redirection entry, 7:0 version */
#define IOAPIC_REG_ARB     0x02    /* bits 27:24, read-only */
#define IOAPIC_REG_REDTBL  0x10    /* entry n: low half at 0x10 + 2n, high at 0x11 + 2n */

/* Redirection table entry (3.2.4). */
#define IOAPIC_RTE_VECTOR          0xffull
#define IOAPIC_RTE_DELMODE_SHIFT   8
#define IOAPIC_RTE_DELMODE_MASK    (7ull << 8)
#define IOAPIC_RTE_DEST_LOGICAL    (1ull << 11)
#define IOAPIC_RTE_DELIVS          (1ull << 12)   /* read-only */
#define IOAPIC_RTE_POLARITY_LOW    (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR      (1ull << 14)   /* read-only */
#define IOAPIC_RTE_LEVEL           (1ull << 15)
#define IOAPIC_RTE_MASKED          (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT      56
#define IOAPIC_RTE_DEST_MASK       (0xffull << 56)
/* What the guest can write: everything but the read-only and reserved bits. */
#define IOAPIC_RTE_WRITABLE  (IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELMODE_MASK |          \
			      IOAPIC_RTE_DEST_LOGICAL | IOAPIC_RTE_POLARITY_LOW |     \
			      IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED | IOAPIC_RTE_DEST_MASK)

enum ioapic_delivery_mode {
	IOAPIC_DELMODE_FIXED   = 0,
	IOAPIC_DELMODE_LOWEST  = 1,
	IOAPIC_DELMODE_SMI     = 2,
	IOAPIC_DELMODE_NMI     = 4,
	IOAPIC_DELMODE_INIT    = 5,
	IOAPIC_DELMODE_EXTINT  = 7,
};

struct ioapic_state {
	struct vm *vm;
	uint8_t ioregsel;
	uint8_t id;
	uint32_t lines;                /* bit n: pin n's input is asserted */
	uint64_t rte[IOAPIC_PINS];
	uint8_t unsupported_seen;      /* delivery modes met, one bit per mode */
	uint8_t unsupported_new;       /* ...not yet logged (the glue logs, clears) */
};

void ioapic_state_init(struct ioapic_state *s, struct vm *vm);
/* Accesses to the MMIO page, `off` relative to its base: 4 bytes only. */
enum io_result ioapic_mmio_read(struct ioapic_state *s, uint64_t off, unsigned size, uint64_t *val);
enum io_result ioapic_mmio_write(struct ioapic_state *s, uint64_t off, unsigned size, uint64_t val);
/* A device drives pin `pin` (`level`: asserted, whatever the polarity). */
void ioapic_pin_set(struct ioapic_state *s, unsigned pin, bool level);
/* A local APIC signalled EOI for a level-triggered `vector`. */
void ioapic_vector_eoi(struct ioapic_state *s, uint8_t vector);

/* Registers the IOAPIC at IOAPIC_BASE on the VM's MMIO bus. */
int ioapic_create(struct vm *vm);
/* Back to the power-on state (every pin masked), for a VM restart. */
void ioapic_reset(struct vm *vm);
/* A device's interrupt line; edge-triggered pins fire on 0 -> 1. No-op for
 * a VM without an IOAPIC or a pin past 23. */
void ioapic_set_irq(struct vm *vm, unsigned pin, bool level);
/* For the local APIC on EOI of a level-triggered vector: clears remote IRR
 * and delivers again if the line is still asserted. */
void ioapic_eoi(struct vm *vm, uint8_t vector);

/*
 * Provided by the local-APIC model: queue `vector` at the local APIC(s)
 * `dest` designates. With `logical` false, `dest` is an APIC ID (0xff:
 * all). With `logical` true, it is a mask of APIC IDs 0-7, bit n meaning
 * APIC ID n: this IOAPIC's reading of the flat logical model, documented
 * here so both sides agree. `level_triggered` tells the local APIC to
 * report the EOI back through ioapic_eoi().
 */
void vm_apic_deliver(struct vm *vm, uint32_t dest, bool logical, uint8_t vector,
		     bool level_triggered);

#endif
