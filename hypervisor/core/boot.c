/*
 * Guest boot protocols: the Kestrel protocol for the project's ELF64 kernels
 * (include/hv/start_info.h) and the Linux/x86 64-bit boot protocol for
 * bzImages, both entered in 64-bit mode with identity paging; and PVH for
 * an uncompressed vmlinux, entered in 32-bit protected mode without paging;
 * and Multiboot v1 kernels, entered as a PC BIOS's bootloader leaves them.
 */
#include <core/boot.h>
#include <core/boot_bios.h>
#include <core/bzimage.h>
#include <core/elf.h>
#include <hv/start_info.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/cpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>

/* Low-memory layout (the Kestrel area is HV_BOOT_DATA_START..END). */
#define BOOT_ZERO_PAGE   0x7000u    /* Linux boot_params */
#define BOOT_START_INFO  0x8000u
#define BOOT_GDT         0x8080u
#define BOOT_CMDLINE     0x8100u    /* Kestrel: HV_CMDLINE_MAX bytes */
#define BOOT_PAGE_TABLES 0x9000u    /* PML4, PDPT, 4 PDs */
#define LINUX_CMDLINE    0x20000u
#define GUEST_MAP_SIZE   0x100000000ull
#define GDT_CODE64       0x00af9b000000ffffull
#define GDT_DATA         0x00cf93000000ffffull

_Static_assert(BOOT_CMDLINE + HV_CMDLINE_MAX <= BOOT_PAGE_TABLES, "cmdline fits");
_Static_assert(BOOT_PAGE_TABLES + 6 * 4096 <= HV_BOOT_DATA_END, "page tables fit");

struct boot_tables {
	struct vm *vm;
	uint64_t next;
};

static uint64_t boot_alloc_table(void *ctx)
{
	struct boot_tables *bt = ctx;
	uint64_t pa = bt->next;

	if (pa + PAGE_SIZE > HV_BOOT_DATA_END)
		return 0;
	bt->next += PAGE_SIZE;
	memset(vm_gpa_to_hva(bt->vm, pa, PAGE_SIZE), 0, PAGE_SIZE);
	return pa;
}

static void *boot_to_virt(void *ctx, uint64_t pa)
{
	struct boot_tables *bt = ctx;

	return vm_gpa_to_hva(bt->vm, pa, PAGE_SIZE);
}

/* Identity map of guest-physical 0..4 GiB with 2 MiB pages. */
static int build_guest_page_tables(struct vm *vm, uint64_t *cr3)
{
	struct boot_tables bt = { vm, BOOT_PAGE_TABLES };
	struct pt pt = { .fmt = &pt_format_x86_64, .alloc_table = boot_alloc_table,
			 .to_virt = boot_to_virt, .ctx = &bt };

	if (pt_init(&pt) || pt_map(&pt, 0, 0, GUEST_MAP_SIZE, PT_RWX))
		return -1;
	*cr3 = pt.root_pa;
	return 0;
}

/* A flat GDT with a 64-bit code and a data descriptor at the selectors the
 * protocol names; returns its limit. */
static uint32_t write_gdt(struct vm *vm, uint32_t base, uint16_t cs, uint16_t ds)
{
	unsigned entries = (cs > ds ? cs : ds) / 8 + 1;
	uint64_t *gdt = vm_gpa_to_hva(vm, base, entries * 8);

	memset(gdt, 0, entries * 8);
	gdt[cs / 8] = GDT_CODE64;
	gdt[ds / 8] = GDT_DATA;
	return entries * 8 - 1;
}

