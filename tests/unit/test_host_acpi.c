/* The host's CPUs from its MADT (arch/x86/acpi.c acpi_host_cpus): local
 * APIC and x2APIC entries, the enabled flag, the limit, and tables that
 * are cut short or malformed. The tables are built here in host memory,
 * which the parser reads through the addresses in them as it would the
 * identity-mapped firmware tables. */
// UNIT-SOURCES: hypervisor/arch/x86/acpi.c
#include <stdint.h>
#include <string.h>
#include <x86/acpi.h>
#include <x86/paging.h>
#include "hv_stubs.h"
#include "unit.h"

static uint8_t rsdp[36], xsdt[36 + 8], madt[256];
static unsigned madt_len;

static void header(uint8_t *t, const char *sig, uint32_t len)
{
	memcpy(t, sig, 4);
	memcpy(t + 4, &len, 4);
}

static void tables_begin(void)
{
	uint64_t x = (uintptr_t)xsdt, m = (uintptr_t)madt;

	memset(madt, 0xee, sizeof(madt));   /* past the end: garbage */
	memcpy(rsdp, "RSD PTR ", 8);
	rsdp[15] = 2;                       /* ACPI 2.0+: use the XSDT */
	memcpy(rsdp + 24, &x, 8);
	header(xsdt, "XSDT", sizeof(xsdt));
	memcpy(xsdt + 36, &m, 8);
	madt_len = 44;                      /* header, LAPIC address, flags */
}

static void lapic(uint8_t apic_id, uint32_t flags)
{
	uint8_t e[8] = { 0, 8, 0, apic_id };

	memcpy(e + 4, &flags, 4);
	memcpy(madt + madt_len, e, sizeof(e));
	madt_len += sizeof(e);
}

static void x2apic(uint32_t apic_id, uint32_t flags)
{
	uint8_t e[16] = { 9, 16 };

	memcpy(e + 4, &apic_id, 4);
	memcpy(e + 8, &flags, 4);
	memcpy(madt + madt_len, e, sizeof(e));
	madt_len += sizeof(e);
}

static void other(uint8_t type, uint8_t len)
{
	memset(madt + madt_len, 0, len);
	madt[madt_len] = type;
	madt[madt_len + 1] = len;
	madt_len += len;
}

static unsigned parse(uint32_t *ids, unsigned max)
{
	header(madt, "APIC", madt_len);
	return acpi_host_cpus((uintptr_t)rsdp, ids, max);
}

static void test_entries(void)
{
	uint32_t ids[8];

	tables_begin();
	lapic(0, 1);
	other(1, 12);        /* an I/O APIC between the CPUs */
	lapic(2, 1);
	lapic(3, 0);         /* disabled: left out */
	lapic(4, 2);         /* online-capable but not enabled: left out */
	x2apic(300, 1);
	other(2, 10);        /* an interrupt source override */
	CHECK_EQ(parse(ids, 8), 3);
	CHECK_EQ(ids[0], 0);
	CHECK_EQ(ids[1], 2);
	CHECK_EQ(ids[2], 300);
	/* At most `max`. */
	CHECK_EQ(parse(ids, 2), 2);
	CHECK_EQ(ids[1], 2);
}

static void test_malformed(void)
{
	uint32_t ids[8];

	/* An entry claiming length 0 ends the walk instead of looping. */
	tables_begin();
	lapic(1, 1);
	other(0x7f, 2);
	madt[madt_len - 1] = 0;
	lapic(5, 1);
	CHECK_EQ(parse(ids, 8), 1);
	/* An entry running past the table's length is not read. */
	tables_begin();
	lapic(1, 1);
	lapic(6, 1);
	madt_len -= 3;
	CHECK_EQ(parse(ids, 8), 1);
	/* A LAPIC entry too short for its flags is skipped. */
	tables_begin();
	other(0, 4);
	lapic(7, 1);
	CHECK_EQ(parse(ids, 8), 1);
	CHECK_EQ(ids[0], 7);
	/* No MADT, no RSDP. */
	tables_begin();
	memcpy(xsdt + 36, &(uint64_t){ (uintptr_t)rsdp }, 8);   /* points at a non-table */
	madt_len = 44;
	CHECK_EQ(acpi_host_cpus((uintptr_t)rsdp, ids, 8), 0);
	CHECK_EQ(acpi_host_cpus(0, ids, 8), 0);
	tables_begin();
	madt_len = 40;       /* shorter than the fixed part */
	CHECK_EQ(parse(ids, 8), 0);
}

int main(void)
{
	test_entries();
	test_malformed();
	return unit_finish("test_host_acpi");
}
