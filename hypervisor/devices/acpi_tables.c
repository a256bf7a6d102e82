/*
 * The ACPI tables of a Linux VM (ACPI 6.4), built into guest memory.
 *
 * Choices the guest depends on:
 *   - FADT revision 6.4 with HW_REDUCED_ACPI (4.1): no SCI, PM timer, PM1
 *     or GPE blocks, no FACS. Linux then uses the sleep control/status
 *     registers for S5 and null_legacy_pic: no 8259s, no PIT interrupt.
 *   - No MADT interrupt source overrides. ISA IRQs map 1:1 onto IOAPIC
 *     pins; the only device on one, COM1, uses IRQ 4 with the ISA
 *     default polarity and trigger (edge, active high), which its _CRS
 *     states anyway. The classic IRQ0 -> GSI2 override describes a PIT
 *     wired to the IOAPIC, which this platform does not offer.
 *   - No RSDT: revision-2 RSDP with an XSDT only (5.2.5.3, 5.2.8).
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
 * XSDT lists the FADT and the MADT; the DSDT hangs off the FADT.
 */
#define ALIGN_UP(x)             (((x) + ACPI_ALIGN - 1) & ~(size_t)(ACPI_ALIGN - 1))
#define XSDT_ENTRIES            2
#define XSDT_LENGTH             (sizeof(struct acpi_xsdt) + XSDT_ENTRIES * sizeof(uint64_t))
#define MADT_LENGTH(n)          (sizeof(struct acpi_madt) + \
				 (n) * sizeof(struct acpi_madt_lapic) + \
				 sizeof(struct acpi_madt_ioapic))
#define XSDT_OFFSET             ALIGN_UP(sizeof(struct acpi_rsdp))
#define FADT_OFFSET             ALIGN_UP(XSDT_OFFSET + XSDT_LENGTH)
#define DSDT_OFFSET             ALIGN_UP(FADT_OFFSET + sizeof(struct acpi_fadt))
#define MADT_OFFSET             ALIGN_UP(DSDT_OFFSET + sizeof(dsdt_aml_code))
#define TABLES_SIZE(n)          (MADT_OFFSET + MADT_LENGTH(n))

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

static void build_xsdt(struct acpi_xsdt *x, uint64_t fadt_gpa, uint64_t madt_gpa)
{
	sdt_header_init(&x->header, "XSDT", XSDT_LENGTH, XSDT_REVISION);
	x->entry[0] = fadt_gpa;
	x->entry[1] = madt_gpa;
	sdt_header_seal(&x->header);
}

/* 5.2.9 and 5.2.9.3; everything not set here is zero, as hardware-reduced
 * ACPI (4.1) wants for the PM1, PM2, PM timer, GPE and SMI fields. */
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
	f->reset_reg = gas_io8(ACPI_RESET_PORT);        /* 4.8.3.6 */
	f->reset_value = ACPI_RESET_VALUE;
	f->sleep_control_reg = gas_io8(ACPI_SLEEP_CONTROL_PORT);  /* 4.8.3.7 */
	f->sleep_status_reg = gas_io8(ACPI_SLEEP_STATUS_PORT);
	memcpy(&f->hypervisor_vendor_id, "Kestrel ", sizeof(f->hypervisor_vendor_id));
	sdt_header_seal(&f->header);
}

/* 5.2.12: local APICs in vCPU order (the first is the boot processor,
 * 5.2.12.1), then the IOAPIC. PCAT_COMPAT clear: no 8259s. */
static void build_madt(struct acpi_madt *m, unsigned nr_vcpus)
{
	struct acpi_madt_lapic *lapic = (struct acpi_madt_lapic *)(m + 1);
	struct acpi_madt_ioapic *ioapic;

	sdt_header_init(&m->header, "APIC", MADT_LENGTH(nr_vcpus), MADT_REVISION);
	m->lapic_address = ACPI_LAPIC_ADDR;
	m->flags = 0;
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
	sdt_header_seal(&m->header);
}

long acpi_build(const struct acpi_platform *p, void *buf, size_t size, uint64_t gpa)
{
	uint8_t *base = buf;
	size_t total;

	if (!p || p->nr_vcpus == 0 || p->nr_vcpus > ACPI_MAX_VCPUS ||
	    gpa % ACPI_ALIGN != 0)
		return -1;
	total = TABLES_SIZE(p->nr_vcpus);
	if (!buf || size < total || gpa + total < gpa)
		return -1;

	memset(base, 0, total);
	build_rsdp((struct acpi_rsdp *)base, gpa + XSDT_OFFSET);
	build_xsdt((struct acpi_xsdt *)(base + XSDT_OFFSET), gpa + FADT_OFFSET, gpa + MADT_OFFSET);
	build_fadt((struct acpi_fadt *)(base + FADT_OFFSET), p, gpa + DSDT_OFFSET);
	memcpy(base + DSDT_OFFSET, dsdt_aml_code, sizeof(dsdt_aml_code));
	build_madt((struct acpi_madt *)(base + MADT_OFFSET), p->nr_vcpus);
	return (long)total;
}
