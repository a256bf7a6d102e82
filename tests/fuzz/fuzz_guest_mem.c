// SPDX-License-Identifier: MIT
// FUZZ-SOURCES: hypervisor/arch/x86/guest_mem.c hypervisor/arch/x86/guest_walk.c hypervisor/arch/x86/insn.c hypervisor/lib/printk.c
// libFuzzer target for the guest page walker and instruction fetch
// (hypervisor/arch/x86/guest_walk.c through guest_mem.c, with the decoder
// guest_mem.c calls).
//
// Everything the walker reads is the guest's: CR0/CR3/CR4/EFER, RIP, CS and
// the page tables in guest RAM. The input gives the registers (in a paging
// mode picked from a byte, or raw), a guest RAM size of 1..512 pages and a
// list of (offset, 8-byte value) writes into that otherwise zeroed RAM, so
// that small inputs can build page tables at any level and address.
//
// Guest RAM ends at a PROT_NONE page and starts right after another one:
// a read outside it is a SEGV report. The results are compared with a reference walk written here from
// the SDM (vol. 3, 4.3 32-bit with PSE/PSE-36, 4.4 PAE, 4.5 4- and 5-level,
// non-canonical addresses refused in the last two),
// with the walker's documented simplifications (no reserved-bit or access-
// right checks, PS ignored in PML4E/PML5E as in guest_walk.c):
// guest_linear_to_phys must translate as the reference does,
// guest_read_linear must copy exactly the bytes the reference reaches and
// stop where it stops, guest_fetch_insn must pick the mode and bytes the
// reference does, and fetched_insn_hex must stay in its buffer.
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <core/vm.h>
#include <x86/guest_mem.h>
#include <x86/processor.h>
#include <x86/vendor.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- host stubs for what guest_mem.c calls ---- */

/* Same rule as hypervisor/core/vm.c. */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa > vm->mem_size || vm->mem_size - gpa < len)
		return NULL;
	return (void *)(uintptr_t)(vm->ram_hpa + gpa);
}

static struct guest_sregs cur_sregs;

static void stub_read_sregs(struct vcpu *v, struct guest_sregs *s)
{
	(void)v;
	*s = cur_sregs;
}

static const struct vendor_ops fuzz_vendor = { .name = "fuzz", .read_sregs = stub_read_sregs };
const struct vendor_ops *vendor = &fuzz_vendor;

/* ---- the reference walk ---- */

#define CR4_PSE   (1ull << 4)
#define CR4_LA57  (1ull << 12)
#define PS        (1ull << 7)
#define ADDR52    0x000ffffffffff000ull

static const uint8_t *ram;
static uint64_t mem_size;

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_guest_mem: cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx: ",
		(unsigned long long)cur_sregs.cr0, (unsigned long long)cur_sregs.cr3,
		(unsigned long long)cur_sregs.cr4, (unsigned long long)cur_sregs.efer);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

#define EXPECT(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

static bool ref_read(uint64_t gpa, unsigned size, uint64_t *e)
{
	if (gpa >= mem_size || mem_size - gpa < size)
		return false;
	*e = 0;
	memcpy(e, ram + gpa, size);
	return (*e & 1) != 0;           /* present */
}

static bool ref_translate(const struct guest_sregs *s, uint64_t la, uint64_t *pa)
{
	uint64_t e, table;

	if (!(s->cr0 & X86_CR0_PG)) {
		*pa = (s->efer & EFER_LMA) ? la : (uint32_t)la;
		return true;
	}
	if (s->efer & EFER_LMA) {
		unsigned bits = (s->cr4 & CR4_LA57) ? 57 : 48;

		if ((uint64_t)((int64_t)(la << (64 - bits)) >> (64 - bits)) != la)
			return false;
		table = s->cr3 & ADDR52;
		for (int lvl = (s->cr4 & CR4_LA57) ? 5 : 4; lvl >= 1; lvl--) {
			unsigned shift = 12 + 9 * (lvl - 1);

			if (!ref_read(table + ((la >> shift) & 0x1ff) * 8, 8, &e))
				return false;
			if (lvl == 3 && (e & PS)) {
				*pa = (e & 0x000fffffc0000000ull) | (la & 0x3fffffffull);
				return true;
			}
			if (lvl == 2 && (e & PS)) {
				*pa = (e & 0x000fffffffe00000ull) | (la & 0x1fffffull);
				return true;
			}
			if (lvl == 1) {
				*pa = (e & ADDR52) | (la & 0xfff);
				return true;
			}
			table = e & ADDR52;
		}
		return false;
	}
	la = (uint32_t)la;
	if (s->cr4 & X86_CR4_PAE) {
		if (!ref_read((s->cr3 & 0xffffffe0ull) + ((la >> 30) & 3) * 8, 8, &e) ||
		    !ref_read((e & ADDR52) + ((la >> 21) & 0x1ff) * 8, 8, &e))
			return false;
		if (e & PS) {
			*pa = (e & 0x000fffffffe00000ull) | (la & 0x1fffff);
			return true;
		}
		if (!ref_read((e & ADDR52) + ((la >> 12) & 0x1ff) * 8, 8, &e))
			return false;
		*pa = (e & ADDR52) | (la & 0xfff);
		return true;
	}
	if (!ref_read((s->cr3 & 0xfffff000ull) + (la >> 22) * 4, 4, &e))
		return false;
	if ((e & PS) && (s->cr4 & CR4_PSE)) {
		/* PSE-36: PDE bits 20:13 are physical-address bits 39:32. */
		*pa = (e & 0xffc00000ull) | (((e >> 13) & 0xff) << 32) | (la & 0x3fffff);
		return true;
	}
	if (!ref_read((e & 0xfffff000ull) + ((la >> 12) & 0x3ff) * 4, 4, &e))
		return false;
	*pa = (e & 0xfffff000ull) | (la & 0xfff);
	return true;
}

