/*
 * The ACPI tables of a Linux VM. Every value is read back at the byte
 * offsets of ACPI 6.4 (not through the structs the builder uses); then
 * ACPICA, the interpreter Linux itself runs, cross-checks the tables:
 * iasl -d disassembles each one and acpiexec loads them, evaluates \_S5
 * and COM1's _CRS and walks the S5 sleep path Linux takes on poweroff.
 */
// UNIT-SOURCES: hypervisor/devices/acpi_tables.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <devices/acpi_tables.h>
#include "unit.h"

#define GPA             0xe0000ull
#define CANARY          0xa5
#define HEADER_LEN      36

static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static int all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return 0;
	return 1;
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (!memcmp(hay + i, needle, n))
			return hay + i;
	return NULL;
}

/* One build: the blob as the guest sees it at gpa, and its tables. */
struct tables {
	uint8_t *buf;
	long len;
	uint64_t gpa;
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt, *mcfg;
	uint8_t covered[ACPI_TABLES_MAX_SIZE];   /* bytes some table owns */
};

/* The table at guest address a, or NULL if its header or its length
 * leaves the blob. Marks its bytes as covered. */
static const uint8_t *table_at(struct tables *t, uint64_t a)
{
	uint64_t off = a - t->gpa;
	uint32_t len;

	if (a < t->gpa || off + HEADER_LEN > (uint64_t)t->len)
		return NULL;
	len = rd32(t->buf, off + 4);
	if (len < HEADER_LEN || off + len > (uint64_t)t->len)
		return NULL;
	memset(t->covered + off, 1, len);
	return t->buf + off;
}

/* 5.2.6: signature, length, revision, checksum and our OEM identity (the
 * FADT's OEM table ID must equal the XSDT's, 5.2.9). */
static void check_header(const uint8_t *h, const char *sig, uint8_t revision)
{
	CHECK_MSG(!memcmp(h, sig, 4), "signature %.4s, want %s", (const char *)h, sig);
	CHECK_EQ(h[8], revision);
	CHECK_MSG(sum8(h, rd32(h, 4)) == 0, "%s checksum", sig);
	CHECK(!memcmp(h + 10, ACPI_OEM_ID, 6));
	CHECK(!memcmp(h + 16, ACPI_OEM_TABLE_ID, 8));
}

/* RSDP (5.2.5.3) and XSDT (5.2.8); fills in the tables they reach. */
static void check_roots(struct tables *t)
{
	const uint8_t *r = t->rsdp;
	uint32_t n;

	CHECK(!memcmp(r, "RSD PTR ", 8));
	CHECK_EQ(sum8(r, 20), 0);
	CHECK_EQ(sum8(r, 36), 0);
	CHECK(!memcmp(r + 9, ACPI_OEM_ID, 6));
	CHECK_EQ(r[15], 2);
	CHECK_EQ(rd32(r, 16), 0);               /* no RSDT */
	CHECK_EQ(rd32(r, 20), 36);
	CHECK(all_zero(r + 33, 3));
	memset(t->covered, 1, 36);

	t->xsdt = table_at(t, rd64(r, 24));
	CHECK_MSG(t->xsdt != NULL, "XSDT at %#llx", (unsigned long long)rd64(r, 24));
	if (!t->xsdt)
		return;
	check_header(t->xsdt, "XSDT", 1);
	CHECK_EQ(rd32(t->xsdt, 4), HEADER_LEN + 3 * 8);
	n = (rd32(t->xsdt, 4) - HEADER_LEN) / 8;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = rd64(t->xsdt, HEADER_LEN + 8 * i);
		const uint8_t *p = table_at(t, a);

		CHECK_MSG(p != NULL, "XSDT entry %u at %#llx", i, (unsigned long long)a);
		CHECK_MSG(a % 16 == 0, "table at %#llx not 16-byte aligned", (unsigned long long)a);
		if (p && !memcmp(p, "FACP", 4) && !t->fadt)
			t->fadt = p;
		else if (p && !memcmp(p, "APIC", 4) && !t->madt)
			t->madt = p;
		else if (p && !memcmp(p, "MCFG", 4) && !t->mcfg)
			t->mcfg = p;
		else
			CHECK_MSG(0, "unexpected or repeated XSDT entry %u", i);
	}
	CHECK(t->fadt != NULL);
	CHECK(t->madt != NULL);
	CHECK(t->mcfg != NULL);
}

