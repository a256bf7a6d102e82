/*
 * The 82093AA I/O APIC model without hypervisor dependencies (host-tested
 * by tests/unit/test_ioapic.c). References: Intel 82093AA I/O Advanced
 * Programmable Interrupt Controller datasheet (290566-001), 3.1 for the
 * two memory-mapped registers, 3.2.1-3.2.4 for IOAPICID, IOAPICVER,
 * IOAPICARB and the redirection table.
 *
 * Delivery is synchronous: an interrupt is handed to the local-APIC model
 * (vm_apic_deliver) the moment it fires, so Delivery Status always reads
 * 0 (idle). Destinations: physical mode passes the 8-bit destination field
 * through as an APIC ID (the 82093AA decodes bits 59:56 only; later
 * IOAPICs and xAPIC use all 8); logical mode passes it as a mask of APIC
 * IDs 0-7 (see vm_apic_deliver). Lowest priority does no arbitration: the
 * first destination takes the interrupt. SMI, NMI, INIT, ExtINT and the
 * reserved modes are not supported: such an interrupt is dropped and the
 * mode noted once for the glue to log. The polarity bit reads back, but
 * devices report their line as asserted or not, so it changes nothing.
 *
 * One physical CPU runs every vCPU (core/sched.h): no locking.
 */
#include <devices/ioapic.h>

#define FIRST_VALID_VECTOR 0x10   /* 0x00-0x0f are illegal (datasheet, 3.2.4) */

void ioapic_state_init(struct ioapic_state *s, struct vm *vm)
{
	*s = (struct ioapic_state){ .vm = vm, .id = IOAPIC_DEFAULT_ID };
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		s->rte[i] = IOAPIC_RTE_MASKED;    /* reset value: masked, all else 0 */
}

static void ioapic_note_unsupported(struct ioapic_state *s, unsigned mode)
{
	uint8_t bit = (uint8_t)(1u << mode);

	if (!(s->unsupported_seen & bit)) {
		s->unsupported_seen |= bit;
		s->unsupported_new |= bit;
	}
}

/* Sends pin's interrupt as its entry says; false when it went nowhere. */
static bool ioapic_deliver(struct ioapic_state *s, unsigned pin)
{
	uint64_t rte = s->rte[pin];
	unsigned mode = (rte & IOAPIC_RTE_DELMODE_MASK) >> IOAPIC_RTE_DELMODE_SHIFT;
	uint8_t vector = rte & IOAPIC_RTE_VECTOR;
	uint32_t dest = (uint32_t)(rte >> IOAPIC_RTE_DEST_SHIFT);
	bool logical = rte & IOAPIC_RTE_DEST_LOGICAL;

	if (mode != IOAPIC_DELMODE_FIXED && mode != IOAPIC_DELMODE_LOWEST) {
		ioapic_note_unsupported(s, mode);
		return false;
	}
	if (vector < FIRST_VALID_VECTOR || (logical && !dest))
		return false;
	if (mode == IOAPIC_DELMODE_LOWEST) {
		if (logical)
			dest = (uint32_t)__builtin_ctz(dest);
		else if (dest == 0xff)
			dest = 0;    /* broadcast: APIC ID 0 comes first */
		logical = false;
	}
	vm_apic_deliver(s->vm, dest, logical, vector, rte & IOAPIC_RTE_LEVEL);
	return true;
}

/*
 * Fires pin if it should now: an unmasked edge pin always (the caller saw
 * the edge); an unmasked level pin while its line is asserted and no
 * earlier interrupt awaits its EOI (Remote IRR, 3.2.4).
 */
