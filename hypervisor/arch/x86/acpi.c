/*
 * The host's CPUs from the MADT, and ACPI soft-off: PM1a/PM1b control
 * blocks from the FADT, and SLP_TYPa/b of \_S5 from the DSDT. The AML is not interpreted: \_S5 is a
 * Name whose package starts with the two sleep-type values, which is all
 * the firmwares we boot on (OVMF, QEMU, Bochs) emit.
 */
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/acpi.h>
#include <x86/processor.h>

#define SLP_EN           (1u << 13)
#define AML_NAME_OP      0x08
#define AML_PACKAGE_OP   0x12
#define AML_BYTE_PREFIX  0x0a
#define AML_ZERO_OP      0x00
#define AML_ONE_OP       0x01

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");

static uint16_t pm1a_cnt, pm1b_cnt;
static uint8_t slp_typa, slp_typb;

/* A little-endian field of 4 or 8 bytes; XSDT entries sit at offset 36,
 * so 8-byte ones are not aligned. */
static uint64_t field(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, p, size);
	return v;
}

static const struct acpi_header *find_table(uint64_t rsdp, const char *sig)
{
	const uint8_t *r = (const uint8_t *)(uintptr_t)rsdp;
	bool xsdt = r[15] >= 2 && field(r + 24, 8);
	const struct acpi_header *root = (const void *)(uintptr_t)(xsdt ? field(r + 24, 8)
								      : field(r + 16, 4));
	unsigned entry = xsdt ? 8 : 4, n = (root->length - sizeof(*root)) / entry;

	for (unsigned i = 0; i < n; i++) {
		uint64_t addr = field((const uint8_t *)(root + 1) + i * entry, entry);
		const struct acpi_header *t = (const void *)(uintptr_t)addr;

		if (t && !memcmp(t->signature, sig, 4))
			return t;
	}
	return NULL;
}

static int aml_byte(const uint8_t **p, uint8_t *v)
{
	if (**p == AML_BYTE_PREFIX) {
		*v = (*p)[1];
		*p += 2;
	} else if (**p == AML_ZERO_OP || **p == AML_ONE_OP) {
		*v = **p;
		*p += 1;
	} else {
		return -1;
	}
	return 0;
}

/* Name(_S5, Package(n) { SLP_TYPa, SLP_TYPb, ... }) */
static int find_s5(const struct acpi_header *dsdt)
{
	const uint8_t *aml = (const uint8_t *)(dsdt + 1), *end = (const uint8_t *)dsdt + dsdt->length;

	for (const uint8_t *p = aml; p + 12 < end; p++) {
		if (memcmp(p, "_S5_", 4) || p[4] != AML_PACKAGE_OP ||
		    (p[-1] != AML_NAME_OP && p[-2] != AML_NAME_OP))
			continue;
		p += 5;
		p += (*p >> 6) + 1;   /* PkgLength: 1..4 bytes (ACPI 6.4, 20.2.4) */
		p++;                  /* NumElements */
		if (aml_byte(&p, &slp_typa) || aml_byte(&p, &slp_typb))
			return -1;
		return 0;
	}
	return -1;
}

/* FADT fields (ACPI 6.4, table 5.9); the 64-bit X_DSDT wins when set. */
static const struct acpi_header *fadt_dsdt(const struct acpi_header *fadt)
{
	const uint8_t *f = (const uint8_t *)fadt;
	uint64_t x_dsdt = fadt->length >= 148 ? *(const uint64_t *)(f + 140) : 0;

	return (const void *)(uintptr_t)(x_dsdt ? x_dsdt : *(const uint32_t *)(f + 40));
}

/* MADT entries (ACPI 6.4, 5.2.12.2 and 5.2.12.12): processor local APIC
 * and local x2APIC, with flags bit 0 "enabled". */
#define MADT_LAPIC        0
#define MADT_X2APIC       9
#define MADT_CPU_ENABLED  (1u << 0)
#define MADT_ENTRIES      44   /* header, local APIC address, flags */

unsigned acpi_host_cpus(uint64_t rsdp, uint32_t *apic_ids, unsigned max)
{
	const struct acpi_header *madt;
	const uint8_t *p, *end;
	unsigned n = 0;

	if (!rsdp || memcmp((const void *)(uintptr_t)rsdp, "RSD PTR ", 8))
		return 0;
	madt = find_table(rsdp, "APIC");
	if (!madt || madt->length < MADT_ENTRIES)
		return 0;
	end = (const uint8_t *)madt + madt->length;
	for (p = (const uint8_t *)madt + MADT_ENTRIES; p + 2 <= end && p[1] >= 2 && p + p[1] <= end;
	     p += p[1]) {
		uint32_t id, flags;

		if (p[0] == MADT_LAPIC && p[1] >= 8) {
			id = p[3];
			memcpy(&flags, p + 4, 4);
		} else if (p[0] == MADT_X2APIC && p[1] >= 16) {
			memcpy(&id, p + 4, 4);
			memcpy(&flags, p + 8, 4);
		} else {
			continue;
		}
		if ((flags & MADT_CPU_ENABLED) && n < max)
			apic_ids[n++] = id;
	}
	return n;
}

const char *acpi_init(uint64_t rsdp)
{
	const struct acpi_header *fadt, *dsdt;
	const uint8_t *f;

	if (!rsdp || memcmp((const void *)(uintptr_t)rsdp, "RSD PTR ", 8))
		return "no RSDP from the firmware";
	fadt = find_table(rsdp, "FACP");
	if (!fadt)
		return "no FADT";
	f = (const uint8_t *)fadt;
	pm1a_cnt = (uint16_t)*(const uint32_t *)(f + 64);   /* PM1a_CNT_BLK */
	pm1b_cnt = (uint16_t)*(const uint32_t *)(f + 68);   /* PM1b_CNT_BLK */
	if (!pm1a_cnt)
		return "no PM1a control block in the FADT";
	dsdt = fadt_dsdt(fadt);
	if (!dsdt || memcmp(dsdt->signature, "DSDT", 4))
		return "no DSDT";
	if (find_s5(dsdt)) {
		pm1a_cnt = 0;
		return "no \\_S5 package in the DSDT";
	}
	return NULL;
}

#define DEBUG_EXIT_PORT 0xf4   /* QEMU isa-debug-exit: exit status (v << 1) | 1 */
#define EXIT_ALL_WELL   0x10
#define EXIT_SOME_BAD   0x11

void machine_poweroff(bool ok)
{
	/* QEMU's isa-debug-exit turns this into QEMU's exit status; elsewhere
	 * the port is unused and ACPI soft-off follows. */
	outb(DEBUG_EXIT_PORT, ok ? EXIT_ALL_WELL : EXIT_SOME_BAD);
	acpi_poweroff();
	printk("kestrel: could not power off; halted\n");
	cpu_halt_forever();
}

void acpi_poweroff(void)
{
	if (!pm1a_cnt)
		return;
	outw(pm1a_cnt, (uint16_t)((slp_typa << 10) | SLP_EN));
	if (pm1b_cnt)
		outw(pm1b_cnt, (uint16_t)((slp_typb << 10) | SLP_EN));
}
