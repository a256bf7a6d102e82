/*
 * The VM's PCI host bridge: configuration mechanism #1 and ECAM, the BAR
 * windows, INTx and MSI-X delivery (see include/pci/pci.h).
 */
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/ioapic.h>
#include <devices/power.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <pci/pci.h>

/* Configuration address register (PCI 3.0, 3.2.2.3.2). */
#define CFG_ADDR_ENABLE   (1u << 31)
#define CFG_ADDR_BUS(a)   (((a) >> 16) & 0xff)
#define CFG_ADDR_DEV(a)   (((a) >> 11) & 0x1f)
#define CFG_ADDR_FN(a)    (((a) >> 8) & 7)
#define CFG_ADDR_REG(a)   ((a) & 0xfc)
/* ECAM offsets (PCI Express Base 4.0, 7.2.2, table 7-1). */
#define ECAM_BUS(o)       (((o) >> 20) & 0xff)
#define ECAM_DEV(o)       (((o) >> 15) & 0x1f)
#define ECAM_FN(o)        (((o) >> 12) & 7)
#define ECAM_REG(o)       ((o) & 0xfff)

/* The host bridge's identity: QEMU's generic PCIe host bridge (Red Hat,
 * 1b36:0008), class 06/00/00, which every OS knows as a plain bridge. */
#define HOST_VENDOR       0x1b36
#define HOST_DEVICE       0x0008
#define CLASS_HOST_BRIDGE 0x060000

struct pci_bus {
	struct vm *vm;
	uint32_t config_address;
	struct pci_dev *slot[PCI_MAX_SLOTS];
	struct pci_dev host;
	uint32_t next_mmio, next_io;        /* BAR placement, bottom-up */
};

static struct pci_bus *bus_of(struct vm *vm)
{
	return vm->pci;
}

/* Bus 0, function 0 only: every function here is single-function. */
static struct pci_dev *function(struct pci_bus *b, unsigned bus, unsigned dev, unsigned fn)
{
	return bus == 0 && fn == 0 ? b->slot[dev] : NULL;
}

static void intx_update(struct pci_dev *d)
{
	uint16_t cmd = (uint16_t)pci_cfg_read(d, PCI_COMMAND, 2);
	bool on = d->intx_level && !(cmd & PCI_COMMAND_INTX_DISABLE);

	ioapic_set_irq(d->vm, PCI_INTX_GSI_BASE + d->slot % 4, on);
}

static void deliver(struct pci_dev *d, uint32_t vectors)
{
	struct pci_msi_msg m;

	for (unsigned n = 0; vectors; n++, vectors >>= 1) {
		if (!(vectors & 1))
			continue;
		m = (struct pci_msi_msg){ 0 };
		d->msix_pending &= ~(1u << n);
		if (pci_msix_message(d, n, &m) && m.delivery_mode <= 1)   /* fixed, lowest */
			vm_apic_deliver(d->vm, m.dest, m.logical, m.vector, false);
	}
}

void pci_msix_notify(struct pci_dev *d, unsigned vector)
{
	deliver(d, 1u << vector);
}

void pci_intx_set(struct pci_dev *d, bool level)
{
	d->intx_level = level;
	intx_update(d);
}

static uint32_t cfg_read(struct pci_dev *d, unsigned reg, unsigned size)
{
	if (!d)
		return size == 4 ? ~0u : (1u << (8 * size)) - 1;
	if (reg >= PCI_CFG_SIZE)
		return 0;                         /* no extended space */
	if (d->ops->cfg_reading && pci_cfg_access_ok(reg, size))
		d->ops->cfg_reading(d, reg, size);
	return pci_cfg_read(d, reg, size);
}

static void cfg_write(struct pci_dev *d, unsigned reg, unsigned size, uint32_t val)
{
	bool was_enabled;

	if (!d || reg >= PCI_CFG_SIZE)
		return;
	was_enabled = pci_msix_enabled(d);
	pci_cfg_write(d, reg, size, val);
	if (reg <= PCI_COMMAND + 1 && reg + size > PCI_COMMAND)
		intx_update(d);
	if (d->msix_vectors && reg < d->msix_cap + 4u && reg + size > d->msix_cap) {
		/* MSI-X on: INTx is no longer used (6.8.2); masks may have cleared. */
		if (!was_enabled && pci_msix_enabled(d) && d->intx_level)
			pci_intx_set(d, false);
		deliver(d, pci_msix_unmasked(d));
	}
	if (d->ops->cfg_written && pci_cfg_access_ok(reg, size))
		d->ops->cfg_written(d, reg, size);
}

