/*
 * What a PC BIOS leaves for the kernel its bootloader starts, given to
 * Multiboot VMs (core/boot.c): a Multiboot kernel on a PC (GRUB, or
 * QEMU's -kernel through SeaBIOS) is entered with that state in place,
 * and kernels written for it depend on it (kvm-unit-tests' realmode
 * waits in HLT for the BIOS's timer tick).
 *
 * As SeaBIOS's POST leaves it, for the devices Kestrel has: an interrupt
 * vector table whose every vector IRETs and whose hardware-IRQ vectors
 * (0x08-0x0f, 0x70-0x77) end the interrupt at the 8259s first; the 8259s
 * initialized with those bases and only the timer, the cascade and the
 * RTC unmasked; PIT counter 0 as the 18.2 Hz system timer (mode 2, count
 * 65536). The ELCR stays 0: Kestrel routes PCI INTx to IOAPIC pins 16-19,
 * so no ISA IRQ is shared with PCI and none is level-triggered.
 *
 * A pure core (host-tested by tests/unit/test_boot_bios.c).
 */
#ifndef CORE_BOOT_BIOS_H
#define CORE_BOOT_BIOS_H

#include <stdint.h>

#define BIOS_LOW_MEMORY   0x100000u   /* bios_low_memory writes below this */
#define BIOS_IVT_VECTORS  256
#define BIOS_SEGMENT      0xf000u
/* F000:FF00: the handlers, below the reset vector at F000:FFF0. */
#define BIOS_STUBS_OFFSET 0xff00u

struct bios_port_write {
	uint16_t port;
	uint8_t value;
};

/* The BIOS's device set-up, in the order it writes the ports. */
extern const struct bios_port_write bios_port_writes[];
extern const unsigned bios_port_write_count;

/* The vector table at 0 and its handlers at F000:FF00, in `low`, the
 * guest's first BIOS_LOW_MEMORY bytes. */
void bios_low_memory(uint8_t *low);

#endif
