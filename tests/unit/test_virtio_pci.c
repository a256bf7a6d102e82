/* The virtio-pci modern transport on a VM's PCI bus, on the host, as a
 * driver sees it through the real configuration mechanisms (ECAM and
 * 0xcf8/0xcfc) and BAR window: the five vendor capabilities (virtio 1.2,
 * 4.1.4), then the PCI configuration access capability (4.1.4.9) alone
 * driving the common configuration, the device configuration, the ISR
 * and the notifications, checked against the same registers read through
 * the BAR; accesses 4.1.4.9.2 forbids the driver read 0 and change
 * nothing. The device type is a stub with two queues and 8 bytes of
 * configuration. */
// UNIT-SOURCES: hypervisor/virtio/virtio_pci.c hypervisor/virtio/virtio.c hypervisor/virtio/virtq.c hypervisor/pci/pci_core.c hypervisor/pci/pci_host.c hypervisor/core/iobus.c
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/ioapic.h>
#include <devices/power.h>
#include <hv/bootinfo.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <pci/pci.h>
#include <virtio/virtio.h>
#include <virtio/virtio_pci.h>
#include "hv_stubs.h"
#include "unit.h"

/* What the transport, the PCI glue and the virtio core use from the rest
 * of the hypervisor, besides hv_stubs.h. */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa > vm->mem_size || vm->mem_size - gpa < len)
		return NULL;
	return (void *)(uintptr_t)(vm->ram_hpa + gpa);
}

static bool gsi_level[24];

void ioapic_set_irq(struct vm *vm, unsigned pin, bool level)
{
	(void)vm;
	if (pin < 24)
		gsi_level[pin] = level;
}

void power_reset_control(struct vm *vm, uint8_t val)
{
	(void)vm;
	(void)val;
}

void vm_apic_deliver(struct vm *vm, uint32_t dest, bool logical, uint8_t vector,
		     bool level_triggered)
{
	(void)vm;
	(void)dest;
	(void)logical;
	(void)vector;
	(void)level_triggered;
}

/* ------------------------------------------------------------ the rig */

#define RAM        (1u << 20)
#define NR_QUEUES  2
#define QUEUE_MAX  64
#define CFG_BYTES  8
#define FEATURES   (1ull << 3 | 1ull << 40)   /* a low and a high device bit */

/* Layout the transport promises (virtio_pci.c's header comment). */
#define BAR_SIZE   0x4000
#define ISR_OFF    0x1000
#define DEVICE_OFF 0x2000
#define NOTIFY_OFF 0x3000
#define MSIX_OFF   0x3800
/* Common configuration (4.1.4.3). */
#define CC_DFSEL   0x00
#define CC_DF      0x04
#define CC_GFSEL   0x08
#define CC_GF      0x0c
#define CC_NUMQ    0x12
#define CC_STATUS  0x14
#define CC_QSEL    0x16
#define CC_QSIZE   0x18
#define CC_QDESC   0x20
#define CC_SIZE    0x38
/* struct virtio_pci_cap (4.1.4) and the PCI_CFG window after it (4.1.4.9). */
#define CAP_BAR    4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_DATA   16

static struct vm vm;
static struct hv_boot_vm boot;
static struct virtio_dev dev;
static struct pci_dev *pd;
static unsigned slot;
static unsigned notified[NR_QUEUES];

static void stub_notify(struct virtio_dev *d, unsigned q)
{
	(void)d;
	notified[q]++;
}

static const struct virtio_dev_ops stub_ops = {
	.name = "virtio-stub", .device_id = VIRTIO_ID_RNG, .nr_queues = NR_QUEUES,
	.queue_max = QUEUE_MAX, .queue_notify = stub_notify,
};

/* Configuration space through ECAM (PCI Express Base 4.0, 7.2.2). */
static uint32_t cfg_rd(unsigned off, unsigned size)
{
	uint64_t v = 0;

	if (iobus_read(&vm.mmio.bus, PCI_ECAM_BASE + (slot << 15) + off, size, &v) != IO_HANDLED)
		CHECK_MSG(0, "ECAM read %#x unhandled", off);
	return (uint32_t)v;
}

static void cfg_wr(unsigned off, unsigned size, uint32_t v)
{
	if (iobus_write(&vm.mmio.bus, PCI_ECAM_BASE + (slot << 15) + off, size, v) != IO_HANDLED)
		CHECK_MSG(0, "ECAM write %#x unhandled", off);
}

