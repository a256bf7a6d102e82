/*
 * PCI configuration space, BAR decoding and MSI-X: the pure core (see
 * include/pci/pci.h). Section numbers are those of the PCI Local Bus
 * Specification 3.0.
 */
#include <lib/string.h>
#include <pci/pci.h>

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint8_t revision,
		  uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	memset(d->bar_size, 0, sizeof(d->bar_size));
	put16(d->cfg + PCI_VENDOR_ID, vendor);
	put16(d->cfg + PCI_DEVICE_ID, device);
	d->cfg[PCI_REVISION_ID] = revision;
	d->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	put16(d->cfg + PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
	put16(d->cfg + PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	put16(d->cfg + PCI_SUBSYSTEM_ID, subsys_id);
	/* 6.2.2: I/O and memory decode, bus master, INTx disable. */
	put16(d->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				      PCI_COMMAND_INTX_DISABLE);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;   /* 6.2.4: scratch for the OS */
	d->next_cap = PCI_CAP_START;
	d->msix_vectors = 0;
	d->msix_pending = 0;
	d->intx_level = false;
}

/* 6.2.5.1: the low bits of a BAR are its type; the address bits below
 * the size read as zero, which is how software sizes it. */
void pci_dev_set_bar(struct pci_dev *d, unsigned bar, bool io, uint32_t size, uint32_t addr)
{
	uint32_t type = io ? PCI_BAR_IO : 0;   /* memory: 32-bit, not prefetchable */
	uint32_t low = io ? 0x3 : 0xf;

	d->bar_size[bar] = size;
	put32(d->cfg + PCI_BAR0 + 4 * bar, (addr & ~(size - 1)) | type);
	put32(d->wmask + PCI_BAR0 + 4 * bar, ~(size - 1) & ~low);
}

uint8_t pci_add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned len)
{
	unsigned at = d->next_cap;

	if (len < 2 || at + len > PCI_CFG_SIZE)
		return 0;
	d->cfg[at] = id;
	d->cfg[at + 1] = d->cfg[PCI_CAPABILITY_LIST];   /* newest first */
	memcpy(d->cfg + at + 2, (const uint8_t *)body + 2, len - 2);
	d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)at;
	put16(d->cfg + PCI_STATUS, get16(d->cfg + PCI_STATUS) | PCI_STATUS_CAP_LIST);
	d->next_cap = (uint16_t)((at + len + 3) & ~3u);
	return (uint8_t)at;
}

int pci_add_msix(struct pci_dev *d, unsigned vectors, unsigned bar, uint32_t table_off,
		 uint32_t pba_off)
{
	uint8_t cap[PCI_MSIX_CAP_SIZE] = { 0 };
	uint8_t at;

	if (!vectors || vectors > PCI_MSIX_MAX_VECTORS || bar >= PCI_NR_BARS ||
	    (table_off | pba_off) & 7)
		return -1;
	put16(cap + PCI_MSIX_FLAGS, (uint16_t)(vectors - 1));
	put32(cap + PCI_MSIX_TABLE, table_off | bar);
	put32(cap + PCI_MSIX_PBA, pba_off | bar);
	at = pci_add_cap(d, PCI_CAP_ID_MSIX, cap, sizeof(cap));
	if (!at)
		return -1;
	put16(d->wmask + at + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	d->msix_vectors = (uint16_t)vectors;
	d->msix_cap = at;
	d->msix_bar = (uint8_t)bar;
	d->msix_table_off = table_off;
	d->msix_pba_off = pba_off;
	for (unsigned i = 0; i < vectors; i++)   /* 6.8.2.9: masked at reset */
		d->msix[i] = (struct pci_msix_entry){ .ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT };
	return 0;
}

bool pci_cfg_access_ok(unsigned off, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && off % size == 0 &&
	       off + size <= PCI_CFG_SIZE;
}

uint32_t pci_cfg_read(const struct pci_dev *d, unsigned off, unsigned size)
{
	uint32_t v = 0;

	if (!pci_cfg_access_ok(off, size))
		return ~0u;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)d->cfg[off + i] << (8 * i);
	if (off <= PCI_STATUS && PCI_STATUS < off + size && d->intx_level)
		v |= (uint32_t)PCI_STATUS_INTERRUPT << (8 * (PCI_STATUS - off));
	return v;
}

void pci_cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t val)
{
	if (!pci_cfg_access_ok(off, size))
		return;
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = d->wmask[off + i], b = (uint8_t)(val >> (8 * i));

		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) | (b & m));
	}
}

