/* PCI configuration space, BAR sizing and decoding, and MSI-X, as a
 * driver sees them (PCI Local Bus 3.0, 6.2 and 6.8.2). */
// UNIT-SOURCES: hypervisor/pci/pci_core.c hypervisor/lib/string.c
#include <pci/pci.h>
#include "unit.h"

static struct pci_dev d;

static void test_header(void)
{
	pci_dev_init(&d, 0x1af4, 0x1042, 1, 0x010000, 0x1af4, 0x1100);
	CHECK_EQ(pci_cfg_read(&d, PCI_VENDOR_ID, 4), 0x10421af4);
	CHECK_EQ(pci_cfg_read(&d, PCI_DEVICE_ID, 2), 0x1042);
	CHECK_EQ(pci_cfg_read(&d, PCI_REVISION_ID, 4), 0x01000001);   /* class 01/00/00, rev 1 */
	CHECK_EQ(pci_cfg_read(&d, PCI_SUBSYSTEM_ID, 2), 0x1100);
	CHECK_EQ(pci_cfg_read(&d, 1, 2), ~0u);                         /* misaligned */
	CHECK_EQ(pci_cfg_read(&d, 3, 1), 0x10);
	CHECK_EQ(pci_cfg_read(&d, 254, 4), ~0u);                       /* past the end */
	/* The rule the glue applies before a model's configuration hooks. */
	CHECK(pci_cfg_access_ok(0x90, 4) && pci_cfg_access_ok(0x92, 2) &&
	      pci_cfg_access_ok(0x93, 1) && pci_cfg_access_ok(252, 4));
	CHECK(!pci_cfg_access_ok(0x91, 2) && !pci_cfg_access_ok(0x92, 4) &&
	      !pci_cfg_access_ok(0x90, 3) && !pci_cfg_access_ok(0x90, 8) &&
	      !pci_cfg_access_ok(256, 1) && !pci_cfg_access_ok(0x90, 0));
	/* Read-only: identity; writable: command bits, latency, line. */
	pci_cfg_write(&d, PCI_VENDOR_ID, 4, 0);
	CHECK_EQ(pci_cfg_read(&d, PCI_VENDOR_ID, 4), 0x10421af4);
	pci_cfg_write(&d, PCI_COMMAND, 2, 0xffff);
	CHECK_EQ(pci_cfg_read(&d, PCI_COMMAND, 2),
		 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	pci_cfg_write(&d, PCI_INTERRUPT_LINE, 1, 0x0b);
	CHECK_EQ(pci_cfg_read(&d, PCI_INTERRUPT_LINE, 1), 0x0b);
	CHECK_EQ(pci_cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
	d.intx_level = true;
	CHECK_EQ(pci_cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
	CHECK_EQ(pci_cfg_read(&d, PCI_COMMAND, 4) >> 16 & PCI_STATUS_INTERRUPT,
		 PCI_STATUS_INTERRUPT);
	d.intx_level = false;
}

static void test_bars(void)
{
	uint64_t base, off;

	pci_dev_init(&d, 0x1af4, 0x1042, 1, 0x010000, 0x1af4, 0x1100);
	pci_dev_set_bar(&d, 0, false, 0x4000, 0xc0004000);
	pci_dev_set_bar(&d, 2, true, 0x20, 0xc020);
	CHECK_EQ(pci_cfg_read(&d, PCI_BAR0, 4), 0xc0004000);
	CHECK_EQ(pci_cfg_read(&d, PCI_BAR0 + 8, 4), 0xc021);           /* I/O bit */
	CHECK_EQ(pci_cfg_read(&d, PCI_BAR0 + 4, 4), 0);                /* no BAR 1 */
	/* Decoding is off until the command register says so. */
	CHECK(!pci_bar_decodes(&d, 0, &base));
	pci_cfg_write(&d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	CHECK(pci_bar_decodes(&d, 0, &base));
	CHECK_EQ(base, 0xc0004000);
	CHECK(!pci_bar_decodes(&d, 2, &base));                          /* I/O still off */
	CHECK_EQ(pci_bar_at(&d, false, 0xc0004010, 4, &off), 0);
	CHECK_EQ(off, 0x10);
	CHECK_EQ(pci_bar_at(&d, false, 0xc0007ffe, 4, &off), -1);       /* crosses the end */
	CHECK_EQ(pci_bar_at(&d, true, 0xc0004010, 4, &off), -1);        /* wrong space */
	/* Sizing (6.2.5.1): all-ones reads back the size mask, and no
	 * decoding happens at the all-ones address meanwhile. */
	pci_cfg_write(&d, PCI_BAR0, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(&d, PCI_BAR0, 4), 0xffffc000);
	CHECK(!pci_bar_decodes(&d, 0, &base));
	pci_cfg_write(&d, PCI_BAR0 + 8, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(&d, PCI_BAR0 + 8, 4), 0xffffffe1);
	pci_cfg_write(&d, PCI_BAR0 + 4, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(&d, PCI_BAR0 + 4, 4), 0);                /* absent: 0 */
	/* Moved by the driver: decodes at the new place only. */
	pci_cfg_write(&d, PCI_BAR0, 4, 0xc8000000);
	CHECK_EQ(pci_bar_at(&d, false, 0xc8000000, 4, &off), 0);
	CHECK_EQ(pci_bar_at(&d, false, 0xc0004000, 4, &off), -1);
	pci_cfg_write(&d, PCI_BAR0, 4, 0xc8001234);                    /* low bits dropped */
	CHECK_EQ(pci_cfg_read(&d, PCI_BAR0, 4), 0xc8000000);
	pci_cfg_write(&d, PCI_COMMAND, 2, PCI_COMMAND_IO);
	pci_cfg_write(&d, PCI_BAR0 + 8, 4, 0xc020);
	CHECK_EQ(pci_bar_at(&d, true, 0xc022, 2, &off), 2);
	CHECK_EQ(off, 2);
	pci_cfg_write(&d, PCI_BAR0 + 8, 4, 0x1ffe0);                   /* past 64 KiB of ports */
	CHECK(!pci_bar_decodes(&d, 2, &base));
}

static void test_caps(void)
{
	uint8_t body[8] = { 0, 0, 8, 1, 0, 0, 0, 0 };
	uint8_t a, b;

	pci_dev_init(&d, 0x1af4, 0x1042, 1, 0x010000, 0x1af4, 0x1100);
	CHECK_EQ(pci_cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	a = pci_add_cap(&d, PCI_CAP_ID_VNDR, body, sizeof(body));
	b = pci_add_cap(&d, PCI_CAP_ID_VNDR, body, sizeof(body));
	CHECK_EQ(a, PCI_CAP_START);
	CHECK_EQ(b, PCI_CAP_START + 8);
	CHECK(pci_cfg_read(&d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* The list: pointer -> b -> a -> 0. */
	CHECK_EQ(pci_cfg_read(&d, PCI_CAPABILITY_LIST, 1), b);
	CHECK_EQ(pci_cfg_read(&d, b + 1, 1), a);
	CHECK_EQ(pci_cfg_read(&d, a + 1, 1), 0);
	CHECK_EQ(pci_cfg_read(&d, a + 2, 2), 0x0108);
	pci_cfg_write(&d, a, 4, 0);                                     /* read-only */
	CHECK_EQ(pci_cfg_read(&d, a, 1), PCI_CAP_ID_VNDR);
	/* Full: nothing is written past the end. */
	for (int i = 0; i < 40; i++)
		pci_add_cap(&d, PCI_CAP_ID_VNDR, body, sizeof(body));
	CHECK_EQ(pci_add_cap(&d, PCI_CAP_ID_VNDR, body, sizeof(body)), 0);
}

static void msix_write(uint64_t off, unsigned size, uint64_t v, uint32_t *fire)
{
	CHECK(pci_msix_access(&d, off, size, true, &v, fire));
}

static void test_msix(void)
{
	struct pci_msi_msg m;
	uint32_t fire;
	uint64_t v;
	uint8_t cap;

	pci_dev_init(&d, 0x1af4, 0x1042, 1, 0x010000, 0x1af4, 0x1100);
	CHECK_EQ(pci_add_msix(&d, 3, 0, 0x3800, 0x3c00), 0);
	CHECK_EQ(pci_add_msix(&d, 9, 0, 0x3800, 0x3c00), -1);           /* too many */
	cap = d.msix_cap;
	CHECK_EQ(pci_cfg_read(&d, cap, 1), PCI_CAP_ID_MSIX);
	CHECK_EQ(pci_cfg_read(&d, cap + PCI_MSIX_FLAGS, 2), 2);          /* N - 1 */
	CHECK_EQ(pci_cfg_read(&d, cap + PCI_MSIX_TABLE, 4), 0x3800);     /* BIR 0 */
	CHECK_EQ(pci_cfg_read(&d, cap + PCI_MSIX_PBA, 4), 0x3c00);
	/* Off: nothing is sent, nothing is pending. */
	CHECK(!pci_msix_message(&d, 0, &m));
	CHECK_EQ(d.msix_pending, 0);
	pci_cfg_write(&d, cap + PCI_MSIX_FLAGS, 2, 0xffff);
	CHECK_EQ(pci_cfg_read(&d, cap + PCI_MSIX_FLAGS, 2),
		 PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | 2);        /* size read-only */
	pci_cfg_write(&d, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	CHECK(pci_msix_enabled(&d));
	/* Entries start masked (6.8.2.9): a message becomes pending. */
	CHECK(pci_msix_access(&d, 0x380c, 4, false, &v, &fire));
	CHECK_EQ(v, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	CHECK(!pci_msix_message(&d, 1, &m));
	CHECK_EQ(d.msix_pending, 2);
	CHECK(pci_msix_access(&d, 0x3c00, 8, false, &v, &fire));
	CHECK_EQ(v, 2);
	/* Program entry 1: physical APIC 3, vector 0x41; unmask fires it. */
	msix_write(0x3810, 4, 0xfee03000, &fire);
	msix_write(0x3814, 4, 0, &fire);
	msix_write(0x3818, 4, 0x41, &fire);
	CHECK_EQ(fire, 0);
	msix_write(0x381c, 4, 0xfffffffe, &fire);                        /* only the mask bit */
	CHECK_EQ(fire, 2);
	CHECK_EQ(d.msix_pending, 0);
	CHECK(pci_msix_access(&d, 0x381c, 4, false, &v, &fire));
	CHECK_EQ(v, 0);
	CHECK(pci_msix_message(&d, 1, &m));
	CHECK_EQ(m.dest, 3);
	CHECK(!m.logical);
	CHECK_EQ(m.vector, 0x41);
	CHECK_EQ(m.delivery_mode, 0);
	/* 8-byte access of address low+high; logical destination. */
	msix_write(0x3810, 8, 0x00000000fee01004ull, &fire);
	CHECK(pci_msix_message(&d, 1, &m));
	CHECK(m.logical);
	CHECK_EQ(m.dest, 1);
	/* Function mask: pending until cleared. */
	pci_cfg_write(&d, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	CHECK(!pci_msix_message(&d, 1, &m));
	pci_cfg_write(&d, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	CHECK_EQ(pci_msix_unmasked(&d), 2);
	/* A message outside the APIC window goes nowhere. */
	msix_write(0x3814, 4, 1, &fire);
	CHECK(!pci_msix_message(&d, 1, &m));
	/* Out of range vectors, odd accesses, the PBA read-only. */
	CHECK(!pci_msix_message(&d, 3, &m));
	CHECK(pci_msix_access(&d, 0x3802, 2, false, &v, &fire));
	CHECK_EQ(v, ~0ull);
	CHECK(!pci_msix_access(&d, 0x3830, 4, false, &v, &fire));        /* past 3 entries */
	msix_write(0x3c00, 4, 0xff, &fire);
	CHECK_EQ(d.msix_pending, 0);
	CHECK(!pci_msix_access(&d, 0x100, 4, false, &v, &fire));         /* elsewhere in the BAR */
}

int main(void)
{
	test_header();
	test_bars();
	test_caps();
	test_msix();
	return unit_finish("test_pci");
}