/* ... and through mechanism #1 (PCI 3.0, 3.2.2.3.2), as SeaBIOS does. */
static uint32_t cf8_rd(unsigned off, unsigned size)
{
	uint64_t v = 0;

	iobus_write(&vm.pio.bus, PCI_CONFIG_ADDRESS, 4, 0x80000000u | slot << 11 | (off & 0xfc));
	iobus_read(&vm.pio.bus, PCI_CONFIG_DATA + (off & 3), size, &v);
	return (uint32_t)v;
}

static void cf8_wr(unsigned off, unsigned size, uint32_t v)
{
	iobus_write(&vm.pio.bus, PCI_CONFIG_ADDRESS, 4, 0x80000000u | slot << 11 | (off & 0xfc));
	iobus_write(&vm.pio.bus, PCI_CONFIG_DATA + (off & 3), size, v);
}

/* BAR 0 as the model serves it, and through the VM's memory window. */
static uint32_t bar_rd(uint64_t off, unsigned size)
{
	uint64_t v = 0;

	if (pd->ops->bar_read(pd, 0, off, size, &v) != IO_HANDLED)
		CHECK_MSG(0, "BAR read %#lx unhandled", (unsigned long)off);
	return (uint32_t)v;
}

static enum io_result mmio_rd(uint64_t off, unsigned size, uint64_t *v)
{
	return iobus_read(&vm.mmio.bus, PCI_MMIO_WINDOW_BASE + off, size, v);
}

static unsigned cap_at[6];   /* by cfg_type; 0: not found */

static void setup(void)
{
	vm.boot = &boot;
	vm.mem_size = RAM;
	vm.ram_hpa = (uint64_t)(uintptr_t)calloc(1, RAM);
	CHECK_EQ(pci_host_create(&vm), 0);
	virtio_dev_init(&dev, &stub_ops, NULL, &vm, FEATURES);
	dev.config_size = CFG_BYTES;
	dev.config_writable = 4;              /* bytes 4..7 take writes */
	for (unsigned i = 0; i < CFG_BYTES; i++)
		dev.config[i] = (uint8_t)(0xa0 + i);
	CHECK_EQ(virtio_pci_create(&vm, &dev, 0x00ff00), 0);
	slot = 1;                             /* after the host bridge */
	pd = pci_dev_at(&vm, slot);
	CHECK(pd != NULL);
	if (!pd)
		exit(1);
}

/* ------------------------------------------------- the capability list */

static void check_cap(unsigned type, unsigned len, uint32_t off, uint32_t length)
{
	unsigned at = cap_at[type];

	CHECK_MSG(at, "cfg_type %u missing", type);
	if (!at)
		return;
	CHECK_EQ(cfg_rd(at + 2, 1), len);                 /* cap_len */
	CHECK_EQ(cfg_rd(at + CAP_BAR, 1), 0);
	CHECK_EQ(cfg_rd(at + CAP_OFFSET, 4), off);
	CHECK_EQ(cfg_rd(at + CAP_LENGTH, 4), length);
}