static void ioapic_service(struct ioapic_state *s, unsigned pin)
{
	uint64_t rte = s->rte[pin];

	if (rte & IOAPIC_RTE_MASKED)
		return;
	if (!(rte & IOAPIC_RTE_LEVEL)) {
		ioapic_deliver(s, pin);
		return;
	}
	if (!(s->lines & (1u << pin)) || (rte & IOAPIC_RTE_REMOTE_IRR))
		return;
	if (ioapic_deliver(s, pin))
		s->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

/* An edge on a masked pin is lost, not held pending (3.2.4, bit 16). */
void ioapic_pin_set(struct ioapic_state *s, unsigned pin, bool level)
{
	uint32_t bit;
	bool was;

	if (pin >= IOAPIC_PINS)
		return;
	bit = 1u << pin;
	was = s->lines & bit;
	if (level)
		s->lines |= bit;
	else
		s->lines &= ~bit;
	if (s->rte[pin] & IOAPIC_RTE_LEVEL) {
		if (level)
			ioapic_service(s, pin);
	} else if (level && !was) {
		ioapic_service(s, pin);
	}
}

void ioapic_vector_eoi(struct ioapic_state *s, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t rte = s->rte[pin];

		if (!(rte & IOAPIC_RTE_LEVEL) || !(rte & IOAPIC_RTE_REMOTE_IRR) ||
		    (rte & IOAPIC_RTE_VECTOR) != vector)
			continue;
		s->rte[pin] = rte & ~IOAPIC_RTE_REMOTE_IRR;
		ioapic_service(s, pin);   /* the line may still be asserted */
	}
}

/*
 * One half of an entry. Remote IRR is meaningless for edge pins and is
 * cleared when the pin becomes edge-triggered: Linux relies on that to
 * clear a stale Remote IRR on IOAPICs older than version 0x20, which have
 * no EOI register. Unmasking a level pin whose line is asserted fires it;
 * an edge pin waits for the next edge.
 */
static void ioapic_rte_write(struct ioapic_state *s, unsigned pin, bool high, uint32_t val)
{
	uint64_t rte = s->rte[pin];
	uint64_t half = high ? (uint64_t)val << 32 : val;
	uint64_t half_mask = high ? 0xffffffff00000000ull : 0xffffffffull;

	rte = (rte & ~(half_mask & IOAPIC_RTE_WRITABLE)) | (half & half_mask & IOAPIC_RTE_WRITABLE);
	if (!(rte & IOAPIC_RTE_LEVEL))
		rte &= ~IOAPIC_RTE_REMOTE_IRR;
	s->rte[pin] = rte;
	if (rte & IOAPIC_RTE_LEVEL)
		ioapic_service(s, pin);
}

static uint32_t ioapic_reg_read(const struct ioapic_state *s, uint8_t reg)
{
	unsigned pin = (unsigned)(reg - IOAPIC_REG_REDTBL) / 2;

	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:   /* loaded from the ID whenever the ID is written */
		return (uint32_t)s->id << 24;
	case IOAPIC_REG_VER:
		return (IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
	}
	if (reg < IOAPIC_REG_REDTBL || pin >= IOAPIC_PINS)
		return 0;
	return (uint32_t)(s->rte[pin] >> ((reg & 1) ? 32 : 0));
}

static void ioapic_reg_write(struct ioapic_state *s, uint8_t reg, uint32_t val)
{
	unsigned pin = (unsigned)(reg - IOAPIC_REG_REDTBL) / 2;

	if (reg == IOAPIC_REG_ID)
		s->id = (val >> 24) & 0x0f;
	else if (reg >= IOAPIC_REG_REDTBL && pin < IOAPIC_PINS)
		ioapic_rte_write(s, pin, reg & 1, val);
	/* IOAPICVER, IOAPICARB and unimplemented registers: read-only */
}

enum io_result ioapic_mmio_read(struct ioapic_state *s, uint64_t off, unsigned size, uint64_t *val)
{
	if (size != 4)
		return IO_UNHANDLED;
	if (off == IOAPIC_IOREGSEL)
		*val = s->ioregsel;
	else if (off == IOAPIC_IOWIN)
		*val = ioapic_reg_read(s, s->ioregsel);
	else
		return IO_UNHANDLED;
	return IO_HANDLED;
}

enum io_result ioapic_mmio_write(struct ioapic_state *s, uint64_t off, unsigned size, uint64_t val)
{
	if (size != 4)
		return IO_UNHANDLED;
	if (off == IOAPIC_IOREGSEL)
		s->ioregsel = (uint8_t)val;   /* bits 7:0, the rest reserved */
	else if (off == IOAPIC_IOWIN)
		ioapic_reg_write(s, s->ioregsel, (uint32_t)val);
	else
		return IO_UNHANDLED;
	return IO_HANDLED;
}
