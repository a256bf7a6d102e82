// SPDX-License-Identifier: MIT
// FUZZ-OPTIONS: -rss_limit_mb=4096
// FUZZ-SOURCES: hypervisor/core/boot.c hypervisor/core/boot_bios.c hypervisor/core/bzimage.c hypervisor/core/elf.c hypervisor/arch/x86/paging.c hypervisor/arch/x86/guest_mem.c hypervisor/arch/x86/guest_walk.c hypervisor/arch/x86/insn.c hypervisor/lib/printk.c
// libFuzzer target for the guest boot protocols (hypervisor/core/boot.c:
// Kestrel ELF64, Linux bzImage, PVH vmlinux, Multiboot v1), through
// boot_prepare() exactly as vm.c calls it, with the real ELF, bzImage,
// page-table (paging.c) and printk (printk.c) code underneath.
//
// Input: a 12-byte header (protocol, memory size, vCPUs, initrd size,
// command-line length), the command line, then the kernel image. The VM's
// RAM is host memory: a region of the size the config asks for (2 MiB ..
// 3 GiB) that ends at a PROT_NONE page and starts right after another one,
// so a write or read past either end is a SEGV report; pages are only
// backed where touched and given back after each run, in 2 MiB huge pages
// where the kernel has them (loaders zero whole BSS ranges: with 4 KiB
// pages, page faults were most of the run time, 7x slower). The image is an
// exact-size heap copy (ASan watches its edges), the initrd sits against
// a guard page too.
//
// On success the entry state must be what the protocol promises: the
// first vCPU (Kestrel: every vCPU) set up, the others waiting for
// INIT/SIPI, the entry point in RAM, the boot page tables an identity map
// of 0..4 GiB (walked with the real guest walker, guest_mem.c), the GDT,
// command line, zero page / start info / Multiboot info where the protocol
// puts them and consistent with RAM, the initrd copied whole into RAM above
// the kernel, and the kernel's bytes still intact in RAM after everything
// else was written. A refusal must name its reason.
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <core/boot.h>
#include <core/bzimage.h>
#include <core/elf.h>
#include <core/vm.h>
#include <hv/start_info.h>
#include <x86/guest_mem.h>
#include <x86/processor.h>
#include <x86/vendor.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE         4096ull
#define MEM_MAX      (3ull << 30)    /* CFG_MEM_MAX */
#define INITRD_MAX   (4ull << 20)
#define TSC_KHZ      2995200ull

/* ---- host stubs for what boot.c (and guest_mem.c) call ---- */

static struct guest_sregs sregs[MAX_VCPUS_PER_VM];
static bool sregs_written[MAX_VCPUS_PER_VM];

static void stub_write_sregs(struct vcpu *v, const struct guest_sregs *s)
{
	sregs[v->id] = *s;
	sregs_written[v->id] = true;
}

static void stub_read_sregs(struct vcpu *v, struct guest_sregs *s)
{
	*s = sregs[v->id];
}

static const struct vendor_ops fuzz_vendor = {
	.name = "fuzz", .read_sregs = stub_read_sregs, .write_sregs = stub_write_sregs,
};
const struct vendor_ops *vendor = &fuzz_vendor;

uint64_t tsc_khz(void)
{
	return TSC_KHZ;
}

/* Same rule as hypervisor/core/vm.c. */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa > vm->mem_size || vm->mem_size - gpa < len)
		return NULL;
	return (void *)(uintptr_t)(vm->ram_hpa + gpa);
}

/* A Multiboot VM's BIOS set-up writes the 8259 and PIT ports: the VM
 * here has no devices (test_boot_bios checks those writes). */
enum io_result iobus_write(const struct io_bus *bus, uint64_t addr, unsigned size, uint64_t val)
{
	(void)bus;
	(void)addr;
	(void)size;
	(void)val;
	return IO_HANDLED;
}

/* As hypervisor/lib/string.c (glibc 2.36 has none). */
size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);
	size_t n = len < size - 1 ? len : size - 1;

	memcpy(dst, src, n);
	dst[n] = '\0';
	return len;
}

