/*
 * The Kestrel boot protocol (include/hv/start_info.h): an ELF64 kernel
 * entered in 64-bit mode with identity paging, RDI = start info.
 */
#include <core/boot.h>
#include <core/elf.h>
#include <hv/start_info.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/processor.h>
#include <x86/vendor.h>

/* Layout of the boot data area (HV_BOOT_DATA_START..END). */
#define BOOT_START_INFO  0x8000u
#define BOOT_GDT         0x8080u
#define BOOT_CMDLINE     0x8100u    /* HV_CMDLINE_MAX bytes */
#define BOOT_PAGE_TABLES 0x9000u    /* PML4, PDPT, 4 PDs */
#define GUEST_MAP_SIZE   0x100000000ull

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

static void write_start_info(struct vm *vm, const struct hv_boot_vm *bv, uint64_t initrd_gpa)
{
	struct hv_start_info *si = vm_gpa_to_hva(vm, BOOT_START_INFO, sizeof(*si));
	char *cmdline = vm_gpa_to_hva(vm, BOOT_CMDLINE, HV_CMDLINE_MAX);
	uint64_t *gdt = vm_gpa_to_hva(vm, BOOT_GDT, 3 * sizeof(uint64_t));

	*si = (struct hv_start_info){
		.magic = HV_START_INFO_MAGIC, .version = 1, .vm_id = vm->id,
		.nr_vcpus = vm->nr_vcpus, .mem_size = vm->mem_size,
		.cmdline_gpa = bv->cmdline[0] ? BOOT_CMDLINE : 0,
		.initrd_gpa = initrd_gpa, .initrd_size = bv->initrd.size,
	};
	strlcpy(si->vm_name, vm->name, sizeof(si->vm_name));
	strlcpy(cmdline, bv->cmdline, HV_CMDLINE_MAX);
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;   /* 0x08: 64-bit code */
	gdt[2] = 0x00cf93000000ffffull;   /* 0x10: data */
}

static void initial_sregs(struct guest_sregs *s, uint64_t entry, uint64_t cr3)
{
	const struct x86_segment data = { .sel = 0x10, .attr = 0xc93, .limit = 0xffffffff };

	*s = (struct guest_sregs){
		.rip = entry, .rflags = X86_RFLAGS_FIXED,
		.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG,
		.cr3 = cr3, .cr4 = X86_CR4_PAE, .efer = EFER_LME | EFER_LMA | EFER_NXE,
		.cs = { .sel = 0x08, .attr = 0xa9b, .limit = 0xffffffff },
		.ds = data, .es = data, .ss = data,
		.fs = { .attr = 0x93, .limit = 0xffff }, .gs = { .attr = 0x93, .limit = 0xffff },
		.tr = { .attr = 0x8b, .limit = 0x67 },
		.ldtr = { .attr = 0x82, .limit = 0xffff },
		.gdtr = { .base = BOOT_GDT, .limit = 3 * 8 - 1 },
		.idtr = { .limit = 0xffff },
		.pat = 0x0007040600070406ull,   /* the power-on default (SDM 3, 11.12.4) */
	};
}

/* An initrd goes at the top of RAM, page-aligned, above the kernel. */
static int place_initrd(struct vm *vm, const struct hv_boot_vm *bv,
			const struct elf_image *img, uint64_t *gpa, char *err, size_t len)
{
	*gpa = 0;
	if (!bv->initrd.size)
		return 0;
	if (bv->initrd.size > vm->mem_size ||
	    ((vm->mem_size - bv->initrd.size) & ~(PAGE_SIZE - 1)) < img->highest) {
		snprintf(err, len, "initrd \"%s\" (%lu bytes) does not fit above the kernel",
			 bv->initrd.path, bv->initrd.size);
		return -1;
	}
	*gpa = (vm->mem_size - bv->initrd.size) & ~(PAGE_SIZE - 1);
	memcpy(vm_gpa_to_hva(vm, *gpa, bv->initrd.size),
	       (const void *)(uintptr_t)bv->initrd.addr, bv->initrd.size);
	return 0;
}

int boot_prepare(struct vm *vm, const struct hv_boot_vm *bv, char *err, size_t len)
{
	const void *image = (const void *)(uintptr_t)bv->kernel.addr;
	struct elf_image img;
	struct guest_sregs s;
	uint64_t cr3, initrd_gpa;
	char why[HV_ERROR_MAX];

	if (bv->boot_protocol != HV_BOOT_KESTREL) {
		snprintf(err, len, "unknown boot protocol %u", bv->boot_protocol);
		return -1;
	}
	if (elf_check(image, bv->kernel.size, HV_BOOT_DATA_END, vm->mem_size, &img,
		      why, sizeof(why))) {
		snprintf(err, len, "kernel \"%s\": %s", bv->kernel.path, why);
		return -1;
	}
	elf_load(image, vm_gpa_to_hva(vm, 0, vm->mem_size));
	if (place_initrd(vm, bv, &img, &initrd_gpa, err, len))
		return -1;
	if (build_guest_page_tables(vm, &cr3)) {
		snprintf(err, len, "cannot build the boot page tables");
		return -1;
	}
	write_start_info(vm, bv, initrd_gpa);
	initial_sregs(&s, img.entry, cr3);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		vendor->write_sregs(v, &s);
		memset(&v->regs, 0, sizeof(v->regs));
		v->regs.gpr[GPR_RDI] = BOOT_START_INFO;
		v->regs.gpr[GPR_RSI] = i;
	}
	return 0;
}