bool pci_bar_decodes(const struct pci_dev *d, unsigned bar, uint64_t *base)
{
	uint32_t raw, size, cmd = get16(d->cfg + PCI_COMMAND);
	bool io;

	if (bar >= PCI_NR_BARS || !(size = d->bar_size[bar]))
		return false;
	raw = get32(d->cfg + PCI_BAR0 + 4 * bar);
	io = raw & PCI_BAR_IO;
	if (!(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return false;
	*base = raw & (io ? ~3u : ~15u);
	/* All-ones left from sizing, or zero: not a placement (6.2.5.1). */
	if (*base == 0 || *base == (uint32_t)(~(size - 1) & (io ? ~3u : ~15u)))
		return false;
	return io ? *base + size <= 0x10000 : true;
}

int pci_bar_at(const struct pci_dev *d, bool io, uint64_t addr, unsigned size, uint64_t *off)
{
	for (unsigned bar = 0; bar < PCI_NR_BARS; bar++) {
		uint64_t base;

		if (!pci_bar_decodes(d, bar, &base) ||
		    !!(d->cfg[PCI_BAR0 + 4 * bar] & PCI_BAR_IO) != io)
			continue;
		if (addr >= base && addr - base + size <= d->bar_size[bar]) {
			*off = addr - base;
			return (int)bar;
		}
	}
	return -1;
}

/* ------------------------------------------------------------- MSI-X */

static uint16_t msix_flags(const struct pci_dev *d)
{
	return get16(d->cfg + d->msix_cap + PCI_MSIX_FLAGS);
}

bool pci_msix_enabled(const struct pci_dev *d)
{
	return d->msix_vectors && (msix_flags(d) & PCI_MSIX_FLAGS_ENABLE);
}

static bool vector_masked(const struct pci_dev *d, unsigned n)
{
	return (msix_flags(d) & PCI_MSIX_FLAGS_MASKALL) ||
	       (d->msix[n].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* SDM vol. 3, 11.11: a message to anything but the local APICs' window
 * goes nowhere; Kestrel drops it (no interrupt remapping). */
static bool msix_decode(const struct pci_msix_entry *e, struct pci_msi_msg *m)
{
	if (e->addr_hi || (e->addr_lo & MSI_ADDR_BASE_MASK) != MSI_ADDR_BASE)
		return false;
	m->dest = (e->addr_lo >> MSI_ADDR_DEST_SHIFT) & 0xff;
	m->logical = e->addr_lo & MSI_ADDR_DEST_LOGICAL;
	m->vector = (uint8_t)(e->data & MSI_DATA_VECTOR);
	m->delivery_mode = (uint8_t)((e->data >> MSI_DATA_DELMODE_SHIFT) & 7);
	return true;
}

bool pci_msix_message(struct pci_dev *d, unsigned n, struct pci_msi_msg *msg)
{
	if (!pci_msix_enabled(d) || n >= d->msix_vectors)
		return false;
	if (vector_masked(d, n)) {               /* 6.8.2.9: pending while masked */
		d->msix_pending |= 1u << n;
		return false;
	}
	return msix_decode(&d->msix[n], msg);
}

uint32_t pci_msix_unmasked(struct pci_dev *d)
{
	uint32_t fire = 0;

	for (unsigned n = 0; n < d->msix_vectors; n++)
		if ((d->msix_pending & (1u << n)) && !vector_masked(d, n))
			fire |= 1u << n;
	d->msix_pending &= ~fire;
	return fire;
}

/* 6.8.2.6-6.8.2.10: the table takes 4- and 8-byte accesses, each entry is
 * address low, high, data, vector control (only its mask bit exists); the
 * PBA is read-only. */
bool pci_msix_access(struct pci_dev *d, uint64_t off, unsigned size, bool write,
		     uint64_t *val, uint32_t *fire)
{
	uint64_t table_end = d->msix_table_off + (uint64_t)d->msix_vectors * PCI_MSIX_ENTRY_SIZE;
	uint64_t pba_end = d->msix_pba_off + 8;

	*fire = 0;
	if (!d->msix_vectors)
		return false;
	if (off >= d->msix_pba_off && off < pba_end) {
		if (!write)
			*val = off + size <= pba_end ? d->msix_pending >> (8 * (off - d->msix_pba_off))
						     : 0;
		return true;
	}
	if (off < d->msix_table_off || off >= table_end)
		return false;
	if ((size != 4 && size != 8) || off % size) {
		if (!write)
			*val = ~0ull;
		return true;                      /* undefined: ignored */
	}
	for (unsigned done = 0; done < size; done += 4) {
		uint64_t o = off + done - d->msix_table_off;
		struct pci_msix_entry *e = &d->msix[o / PCI_MSIX_ENTRY_SIZE];
		uint32_t *w = &e->addr_lo + (o % PCI_MSIX_ENTRY_SIZE) / 4;

		if (!write) {
			if (!done)
				*val = 0;
			*val |= (uint64_t)*w << (8 * done);
			continue;
		}
		*w = (uint32_t)(*val >> (8 * done));
		if (w == &e->ctrl)
			e->ctrl &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	if (write)
		*fire = pci_msix_unmasked(d);
	return true;
}