/* How many bytes from la the reference can read, up to len, into out. A
 * byte is readable when it translates into RAM; the walk is repeated at the
 * first and last byte of each 4 KiB linear page (paging maps those whole). */
static unsigned ref_read_linear(const struct guest_sregs *s, uint64_t la, uint8_t *out,
				unsigned len)
{
	unsigned i;
	uint64_t pa = 0, last;

	for (i = 0; i < len; i++) {
		uint64_t a = la + i;

		if (i == 0 || (a & 0xfff) == 0) {
			if (!ref_translate(s, a, &pa) || pa >= mem_size)
				break;
			EXPECT((pa & 0xfff) == (a & 0xfff), "reference: page offset changed");
			EXPECT(ref_translate(s, a | 0xfff, &last) && last == (pa | 0xfff),
			       "reference: 4 KiB page not contiguous");
		} else {
			pa++;
		}
		out[i] = ram[pa];
	}
	return i;
}

/* ---- the target ---- */

struct header {
	uint64_t cr0, cr3, cr4, efer, rflags, rip, cs_base, la;
	uint16_t cs_attr, ram_pages, read_len;
	uint8_t mode, flags;
} __attribute__((packed));

#define RAM_MAX      (2u << 20)
#define F_CR3_IN_RAM 1       /* CR3 taken modulo the RAM size */
#define F_LA_IS_RIP  2       /* the linear address read is RIP */

static uint8_t *arena;

static uint32_t record_offset(const uint8_t *rec)
{
	uint32_t off;

	memcpy(&off, rec, 4);
	return (uint32_t)((off % mem_size) & ~3ull);
}

/* Paging modes a guest really uses; the other bits of the registers are the
 * input's. 6 and up: the registers exactly as given. */