/* MCFG (PCI Firmware Specification 3.0, 4.1.2): one allocation, segment
 * 0, bus 0 only, at the ECAM window the DSDT reserves. */
static void check_mcfg(const uint8_t *m)
{
	check_header(m, "MCFG", 1);
	CHECK_EQ(rd32(m, 4), 44 + 16);
	CHECK_EQ(rd64(m, 36), 0);
	CHECK_EQ(rd64(m, 44), ACPI_PCI_ECAM_BASE);
	CHECK_EQ(rd16(m, 52), 0);
	CHECK_EQ(m[54], 0);
	CHECK_EQ(m[55], 0);
	CHECK_EQ(rd32(m, 56), 0);
}

static void check_gas_io8(const uint8_t *g, uint16_t port)
{
	CHECK_EQ(g[0], 1);                      /* SystemIO (5.2.3.2) */
	CHECK_EQ(g[1], 8);                      /* bit width */
	CHECK_EQ(g[2], 0);                      /* bit offset */
	CHECK_EQ(g[3], 1);                      /* byte access */
	CHECK_EQ(rd64(g, 4), port);
}

/* What a build describes: acpi_platform's flags. */
#define OPT_RTC         1
#define OPT_PIC_PIT     2
#define OPT_PM_TIMER    4
#define OPT_ALL         (OPT_RTC | OPT_PIC_PIT | OPT_PM_TIMER)
/* virtio-mmio slots in use, in the bits above those: 0..4 */
#define OPT_MMIO(n)     ((n) << 3)
#define OPT_MMIO_SLOTS(opts) ((opts) >> 3)

/* FADT revision 6.4 (5.2.9), hardware-reduced, with or without the PM
 * timer block. */
static void check_fadt(struct tables *t, int opts)
{
	const uint8_t *f = t->fadt;
	int cmos_rtc = opts & OPT_RTC;
	uint64_t dsdt;

	check_header(f, "FACP", 6);
	CHECK_EQ(rd32(f, 4), 276);
	CHECK_EQ(f[131], 4);                    /* minor version */
	CHECK_EQ(rd32(f, 112), (1u << 20) | (1u << 10) | (1u << 5) | (1u << 4));
	CHECK_EQ(rd32(f, 36), 0);               /* no FACS */
	CHECK_EQ(rd64(f, 132), 0);
	CHECK_EQ(f[44], 0);
	CHECK_EQ(rd16(f, 46), 0);               /* no SCI */
	if (opts & OPT_PM_TIMER) {
		CHECK(all_zero(f + 48, 76 - 48));       /* SMI, PM1, PM2 */
		CHECK_EQ(rd32(f, 76), 0x608);           /* PM_TMR_BLK */
		CHECK(all_zero(f + 80, 91 - 80));       /* GPE, PM1/PM2 lengths */
		CHECK_EQ(f[91], 4);                     /* PM_TMR_LEN */
		CHECK(all_zero(f + 92, 108 - 92));      /* GPE lengths, C-states, duty, alarms */
	} else {
		CHECK(all_zero(f + 48, 108 - 48));      /* SMI, PM1/PM2/timer/GPE, C-states, ... */
	}
	CHECK_EQ(f[108], cmos_rtc ? 0x32 : 0);  /* century byte */
	CHECK_EQ(rd16(f, 109), 0x04 | (cmos_rtc ? 0 : 0x20));
	CHECK_EQ(f[111], 0);
	check_gas_io8(f + 116, 0xcf9);          /* RESET_REG */
	CHECK_EQ(f[128], 0x06);
	CHECK_EQ(rd16(f, 129), 0);              /* ARM boot flags */
	if (opts & OPT_PM_TIMER) {
		CHECK(all_zero(f + 148, 208 - 148));    /* X_PM1a_EVT_BLK .. X_PM2_CNT_BLK */
		CHECK_EQ(f[208], 1);                    /* X_PM_TMR_BLK: SystemIO, */
		CHECK_EQ(f[209], 32);                   /* 32 bits, */
		CHECK_EQ(f[210], 0);
		CHECK_EQ(f[211], 3);                    /* dword access */
		CHECK_EQ(rd64(f, 212), 0x608);
		CHECK(all_zero(f + 220, 244 - 220));    /* X_GPE0_BLK, X_GPE1_BLK */
	} else {
		CHECK(all_zero(f + 148, 244 - 148));    /* X_PM1a_EVT_BLK .. X_GPE1_BLK */
	}
	check_gas_io8(f + 244, 0x600);          /* SLEEP_CONTROL_REG */
	check_gas_io8(f + 256, 0x601);          /* SLEEP_STATUS_REG */
	CHECK(!memcmp(f + 268, "Kestrel ", 8));

	dsdt = rd64(f, 140);
	CHECK_EQ(rd32(f, 40), dsdt);            /* 32- and 64-bit DSDT agree */
	CHECK_MSG(dsdt % 16 == 0, "DSDT at %#llx", (unsigned long long)dsdt);
	t->dsdt = table_at(t, dsdt);
	CHECK(t->dsdt != NULL);
}

