/*
 * The ACPI tables of a Linux VM (ACPI 6.4), built into guest memory.
 *
 * Choices the guest depends on:
 *   - FADT revision 6.4 with HW_REDUCED_ACPI (4.1): no SCI, PM1 or GPE
 *     blocks, no FACS. Linux then uses the sleep control/status registers
 *     for S5 and null_legacy_pic: it leaves the 8259s masked and takes no
 *     PIT interrupt (its timer is the local APIC's), though it still
 *     calibrates with PIT counter 2 (quick_pit_calibrate runs before the
 *     FADT is read).
 *   - The PM timer block in that FADT. ACPI 6.4, 5.2.9 lets OSPM ignore
 *     PM_TMR_BLK under HW_REDUCED_ACPI; Linux 6.1 does not: ACPICA
 *     converts X_PM_TMR_BLK like any block and acpi_parse_fadt() takes
 *     pmtmr_ioport from it, so the acpi_pm clocksource and the PM-timer
 *     TSC calibration work. An OS that ignores the field loses only that.
 *     Both the 32-bit and the GAS field name the port, so no OS sees a
 *     32/64-bit mismatch. TMR_VAL_EXT is clear: the timer has 24 bits.
 *   - One MADT interrupt source override, ISA IRQ 0 -> GSI 2, the PC
 *     wiring of the PIT to the IOAPIC (devices/vpic.c routes it so);
 *     every other ISA IRQ maps 1:1 onto an IOAPIC pin with the ISA
 *     defaults (edge, active high), which COM1's and the RTC's _CRS state
 *     anyway. PCAT_COMPAT says the 8259s are there (masked at power-on).
 *   - No RSDT: revision-2 RSDP with an XSDT only (5.2.5.3, 5.2.8).
 *   - An MCFG with the ECAM window of bus 0 (pci/pci.h), which the DSDT
 *     also reserves as a motherboard resource (PNP0C02), as Linux wants
 *     before it uses ECAM.
 */
#include <devices/acpi_tables.h>
#include <lib/string.h>

/* The DSDT, compiled by iasl from dsdt.asl into "unsigned char
 * dsdt_aml_code[] = {...};" (iasl -tc names the array after the output
 * file). The qualifiers in front make it a private constant. */
static const
#include "dsdt.hex"

#define ACPI_ALIGN              16
#define ACPI_CREATOR_ID         "KSTL"
#define ACPI_CREATOR_REVISION   1
/* Versions of ACPI 6.4: FADT 6.4 (5.2.9), MADT 5 (5.2.12), XSDT 1. */
#define FADT_REVISION           6
#define FADT_MINOR_VERSION      4
#define MADT_REVISION           5
#define XSDT_REVISION           1
#define RSDP_REVISION           2
#define RSDP_V1_LENGTH          20      /* what the first checksum covers */

/*
 * Where each table sits, as offsets from the RSDP. The fixed-size tables
 * come first, so only the MADT's length depends on the vCPU count. The
 * XSDT lists the FADT, the MADT and the MCFG; the DSDT hangs off the FADT.
 */
#define ALIGN_UP(x)             (((x) + ACPI_ALIGN - 1) & ~(size_t)(ACPI_ALIGN - 1))
#define XSDT_ENTRIES            3
#define XSDT_LENGTH             (sizeof(struct acpi_xsdt) + XSDT_ENTRIES * sizeof(uint64_t))
#define MADT_LENGTH(n)          (sizeof(struct acpi_madt) + \
				 (n) * sizeof(struct acpi_madt_lapic) + \
				 sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso))
#define XSDT_OFFSET             ALIGN_UP(sizeof(struct acpi_rsdp))
#define FADT_OFFSET             ALIGN_UP(XSDT_OFFSET + XSDT_LENGTH)
#define DSDT_OFFSET             ALIGN_UP(FADT_OFFSET + sizeof(struct acpi_fadt))
#define MCFG_LENGTH             (sizeof(struct acpi_mcfg) + sizeof(struct acpi_mcfg_alloc))
#define MCFG_OFFSET             ALIGN_UP(DSDT_OFFSET + sizeof(dsdt_aml_code))
#define MADT_OFFSET             ALIGN_UP(MCFG_OFFSET + MCFG_LENGTH)
#define TABLES_SIZE(n)          (MADT_OFFSET + MADT_LENGTH(n))
#define MCFG_REVISION           1

_Static_assert(TABLES_SIZE(ACPI_MAX_VCPUS) <= ACPI_TABLES_MAX_SIZE,
	       "ACPI_TABLES_MAX_SIZE too small");