/* ---------------------------------------------- mechanism #1, 0xcf8-0xcff */

static enum io_result addr_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct pci_bus *b = opaque;

	*val = off == 0 && size == 4 ? b->config_address : 0;
	return IO_HANDLED;
}

/* 0xcf8 is a dword register; 0xcf9, a byte inside it, is the PC's reset
 * control (ACPI_RESET_PORT), which the power device serves. */
static enum io_result addr_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct pci_bus *b = opaque;

	if (off == 0 && size == 4)
		b->config_address = (uint32_t)val & ~3u;
	else if (off == 1 && size == 1)
		power_reset_control(b->vm, (uint8_t)val);
	return IO_HANDLED;
}

static struct pci_dev *addressed(struct pci_bus *b)
{
	uint32_t a = b->config_address;

	if (!(a & CFG_ADDR_ENABLE))
		return NULL;
	return function(b, CFG_ADDR_BUS(a), CFG_ADDR_DEV(a), CFG_ADDR_FN(a));
}

static enum io_result data_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct pci_bus *b = opaque;

	if (!(b->config_address & CFG_ADDR_ENABLE)) {
		*val = ~0ull;
		return IO_HANDLED;
	}
	*val = cfg_read(addressed(b), CFG_ADDR_REG(b->config_address) + (unsigned)off, size);
	return IO_HANDLED;
}

static enum io_result data_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct pci_bus *b = opaque;

	if (b->config_address & CFG_ADDR_ENABLE)
		cfg_write(addressed(b), CFG_ADDR_REG(b->config_address) + (unsigned)off, size,
			  (uint32_t)val);
	return IO_HANDLED;
}

/* --------------------------------------------------------------- ECAM */

static enum io_result ecam_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct pci_dev *d = function(opaque, ECAM_BUS(off), ECAM_DEV(off), ECAM_FN(off));

	*val = size <= 4 ? cfg_read(d, ECAM_REG(off), size) : ~0ull;
	return IO_HANDLED;
}

static enum io_result ecam_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct pci_dev *d = function(opaque, ECAM_BUS(off), ECAM_DEV(off), ECAM_FN(off));

	if (size <= 4)
		cfg_write(d, ECAM_REG(off), size, (uint32_t)val);
	return IO_HANDLED;
}

/* -------------------------------------------------------- BAR windows */

static enum io_result bar_access(struct pci_bus *b, bool io, uint64_t addr, unsigned size,
				 bool write, uint64_t *val)
{
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = b->slot[s];
		uint64_t off;
		uint32_t fire;
		int bar;

		if (!d || (bar = pci_bar_at(d, io, addr, size, &off)) < 0)
			continue;
		if ((unsigned)bar == d->msix_bar && pci_msix_access(d, off, size, write, val, &fire)) {
			deliver(d, fire);
			return IO_HANDLED;
		}
		return write ? d->ops->bar_write(d, (unsigned)bar, off, size, *val)
			     : d->ops->bar_read(d, (unsigned)bar, off, size, val);
	}
	return IO_UNHANDLED;   /* no BAR there: all-ones, counted as unbacked */
}

static enum io_result mmio_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	return bar_access(opaque, false, PCI_MMIO_WINDOW_BASE + off, size, false, val);
}

static enum io_result mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	return bar_access(opaque, false, PCI_MMIO_WINDOW_BASE + off, size, true, &val);
}

static enum io_result io_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	return bar_access(opaque, true, PCI_IO_WINDOW_BASE + off, size, false, val);
}

static enum io_result io_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	return bar_access(opaque, true, PCI_IO_WINDOW_BASE + off, size, true, &val);
}

static const struct io_ops addr_ops = { .read = addr_read, .write = addr_write };
static const struct io_ops data_ops = { .read = data_read, .write = data_write };
static const struct io_ops ecam_ops = { .read = ecam_read, .write = ecam_write };
static const struct io_ops mmio_ops = { .read = mmio_read, .write = mmio_write };
static const struct io_ops io_ops = { .read = io_read, .write = io_write };
static const struct pci_dev_ops host_ops;   /* no BARs */