/* MADT revision 5 (5.2.12): n local APICs in order, one IOAPIC, with the
 * PIT and 8259s PCAT_COMPAT and the override ISA IRQ 0 -> GSI 2, no other
 * structure. */
static void check_madt(const uint8_t *m, unsigned n, int opts)
{
	uint32_t len = rd32(m, 4), off;
	unsigned lapics = 0, ioapics = 0, isos = 0;
	int pic_pit = !!(opts & OPT_PIC_PIT);

	check_header(m, "APIC", 5);
	CHECK_EQ(len, 44 + 8 * n + 12 + (pic_pit ? 10 : 0));
	CHECK_EQ(rd32(m, 36), 0xfee00000);
	CHECK_EQ(rd32(m, 40), pic_pit);         /* PCAT_COMPAT: 8259s present */
	for (off = 44; off + 2 <= len; off += m[off + 1]) {
		const uint8_t *e = m + off;

		if (e[1] < 2 || off + e[1] > len) {
			CHECK_MSG(0, "MADT structure at %u: length %u", off, e[1]);
			return;
		}
		if (e[0] == 0) {                /* 5.2.12.2 */
			CHECK_EQ(e[1], 8);
			CHECK_MSG(ioapics == 0, "local APIC after the IOAPIC");
			CHECK_EQ(e[2], lapics);         /* processor UID */
			CHECK_EQ(e[3], lapics);         /* APIC ID */
			CHECK_EQ(rd32(e, 4), 1);        /* enabled */
			lapics++;
		} else if (e[0] == 1) {         /* 5.2.12.3 */
			CHECK_EQ(e[1], 12);
			CHECK_EQ(e[2], 0);              /* IOAPIC ID, = IOAPICID at reset */
			CHECK_EQ(e[3], 0);
			CHECK_EQ(rd32(e, 4), 0xfec00000);
			CHECK_EQ(rd32(e, 8), 0);        /* GSI base */
			ioapics++;
		} else if (e[0] == 2) {         /* 5.2.12.5 */
			CHECK_EQ(e[1], 10);
			CHECK_EQ(e[2], 0);              /* ISA */
			CHECK_EQ(e[3], 0);              /* IRQ 0 */
			CHECK_EQ(rd32(e, 4), 2);        /* GSI 2 */
			CHECK_EQ(rd16(e, 8), 0);        /* conforms to the bus */
			isos++;
		} else {
			CHECK_MSG(0, "MADT structure type %u at %u", e[0], off);
		}
	}
	CHECK_EQ(off, len);
	CHECK_EQ(lapics, n);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(isos, pic_pit);
}

/* EISA ID compression (ACPI 6.4, 19.6, EISAID): three letters in 5 bits
 * each, then four hex digits; stored big-endian in a DWord. */
static uint32_t eisa_id(const char *s)
{
	uint32_t v = ((uint32_t)(s[0] - '@') << 26) | ((uint32_t)(s[1] - '@') << 21) |
		     ((uint32_t)(s[2] - '@') << 16) | (uint32_t)strtoul(s + 3, NULL, 16);

	return __builtin_bswap32(v);
}

/* The AML integer encoding of a small constant (20.2.3). */
static size_t aml_int(uint8_t *out, uint8_t v)
{
	if (v <= 1) {
		out[0] = v;                     /* ZeroOp, OneOp */
		return 1;
	}
	out[0] = 0x0a;                          /* BytePrefix */
	out[1] = v;
	return 2;
}