static void long_mode_sregs(struct guest_sregs *s, uint64_t entry, uint64_t cr3,
			    uint16_t cs, uint16_t ds, uint32_t gdt_limit)
{
	const struct x86_segment data = { .sel = ds, .attr = 0xc93, .limit = 0xffffffff };

	*s = (struct guest_sregs){
		.rip = entry, .rflags = X86_RFLAGS_FIXED,
		.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG,
		.cr3 = cr3, .cr4 = X86_CR4_PAE, .efer = EFER_LME | EFER_LMA | EFER_NXE,
		.cs = { .sel = cs, .attr = 0xa9b, .limit = 0xffffffff },
		.ds = data, .es = data, .ss = data,
		.fs = { .attr = 0x93, .limit = 0xffff }, .gs = { .attr = 0x93, .limit = 0xffff },
		.tr = { .attr = 0x8b, .limit = 0x67 },
		.ldtr = { .attr = 0x82, .limit = 0xffff },
		.gdtr = { .base = BOOT_GDT, .limit = gdt_limit },
		.idtr = { .limit = 0xffff },
		.pat = 0x0007040600070406ull,   /* the power-on default (SDM 3, 11.12.4) */
	};
}

/* Every vCPU enters at the same place; RDI/RSI carry the protocol's
 * arguments (vCPU index for Kestrel). */
static int enter_long_mode(struct vm *vm, uint64_t entry, uint16_t cs, uint16_t ds,
			   uint64_t rdi, uint64_t rsi, bool rsi_is_vcpu, char *err, size_t len)
{
	struct guest_sregs s;
	uint64_t cr3;

	if (build_guest_page_tables(vm, &cr3)) {
		snprintf(err, len, "cannot build the boot page tables");
		return -1;
	}
	long_mode_sregs(&s, entry, cr3, cs, ds, write_gdt(vm, BOOT_GDT, cs, ds));
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		vendor->write_sregs(v, &s);
		memset(&v->regs, 0, sizeof(v->regs));
		v->regs.gpr[GPR_RDI] = rdi;
		v->regs.gpr[GPR_RSI] = rsi_is_vcpu ? i : rsi;
	}
	return 0;
}

/* An initrd goes at the top of RAM (below `limit`), page-aligned, above
 * everything in [0, above). */
static int place_initrd(struct vm *vm, const struct hv_boot_vm *bv, uint64_t above,
			uint64_t limit, uint64_t *gpa, char *err, size_t len)
{
	uint64_t top = vm->mem_size < limit ? vm->mem_size : limit;

	*gpa = 0;
	if (!bv->initrd.size)
		return 0;
	if (bv->initrd.size > top || ((top - bv->initrd.size) & ~(PAGE_SIZE - 1)) < above) {
		snprintf(err, len, "initrd \"%s\" (%lu bytes) does not fit in guest RAM above the "
			 "kernel", bv->initrd.path, bv->initrd.size);
		return -1;
	}
	*gpa = (top - bv->initrd.size) & ~(PAGE_SIZE - 1);
	memcpy(vm_gpa_to_hva(vm, *gpa, bv->initrd.size),
	       (const void *)(uintptr_t)bv->initrd.addr, bv->initrd.size);
	return 0;
}

static void write_start_info(struct vm *vm, const struct hv_boot_vm *bv, uint64_t initrd_gpa)
{
	struct hv_start_info *si = vm_gpa_to_hva(vm, BOOT_START_INFO, sizeof(*si));
	char *cmdline = vm_gpa_to_hva(vm, BOOT_CMDLINE, HV_CMDLINE_MAX);

	*si = (struct hv_start_info){
		.magic = HV_START_INFO_MAGIC, .version = 1, .vm_id = vm->id,
		.nr_vcpus = vm->nr_vcpus, .mem_size = vm->mem_size,
		.cmdline_gpa = bv->cmdline[0] ? BOOT_CMDLINE : 0,
		.initrd_gpa = initrd_gpa, .initrd_size = bv->initrd.size,
	};
	strlcpy(si->vm_name, vm->name, sizeof(si->vm_name));
	strlcpy(cmdline, bv->cmdline, HV_CMDLINE_MAX);
}

