/* SPDX-License-Identifier: MIT */
/*
 * Hand-over from the UEFI loader (efi/) to the hypervisor core, after
 * ExitBootServices. Everything it points to is physical memory the loader
 * allocated as EfiLoaderData, identity-mapped.
 */
#ifndef HV_BOOTINFO_H
#define HV_BOOTINFO_H

#include <stdint.h>
#include "start_info.h"

#define HV_BOOTINFO_MAGIC    0x4b424f4f54303031ull /* "KBOOT001" */
/* VMs one hv.cfg may describe (docs/config.md). 64 of 8 vCPUs each is 512
 * vCPUs; the machine's memory is the real limit, checked by the loader. */
#define HV_MAX_VMS           64
/* CPUs the loader reports (struct hv_bootinfo.cpu_apic_ids). */
#define HV_MAX_CPUS          64
#define HV_PATH_MAX          96
#define HV_ERROR_MAX         160

enum hv_boot_protocol {
	HV_BOOT_KESTREL = 0,  /* ELF64, include/hv/start_info.h */
	HV_BOOT_LINUX = 1,    /* bzImage, Linux/x86 64-bit boot protocol */
	HV_BOOT_PVH = 2,      /* ELF with a Xen PVH entry note (vmlinux) */
	HV_BOOT_MULTIBOOT = 3, /* Multiboot v1 ELF kernel */
};

/* struct hv_boot_vm.devices: optional devices (docs/config.md) */
#define HV_DEV_TESTDEV        (1u << 0)  /* kvm-unit-tests' pc-testdev (devices/testdev.h) */
#define HV_DEV_VIRTIO_RNG     (1u << 1)  /* rng = on */
#define HV_DEV_VIRTIO_CONSOLE (1u << 2)  /* virtio-console = on */
#define HV_DEV_VIRTIO_NET     (1u << 3)  /* net = on: a NIC on the hypervisor's switch */
#define HV_DEV_DISK_READONLY  (1u << 4)  /* disk-readonly = on */
#define HV_DEV_VIRTIO_MMIO    (1u << 5)  /* transport = mmio (default: pci) */
#define HV_DEV_MAC_SET        (1u << 6)  /* mac = given; else derived from the VM's index */
#define HV_DEV_NO_EVENT_IDX   (1u << 7)  /* event-idx = off: virtio devices do not offer it */

/* struct hv_boot_vm.flags */
#define HV_VM_NO_AUTOSTART    (1u << 0)  /* autostart = no: set up, started from the console */

struct hv_blob {              /* a file read from the ESP */
	uint64_t addr;            /* host-physical, 0 when absent */
	uint64_t size;
	char     path[HV_PATH_MAX];
};

struct hv_boot_vm {
	char     name[HV_VM_NAME_MAX];
	uint64_t mem_size;        /* bytes, multiple of 2 MiB */
	uint64_t ram_hpa;         /* unused, 0: guest RAM comes from the hypervisor's
	                             page allocator (core/vm.c) */
	uint32_t nr_vcpus;
	uint32_t boot_protocol;   /* enum hv_boot_protocol */
	uint32_t devices;         /* HV_DEV_*: optional devices */
	struct hv_blob kernel;
	struct hv_blob initrd;
	struct hv_blob disk;      /* raw virtio-blk image, writable by the guest unless
	                             HV_DEV_DISK_READONLY; addr 0 when none */
	uint8_t  mac[6];          /* with HV_DEV_MAC_SET */
	uint8_t  flags;           /* HV_VM_*: how the VM starts */
	uint8_t  reserved[1];
	char     cmdline[HV_CMDLINE_MAX];
	char     error[HV_ERROR_MAX]; /* non-empty: the loader could not prepare this VM */
	uint64_t cpu_mask;        /* cpus =: the host CPUs its vCPUs run on (bit n: CPU n);
	                             0: placed by the hypervisor */
};

/* Memory map as returned by the final GetMemoryMap (UEFI spec 2.9, 7.2). */
struct hv_memmap {
	uint64_t desc_addr;
	uint64_t map_size;        /* bytes */
	uint64_t desc_size;       /* bytes per descriptor (not sizeof!) */
	uint32_t desc_version;
	uint32_t reserved;
};

#define HV_BOOT_BATCH  (1u << 0)  /* power off when every VM has stopped */
#define HV_BOOT_NO_FLIGHT_RECORDER (1u << 1)  /* hv.cfg: flight-recorder = off */

struct hv_bootinfo {
	uint64_t magic;
	uint32_t flags;           /* HV_BOOT_* */
	uint32_t nr_vms;
	uint64_t acpi_rsdp;       /* host RSDP, 0 if the firmware gave none */
	uint64_t image_base;      /* hv.efi as loaded */
	uint64_t image_size;
	struct hv_memmap memmap;
	struct hv_boot_vm vms[HV_MAX_VMS];
	/* The enabled CPUs the firmware's MP services listed, the boot CPU
	 * first; nr_cpus 0 when it has none (the hypervisor reads the MADT). */
	uint32_t nr_cpus;
	uint32_t cpu_apic_ids[HV_MAX_CPUS];
};

/* The loader and the hypervisor are one image today, but the hand-over is
 * an interface: its layout changes only on purpose. */
_Static_assert(sizeof(struct hv_blob) == 112, "hv_blob layout");
_Static_assert(__builtin_offsetof(struct hv_boot_vm, kernel) == 64, "hv_boot_vm layout");
_Static_assert(__builtin_offsetof(struct hv_boot_vm, mac) == 400, "hv_boot_vm layout");
_Static_assert(__builtin_offsetof(struct hv_boot_vm, cmdline) == 408, "hv_boot_vm layout");
_Static_assert(sizeof(struct hv_boot_vm) == 2624, "hv_boot_vm layout");
_Static_assert(__builtin_offsetof(struct hv_bootinfo, vms) == 72, "hv_bootinfo layout");
_Static_assert(sizeof(struct hv_bootinfo) == 72 + HV_MAX_VMS * 2624 + 4 + HV_MAX_CPUS * 4 + 4,
	       "hv_bootinfo layout");

#endif