/* DSDT (5.2.11.1), checked in its AML bytes. */
static void check_dsdt(const uint8_t *d, int opts)
{
	uint32_t len = rd32(d, 4);
	uint8_t want[16];
	const uint8_t *p;
	uint32_t id;
	size_t n;

	check_header(d, "DSDT", 2);             /* 2: 64-bit integers */

	/* Name (_S5, Package (4) {SLP_TYP, SLP_TYP, 0, 0}) */
	p = find_bytes(d, len, "\x08_S5_\x12", 6);
	CHECK_MSG(p != NULL, "no \\_S5 package");
	if (p) {
		p += 6;
		p += (p[0] >> 6) + 1;           /* PkgLength (20.2.4) */
		CHECK_EQ(p[0], 4);              /* NumElements */
		n = aml_int(want, ACPI_S5_SLP_TYP);
		n += aml_int(want + n, ACPI_S5_SLP_TYP);
		CHECK_MSG(!memcmp(p + 1, want, n), "\\_S5 SLP_TYP is not %d", ACPI_S5_SLP_TYP);
	}

	/* COM1: _HID EisaId ("PNP0501"), _UID 1 */
	id = eisa_id("PNP0501");
	memcpy(want, "_HID\x0c", 5);
	memcpy(want + 5, &id, 4);
	CHECK_MSG(find_bytes(d, len, want, 9) != NULL, "no _HID PNP0501");
	CHECK_MSG(find_bytes(d, len, "_UID\x01", 5) != NULL, "no _UID One");
	/* I/O port descriptor (6.4.2.5): 16-bit decode, 0x3f8..0x3f8, align 1, 8 ports */
	CHECK(find_bytes(d, len, "\x47\x01\xf8\x03\xf8\x03\x01\x08", 8) != NULL);
	/* IRQ descriptor with flags (6.4.2.1): mask 1 << 4; _HE edge, _LL high, exclusive */
	CHECK(find_bytes(d, len, "\x23\x10\x00\x01", 4) != NULL);

	/* RTC: _HID EisaId ("PNP0B00"), ports 0x70-0x71, IRQ 8 (mask 1 << 8) */
	id = eisa_id("PNP0B00");
	memcpy(want, "_HID\x0c", 5);
	memcpy(want + 5, &id, 4);
	CHECK_MSG(find_bytes(d, len, want, 9) != NULL, "no _HID PNP0B00");
	CHECK(find_bytes(d, len, "\x47\x01\x70\x00\x70\x00\x01\x02", 8) != NULL);
	CHECK(find_bytes(d, len, "\x23\x00\x01\x01", 4) != NULL);
	/* Name (RTCS, 0x0F) or 0: what its _STA returns */
	p = find_bytes(d, len, "\x08RTCS\x0a", 6);
	CHECK_MSG(p != NULL, "no RTCS");
	if (p)
		CHECK_EQ(p[6], (opts & OPT_RTC) ? 0x0f : 0x00);
	CHECK(find_bytes(d, len, "\x14\x0b_STA\x00\xa4RTCS", 11) != NULL);   /* Return (RTCS) */

	/* PCI0: _HID EisaId ("PNP0A03") */
	id = eisa_id("PNP0A03");
	memcpy(want, "_HID\x0c", 5);
	memcpy(want + 5, &id, 4);
	CHECK_MSG(find_bytes(d, len, want, 9) != NULL, "no _HID PNP0A03");
	/* virtio-mmio slot n present (0x0F) only when n < virtio_mmio */
	for (unsigned i = 0; i < 4; i++) {
		char name[7] = { 0x08, 'V', 'S', '0', (char)('0' + i), 0x0a, 0 };

		p = find_bytes(d, len, name, 6);
		CHECK_MSG(p != NULL, "no VS0%u", i);
		if (p)
			CHECK_EQ(p[6], i < (unsigned)OPT_MMIO_SLOTS(opts) ? 0x0f : 0x00);
	}
}

/* Builds n vCPUs' tables into a canary-filled buffer and checks them all. */
static struct tables *build_and_check(unsigned n, uint64_t gpa, int opts)
{
	struct acpi_platform plat = {
		.nr_vcpus = n, .cmos_rtc = opts & OPT_RTC,
		.pic_pit = opts & OPT_PIC_PIT, .pm_timer = opts & OPT_PM_TIMER,
		.virtio_mmio = (unsigned)OPT_MMIO_SLOTS(opts),
	};
	size_t size = ACPI_TABLES_MAX_SIZE + 64;
	struct tables *t = calloc(1, sizeof(*t));