/* ---- checks ---- */

static uint32_t cur_protocol;

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_boot: protocol %u: ", cur_protocol);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

#define EXPECT(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

static uint8_t *ram;
static uint64_t mem_size;

static uint64_t rd(uint64_t gpa, unsigned n)
{
	uint64_t v = 0;

	EXPECT(gpa <= mem_size && mem_size - gpa >= n, "read of %u at %#llx outside RAM", n,
	       (unsigned long long)gpa);
	memcpy(&v, ram + gpa, n);
	return v;
}

/* A NUL-terminated string at gpa within max bytes; its length. */
static size_t str_at(uint64_t gpa, size_t max)
{
	const char *s = (const char *)ram + gpa;
	const char *end;

	EXPECT(gpa < mem_size && mem_size - gpa >= max, "string at %#llx outside RAM",
	       (unsigned long long)gpa);
	end = memchr(s, '\0', max);
	EXPECT(end, "string at %#llx not terminated in %zu bytes", (unsigned long long)gpa, max);
	return (size_t)(end - s);
}

/* Long-mode entry (Kestrel, Linux): the boot page tables map 0..4 GiB 1:1. */
static void check_long_mode(struct vcpu *v, const struct guest_sregs *s)
{
	static const uint64_t probes[] = { 0, 0x1000, 0x1fffff, 0x200000, 0x7fffffff,
					   0xc0000000, 0xfee00000, 0xffffffff };
	uint64_t gpa;

	EXPECT((s->cr0 & X86_CR0_PG) && (s->efer & EFER_LMA) && (s->cs.attr & SEG_ATTR_L),
	       "not in 64-bit mode");
	EXPECT(s->cr3 < mem_size, "CR3 %#llx outside RAM", (unsigned long long)s->cr3);
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]) + 2; i++) {
		uint64_t la = i < sizeof(probes) / sizeof(probes[0]) ? probes[i] :
			      i % 2 ? s->rip : mem_size - 1;

		EXPECT(guest_linear_to_phys(v, s, la, &gpa) == 0 && gpa == la,
		       "boot page tables: %#llx does not map to itself", (unsigned long long)la);
	}
	EXPECT(guest_linear_to_phys(v, s, 0x100000000ull, &gpa) != 0,
	       "boot page tables map beyond 4 GiB");
}

/* boot.c writes the same two descriptors for every protocol. */
static void check_gdt(const struct guest_sregs *s, uint16_t cs, uint16_t ds)
{
	EXPECT(s->gdtr.base + s->gdtr.limit < mem_size, "GDT outside RAM");
	EXPECT(s->gdtr.limit >= cs + 7u && s->gdtr.limit >= ds + 7u, "GDT limit %#x",
	       s->gdtr.limit);
	EXPECT(s->cs.sel == cs && s->ds.sel == ds && s->ss.sel == ds, "selectors %#x/%#x",
	       s->cs.sel, s->ds.sel);
	EXPECT(rd(s->gdtr.base + cs, 8) == 0x00af9b000000ffffull &&
	       rd(s->gdtr.base + ds, 8) == 0x00cf93000000ffffull, "GDT descriptors");
}

/* The initrd [gpa, gpa+size) in RAM, above `above`, below `limit`, and the
 * same bytes as the file. */
static void check_initrd(uint64_t gpa, uint64_t size, const uint8_t *src, uint64_t above,
			 uint64_t limit)
{
	if (!size) {
		EXPECT(gpa == 0, "no initrd, but gpa %#llx", (unsigned long long)gpa);
		return;
	}
	EXPECT(gpa % PAGE == 0 && gpa >= above && gpa + size <= mem_size && gpa + size <= limit,
	       "initrd at %#llx+%#llx (above %#llx, limit %#llx, RAM %#llx)",
	       (unsigned long long)gpa, (unsigned long long)size, (unsigned long long)above,
	       (unsigned long long)limit, (unsigned long long)mem_size);
	EXPECT(!memcmp(ram + gpa, src, size), "initrd not copied whole");
}

