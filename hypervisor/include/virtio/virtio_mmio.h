/*
 * The virtio-mmio transport, version 2 (virtio 1.2, 4.2), for guests built
 * for microVMs: slot n is a 512-byte register block at
 * VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE with IOAPIC pin
 * VIRTIO_MMIO_GSI_BASE + n (level, active high), announced to the guest as
 * \_SB.VRn with _HID "LNRO0005" in the DSDT (dsdt.asl).
 */
#ifndef VIRTIO_VIRTIO_MMIO_H
#define VIRTIO_VIRTIO_MMIO_H

struct vm;
struct virtio_dev;

/* Also in devices/acpi_tables.h for iasl (checked in virtio_mmio.c). */
#define VIRTIO_MMIO_BASE      0xfeb00000ull
#define VIRTIO_MMIO_SIZE      0x200
#define VIRTIO_MMIO_GSI_BASE  20
#define VIRTIO_MMIO_SLOTS     4

int virtio_mmio_create(struct vm *vm, struct virtio_dev *d, unsigned slot);

#endif