	t->buf = malloc(size);
	memset(t->buf, CANARY, size);
	t->gpa = gpa;
	t->len = acpi_build(&plat, t->buf, size, gpa);
	CHECK_MSG(t->len > 0 && t->len <= ACPI_TABLES_MAX_SIZE, "%u vCPUs: %ld bytes", n, t->len);
	if (t->len <= 0 || t->len > ACPI_TABLES_MAX_SIZE)
		return t;
	for (size_t i = (size_t)t->len; i < size; i++)
		if (t->buf[i] != CANARY) {
			CHECK_MSG(0, "byte %zu past the end written", i);
			break;
		}

	t->rsdp = t->buf;
	check_roots(t);
	if (t->fadt)
		check_fadt(t, opts);
	if (t->madt)
		check_madt(t->madt, n, opts);
	if (t->dsdt)
		check_dsdt(t->dsdt, opts);
	if (t->mcfg)
		check_mcfg(t->mcfg);
	/* Tables do not overlap and padding is zero. */
	for (long i = 0; i < t->len; i++)
		if (!t->covered[i] && t->buf[i]) {
			CHECK_MSG(0, "stray byte %#x at offset %ld", t->buf[i], i);
			break;
		}
	return t;
}

static void free_tables(struct tables *t)
{
	free(t->buf);
	free(t);
}

static void test_sizes_and_errors(void)
{
	struct acpi_platform p2 = { .nr_vcpus = 2, .pic_pit = true }, p0 = { .nr_vcpus = 0 },
			     pmax = { .nr_vcpus = ACPI_MAX_VCPUS, .cmos_rtc = true, .pic_pit = true,
				      .pm_timer = true },
			     pbig = { .nr_vcpus = ACPI_MAX_VCPUS + 1 },
			     pmmio = { .nr_vcpus = 1, .virtio_mmio = 5 };
	uint8_t *buf = malloc(ACPI_TABLES_MAX_SIZE);
	long need = acpi_build(&p2, buf, ACPI_TABLES_MAX_SIZE, GPA);
	size_t too_small[] = { 0, 1, 35, 36, (size_t)need - 1 };

	CHECK(need > 0);
	for (size_t i = 0; i < sizeof(too_small) / sizeof(too_small[0]); i++) {
		memset(buf, CANARY, ACPI_TABLES_MAX_SIZE);
		CHECK_EQ(acpi_build(&p2, buf, too_small[i], GPA), -1);
		CHECK_MSG(buf[0] == CANARY && buf[too_small[i] ? too_small[i] - 1 : 0] == CANARY,
			  "size %zu: buffer written", too_small[i]);
	}
	CHECK_EQ(acpi_build(&p2, buf, (size_t)need, GPA), need);
	CHECK_EQ(acpi_build(&p0, buf, ACPI_TABLES_MAX_SIZE, GPA), -1);
	CHECK_EQ(acpi_build(&pbig, buf, ACPI_TABLES_MAX_SIZE, GPA), -1);
	CHECK_EQ(acpi_build(&pmmio, buf, ACPI_TABLES_MAX_SIZE, GPA), -1);
	CHECK(acpi_build(&pmax, buf, ACPI_TABLES_MAX_SIZE, GPA) > 0);
	CHECK_EQ(acpi_build(&p2, buf, ACPI_TABLES_MAX_SIZE, GPA + 8), -1);  /* RSDP alignment */
	CHECK_EQ(acpi_build(&p2, buf, ACPI_TABLES_MAX_SIZE, UINT64_MAX - 15), -1);
	CHECK_EQ(acpi_build(NULL, buf, ACPI_TABLES_MAX_SIZE, GPA), -1);
	CHECK_EQ(acpi_build(&p2, NULL, ACPI_TABLES_MAX_SIZE, GPA), -1);
	free(buf);
}

/* Same input, same bytes; another gpa moves only the pointers. */
static void test_relocation(void)
{
	struct tables *a = build_and_check(2, GPA, OPT_ALL), *b = build_and_check(2, GPA, OPT_ALL),
		      *c = build_and_check(2, 0x7000, OPT_ALL);

	CHECK(a->len == b->len && !memcmp(a->buf, b->buf, (size_t)a->len));
	CHECK_EQ(c->len, a->len);
	if (c->xsdt && a->xsdt)
		CHECK_EQ(rd64(c->xsdt, HEADER_LEN), rd64(a->xsdt, HEADER_LEN) - GPA + 0x7000);
	free_tables(a);
	free_tables(b);
	free_tables(c);
}