/* The value that makes len bytes sum to zero (5.2.5.3, 5.2.6). */
static uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static void sdt_header_init(struct acpi_sdt_header *h, const char *sig,
			    size_t len, uint8_t revision)
{
	memcpy(h->signature, sig, sizeof(h->signature));
	h->length = (uint32_t)len;
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* Last step of every table: its length is in its header. */
static void sdt_header_seal(struct acpi_sdt_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

/* An 8-bit I/O-port register (5.2.3.2). */
static struct acpi_gas gas_io8(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 8,
		.bit_offset = 0,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = port,
	};
}

/* A 32-bit I/O-port register (5.2.3.2). */
static struct acpi_gas gas_io32(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 32,
		.bit_offset = 0,
		.access_size = ACPI_GAS_ACCESS_DWORD,
		.address = port,
	};
}

static void build_rsdp(struct acpi_rsdp *r, uint64_t xsdt_gpa)
{
	memcpy(r->signature, "RSD PTR ", sizeof(r->signature));
	memcpy(r->oem_id, ACPI_OEM_ID, sizeof(r->oem_id));
	r->revision = RSDP_REVISION;
	r->rsdt_address = 0;                    /* no RSDT */
	r->length = sizeof(*r);
	r->xsdt_address = xsdt_gpa;
	r->checksum = acpi_checksum(r, RSDP_V1_LENGTH);
	r->extended_checksum = acpi_checksum(r, sizeof(*r));
}

static void build_xsdt(struct acpi_xsdt *x, uint64_t fadt_gpa, uint64_t madt_gpa,
		       uint64_t mcfg_gpa)
{
	sdt_header_init(&x->header, "XSDT", XSDT_LENGTH, XSDT_REVISION);
	x->entry[0] = fadt_gpa;
	x->entry[1] = madt_gpa;
	x->entry[2] = mcfg_gpa;
	sdt_header_seal(&x->header);
}

/* 5.2.9 and 5.2.9.3; everything not set here is zero, as hardware-reduced
 * ACPI (4.1) wants for the PM1, PM2, GPE and SMI fields. The PM timer
 * block is the exception explained at the top. */
static void build_fadt(struct acpi_fadt *f, const struct acpi_platform *p,
		       uint64_t dsdt_gpa)
{
	sdt_header_init(&f->header, "FACP", sizeof(*f), FADT_REVISION);
	f->minor_version = FADT_MINOR_VERSION;
	/* No FACS: allowed when HW_REDUCED_ACPI is set and both fields are 0. */
	f->firmware_ctrl = 0;
	f->x_firmware_ctrl = 0;
	/* Both DSDT fields, equal, so no OS sees a 32/64-bit mismatch. */
	f->dsdt = dsdt_gpa < (1ull << 32) ? (uint32_t)dsdt_gpa : 0;
	f->x_dsdt = dsdt_gpa;
	f->preferred_pm_profile = 0;            /* unspecified */
	f->flags = ACPI_FADT_HW_REDUCED_ACPI | ACPI_FADT_RESET_REG_SUP |
		   ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON;
	/* No 8042 (bit clear), no VGA; the RTC only if the VM has one. */
	f->iapc_boot_arch = ACPI_IAPC_VGA_NOT_PRESENT;
	if (p->cmos_rtc)
		f->century = ACPI_RTC_CENTURY_INDEX;
	else
		f->iapc_boot_arch |= ACPI_IAPC_CMOS_RTC_NOT_PRESENT;
	if (p->pm_timer) {                              /* 4.8.3.3 */
		f->pm_tmr_blk = ACPI_PM_TIMER_PORT;
		f->pm_tmr_len = ACPI_PM_TIMER_LEN;
		f->x_pm_tmr_blk = gas_io32(ACPI_PM_TIMER_PORT);
	}
	f->reset_reg = gas_io8(ACPI_RESET_PORT);        /* 4.8.3.6 */
	f->reset_value = ACPI_RESET_VALUE;
	f->sleep_control_reg = gas_io8(ACPI_SLEEP_CONTROL_PORT);  /* 4.8.3.7 */
	f->sleep_status_reg = gas_io8(ACPI_SLEEP_STATUS_PORT);
	memcpy(&f->hypervisor_vendor_id, "Kestrel ", sizeof(f->hypervisor_vendor_id));
	sdt_header_seal(&f->header);
}

static size_t madt_length(const struct acpi_platform *p)
{
	return MADT_LENGTH(p->nr_vcpus) - (p->pic_pit ? 0 : sizeof(struct acpi_madt_iso));
}

/* 5.2.12: local APICs in vCPU order (the first is the boot processor,
 * 5.2.12.1), the IOAPIC, then with the PIT the override of its IRQ. */