static void test_caps(void)
{
	unsigned at, n = 0, vendor = 0, msix = 0;

	CHECK_EQ(cfg_rd(PCI_VENDOR_ID, 4), 0x10401af4u + (VIRTIO_ID_RNG << 16));
	CHECK(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (at = cfg_rd(PCI_CAPABILITY_LIST, 1); at && n < 48; at = cfg_rd(at + 1, 1), n++) {
		unsigned id = cfg_rd(at, 1), type;

		CHECK_EQ(cfg_rd(at, 4), pci_cfg_read(pd, at, 4));   /* the glue adds nothing */
		if (id == PCI_CAP_ID_MSIX) {
			msix = at;
			continue;
		}
		CHECK_EQ(id, PCI_CAP_ID_VNDR);
		type = cfg_rd(at + 3, 1);
		CHECK_MSG(type >= 1 && type <= 5 && !cap_at[type], "cfg_type %u at %#x", type, at);
		if (type >= 1 && type <= 5)
			cap_at[type] = at;
		vendor++;
	}
	CHECK_EQ(vendor, 5);
	/* 4.1.4.3-4.1.4.6 and 4.1.4.9; cap_len covers the extra fields. */
	check_cap(1, 16, 0, CC_SIZE);
	check_cap(2, 20, NOTIFY_OFF, 4 * NR_QUEUES);
	check_cap(3, 16, ISR_OFF, 4);
	check_cap(4, 16, DEVICE_OFF, CFG_BYTES);
	check_cap(5, 20, 0, 0);                           /* aimed at nothing yet */
	if (cap_at[2])
		CHECK_EQ(cfg_rd(cap_at[2] + 16, 4), 4);    /* notify_off_multiplier */
	if (cap_at[5])
		CHECK_EQ(cfg_rd(cap_at[5] + CAP_DATA, 4), 0);
	/* The capabilities Linux already used sit where they did before the
	 * window came; the window is appended, first in the list. */
	CHECK_EQ(cap_at[1], 0x40);
	CHECK_EQ(cap_at[3], 0x50);
	CHECK_EQ(cap_at[2], 0x60);
	CHECK_EQ(cap_at[4], 0x74);
	CHECK_EQ(msix, 0x84);
	CHECK_EQ(cap_at[5], 0x90);
	CHECK_EQ(cfg_rd(PCI_CAPABILITY_LIST, 1), cap_at[5]);
	CHECK_EQ(cfg_rd(msix + PCI_MSIX_FLAGS, 2), NR_QUEUES);     /* N + 1 vectors, N - 1 */
	CHECK_EQ(cfg_rd(msix + PCI_MSIX_TABLE, 4), MSIX_OFF);
	/* 4.1.4.1: only the window's bar, offset, length and data are the
	 * driver's; every other capability byte is read-only. */
	for (unsigned t = 1; t <= 4; t++) {
		at = cap_at[t];
		if (!at)
			continue;
		cfg_wr(at + CAP_BAR, 1, 5);
		cfg_wr(at + CAP_OFFSET, 4, 0x1234);
		CHECK_EQ(cfg_rd(at + CAP_BAR, 1), 0);
		CHECK(cfg_rd(at + CAP_OFFSET, 4) != 0x1234);
	}
	at = cap_at[5];
	if (!at)
		return;
	cfg_wr(at, 4, 0);
	CHECK_EQ(cfg_rd(at, 4), 0x05140009u | cfg_rd(at + 1, 1) << 8);   /* vndr, next, 20, 5 */
	cfg_wr(at + CAP_BAR, 4, 0xffffffff);                               /* bar, id, padding */
	CHECK_EQ(cfg_rd(at + CAP_BAR, 4), 0xff);
	cfg_wr(at + CAP_OFFSET, 4, 0x12345678);
	cfg_wr(at + CAP_LENGTH, 4, 0x9abcdef0);
	CHECK_EQ(cfg_rd(at + CAP_OFFSET, 4), 0x12345678);
	CHECK_EQ(cfg_rd(at + CAP_LENGTH, 4), 0x9abcdef0);
	/* A VM restart puts them back to 0. */
	pci_host_reset(&vm);
	CHECK_EQ(cfg_rd(at + CAP_BAR, 4), 0);
	CHECK_EQ(cfg_rd(at + CAP_OFFSET, 4), 0);
	CHECK_EQ(cfg_rd(at + CAP_LENGTH, 4), 0);
}

/* ---------------------------------------------------------- the window */

static unsigned win;   /* the PCI_CFG capability */

static void aim(unsigned bar, uint32_t off, uint32_t len)
{
	cfg_wr(win + CAP_BAR, 1, bar);
	cfg_wr(win + CAP_OFFSET, 4, off);
	cfg_wr(win + CAP_LENGTH, 4, len);
}

static uint32_t mask(unsigned len)
{
	return len >= 4 ? ~0u : (1u << (8 * len)) - 1;
}

/* A driver read through the window: one 4-byte read of pci_cfg_data. */
static uint32_t win_rd(uint32_t off, unsigned len)
{
	aim(0, off, len);
	return cfg_rd(win + CAP_DATA, 4) & mask(len);
}

static void win_wr(uint32_t off, unsigned len, uint32_t v)
{
	aim(0, off, len);
	cfg_wr(win + CAP_DATA, 4, v);
}

static void test_window_common(void)
{
	uint32_t lo, hi;
	uint64_t m;

	/* Firmware's case: memory decoding off, the BAR unreachable. */
	CHECK_EQ(cfg_rd(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, 0);
	CHECK_EQ(mmio_rd(CC_NUMQ, 2, &m), IO_UNHANDLED);
	/* device_feature, both halves (4.1.4.3). */
	win_wr(CC_DFSEL, 4, 0);
	lo = win_rd(CC_DF, 4);
	CHECK_EQ(lo, (uint32_t)dev.device_features);
	CHECK_EQ(lo, bar_rd(CC_DF, 4));
	CHECK(lo & 1u << 3);
	win_wr(CC_DFSEL, 4, 1);
	CHECK_EQ(dev.device_features_sel, 1);
	hi = win_rd(CC_DF, 4);
	CHECK_EQ(hi, (uint32_t)(dev.device_features >> 32));
	CHECK_EQ(hi, bar_rd(CC_DF, 4));
	CHECK_EQ(hi & 0x101u, 0x101u);                    /* VERSION_1 and bit 40 */
	CHECK_EQ(win_rd(CC_DFSEL, 4), 1);
	win_wr(CC_DFSEL, 1, 0xff01);                      /* cap.length 1: the BAR sees 0x01 */
	CHECK_EQ(dev.device_features_sel, 1);
	/* driver_feature: accept bit 3, VERSION_1 and bit 40. */
	win_wr(CC_GFSEL, 4, 0);
	win_wr(CC_GF, 4, 1u << 3);
	win_wr(CC_GFSEL, 4, 1);
	win_wr(CC_GF, 4, 0x101);
	CHECK_EQ(dev.driver_features, FEATURES | 1ull << VIRTIO_F_VERSION_1);
	CHECK_EQ(win_rd(CC_GF, 4), 0x101);
	CHECK_EQ(bar_rd(CC_GF, 4), 0x101);
	win_wr(CC_GFSEL, 4, 0);
	CHECK_EQ(win_rd(CC_GF, 4), 1u << 3);
	/* Status, one bit at a time up to FEATURES_OK, read back (3.1.1). */
	win_wr(CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(win_rd(CC_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE);
	win_wr(CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	win_wr(CC_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(dev.status, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(win_rd(CC_STATUS, 1), dev.status);
	CHECK_EQ(bar_rd(CC_STATUS, 1), dev.status);
	/* num_queues, and a queue's registers. */
	CHECK_EQ(win_rd(CC_NUMQ, 2), NR_QUEUES);
	CHECK_EQ(bar_rd(CC_NUMQ, 2), NR_QUEUES);
	win_wr(CC_QSEL, 2, 1);
	CHECK_EQ(dev.queue_sel, 1);
	CHECK_EQ(win_rd(CC_QSIZE, 2), QUEUE_MAX);
	win_wr(CC_QSIZE, 2, 32);
	CHECK_EQ(dev.q[1].vq.size, 32);
	win_wr(CC_QDESC, 4, 0x5000);
	win_wr(CC_QDESC + 4, 4, 0x1);
	CHECK_EQ(dev.q[1].vq.desc, 0x100005000ull);
	CHECK_EQ(win_rd(CC_QDESC + 4, 4), 1);
	/* 4.1.4.9.1: a write uses the first cap.length bytes of pci_cfg_data,
	 * whatever the width of the configuration write. */
	aim(0, CC_QDESC, 4);
	cfg_wr(win + CAP_DATA, 1, 0x9a);                  /* bytes 1-3: 0 from the last read */
	CHECK_EQ(dev.q[1].vq.desc, 0x10000009aull);
	/* A read stores only the first cap.length bytes. */
	aim(0, 0, 0);
	cfg_wr(win + CAP_DATA, 4, 0xaabbccdd);            /* aimed at nothing: kept, not sent */
	aim(0, CC_NUMQ, 2);
	CHECK_EQ(cfg_rd(win + CAP_DATA, 4), 0xaabb0000u | NR_QUEUES);
	/* The same through 0xcf8/0xcfc, by bytes. */
	cf8_wr(win + CAP_BAR, 1, 0);
	cf8_wr(win + CAP_OFFSET, 4, CC_STATUS);
	cf8_wr(win + CAP_LENGTH, 4, 1);
	CHECK_EQ(cf8_rd(win + CAP_DATA, 1), dev.status);
	cf8_wr(win + CAP_OFFSET, 4, CC_NUMQ);
	cf8_wr(win + CAP_LENGTH, 4, 2);
	CHECK_EQ(cf8_rd(win + CAP_DATA, 2), NR_QUEUES);
	/* Every common register: window == BAR (model) == BAR (MMIO). */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	for (uint32_t off = 0; off < CC_SIZE; off += 2) {
		unsigned len = off % 4 ? 2 : 4;

		m = 0;
		CHECK_EQ(mmio_rd(off, len, &m), IO_HANDLED);
		CHECK_EQ(win_rd(off, len), bar_rd(off, len));
		CHECK_EQ(win_rd(off, len), (uint32_t)m);
	}
	cfg_wr(PCI_COMMAND, 2, 0);
}

static void test_window_device(void)
{
	/* Device configuration (4.1.4.6), every width. */
	CHECK_EQ(win_rd(DEVICE_OFF + 1, 1), 0xa1);
	CHECK_EQ(win_rd(DEVICE_OFF + 2, 2), 0xa3a2);
	CHECK_EQ(win_rd(DEVICE_OFF + 4, 4), 0xa7a6a5a4);
	CHECK_EQ(win_rd(DEVICE_OFF + 1, 1), bar_rd(DEVICE_OFF + 1, 1));
	win_wr(DEVICE_OFF + 5, 1, 0x55);
	CHECK_EQ(dev.config[5], 0x55);
	CHECK_EQ(win_rd(DEVICE_OFF + 4, 4), 0xa7a655a4);
	win_wr(DEVICE_OFF + 1, 1, 0x11);                  /* read-only byte */
	CHECK_EQ(dev.config[1], 0xa1);
	win_wr(DEVICE_OFF + 4, 1, 0xddccbb44);            /* one byte of the four goes */
	CHECK_EQ(win_rd(DEVICE_OFF + 4, 4), 0xa7a65544);
	/* A malformed configuration write into pci_cfg_data is dropped
	 * whole: no BAR write of what the field held. */
	win_wr(DEVICE_OFF + 6, 1, 0x66);
	CHECK_EQ(dev.config[6], 0x66);
	dev.config[6] = 0xa6;
	cfg_wr(win + CAP_DATA + 1, 2, 0xffff);
	CHECK_EQ(dev.config[6], 0xa6);
	CHECK_EQ(cfg_rd(win + CAP_DATA, 1), 0xa6);        /* and the field was untouched */
	/* ISR (4.1.4.5): the window reads it and so clears it, and INTx drops. */
	dev.isr = VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG;
	pci_intx_set(pd, true);
	CHECK(gsi_level[PCI_INTX_GSI_BASE + slot % 4]);
	CHECK(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	CHECK_EQ(win_rd(ISR_OFF, 1), VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
	CHECK_EQ(dev.isr, 0);
	CHECK(!pd->intx_level);
	CHECK(!gsi_level[PCI_INTX_GSI_BASE + slot % 4]);
	CHECK_EQ(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	CHECK_EQ(win_rd(ISR_OFF, 1), 0);
	/* Only reads of pci_cfg_data itself reach the BAR: not the other
	 * fields, not a malformed configuration access. */
	dev.isr = VIRTIO_ISR_QUEUE;
	aim(0, ISR_OFF, 1);
	CHECK_EQ(cfg_rd(win + CAP_OFFSET, 4), ISR_OFF);
	CHECK_EQ(cfg_rd(win + CAP_LENGTH, 4), 1);
	CHECK_EQ(cfg_rd(win + CAP_DATA + 1, 2) & 0xffff, 0xffff); /* misaligned: all-ones */
	CHECK_EQ(dev.isr, VIRTIO_ISR_QUEUE);
	cfg_rd(win + CAP_DATA + 3, 1);                            /* a byte of the field */
	CHECK_EQ(dev.isr, 0);
	/* Notifications (4.1.4.4): queue q at NOTIFY_OFF + 4q. */
	win_wr(NOTIFY_OFF + 4, 2, 1);
	CHECK_EQ(dev.q[1].notifies, 1);
	CHECK_EQ(dev.q[0].notifies, 0);
	win_wr(NOTIFY_OFF, 2, 0);
	CHECK_EQ(dev.q[0].notifies, 1);
	CHECK_EQ(notified[0] + notified[1], 0);           /* not DRIVER_OK: counted only */
}

/* 4.1.4.9.2 forbids the driver these; Kestrel's answer is a read of 0 and
 * a write that changes nothing. */
static void bad_read(unsigned bar, uint32_t off, uint32_t len)
{
	aim(bar, off, len);
	cfg_wr(win + CAP_DATA, 4, 0);
	aim(0, 0, 0);
	cfg_wr(win + CAP_DATA, 4, 0xdeadbeef);            /* stale bytes to be cleared */
	aim(bar, off, len);
	CHECK_MSG(cfg_rd(win + CAP_DATA, 4) == 0, "bar %u off %#x len %u", bar, off, len);
}

static void test_window_bad(void)
{
	uint16_t sel = dev.queue_sel;
	uint8_t status = dev.status;
	uint32_t msix_addr = pd->msix[0].addr_lo;
	uint64_t notifies = dev.q[0].notifies + dev.q[1].notifies;

	CHECK(sel != 0);
	/* Lengths other than 1, 2 and 4. */
	bad_read(0, CC_NUMQ, 0);
	bad_read(0, CC_NUMQ, 3);
	bad_read(0, 0x10, 8);
	bad_read(0, CC_NUMQ, 0x102);
	aim(0, CC_QSEL, 3);
	cfg_wr(win + CAP_DATA, 4, 0);
	aim(0, CC_STATUS, 0x101);
	cfg_wr(win + CAP_DATA, 4, 0);
	/* Offsets not a multiple of the length. */
	bad_read(0, CC_NUMQ, 4);                           /* would be num_queues | status */
	bad_read(0, CC_NUMQ + 1, 2);
	aim(0, CC_QSEL, 4);                                /* queue_select, 2-aligned only */
	cfg_wr(win + CAP_DATA, 4, 0);
	aim(0, CC_STATUS - 1, 2);
	cfg_wr(win + CAP_DATA, 4, 0);
	/* A BAR this function does not have, or no BAR at all. */
	bad_read(1, CC_NUMQ, 2);
	bad_read(5, CC_NUMQ, 2);
	bad_read(0xff, CC_NUMQ, 2);
	aim(2, CC_QSEL, 2);
	cfg_wr(win + CAP_DATA, 4, 0);
	aim(1, CC_STATUS, 1);
	cfg_wr(win + CAP_DATA, 4, 0);
	/* Outside every region a virtio capability describes. */
	bad_read(0, CC_SIZE, 4);                           /* past the common configuration */
	bad_read(0, ISR_OFF + 4, 4);
	bad_read(0, DEVICE_OFF + CFG_BYTES, 1);
	bad_read(0, DEVICE_OFF + CFG_BYTES - 2, 4);        /* straddles the end */
	bad_read(0, MSIX_OFF, 4);                          /* the MSI-X table */
	bad_read(0, BAR_SIZE, 4);
	bad_read(0, 0xfffffffc, 4);
	aim(0, MSIX_OFF, 4);
	cfg_wr(win + CAP_DATA, 4, 0xfee00000);
	aim(0, NOTIFY_OFF + 4 * NR_QUEUES, 2);             /* past the last queue */
	cfg_wr(win + CAP_DATA, 4, 0);
	aim(0, DEVICE_OFF + CFG_BYTES, 1);
	cfg_wr(win + CAP_DATA, 4, 0);
	CHECK_EQ(dev.queue_sel, sel);
	CHECK_EQ(dev.status, status);
	CHECK_EQ(pd->msix[0].addr_lo, msix_addr);
	CHECK_EQ(dev.q[0].notifies + dev.q[1].notifies, notifies);
	/* A forbidden read does not clear the ISR either. */
	dev.isr = VIRTIO_ISR_CONFIG;
	bad_read(1, ISR_OFF, 1);
	bad_read(0, ISR_OFF, 3);
	CHECK_EQ(dev.isr, VIRTIO_ISR_CONFIG);
	/* Aimed right again, the window works. */
	CHECK_EQ(win_rd(ISR_OFF, 1), VIRTIO_ISR_CONFIG);
	CHECK_EQ(win_rd(CC_STATUS, 1), status);
}

int main(void)
{
	setup();
	test_caps();
	win = cap_at[5];
	if (!win)
		return unit_finish("test_virtio_pci");
	test_window_common();
	test_window_device();
	test_window_bad();
	return unit_finish("test_virtio_pci");
}