static int boot_kestrel(struct vm *vm, const struct hv_boot_vm *bv, char *err, size_t len)
{
	const void *image = (const void *)(uintptr_t)bv->kernel.addr;
	struct elf_image img;
	uint64_t initrd_gpa;
	char why[HV_ERROR_MAX];

	if (elf_check(image, bv->kernel.size, HV_BOOT_DATA_END, vm->mem_size, &img,
		      why, sizeof(why))) {
		snprintf(err, len, "kernel \"%s\": %s", bv->kernel.path, why);
		return -1;
	}
	elf_load(image, vm_gpa_to_hva(vm, 0, vm->mem_size));
	if (place_initrd(vm, bv, img.highest, vm->mem_size, &initrd_gpa, err, len))
		return -1;
	write_start_info(vm, bv, initrd_gpa);
	return enter_long_mode(vm, img.entry, 0x08, 0x10, BOOT_START_INFO, 0, true, err, len);
}

/* RAM except the legacy VGA hole and the BIOS area, where the ACPI tables
 * live (zero-page.rst, "E820"). */
static unsigned linux_e820(const struct vm *vm, struct e820_entry *e)
{
	e[0] = (struct e820_entry){ 0, 0x9fc00, E820_RAM };
	e[1] = (struct e820_entry){ 0x9fc00, 0x400, E820_RESERVED };
	e[2] = (struct e820_entry){ 0xe0000, 0x20000, E820_RESERVED };
	e[3] = (struct e820_entry){ 0x100000, vm->mem_size - 0x100000, E820_RAM };
	return 4;
}

static int linux_cmdline(struct vm *vm, const struct hv_boot_vm *bv, const struct bzimage *b,
			 char *err, size_t len)
{
	char *cmdline = vm_gpa_to_hva(vm, LINUX_CMDLINE, HV_CMDLINE_MAX);
	/* The guest has no timer to calibrate the TSC against: tell it the
	 * frequency (Documentation/admin-guide/kernel-parameters.txt). */
	int n = snprintf(cmdline, HV_CMDLINE_MAX, "%s tsc_early_khz=%lu", bv->cmdline, tsc_khz());

	if (n >= HV_CMDLINE_MAX || (uint32_t)n > b->cmdline_max) {
		snprintf(err, len, "command line too long for this kernel (%d bytes, at most %u)",
			 n, b->cmdline_max);
		return -1;
	}
	return 0;
}

static int boot_linux(struct vm *vm, const struct hv_boot_vm *bv, char *err, size_t len)
{
	const uint8_t *image = (const uint8_t *)(uintptr_t)bv->kernel.addr;
	struct e820_entry e820[4];
	struct boot_params_args args = { .cmdline_gpa = LINUX_CMDLINE, .e820 = e820 };
	struct bzimage b;
	char why[HV_ERROR_MAX];

	if (bzimage_check(image, bv->kernel.size, vm->mem_size, &b, why, sizeof(why))) {
		snprintf(err, len, "kernel \"%s\": %s", bv->kernel.path, why);
		return -1;
	}
	memcpy(vm_gpa_to_hva(vm, b.load_addr, bv->kernel.size - b.setup_size),
	       image + b.setup_size, bv->kernel.size - b.setup_size);
	if (linux_cmdline(vm, bv, &b, err, len) ||
	    place_initrd(vm, bv, b.load_addr + b.init_size, b.initrd_max, &args.initrd_gpa,
			 err, len))
		return -1;
	args.initrd_size = bv->initrd.size;
	args.acpi_rsdp = vm->acpi_rsdp;
	args.nr_e820 = linux_e820(vm, e820);
	bzimage_boot_params(image, &args, vm_gpa_to_hva(vm, BOOT_ZERO_PAGE, BOOT_PARAMS_SIZE));
	/* 64-bit entry: load address + 0x200, RSI = zero page, __BOOT_CS 0x10,
	 * __BOOT_DS 0x18 (boot.rst, "64-bit Boot Protocol"). */
	return enter_long_mode(vm, b.load_addr + 0x200, 0x10, 0x18, 0, BOOT_ZERO_PAGE, false,
			       err, len);
}

