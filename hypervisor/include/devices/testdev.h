/*
 * The test device kvm-unit-tests expects next to a PC (QEMU's pc-testdev,
 * "-device pc-testdev"), for VMs with `testdev = on` in hv.cfg:
 *   0xe0-0xe3    a 32-bit scratch register, readable back at any width
 *                and offset (port-I/O emulation tests);
 *   0xe4-0xe7    "flush page": a 32-bit write of a guest-physical address.
 *                QEMU unmaps the page from its own process to provoke a
 *                fault path in KVM; Kestrel has no such cache: nothing;
 *   0xe8-0xeb    the same scratch register, taken a byte at a time;
 *   0x2000-0x2017 IRQ lines: each byte written sets ISA IRQ (its port -
 *                0x2000) to the byte's truth, as QEMU splits wide writes
 *                (lines 16-23 do not exist on the ISA bus and are ignored);
 *   0xff000000   64 KiB of memory served by MMIO exits (instruction
 *                emulation tests), zero at power-on.
 *
 * The register's byte lanes are a pure core (testdev_core.c, host-tested).
 */
#ifndef DEVICES_TESTDEV_H
#define DEVICES_TESTDEV_H

#include <stdint.h>

struct vm;

#define TESTDEV_REG_PORT       0xe0
#define TESTDEV_FLUSH_PORT     0xe4
#define TESTDEV_REG_BYTE_PORT  0xe8
#define TESTDEV_IRQ_PORT       0x2000
#define TESTDEV_IRQ_LINES      24
#define TESTDEV_IOMEM_BASE     0xff000000ull
#define TESTDEV_IOMEM_SIZE     0x10000ull

/* The scratch register seen through an access of `size` bytes at byte
 * `off` (0-3) of its 4-byte window; the lanes past byte 3 do not exist. */
uint32_t testdev_reg_read(uint32_t reg, unsigned off, unsigned size);
uint32_t testdev_reg_write(uint32_t reg, unsigned off, unsigned size, uint32_t val);

int testdev_create(struct vm *vm);
void testdev_reset(struct vm *vm);

#endif