/* The kernel's PT_LOAD bytes are in RAM as in the file, unless segments
 * overlap (then the last one wins, which the check does not model). */
static void check_elf_loaded(const uint8_t *img, uint64_t *lowest, uint64_t *highest)
{
	bool elf32 = img[4] == 1;
	uint64_t phoff, off[64], pa[64], filesz[64], memsz[64];
	unsigned phnum = 0, n = 0;

	phoff = 0;
	memcpy(&phoff, img + (elf32 ? 28 : 32), elf32 ? 4 : 8);
	memcpy(&phnum, img + (elf32 ? 44 : 56), 2);
	for (unsigned i = 0; i < phnum && i < 64; i++) {
		const uint8_t *ph = img + phoff + i * (elf32 ? 32 : 56);
		uint32_t type;

		memcpy(&type, ph, 4);
		if (type != 1)
			continue;
		off[n] = pa[n] = filesz[n] = memsz[n] = 0;
		memcpy(&off[n], ph + (elf32 ? 4 : 8), elf32 ? 4 : 8);
		memcpy(&pa[n], ph + (elf32 ? 12 : 24), elf32 ? 4 : 8);
		memcpy(&filesz[n], ph + (elf32 ? 16 : 32), elf32 ? 4 : 8);
		memcpy(&memsz[n], ph + (elf32 ? 20 : 40), elf32 ? 4 : 8);
		n++;
	}
	*lowest = UINT64_MAX;
	*highest = 0;
	for (unsigned i = 0; i < n; i++) {
		if (pa[i] < *lowest)
			*lowest = pa[i];
		if (pa[i] + memsz[i] > *highest)
			*highest = pa[i] + memsz[i];
		for (unsigned j = 0; j < n; j++)
			if (j != i && memsz[i] && memsz[j] && pa[i] < pa[j] + memsz[j] &&
			    pa[j] < pa[i] + memsz[i])
				return;
	}
	for (unsigned i = 0; i < n; i++) {
		EXPECT(pa[i] + memsz[i] <= mem_size, "segment outside RAM");
		EXPECT(!memcmp(ram + pa[i], img + off[i], filesz[i]),
		       "segment at %#llx overwritten", (unsigned long long)pa[i]);
		for (uint64_t k = 0; filesz[i] < memsz[i] && k <= 16; k++) {
			uint64_t b = filesz[i] + (memsz[i] - 1 - filesz[i]) * k / 16;

			EXPECT(ram[pa[i] + b] == 0, "bss at %#llx not zero",
			       (unsigned long long)(pa[i] + b));
		}
	}
}

/* ---- the VM ---- */

static uint8_t *arena;      /* MEM_MAX + guard pages */
static uint8_t *initrd_end; /* INITRD_MAX bytes of initrd data, then a guard page */