/* ---- PVH: Xen's direct-boot ABI for an uncompressed vmlinux (xen/include/
 * public/arch-x86/hvm/start_info.h; Linux Documentation/x86/boot.rst). ---- */

#define PVH_START_INFO     0x6000u
#define PVH_MEMMAP         0x6100u
#define PVH_MODLIST        0x6200u
#define PVH_MAGIC          0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "hvm_memmap_table_entry");

/* 32-bit protected mode, paging off, flat segments (PVH entry state). */
static void protected_mode_sregs(struct guest_sregs *s, uint64_t entry, uint32_t gdt_base,
				 uint32_t gdt_limit)
{
	const struct x86_segment data = { .sel = 0x10, .attr = 0xc93, .limit = 0xffffffff };

	*s = (struct guest_sregs){
		.rip = entry, .rflags = X86_RFLAGS_FIXED, .cr0 = X86_CR0_PE | X86_CR0_ET,
		.cs = { .sel = 0x08, .attr = 0xc9b, .limit = 0xffffffff },
		.ds = data, .es = data, .ss = data, .fs = data, .gs = data,
		.tr = { .attr = 0x8b, .limit = 0x67 },
		.ldtr = { .attr = 0x82, .limit = 0xffff },
		.gdtr = { .base = gdt_base, .limit = gdt_limit },
		.idtr = { .limit = 0xffff },
		.pat = 0x0007040600070406ull,
	};
}

static void pvh_start_info(struct vm *vm, const struct hv_boot_vm *bv, uint64_t initrd_gpa,
			   const struct e820_entry *e820, unsigned n)
{
	struct hvm_start_info *si = vm_gpa_to_hva(vm, PVH_START_INFO, sizeof(*si));
	struct hvm_memmap_entry *map = vm_gpa_to_hva(vm, PVH_MEMMAP, n * sizeof(*map));
	struct hvm_modlist_entry *mod = vm_gpa_to_hva(vm, PVH_MODLIST, sizeof(*mod));

	for (unsigned i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){ e820[i].addr, e820[i].size, e820[i].type, 0 };
	*mod = (struct hvm_modlist_entry){ initrd_gpa, bv->initrd.size, 0, 0 };
	*si = (struct hvm_start_info){
		.magic = PVH_MAGIC, .version = 1, .nr_modules = initrd_gpa ? 1 : 0,
		.modlist_paddr = PVH_MODLIST, .cmdline_paddr = LINUX_CMDLINE,
		.rsdp_paddr = vm->acpi_rsdp, .memmap_paddr = PVH_MEMMAP, .memmap_entries = n,
	};
}

static int boot_pvh(struct vm *vm, const struct hv_boot_vm *bv, char *err, size_t len)
{
	const void *image = (const void *)(uintptr_t)bv->kernel.addr;
	struct bzimage limits = { .cmdline_max = HV_CMDLINE_MAX - 1 };
	struct e820_entry e820[4];
	struct elf_image img;
	struct guest_sregs s;
	uint64_t entry, initrd_gpa;
	char why[HV_ERROR_MAX];

	if (elf_check_segments(image, bv->kernel.size, 0x100000, vm->mem_size, &img, why,
			       sizeof(why))) {
		snprintf(err, len, "kernel \"%s\": %s", bv->kernel.path, why);
		return -1;
	}
	if (elf_find_note(image, bv->kernel.size, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry) ||
	    entry < img.lowest || entry >= img.highest) {
		snprintf(err, len, "kernel \"%s\": no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)",
			 bv->kernel.path);
		return -1;
	}
	elf_load(image, vm_gpa_to_hva(vm, 0, vm->mem_size));
	if (linux_cmdline(vm, bv, &limits, err, len) ||
	    place_initrd(vm, bv, img.highest, vm->mem_size, &initrd_gpa, err, len))
		return -1;
	pvh_start_info(vm, bv, initrd_gpa, e820, linux_e820(vm, e820));
	protected_mode_sregs(&s, entry, BOOT_GDT, write_gdt(vm, BOOT_GDT, 0x08, 0x10));
	vendor->write_sregs(vm->vcpus[0], &s);
	memset(&vm->vcpus[0]->regs, 0, sizeof(vm->vcpus[0]->regs));
	vm->vcpus[0]->regs.gpr[GPR_RBX] = PVH_START_INFO;
	return 0;
}