int pci_host_create(struct vm *vm)
{
	struct pci_bus *b = page_alloc_ptr((sizeof(*b) + PAGE_SIZE - 1) / PAGE_SIZE);

	if (!b)
		return -1;
	memset(b, 0, sizeof(*b));
	b->vm = vm;
	b->next_mmio = PCI_MMIO_WINDOW_BASE;
	b->next_io = PCI_IO_WINDOW_BASE;
	vm->pci = b;
	pci_dev_init(&b->host, HOST_VENDOR, HOST_DEVICE, 0, CLASS_HOST_BRIDGE, HOST_VENDOR,
		     HOST_DEVICE);
	b->host.ops = &host_ops;
	b->host.name = "host-bridge";
	if (pci_plug(vm, &b->host))
		return -1;
	return iobus_register(&vm->pio.bus, PCI_CONFIG_ADDRESS, 4, &addr_ops, b, "pci-addr") ||
	       iobus_register(&vm->pio.bus, PCI_CONFIG_DATA, 4, &data_ops, b, "pci-data") ||
	       iobus_register(&vm->pio.bus, PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_SIZE, &io_ops, b,
			      "pci-io") ||
	       iobus_register(&vm->mmio.bus, PCI_ECAM_BASE, PCI_ECAM_SIZE, &ecam_ops, b,
			      "pci-ecam") ||
	       iobus_register(&vm->mmio.bus, PCI_MMIO_WINDOW_BASE, PCI_MMIO_WINDOW_SIZE,
			      &mmio_ops, b, "pci-mmio");
}

/* Firmware's job: each BAR naturally aligned, bottom-up in its window. */
static int place_bars(struct pci_bus *b, struct pci_dev *d)
{
	for (unsigned bar = 0; bar < PCI_NR_BARS; bar++) {
		uint32_t size = d->bar_size[bar], *next;
		bool io;
		uint64_t end;

		if (!size)
			continue;
		io = d->cfg[PCI_BAR0 + 4 * bar] & PCI_BAR_IO;
		next = io ? &b->next_io : &b->next_mmio;
		*next = (*next + size - 1) & ~(size - 1);
		end = io ? PCI_IO_WINDOW_BASE + PCI_IO_WINDOW_SIZE
			 : PCI_MMIO_WINDOW_BASE + PCI_MMIO_WINDOW_SIZE;
		if (*next + (uint64_t)size > end)
			return -1;
		pci_dev_set_bar(d, bar, io, size, *next);
		*next += size;
	}
	return 0;
}

int pci_plug(struct vm *vm, struct pci_dev *d)
{
	struct pci_bus *b = bus_of(vm);
	unsigned s = 0;

	while (s < PCI_MAX_SLOTS && b->slot[s])
		s++;
	if (s == PCI_MAX_SLOTS || place_bars(b, d))
		return -1;
	d->vm = vm;
	d->slot = (uint8_t)s;
	memcpy(d->cfg_reset, d->cfg, sizeof(d->cfg));
	b->slot[s] = d;
	return 0;
}

void pci_host_reset(struct vm *vm)
{
	struct pci_bus *b = bus_of(vm);

	if (!b)
		return;
	b->config_address = 0;
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = b->slot[s];

		if (!d)
			continue;
		memcpy(d->cfg, d->cfg_reset, sizeof(d->cfg));
		d->msix_pending = 0;
		for (unsigned n = 0; n < d->msix_vectors; n++)
			d->msix[n] = (struct pci_msix_entry){ .ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT };
		pci_intx_set(d, false);
	}
}

struct pci_dev *pci_dev_at(struct vm *vm, unsigned slot)
{
	struct pci_bus *b = bus_of(vm);

	return b && slot < PCI_MAX_SLOTS ? b->slot[slot] : NULL;
}

/* Console `devices`: one line per function. */
void pci_print(struct vm *vm)
{
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = pci_dev_at(vm, s);
		uint64_t bar0 = 0;

		if (!d)
			continue;
		printk("  pci 00:%02x.0 %04x:%04x class %06x %-15s", s,
		       pci_cfg_read(d, PCI_VENDOR_ID, 2), pci_cfg_read(d, PCI_DEVICE_ID, 2),
		       pci_cfg_read(d, PCI_REVISION_ID, 4) >> 8, d->name);
		if (d->bar_size[0] && pci_bar_decodes(d, 0, &bar0))
			printk(" bar0 0x%lx", bar0);
		else if (d->bar_size[0])
			printk(" bar0 off");
		if (d->cfg[PCI_INTERRUPT_PIN])
			printk(" %s", pci_msix_enabled(d) ? "msi-x" : "intx");
		printk("\n");
	}
}
