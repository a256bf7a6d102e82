/* SPDX-License-Identifier: MIT */
/*
 * Kestrel boot protocol for the project's own ELF64 guest kernels
 * (config: `boot = kestrel`, the default for ELF64 images).
 *
 * The hypervisor loads every PT_LOAD segment at its p_paddr (guest-physical)
 * and enters the kernel at e_entry with:
 *   - 64-bit long mode, CPL 0, CS = 0x08 (64-bit code), DS/ES/SS = 0x10,
 *     FS/GS = 0, interrupts disabled (RFLAGS = 0x2);
 *   - paging on: an identity map of guest-physical 0..4 GiB with 2 MiB pages,
 *     writable, cacheable (CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE, EFER = LME|LMA|NXE);
 *   - RDI = guest-physical address of struct hv_start_info (one per VM),
 *     RSI = index of this vCPU (0 .. nr_vcpus-1). Every vCPU enters at
 *     e_entry at the same time; vCPU 0 is the boot vCPU;
 *   - RSP = 0: the kernel sets up its own stack.
 * The page tables, GDT and start info live in HV_BOOT_DATA_START..END, below
 * the kernel. The kernel should copy what it needs and install its own GDT,
 * IDT and page tables; afterwards all RAM outside its image is free.
 */
#ifndef HV_START_INFO_H
#define HV_START_INFO_H

#include <stdint.h>

#define HV_START_INFO_MAGIC  0x4b53544152543031ull /* "KSTART01" */
#define HV_BOOT_DATA_START   0x8000u
#define HV_BOOT_DATA_END     0x10000u
#define HV_VM_NAME_MAX       32
#define HV_CMDLINE_MAX       2048

struct hv_start_info {
	uint64_t magic;        /* HV_START_INFO_MAGIC */
	uint32_t version;      /* 1 */
	uint32_t vm_id;
	uint32_t nr_vcpus;
	uint32_t reserved;
	uint64_t mem_size;     /* guest RAM is guest-physical 0..mem_size */
	uint64_t cmdline_gpa;  /* NUL-terminated, 0 when empty */
	uint64_t initrd_gpa;   /* 0 when none */
	uint64_t initrd_size;
	char     vm_name[HV_VM_NAME_MAX]; /* NUL-terminated */
};

_Static_assert(sizeof(struct hv_start_info) == 88, "hv_start_info layout is ABI");

#endif