/* ---- Multiboot (v1) ELF kernels (Multiboot Specification 0.6.96) ---- */

#define MB_HEADER_MAGIC   0x1badb002u
#define MB_BOOT_MAGIC     0x2badb002u
#define MB_SEARCH         8192
#define MB_AOUT_KLUDGE    (1u << 16)
/* Everything Kestrel writes for a Multiboot kernel fits in one page below
 * MB_LOWEST, so a kernel may load anywhere in RAM above it, as low as 0x8000
 * (kvm-unit-tests' realmode.flat does). */
#define MB_INFO           0x6000u
#define MB_MODS           0x6100u
#define MB_MMAP           0x6200u
#define MB_GDT            0x6300u
#define MB_CMDLINE        0x6800u
#define MB_LOWEST         0x7000u
_Static_assert(MB_CMDLINE + HV_CMDLINE_MAX <= MB_LOWEST, "the command line fits below");
#define MBI_MEM           (1u << 0)
#define MBI_CMDLINE       (1u << 2)
#define MBI_MODS          (1u << 3)
#define MBI_MMAP          (1u << 6)

struct multiboot_info {           /* 3.3, the fields Kestrel fills */
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4], mmap_length, mmap_addr;
} __attribute__((packed));
_Static_assert(sizeof(struct multiboot_info) == 52, "up to mmap_addr");

struct multiboot_mmap {
	uint32_t size;                /* of the rest of the entry: 20 */
	uint64_t base, length;
	uint32_t type;
} __attribute__((packed));

/* The header: 4-byte aligned in the first 8 KiB, checksummed (3.1.1). */
static int multiboot_header(const uint8_t *img, uint64_t size, uint32_t *flags)
{
	for (uint64_t off = 0; off + 12 <= size && off < MB_SEARCH; off += 4) {
		uint32_t h[3];

		memcpy(h, img + off, sizeof(h));
		if (h[0] == MB_HEADER_MAGIC && h[0] + h[1] + h[2] == 0) {
			*flags = h[1];
			return 0;
		}
	}
	return -1;
}

static void multiboot_info(struct vm *vm, const struct hv_boot_vm *bv, uint64_t initrd_gpa)
{
	struct multiboot_info *mbi = vm_gpa_to_hva(vm, MB_INFO, sizeof(*mbi));
	uint32_t *mod = vm_gpa_to_hva(vm, MB_MODS, 16);
	struct multiboot_mmap *map = vm_gpa_to_hva(vm, MB_MMAP, 4 * sizeof(*map));
	struct e820_entry e820[4];
	unsigned n = linux_e820(vm, e820);

	for (unsigned i = 0; i < n; i++)
		map[i] = (struct multiboot_mmap){ 20, e820[i].addr, e820[i].size, e820[i].type };
	mod[0] = (uint32_t)initrd_gpa;
	mod[1] = (uint32_t)(initrd_gpa + bv->initrd.size);
	mod[2] = mod[3] = 0;
	*mbi = (struct multiboot_info){
		.flags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | (initrd_gpa ? MBI_MODS : 0),
		.mem_lower = 639, .mem_upper = (uint32_t)((vm->mem_size >> 10) - 1024),
		.cmdline = MB_CMDLINE, .mods_count = initrd_gpa ? 1 : 0, .mods_addr = MB_MODS,
		.mmap_length = n * sizeof(*map), .mmap_addr = MB_MMAP,
	};
}

/* The BIOS's state (core/boot_bios.h), its ports written through the
 * VM's own devices as the BIOS would write them. */
