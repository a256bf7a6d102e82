/*
 * The guest's 8254 programmable interval timer at ports 0x40-0x43, and the
 * system control port B at 0x61 that gates counter 2 and shows its output
 * (the pair Linux's quick_pit_calibrate and the PM-timer rate check poll).
 * Counter 0's output is ISA IRQ 0, wired to 8259 input 0 and to IOAPIC
 * pin ACPI_PIT_GSI (the MADT's interrupt source override says so);
 * counter 1 (DRAM refresh on a PC) drives nothing; counter 2 feeds the
 * speaker and port 0x61.
 *
 * Two halves: a pure core (devices/vpit_core.c, host-tested) that counts in
 * ticks of the 1.193182 MHz input clock the caller passes in, and the glue
 * (devices/vpit.c) that derives those ticks from the TSC on every access
 * and raises IRQ 0 when the scheduler asks (vpit_timer_check).
 */
#ifndef DEVICES_VPIT_H
#define DEVICES_VPIT_H

#include <stdbool.h>
#include <stdint.h>
#include <core/iobus.h>

struct vm;

#define VPIT_HZ             1193182u   /* 14.31818 MHz / 12 */
#define VPIT_PORT_BASE      0x40
#define VPIT_PORT_COUNT     4          /* counters 0-2, then the control word */
#define VPIT_CONTROL        3          /* offset of the control word register */
#define VPIT_PORT_B         0x61       /* system control port B (NMI status/control) */
#define VPIT_CHANNELS       3

/* Control word (82C54 data sheet, "Control Word Format"): SC1:0 select the
 * counter (3 = read-back), RW1:0 the access (0 = counter latch command),
 * M2:0 the mode (6 and 7 are modes 2 and 3), BCD. */
#define VPIT_CW_SC_SHIFT    6
#define VPIT_CW_READ_BACK   3
#define VPIT_CW_RW_SHIFT    4
#define VPIT_CW_RW_MASK     (3u << VPIT_CW_RW_SHIFT)
#define VPIT_RW_LATCH       0
#define VPIT_RW_LSB         1
#define VPIT_RW_MSB         2
#define VPIT_RW_LSB_MSB     3
#define VPIT_CW_MODE_SHIFT  1
#define VPIT_CW_BCD         0x01
/* Read-back command ("Read-Back Command"): bits clear to latch. */
#define VPIT_RB_NO_COUNT    0x20
#define VPIT_RB_NO_STATUS   0x10
#define VPIT_RB_COUNTER(n)  (2u << (n))
/* Status byte ("Status Byte"): OUT, NULL COUNT, then the control word's
 * bits 5:0. */
#define VPIT_STATUS_OUT     0x80
#define VPIT_STATUS_NULL    0x40

/* Port 0x61 (Intel 82371AB PIIX4 data sheet, "NMI Status and Control
 * Register"; the same bits since the PC/AT). Bits 3:0 read back as
 * written; bits 7:4 are status. */
#define VPIT_PORTB_GATE2    0x01   /* counter 2 GATE */
#define VPIT_PORTB_SPEAKER  0x02   /* speaker data enable */
#define VPIT_PORTB_WRITABLE 0x0f
#define VPIT_PORTB_REFRESH  0x10   /* toggles with every DRAM refresh request */
#define VPIT_PORTB_OUT2     0x20   /* counter 2 OUT */
/* The PC's refresh request period: counter 1 in mode 2 with count 18. */
#define VPIT_REFRESH_TICKS  18

/*
 * Counter 0's interrupt is not raised more often than this, whatever the
 * count (about 200 us, the local APIC timer's floor in lapic.c): a guest
 * loading a count of 2 would otherwise make every VM entry exit at once.
 * Reads of the counter are exact; only IRQ 0 is rate-limited.
 */
#define VPIT_MIN_IRQ_TICKS  239

struct vpit_channel {
	uint8_t control;        /* RW, mode and BCD bits (5:0) of the last control word */
	uint32_t initial;       /* count in use: 1..65536 (binary) or 1..10000 (BCD) */
	bool armed;             /* a count was written after the control word */
	bool running;           /* counting: neither held by GATE nor awaiting a trigger */
	bool gate;
	uint64_t start;         /* tick the count was loaded into the counting element */
	uint64_t held;          /* ticks counted before GATE stopped the counter */
	uint64_t irq_next;      /* counter 0: tick of the next IRQ 0, 0 = none */
	/* read side: a latched status, then a latched count, then live reads */
	bool status_latched;
	uint8_t status;
	uint8_t latched_bytes;  /* bytes of `latch` still to read */
	uint16_t latch;
	bool read_msb;          /* 2-byte access: the next live read returns the MSB */
	/* write side */
	bool write_msb;         /* 2-byte access: the LSB was written, the MSB is next */
	uint8_t lsb;
};

struct vpit_state {
	struct vpit_channel ch[VPIT_CHANNELS];
	uint8_t port_b;         /* writable bits of port 0x61 */
};

/* Power-on: no counter programmed (no interrupt), every counter set for
 * LSB/MSB access in mode 3, gates of counters 0 and 1 tied high, counter
 * 2's gate low (port 0x61 reads 0 in its low bits). */
void vpit_state_init(struct vpit_state *s);
/* Accesses to ports 0x40-0x43 (`off` relative to 0x40, bytes only) and to
 * port 0x61; `now` is the input clock in ticks, never going back. */
enum io_result vpit_port_read(struct vpit_state *s, uint64_t off, unsigned size,
			      uint64_t *val, uint64_t now);
enum io_result vpit_port_write(struct vpit_state *s, uint64_t off, unsigned size,
			       uint64_t val, uint64_t now);
uint8_t vpit_port_b_read(struct vpit_state *s, uint64_t now);
void vpit_port_b_write(struct vpit_state *s, uint8_t val, uint64_t now);
/* A counter's OUT pin and counting element (what a latch would capture,
 * before any BCD conversion; 65536 or 10000 read as 0). */
bool vpit_out(const struct vpit_state *s, unsigned ch, uint64_t now);
uint32_t vpit_count(const struct vpit_state *s, unsigned ch, uint64_t now);
/* Tick of the next IRQ 0 (a rising edge of counter 0's OUT), 0 if none. */
uint64_t vpit_irq_deadline(const struct vpit_state *s);
/* True when an IRQ 0 edge is due at `now`; then moves the deadline to the
 * next edge after `now`: edges missed meanwhile are merged into this one. */
bool vpit_irq_check(struct vpit_state *s, uint64_t now);

/* ---------------------------------------------------------------- glue */

/* Registers ports 0x40-0x43 and 0x61 on the VM's port-I/O bus. */
int vpit_create(struct vm *vm);
/* Back to the power-on state, the input clock restarting at 0. */
void vpit_reset(struct vm *vm);
/*
 * For the scheduler, next to the local APIC timer: the TSC value at which
 * IRQ 0 is next due (0: none), and the check that raises it once the TSC
 * has passed that point. Port reads need neither: they compute the
 * counters from the TSC themselves.
 */
uint64_t vpit_timer_deadline(const struct vm *vm);
void vpit_timer_check(struct vm *vm, uint64_t now_tsc);

#endif