static void setup(void)
{
	arena = mmap(NULL, MEM_MAX + 2 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *ird = mmap(NULL, INITRD_MAX + PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (arena == MAP_FAILED || ird == MAP_FAILED)
		abort();
	mprotect(arena + PAGE + MEM_MAX, PAGE, PROT_NONE);
	madvise(arena, MEM_MAX + 2 * PAGE, MADV_HUGEPAGE);
	/* Initrd bytes: a pattern, so that a copy that misses a part shows. */
	for (uint64_t i = 0; i < INITRD_MAX; i += 8) {
		uint64_t v = i * 0x9e3779b97f4a7c15ull;

		memcpy(ird + i, &v, 8);
	}
	mprotect(ird + INITRD_MAX, PAGE, PROT_NONE);
	initrd_end = ird + INITRD_MAX;
}

struct header {
	uint8_t protocol;
	uint16_t mem;        /* (mem % 1536 + 1) * 2 MiB */
	uint8_t vcpus;       /* vcpus % 8 + 1 */
	uint32_t initrd;     /* bytes, % (INITRD_MAX + 1) */
	uint16_t cmdline;    /* bytes of command line that follow, % HV_CMDLINE_MAX */
	uint16_t rsdp;       /* acpi_rsdp >> 4 */
} __attribute__((packed));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static struct vcpu vcpus[MAX_VCPUS_PER_VM];
	static struct hv_boot_vm bv;
	struct header h;
	char err[HV_ERROR_MAX];
	size_t cl;
	int rc;

	if (!arena)
		setup();
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	cl = h.cmdline % HV_CMDLINE_MAX;
	if (cl > size)
		cl = size;

	/* What the config and the loader give boot_prepare (efi/config.c:
	 * memory a multiple of 2 MiB up to 3 GiB, 1..8 vCPUs, a command line
	 * shorter than HV_CMDLINE_MAX). */
	cur_protocol = h.protocol % 5;   /* 4: an unknown protocol */
	mem_size = ((uint64_t)(h.mem % 1536) + 1) << 21;
	ram = arena + PAGE + (MEM_MAX - mem_size);
	mprotect(ram - PAGE, PAGE, PROT_NONE);
	memset(&bv, 0, sizeof(bv));
	bv.boot_protocol = cur_protocol;
	bv.mem_size = mem_size;
	bv.nr_vcpus = h.vcpus % MAX_VCPUS_PER_VM + 1;
	memcpy(bv.cmdline, data, cl);
	bv.cmdline[cl] = '\0';
	data += cl;
	size -= cl;
	uint8_t *img = malloc(size ? size : 1);

	memcpy(img, data, size);
	bv.kernel.addr = (uintptr_t)img;
	bv.kernel.size = size;
	strcpy(bv.kernel.path, "guests/fuzz.img");
	bv.initrd.size = h.initrd % (INITRD_MAX + 1);
	bv.initrd.addr = (uintptr_t)(initrd_end - bv.initrd.size);
	strcpy(bv.initrd.path, "guests/fuzz.initrd");

	memset(&vm, 0, sizeof(vm));
	vm.id = 3;
	strcpy(vm.name, "fuzz");
	vm.mem_size = mem_size;
	vm.ram_hpa = (uintptr_t)ram;
	vm.acpi_rsdp = (uint64_t)h.rsdp << 4;
	vm.nr_vcpus = bv.nr_vcpus;
	vm.boot = &bv;
	for (unsigned i = 0; i < vm.nr_vcpus; i++) {
		memset(&vcpus[i], 0x5a, sizeof(vcpus[i].regs));
		vcpus[i].state = VCPU_RUNNABLE;
		vcpus[i].vm = &vm;
		vcpus[i].id = i;
		vm.vcpus[i] = &vcpus[i];
		sregs_written[i] = false;
	}

	memset(err, 0x5a, sizeof(err));
	rc = boot_prepare(&vm, &bv, err, sizeof(err));
	if (getenv("FUZZ_VERBOSE"))   /* to see what a seed reaches */
		fprintf(stderr, "protocol %u, %llu MiB, %u vCPUs: %s\n", cur_protocol,
			(unsigned long long)(mem_size >> 20), vm.nr_vcpus, rc ? err : "booted");
	if (rc) {
		EXPECT(rc == -1, "rc %d", rc);
		EXPECT(memchr(err, '\0', sizeof(err)) && err[0], "refusal without a reason");
		goto out;
	}
	EXPECT(cur_protocol < 4, "unknown protocol accepted");

	struct vcpu *v0 = &vcpus[0];
	const struct guest_sregs *s = &sregs[0];
	const uint64_t *g = v0->regs.gpr;
	uint64_t lowest, highest;

	/* Kestrel starts every vCPU at the entry; the PC protocols start the
	 * first one and leave the others waiting for INIT/SIPI (core/smp.c). */
	EXPECT(sregs_written[0] && vcpus[0].state == VCPU_RUNNABLE, "vCPU 0 not set up");
	for (unsigned i = 1; i < vm.nr_vcpus; i++) {
		if (cur_protocol == HV_BOOT_KESTREL)
			EXPECT(sregs_written[i] && !memcmp(&sregs[i], s, sizeof(*s)) &&
			       vcpus[i].state == VCPU_RUNNABLE, "vCPU %u not started at the entry", i);
		else
			EXPECT(vcpus[i].state == VCPU_WAIT_SIPI, "AP %u not waiting for SIPI", i);
	}
	EXPECT(s->rip < mem_size, "entry %#llx outside RAM", (unsigned long long)s->rip);
	switch (cur_protocol) {
	case HV_BOOT_KESTREL: {
		const struct hv_start_info *si = (const void *)(ram + g[GPR_RDI]);

		check_long_mode(v0, s);
		check_gdt(s, 0x08, 0x10);
		for (unsigned i = 0; i < vm.nr_vcpus; i++)
			EXPECT(vcpus[i].regs.gpr[GPR_RSI] == i && vcpus[i].regs.gpr[GPR_RDI] == g[GPR_RDI],
			       "vCPU %u arguments", i);
		EXPECT(g[GPR_RDI] + sizeof(*si) <= mem_size, "start info outside RAM");
		EXPECT(si->magic == HV_START_INFO_MAGIC && si->mem_size == mem_size &&
		       si->nr_vcpus == vm.nr_vcpus && !strcmp(si->vm_name, "fuzz"), "start info");
		if (bv.cmdline[0])
			EXPECT(si->cmdline_gpa && str_at(si->cmdline_gpa, HV_CMDLINE_MAX) < mem_size &&
			       !strcmp((const char *)ram + si->cmdline_gpa, bv.cmdline),
			       "command line");
		else
			EXPECT(!si->cmdline_gpa, "empty command line passed");
		check_elf_loaded(img, &lowest, &highest);
		EXPECT(lowest >= HV_BOOT_DATA_END, "kernel below the boot data");
		check_initrd(si->initrd_gpa, si->initrd_size, (const uint8_t *)bv.initrd.addr,
			     highest, mem_size);
		EXPECT(si->initrd_size == bv.initrd.size, "initrd size");
		break;
	}
	case HV_BOOT_LINUX: {
		struct bzimage b;
		char why[HV_ERROR_MAX];
		uint64_t zp = g[GPR_RSI];

		check_long_mode(v0, s);
		check_gdt(s, 0x10, 0x18);
		EXPECT(bzimage_check(img, size, mem_size, &b, why, sizeof(why)) == 0, "bzImage");
		EXPECT(s->rip == b.load_addr + 0x200, "entry");
		EXPECT(zp + BOOT_PARAMS_SIZE <= b.load_addr && zp >= 0x1000, "zero page at %#llx",
		       (unsigned long long)zp);
		uint64_t cmd = rd(zp + 0x228, 4) | rd(zp + 0xc8, 4) << 32;
		size_t n = str_at(cmd, HV_CMDLINE_MAX);
		char tail[40];

		EXPECT(n <= b.cmdline_max, "command line of %zu bytes, kernel takes %u", n,
		       b.cmdline_max);
		snprintf(tail, sizeof(tail), " tsc_early_khz=%llu", TSC_KHZ);
		EXPECT(n == strlen(bv.cmdline) + strlen(tail) &&
		       !memcmp(ram + cmd, bv.cmdline, strlen(bv.cmdline)) &&
		       !memcmp(ram + cmd + strlen(bv.cmdline), tail, strlen(tail)),
		       "command line not the config's + tsc_early_khz");
		EXPECT(cmd + n < b.load_addr, "command line over the kernel");
		EXPECT(rd(zp + 0x1fe, 2) == 0xaa55 && rd(zp + 0x210, 1) == 0xff, "zero page header");
		EXPECT(rd(zp + 0x70, 8) == vm.acpi_rsdp, "acpi_rsdp_addr");
		EXPECT(rd(zp + 0x1e8, 1) == 4 && rd(zp + 0x2d0 + 3 * 20, 8) == 0x100000 &&
		       rd(zp + 0x2d0 + 3 * 20 + 8, 8) == mem_size - 0x100000, "e820");
		uint64_t ird = rd(zp + 0x218, 4) | rd(zp + 0xc0, 4) << 32;
		uint64_t irs = rd(zp + 0x21c, 4) | rd(zp + 0xc4, 4) << 32;

		EXPECT(irs == bv.initrd.size, "ramdisk_size");
		check_initrd(ird, irs, (const uint8_t *)bv.initrd.addr, b.load_addr + b.init_size,
			     b.initrd_max);
		/* The kernel was copied whole and nothing written later hit it. */
		EXPECT(!memcmp(ram + b.load_addr, img + b.setup_size, size - b.setup_size),
		       "protected-mode kernel overwritten");
		break;
	}
	case HV_BOOT_PVH:
	case HV_BOOT_MULTIBOOT: {
		bool pvh = cur_protocol == HV_BOOT_PVH;
		uint64_t info = g[GPR_RBX];

		EXPECT(!(s->cr0 & X86_CR0_PG) && (s->cr0 & X86_CR0_PE) && (s->cs.attr & SEG_ATTR_DB) &&
		       !(s->efer & EFER_LMA), "not in 32-bit protected mode");
		EXPECT(s->rip >> 32 == 0, "entry above 4 GiB");
		check_gdt(s, 0x08, 0x10);
		check_elf_loaded(img, &lowest, &highest);
		/* PVH kernels load at 1 MiB and up; Multiboot ones above the page of
		 * Kestrel's Multiboot info (boot.c, MB_LOWEST). */
		EXPECT(lowest >= (pvh ? 0x100000 : 0x7000), "kernel below its lowest address");
		EXPECT(pvh || info + 0x1000 <= lowest, "Multiboot info inside the kernel");
		if (pvh) {
			EXPECT(rd(info, 4) == 0x336ec578u && rd(info + 12, 4) <= 1, "hvm_start_info");
			EXPECT(rd(info + 32, 8) == vm.acpi_rsdp, "rsdp_paddr");
			size_t n = str_at(rd(info + 24, 8), HV_CMDLINE_MAX);

			EXPECT(n <= HV_CMDLINE_MAX - 1 && !memcmp(ram + rd(info + 24, 8), bv.cmdline,
								 strlen(bv.cmdline)), "command line");
			if (rd(info + 12, 4)) {
				uint64_t mod = rd(info + 16, 8);

				check_initrd(rd(mod, 8), rd(mod + 8, 8), (const uint8_t *)bv.initrd.addr,
					     highest, mem_size);
			} else {
				EXPECT(!bv.initrd.size, "initrd not passed");
			}
		} else {
			EXPECT(g[GPR_RAX] == 0x2badb002u, "EAX %#llx", (unsigned long long)g[GPR_RAX]);
			uint32_t flags = (uint32_t)rd(info, 4);

			EXPECT(rd(info + 8, 4) == (mem_size >> 10) - 1024, "mem_upper");
			EXPECT(!strcmp((const char *)ram + rd(info + 16, 4), bv.cmdline), "command line");
			if (flags & (1u << 3)) {
				uint64_t mod = rd(info + 24, 4);

				EXPECT(rd(info + 20, 4) == 1, "mods_count");
				check_initrd(rd(mod, 4), rd(mod + 4, 4) - rd(mod, 4),
					     (const uint8_t *)bv.initrd.addr, highest, 1ull << 32);
			} else {
				EXPECT(!bv.initrd.size, "initrd not passed");
			}
		}
		break;
	}
	}
out:
	/* Give the touched pages back (they read as zero again). */
	mprotect(ram - PAGE, PAGE, PROT_READ | PROT_WRITE);
	madvise(ram - PAGE, mem_size + PAGE, MADV_DONTNEED);
	free(img);
	return 0;
}