/* ---------------------------------------------- ACPICA cross-check */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	n = (long)fread(s, 1, (size_t)n, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

static int have_tool(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static void write_file(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CHECK_MSG(f && fwrite(p, 1, len, f) == len, "writing %s", path);
	if (f)
		fclose(f);
}

/* Runs cmd in dir with its output in dir/log; returns the output. */
static char *run_in(const char *dir, const char *cmd, const char *log)
{
	char line[512], path[256];
	int rc;

	snprintf(line, sizeof(line), "cd '%s' && %s >%s 2>&1", dir, cmd, log);
	rc = system(line);
	CHECK_MSG(rc == 0, "`%s` exited with %d", cmd, rc);
	snprintf(path, sizeof(path), "%s/%s", dir, log);
	return slurp(path);
}

/* ACPICA prints "ACPI Error", "ACPI Warning", "Firmware Warning" and
 * "Error    nnnn" lines for whatever it dislikes. */
static void check_clean(const char *what, const char *out)
{
	CHECK_MSG(out != NULL, "%s: no output", what);
	if (!out)
		return;
	CHECK_MSG(!strstr(out, "Error") && !strstr(out, "Warning"), "%s complains:\n%s", what, out);
}

/* The value of a "label : value" line of an iasl data-table listing,
 * searched from *from on; advances *from past it. */
static const char *dsl_value(const char **from, const char *label)
{
	size_t n = strlen(label);

	for (const char *l = *from; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *s = l, *colon = strstr(l, " : "), *eol = strchr(l, '\n');

		if (!colon || (eol && colon > eol))
			continue;
		if (*s == '[')
			s = strchr(s, ']') + 1;
		while (*s == ' ')
			s++;
		if ((size_t)(colon - s) >= n && !strncmp(s, label, n) &&
		    (colon - s == (long)n || s[n] == ' ')) {
			*from = colon + 3;
			return colon + 3;
		}
	}
	return NULL;
}

#define DSL_IS(from, label, want)                                            \
	do {                                                                 \
		const char *v_ = dsl_value(&(from), label);                  \
		CHECK_MSG(v_ && !strncmp(v_, want, strlen(want)),            \
			  "%s: got \"%.20s\", want \"%s\"", label,           \
			  v_ ? v_ : "(missing)", want);                      \
	} while (0)

static int count(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s++;
	}
	return n;
}

static void disassemble(const char *dir, const char *name, const char *done)
{
	char cmd[64], log[64], dsl[256];
	char *out;

	snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", name);
	snprintf(log, sizeof(log), "%s.log", name);
	out = run_in(dir, cmd, log);
	check_clean(cmd, out);
	CHECK_MSG(out && strstr(out, done), "%s: no \"%s\"", cmd, done);
	free(out);
	snprintf(dsl, sizeof(dsl), "%s/%s.dsl", dir, name);
	out = slurp(dsl);
	CHECK_MSG(out && !strstr(out, "Incorrect") && !strstr(out, "Invalid"),
		  "%s: ACPICA flags a field", dsl);
	free(out);
}

static void check_fadt_listing(const char *dir)
{
	char path[256];
	char *dsl;
	const char *p;

	snprintf(path, sizeof(path), "%s/facp.dsl", dir);
	p = dsl = slurp(path);
	if (!dsl)
		return;
	DSL_IS(p, "Table Length", "00000114");
	DSL_IS(p, "Revision", "06");
	DSL_IS(p, "FACS Address", "00000000");
	DSL_IS(p, "PM Timer Block Address", "00000608");
	DSL_IS(p, "PM Timer Block Length", "04");
	DSL_IS(p, "RTC Century Index", "32");
	DSL_IS(p, "VGA Not Present (V4)", "1");
	DSL_IS(p, "CMOS RTC Not Present (V5)", "0");
	DSL_IS(p, "Control Method Power Button (V1)", "1");
	DSL_IS(p, "32-bit PM Timer (V1)", "0");
	DSL_IS(p, "Reset Register Supported (V2)", "1");
	DSL_IS(p, "Hardware Reduced (V5)", "1");
	DSL_IS(p, "Reset Register", "[Generic Address Structure]");
	DSL_IS(p, "Space ID", "01 [SystemIO]");
	DSL_IS(p, "Bit Width", "08");
	DSL_IS(p, "Address", "0000000000000CF9");
	DSL_IS(p, "Value to cause reset", "06");
	DSL_IS(p, "FADT Minor Revision", "04");
	DSL_IS(p, "PM Timer Block", "[Generic Address Structure]");
	DSL_IS(p, "Space ID", "01 [SystemIO]");
	DSL_IS(p, "Bit Width", "20");
	DSL_IS(p, "Encoded Access Width", "03 [DWord Access:32]");
	DSL_IS(p, "Address", "0000000000000608");
	DSL_IS(p, "Sleep Control Register", "[Generic Address Structure]");
	DSL_IS(p, "Space ID", "01 [SystemIO]");
	DSL_IS(p, "Encoded Access Width", "01 [Byte Access:8]");
	DSL_IS(p, "Address", "0000000000000600");
	DSL_IS(p, "Sleep Status Register", "[Generic Address Structure]");
	DSL_IS(p, "Space ID", "01 [SystemIO]");
	DSL_IS(p, "Address", "0000000000000601");
	free(dsl);
}

static void check_madt_listing(const char *dir, unsigned n)
{
	char path[256];
	char *dsl;
	const char *p;

	snprintf(path, sizeof(path), "%s/apic.dsl", dir);
	p = dsl = slurp(path);
	if (!dsl)
		return;
	DSL_IS(p, "Local Apic Address", "FEE00000");
	DSL_IS(p, "PC-AT Compatibility", "1");
	CHECK_EQ(count(dsl, "[Processor Local APIC]"), n);
	CHECK_EQ(count(dsl, "[I/O APIC]"), 1);
	CHECK_EQ(count(dsl, "[Interrupt Source Override]"), 1);
	CHECK_EQ(count(dsl, "Subtable Type"), n + 2);
	p = strstr(dsl, "01 [I/O APIC]");
	DSL_IS(p, "I/O Apic ID", "00");
	DSL_IS(p, "Address", "FEC00000");
	DSL_IS(p, "Interrupt", "00000000");
	DSL_IS(p, "Subtable Type", "02 [Interrupt Source Override]");
	DSL_IS(p, "Bus", "00");
	DSL_IS(p, "Source", "00");
	DSL_IS(p, "Interrupt", "00000002");
	DSL_IS(p, "Polarity", "0");
	DSL_IS(p, "Trigger Mode", "0");
	free(dsl);
}

static void check_dsdt_listing(const char *dir)
{
	char path[256];
	char *dsl;

	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	dsl = slurp(path);
	if (!dsl)
		return;
	CHECK(strstr(dsl, "Name (_S5, Package (0x04)") != NULL);
	CHECK(strstr(dsl, "Device (COM1)") != NULL);
	CHECK(strstr(dsl, "EisaId (\"PNP0501\")") != NULL);
	CHECK(strstr(dsl, "0x03F8,") != NULL);
	CHECK(strstr(dsl, "IRQ (Edge, ActiveHigh, Exclusive, )") != NULL);
	CHECK(strstr(dsl, "Device (RTC)") != NULL);
	CHECK(strstr(dsl, "EisaId (\"PNP0B00\")") != NULL);
	CHECK(strstr(dsl, "0x0070,") != NULL);
	CHECK_EQ(count(dsl, "IRQ (Edge, ActiveHigh, Exclusive, )"), 2);
	CHECK(strstr(dsl, "Device (PCI0)") != NULL);
	CHECK(strstr(dsl, "EisaId (\"PNP0A03\")") != NULL);
	CHECK(strstr(dsl, "Name (_PRT, Package (0x07)") != NULL);
	CHECK_EQ(count(dsl, "\"LNRO0005\""), 4);
	free(dsl);
}

/* acpiexec loads FADT, DSDT and MADT through the table manager Linux
 * uses, then evaluates \_S5, decodes COM1's and the RTC's _CRS, runs the
 * RTC's _STA, and enters S5 (the hardware-reduced path writes the FADT
 * sleep control register). */
static void run_acpiexec(const char *dir)
{
	char want[64];
	char *out;

	out = run_in(dir, "timeout 60 acpiexec -b "
		     "\"Evaluate \\_S5; Resources \\_SB.COM1; Resources \\_SB.RTC; "
		     "Evaluate \\_SB.RTC._STA; Resources \\_SB.PCI0; "
		     "Evaluate \\_SB.VR01._STA; Evaluate \\_SB.VR02._STA; Resources \\_SB.VR01; "
		     "Sleep 5\" facp.dat dsdt.dat apic.dat",
		     "acpiexec.log");
	check_clean("acpiexec", out);
	if (!out)
		return;
	CHECK(strstr(out, "1 ACPI AML tables successfully acquired and loaded") != NULL);
	snprintf(want, sizeof(want), "[Integer] = %016X", ACPI_S5_SLP_TYP);
	CHECK_MSG(strstr(out, want) != NULL, "\\_S5 does not start with %s", want);
	CHECK(strstr(out, "Address Minimum : 03F8") != NULL);
	CHECK(strstr(out, "Address Length : 08") != NULL);
	CHECK(strstr(out, "Triggering : Edge") != NULL);
	CHECK(strstr(out, "Polarity : ActiveHigh") != NULL);
	CHECK(strstr(out, "Interrupt List : 4 ") != NULL);
	CHECK(strstr(out, "Address Minimum : 0070") != NULL);
	CHECK(strstr(out, "Address Length : 02") != NULL);
	CHECK(strstr(out, "Interrupt List : 8 ") != NULL);
	CHECK(strstr(out, "[Integer] = 000000000000000F") != NULL);   /* RTC, VR01 _STA */
	CHECK(strstr(out, "[Integer] = 0000000000000000") != NULL);   /* VR02 _STA */
	CHECK(strstr(out, "Address Minimum : C0000000") != NULL);     /* PCI0 memory window */
	CHECK(strstr(out, "Address Maximum : CFFFFFFF") != NULL);
	CHECK(strstr(out, "Address Minimum : C000") != NULL);         /* PCI0 I/O window */
	CHECK(strstr(out, "Address : FEB00200") != NULL);             /* VR01 registers */
	CHECK(strstr(out, "Dword00 : 00000015") != NULL);             /* VR01: GSI 21 */
	CHECK(strstr(out, "Entering sleep state [S5]") != NULL);
	CHECK(strstr(out, "Return from sleep (S5)") != NULL);
	free(out);
}

static void test_acpica(void)
{
	char dir[] = "/tmp/kestrel-acpi-XXXXXX", cmd[64];
	unsigned long failed_before = unit_failed;
	struct tables *t;

	if (!have_tool("iasl") || !have_tool("acpiexec")) {
		printf("SKIP: iasl/acpiexec not found (Debian package acpica-tools): "
		       "ACPICA cross-check not run\n");
		return;
	}
	t = build_and_check(8, GPA, OPT_ALL | OPT_MMIO(2));
	if (!t->xsdt || !t->fadt || !t->madt || !t->dsdt || !t->mcfg || !mkdtemp(dir)) {
		CHECK_MSG(0, "no tables or no temporary directory");
		free_tables(t);
		return;
	}
	write_file(dir, "xsdt.dat", t->xsdt, rd32(t->xsdt, 4));
	write_file(dir, "facp.dat", t->fadt, rd32(t->fadt, 4));
	write_file(dir, "apic.dat", t->madt, rd32(t->madt, 4));
	write_file(dir, "dsdt.dat", t->dsdt, rd32(t->dsdt, 4));
	write_file(dir, "mcfg.dat", t->mcfg, rd32(t->mcfg, 4));
	/* The RSDP is not a table iasl -d reads; its checks are above. */
	disassemble(dir, "xsdt", "Acpi Data Table [XSDT] decoded");
	disassemble(dir, "facp", "Acpi Data Table [FACP] decoded");
	disassemble(dir, "apic", "Acpi Data Table [APIC] decoded");
	disassemble(dir, "dsdt", "Disassembly completed");
	disassemble(dir, "mcfg", "Acpi Data Table [MCFG] decoded");
	check_fadt_listing(dir);
	check_madt_listing(dir, 8);
	check_dsdt_listing(dir);
	run_acpiexec(dir);
	free_tables(t);

	if (unit_failed == failed_before) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK(system(cmd) == 0);
	} else {
		printf("ACPICA files kept in %s\n", dir);
	}
}

int main(void)
{
	static const unsigned vcpus[] = { 1, 2, 8, ACPI_MAX_VCPUS };

	for (size_t i = 0; i < sizeof(vcpus) / sizeof(vcpus[0]); i++)
		for (int opts = 0; opts <= OPT_ALL; opts++)
			free_tables(build_and_check(vcpus[i], GPA, opts));
	for (int slots = 1; slots <= 4; slots++)
		free_tables(build_and_check(2, GPA, OPT_ALL | OPT_MMIO(slots)));
	test_sizes_and_errors();
	test_relocation();
	test_acpica();
	return unit_finish("test_acpi_tables");
}