static void multiboot_bios_state(struct vm *vm)
{
	bios_low_memory(vm_gpa_to_hva(vm, 0, BIOS_LOW_MEMORY));
	for (unsigned i = 0; i < bios_port_write_count; i++)
		iobus_write(&vm->pio.bus, bios_port_writes[i].port, 1, bios_port_writes[i].value);
}

static int boot_multiboot(struct vm *vm, const struct hv_boot_vm *bv, char *err, size_t len)
{
	const uint8_t *image = (const uint8_t *)(uintptr_t)bv->kernel.addr;
	struct elf_image img;
	struct guest_sregs s;
	uint64_t initrd_gpa;
	uint32_t flags;
	char why[HV_ERROR_MAX];

	if (multiboot_header(image, bv->kernel.size, &flags)) {
		snprintf(err, len, "kernel \"%s\": no Multiboot header in its first 8 KiB",
			 bv->kernel.path);
		return -1;
	}
	if (flags & MB_AOUT_KLUDGE) {
		snprintf(err, len, "kernel \"%s\": Multiboot a.out-kludge images are not supported, "
			 "only ELF", bv->kernel.path);
		return -1;
	}
	/* Segments go where the memory map says RAM: not in the EBDA, VGA or
	 * BIOS range (linux_e820). */
	if (elf_check_any_class(image, bv->kernel.size, MB_LOWEST, vm->mem_size, &img, why,
				sizeof(why)) ||
	    elf_check_hole(image, 0x9fc00, 0x100000, why, sizeof(why)) || img.entry >> 32) {
		snprintf(err, len, "kernel \"%s\": %s", bv->kernel.path, why);
		return -1;
	}
	elf_load(image, vm_gpa_to_hva(vm, 0, vm->mem_size));
	snprintf(vm_gpa_to_hva(vm, MB_CMDLINE, HV_CMDLINE_MAX), HV_CMDLINE_MAX, "%s", bv->cmdline);
	if (place_initrd(vm, bv, img.highest, 0x100000000ull, &initrd_gpa, err, len))
		return -1;
	multiboot_info(vm, bv, initrd_gpa);
	multiboot_bios_state(vm);
	/* 3.2: EAX = magic, EBX = info, 32-bit flat segments, paging off. */
	protected_mode_sregs(&s, img.entry, MB_GDT, write_gdt(vm, MB_GDT, 0x08, 0x10));
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		vendor->write_sregs(vm->vcpus[i], &s);
		memset(&vm->vcpus[i]->regs, 0, sizeof(vm->vcpus[i]->regs));
		vm->vcpus[i]->regs.gpr[GPR_RAX] = MB_BOOT_MAGIC;
		vm->vcpus[i]->regs.gpr[GPR_RBX] = MB_INFO;
	}
	return 0;
}

/* The PC protocols start the first vCPU; the others wait for the INIT and
 * start-up IPIs the guest sends them (core/smp.c), as firmware leaves a
 * real machine's application processors. */
static int start_bsp_only(struct vm *vm, int result)
{
	for (unsigned i = 1; i < vm->nr_vcpus; i++)
		vm->vcpus[i]->state = VCPU_WAIT_SIPI;
	return result;
}

int boot_prepare(struct vm *vm, const struct hv_boot_vm *bv, char *err, size_t len)
{
	switch (bv->boot_protocol) {
	case HV_BOOT_KESTREL:
		return boot_kestrel(vm, bv, err, len);
	case HV_BOOT_LINUX:
		return start_bsp_only(vm, boot_linux(vm, bv, err, len));
	case HV_BOOT_PVH:
		return start_bsp_only(vm, boot_pvh(vm, bv, err, len));
	case HV_BOOT_MULTIBOOT:
		return start_bsp_only(vm, boot_multiboot(vm, bv, err, len));
	default:
		snprintf(err, len, "unknown boot protocol %u", bv->boot_protocol);
		return -1;
	}
}