static void set_mode(struct guest_sregs *s, uint8_t mode)
{
	const uint64_t pe_pg = X86_CR0_PE | X86_CR0_PG;

	switch (mode % 8) {
	case 0: s->cr0 &= ~X86_CR0_PG; s->efer &= ~EFER_LMA; break;          /* no paging */
	case 1: s->cr0 |= pe_pg; s->cr4 &= ~(X86_CR4_PAE | CR4_PSE); s->efer &= ~EFER_LMA; break;
	case 2: s->cr0 |= pe_pg; s->cr4 = (s->cr4 & ~X86_CR4_PAE) | CR4_PSE; s->efer &= ~EFER_LMA; break;
	case 3: s->cr0 |= pe_pg; s->cr4 |= X86_CR4_PAE; s->efer &= ~EFER_LMA; break;
	case 4: s->cr0 |= pe_pg; s->cr4 = (s->cr4 | X86_CR4_PAE) & ~CR4_LA57; s->efer |= EFER_LMA; break;
	case 5: s->cr0 |= pe_pg; s->cr4 |= X86_CR4_PAE | CR4_LA57; s->efer |= EFER_LMA; break;
	default: break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static struct vcpu vcpu;
	struct guest_sregs *s = &cur_sregs;
	struct fetched_insn f;
	struct header h;
	uint8_t *buf, *want;
	unsigned len, got, ref;
	uint64_t gpa, rgpa, la;
	bool ok, rok;
	int rc;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);

	if (!arena) {
		arena = mmap(NULL, RAM_MAX + 2 * 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (arena == MAP_FAILED)
			abort();
		mprotect(arena + 4096 + RAM_MAX, 4096, PROT_NONE);
	}
	mem_size = (uint64_t)(1 + h.ram_pages % (RAM_MAX / 4096)) * 4096;
	uint8_t *guest = arena + 4096 + RAM_MAX - mem_size;

	mprotect(guest - 4096, 4096, PROT_NONE);
	ram = guest;
	const uint8_t *records = data;
	size_t nr_records = size / 12;

	for (size_t i = 0; i < nr_records; i++) {
		uint32_t off = record_offset(records + 12 * i);

		memcpy(guest + off, records + 12 * i + 4, mem_size - off < 8 ? mem_size - off : 8);
	}
	vm.mem_size = mem_size;
	vm.ram_hpa = (uintptr_t)guest;
	vcpu.vm = &vm;

	*s = (struct guest_sregs){ .cr0 = h.cr0, .cr3 = h.cr3, .cr4 = h.cr4, .efer = h.efer,
				   .rflags = h.rflags, .rip = h.rip,
				   .cs = { .attr = h.cs_attr, .base = h.cs_base } };
	set_mode(s, h.mode);
	if (h.flags & F_CR3_IN_RAM)
		s->cr3 %= mem_size;
	la = (h.flags & F_LA_IS_RIP) ? s->rip : h.la;

	/* One translation. */
	gpa = 0x5a5a5a5a5a5a5a5aull;
	ok = guest_linear_to_phys(&vcpu, s, la, &gpa) == 0;
	rok = ref_translate(s, la, &rgpa);
	EXPECT(ok == rok, "la %#llx: walker %s, reference %s", (unsigned long long)la,
	       ok ? "maps" : "faults", rok ? "maps" : "faults");
	EXPECT(!ok || gpa == rgpa, "la %#llx: gpa %#llx, reference %#llx",
	       (unsigned long long)la, (unsigned long long)gpa, (unsigned long long)rgpa);

	/* A read across pages, into an exact-size buffer. */
	len = h.read_len % 8193;
	buf = malloc(len ? len : 1);
	want = malloc(len ? len : 1);
	got = guest_read_linear(&vcpu, s, la, buf, len);
	ref = ref_read_linear(s, la, want, len);
	EXPECT(got == ref, "read %u bytes at la %#llx: %u, reference %u", len,
	       (unsigned long long)la, got, ref);
	EXPECT(memcmp(buf, want, got) == 0, "read at la %#llx: other bytes", (unsigned long long)la);
	free(buf);
	free(want);

	/* The instruction at CS:RIP. */
	enum x86_mode mode = !(s->cr0 & X86_CR0_PE) || (s->rflags & X86_RFLAGS_VM) ? X86_MODE_16 :
			     (s->efer & EFER_LMA) && (s->cs.attr & SEG_ATTR_L) ? X86_MODE_64 :
			     (s->cs.attr & SEG_ATTR_DB) ? X86_MODE_32 : X86_MODE_16;
	uint64_t fla = mode == X86_MODE_64 ? s->rip : s->cs.base + (uint32_t)s->rip;
	uint8_t fbytes[15];
	struct x86_insn insn;

	memset(&f, 0xa5, sizeof(f));
	rc = guest_fetch_insn(&vcpu, &f);
	ref = ref_read_linear(s, fla, fbytes, sizeof(fbytes));
	if (getenv("FUZZ_VERBOSE"))   /* to see what a seed reaches */
		fprintf(stderr, "la %#llx: %s; read %u of %u; fetch at %#llx: %u bytes, rc %d\n",
			(unsigned long long)la, ok ? "mapped" : "not mapped", got, len,
			(unsigned long long)fla, f.nr_bytes, rc);
	EXPECT(f.mode == mode, "fetch mode %d, reference %d", f.mode, mode);
	EXPECT(f.nr_bytes == ref, "fetched %u bytes at %#llx, reference %u", f.nr_bytes,
	       (unsigned long long)fla, ref);
	EXPECT(memcmp(f.bytes, fbytes, ref) == 0, "fetched other bytes");
	if (!ref)
		EXPECT(rc == -1, "nothing readable, rc %d", rc);
	else
		EXPECT(rc == x86_decode(fbytes, ref, mode, &insn), "fetch rc %d", rc);

	/* Its hex dump, into buffers of every small size. */
	for (unsigned n = 1; n <= 48; n = n < 4 ? n + 1 : n * 2) {
		char *hex = malloc(n);

		fetched_insn_hex(&f, hex, n);
		EXPECT(memchr(hex, '\0', n) != NULL, "hex dump not terminated in %u bytes", n);
		free(hex);
	}

	/* Zeroed RAM again for the next input. */
	for (size_t i = 0; i < nr_records; i++) {
		uint32_t off = record_offset(records + 12 * i);

		memset(guest + off, 0, mem_size - off < 8 ? mem_size - off : 8);
	}
	mprotect(guest - 4096, 4096, PROT_READ | PROT_WRITE);
	return 0;
}