static void build_madt(struct acpi_madt *m, const struct acpi_platform *p)
{
	unsigned nr_vcpus = p->nr_vcpus;
	struct acpi_madt_lapic *lapic = (struct acpi_madt_lapic *)(m + 1);
	struct acpi_madt_ioapic *ioapic;
	struct acpi_madt_iso *iso;

	sdt_header_init(&m->header, "APIC", madt_length(p), MADT_REVISION);
	m->lapic_address = ACPI_LAPIC_ADDR;
	m->flags = p->pic_pit ? ACPI_MADT_PCAT_COMPAT : 0;
	for (unsigned i = 0; i < nr_vcpus; i++, lapic++) {
		lapic->type = ACPI_MADT_TYPE_LAPIC;
		lapic->length = sizeof(*lapic);
		lapic->processor_uid = (uint8_t)i;
		lapic->apic_id = (uint8_t)i;
		lapic->flags = ACPI_MADT_LAPIC_ENABLED;
	}
	ioapic = (struct acpi_madt_ioapic *)lapic;
	ioapic->type = ACPI_MADT_TYPE_IOAPIC;
	ioapic->length = sizeof(*ioapic);
	ioapic->ioapic_id = ACPI_IOAPIC_ID;
	ioapic->address = ACPI_IOAPIC_ADDR;
	ioapic->gsi_base = ACPI_IOAPIC_GSI_BASE;
	if (p->pic_pit) {                               /* 5.2.12.5 */
		iso = (struct acpi_madt_iso *)(ioapic + 1);
		iso->type = ACPI_MADT_TYPE_ISO;
		iso->length = sizeof(*iso);
		iso->bus = 0;                           /* ISA */
		iso->source = ACPI_PIT_IRQ;
		iso->gsi = ACPI_PIT_GSI;
		iso->flags = 0;                         /* conforms to ISA: edge, high */
	}
	sdt_header_seal(&m->header);
}

/* PCI Firmware Specification 3.0, 4.1.2: one segment, bus 0 only. */
static void build_mcfg(struct acpi_mcfg *m)
{
	struct acpi_mcfg_alloc *a = (struct acpi_mcfg_alloc *)(m + 1);

	sdt_header_init(&m->header, "MCFG", MCFG_LENGTH, MCFG_REVISION);
	a->base = ACPI_PCI_ECAM_BASE;
	a->segment = 0;
	a->start_bus = 0;
	a->end_bus = 0;
	sdt_header_seal(&m->header);
}

/*
 * _STA of the DSDT's \_SB.RTC and \_SB.VR0n comes from the byte of a Name
 * (RTCS or VS0n, 0x0F: present, enabled, shown, working). Its AML is NameOp
 * name BytePrefix value, found in the copy and patched to 0 when the VM
 * lacks the device; the caller seals the checksum again.
 */
static void dsdt_set_present(struct acpi_sdt_header *dsdt, const char *nm, bool present)
{
	uint8_t name[6] = { 0x08, (uint8_t)nm[0], (uint8_t)nm[1], (uint8_t)nm[2], (uint8_t)nm[3],
			    0x0a };
	uint8_t *aml = (uint8_t *)dsdt;

	for (size_t i = sizeof(*dsdt); i + sizeof(name) < dsdt->length; i++) {
		if (!memcmp(aml + i, name, sizeof(name))) {
			aml[i + sizeof(name)] = present ? 0x0f : 0x00;
			break;
		}
	}
}

static void dsdt_patch(struct acpi_sdt_header *dsdt, const struct acpi_platform *p)
{
	static const char *const slots[] = { "VS00", "VS01", "VS02", "VS03" };

	dsdt_set_present(dsdt, "RTCS", p->cmos_rtc);
	for (unsigned i = 0; i < 4; i++)
		dsdt_set_present(dsdt, slots[i], i < p->virtio_mmio);
	sdt_header_seal(dsdt);
}

long acpi_build(const struct acpi_platform *p, void *buf, size_t size, uint64_t gpa)
{
	uint8_t *base = buf;
	size_t total;

	if (!p || p->nr_vcpus == 0 || p->nr_vcpus > ACPI_MAX_VCPUS || p->virtio_mmio > 4 ||
	    gpa % ACPI_ALIGN != 0)
		return -1;
	total = MADT_OFFSET + madt_length(p);
	if (!buf || size < total || gpa + total < gpa)
		return -1;

	memset(base, 0, total);
	build_rsdp((struct acpi_rsdp *)base, gpa + XSDT_OFFSET);
	build_xsdt((struct acpi_xsdt *)(base + XSDT_OFFSET), gpa + FADT_OFFSET, gpa + MADT_OFFSET,
		   gpa + MCFG_OFFSET);
	build_fadt((struct acpi_fadt *)(base + FADT_OFFSET), p, gpa + DSDT_OFFSET);
	memcpy(base + DSDT_OFFSET, dsdt_aml_code, sizeof(dsdt_aml_code));
	dsdt_patch((struct acpi_sdt_header *)(base + DSDT_OFFSET), p);
	build_mcfg((struct acpi_mcfg *)(base + MCFG_OFFSET));
	build_madt((struct acpi_madt *)(base + MADT_OFFSET), p);
	return (long)total;
}
