/*
 * UEFI loader: reads hv.cfg and the guest images from the ESP this image was
 * loaded from, checks that the VMs' RAM fits, exits boot services and hands
 * one struct hv_bootinfo to the hypervisor core. Guest RAM itself comes from
 * the hypervisor's page allocator (so a destroyed VM's RAM goes back to it).
 *
 * Problems with one VM (bad config entry, missing or unreadable image, no
 * memory) are reported on the serial line and recorded in that VM's `error`;
 * the other VMs still start.
 */
#include <efi.h>

#include <core/hv_main.h>
#include <hv/bootinfo.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/serial.h>

#include "config.h"

#define CONFIG_PATH   "hv.cfg"
#define PAGE_SIZE     4096ull
#define SZ_2M         (2ull << 20)
#define DISK_SECTOR   512ull      /* virtio-blk counts a disk in 512-byte sectors */
/* What the hypervisor takes per VM beyond guest RAM (struct vm, vCPUs,
 * nested page tables, devices: about 160 KiB for a minimal VM, measured in
 * docs/config.md), reserved beside the RAM when checking that a VM fits. */
#define VM_OVERHEAD   (1ull << 20)
#define EFI_CONVENTIONAL 7

/* GNU-EFI's libefi is not linked (it brings its own memset/memcpy), so
 * the few firmware services needed are called directly. */
static EFI_SYSTEM_TABLE *ST;
static EFI_BOOT_SERVICES *BS;
static EFI_FILE_HANDLE esp_root;

static const char *efi_strerror(EFI_STATUS st)
{
	switch (st) {
	case EFI_NOT_FOUND:          return "file not found";
	case EFI_OUT_OF_RESOURCES:   return "out of memory";
	case EFI_VOLUME_CORRUPTED:   return "volume corrupted";
	case EFI_DEVICE_ERROR:       return "device error";
	case EFI_ACCESS_DENIED:      return "access denied";
	case EFI_INVALID_PARAMETER:  return "invalid parameter";
	default:                     return "firmware error";
	}
}

static bool guid_eq(const EFI_GUID *a, const EFI_GUID *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static EFI_STATUS file_size(EFI_FILE_HANDLE fh, uint64_t *size)
{
	EFI_GUID info_id = EFI_FILE_INFO_ID;
	UINT8 buf[SIZE_OF_EFI_FILE_INFO + HV_PATH_MAX * sizeof(CHAR16)];
	UINTN len = sizeof(buf);
	EFI_STATUS st = uefi_call_wrapper(fh->GetInfo, 4, fh, &info_id, &len, buf);

	if (st == EFI_SUCCESS)
		*size = ((EFI_FILE_INFO *)buf)->FileSize;
	return st;
}

static EFI_FILE_HANDLE open_root(EFI_HANDLE device)
{
	EFI_GUID sfs_id = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *sfs;
	EFI_FILE_HANDLE root;

	if (uefi_call_wrapper(BS->HandleProtocol, 3, device, &sfs_id, (void **)&sfs) !=
	    EFI_SUCCESS ||
	    uefi_call_wrapper(sfs->OpenVolume, 2, sfs, &root) != EFI_SUCCESS)
		return NULL;
	return root;
}

static void *alloc_pages(uint64_t bytes)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	UINTN pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;

	if (uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
			      pages, &addr) != EFI_SUCCESS)
		return NULL;
	return (void *)(uintptr_t)addr;
}

static void free_pages(uint64_t addr, uint64_t bytes)
{
	if (bytes)
		uefi_call_wrapper(BS->FreePages, 2, addr, bytes / PAGE_SIZE);
}

/* Guest RAM must be 2 MiB aligned so nested paging can use large pages:
 * over-allocate by 2 MiB and give back the unaligned head and the tail.
 * Only held for the memory check: the hypervisor allocates and zeroes it. */
static uint64_t alloc_guest_ram(uint64_t size)
{
	uint64_t base = (uint64_t)(uintptr_t)alloc_pages(size + SZ_2M);
	uint64_t aligned;

	if (!base)
		return 0;
	aligned = (base + SZ_2M - 1) & ~(SZ_2M - 1);
	free_pages(base, aligned - base);
	free_pages(aligned + size, base + SZ_2M - aligned);
	return aligned;
}

/* MiB of EfiConventionalMemory: what the hypervisor will have, roughly. */
static uint64_t free_mib(void)
{
	UINTN cap = 64 * 1024, size = cap, key, desc_size;
	UINT32 version;
	uint8_t *buf = alloc_pages(cap);
	uint64_t pages = 0;

	if (!buf)
		return 0;
	if (uefi_call_wrapper(BS->GetMemoryMap, 5, &size, (void *)buf, &key, &desc_size,
			      &version) == EFI_SUCCESS)
		for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
			const EFI_MEMORY_DESCRIPTOR *d = (const void *)(buf + off);

			if (d->Type == EFI_CONVENTIONAL)
				pages += d->NumberOfPages;
		}
	free_pages((uint64_t)(uintptr_t)buf, cap);
	return pages >> 8;
}

/*
 * Each VM's RAM and overhead is reserved in turn and all of it released
 * before ExitBootServices: a VM that does not fit in what the VMs before it
 * left is refused here, with one message naming hv.cfg and the VM, and the
 * VMs that fit still run (as with any other problem of one VM).
 */
static struct { uint64_t addr, bytes; } held[2 * HV_MAX_VMS];
static unsigned nr_held;

static bool hold(uint64_t addr, uint64_t bytes)
{
	if (addr)
		held[nr_held++] = (typeof(held[0])){ addr, bytes };
	return addr != 0;
}

static void memory_check(struct hv_boot_vm *vm, unsigned line)
{
	uint64_t ram = alloc_guest_ram(vm->mem_size);

	if (hold(ram, vm->mem_size) &&
	    hold((uint64_t)(uintptr_t)alloc_pages(VM_OVERHEAD), VM_OVERHEAD))
		return;
	if (ram) {
		nr_held--;
		free_pages(ram, vm->mem_size);
	}
	snprintf(vm->error, sizeof(vm->error), "memory %lu MiB does not fit: %lu MiB of the "
		 "machine is left after the VMs before it and the hypervisor", vm->mem_size >> 20,
		 free_mib());
	printk("kestrel: " CONFIG_PATH ":%u: vm \"%s\": %s\n", line, vm->name, vm->error);
}

static void memory_release(void)
{
	while (nr_held) {
		nr_held--;
		free_pages(held[nr_held].addr, held[nr_held].bytes);
	}
}

/* Reads an ESP file ('/'-separated path) into fresh pages. */
static EFI_STATUS read_file(const char *path, void **data, uint64_t *size)
{
	CHAR16 wpath[HV_PATH_MAX];
	EFI_FILE_HANDLE fh;
	EFI_STATUS st;
	UINTN len;
	size_t i;

	for (i = 0; path[i] && i < HV_PATH_MAX - 1; i++)
		wpath[i] = path[i] == '/' ? L'\\' : (CHAR16)path[i];
	wpath[i] = 0;
	st = uefi_call_wrapper(esp_root->Open, 5, esp_root, &fh, wpath, EFI_FILE_MODE_READ, 0);
	if (st != EFI_SUCCESS)
		return st;
	st = file_size(fh, size);
	if (st != EFI_SUCCESS) {
		uefi_call_wrapper(fh->Close, 1, fh);
		return st;
	}
	*data = alloc_pages(*size ? *size : 1);
	if (!*data) {
		uefi_call_wrapper(fh->Close, 1, fh);
		return EFI_OUT_OF_RESOURCES;
	}
	len = *size;
	st = uefi_call_wrapper(fh->Read, 3, fh, &len, *data);
	if (st == EFI_SUCCESS && len != *size)
		st = EFI_VOLUME_CORRUPTED;
	uefi_call_wrapper(fh->Close, 1, fh);
	return st;
}

static void load_blob(struct hv_boot_vm *vm, struct hv_blob *blob, const char *path,
		      const char *what)
{
	void *data = NULL;
	uint64_t size = 0;
	EFI_STATUS st;

	if (!path[0] || vm->error[0])
		return;
	strlcpy(blob->path, path, sizeof(blob->path));
	st = read_file(path, &data, &size);
	if (st != EFI_SUCCESS) {
		snprintf(vm->error, sizeof(vm->error), "cannot read %s \"%s\": %s",
			 what, path, efi_strerror(st));
		printk("kestrel: vm \"%s\": %s\n", vm->name, vm->error);
		return;
	}
	blob->addr = (uint64_t)(uintptr_t)data;
	blob->size = size;
}

/*
 * The disk image stays where read_file put it: EfiLoaderData pages, which the
 * hypervisor's page allocator never hands out (it takes only
 * EfiConventionalMemory) and which lie outside guest RAM, so only the
 * virtio-blk device reaches them. Guest writes land there: they survive a
 * VM reboot, not the machine's power-off.
 */
static void load_disk(struct hv_boot_vm *vm, const char *path)
{
	struct hv_blob *disk = &vm->disk;

	load_blob(vm, disk, path, "disk");
	if (!disk->addr || (disk->size && disk->size % DISK_SECTOR == 0))
		return;
	if (!disk->size)
		snprintf(vm->error, sizeof(vm->error), "disk \"%s\" is empty (a disk has at "
			 "least one 512-byte sector)", path);
	else
		snprintf(vm->error, sizeof(vm->error), "disk \"%s\": %lu bytes is not a "
			 "multiple of 512 (a disk is whole 512-byte sectors)", path, disk->size);
	printk("kestrel: vm \"%s\": %s\n", vm->name, vm->error);
	/* read_file took at least one page, even for an empty file */
	free_pages(disk->addr, disk->size ? (disk->size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
					 : PAGE_SIZE);
	disk->addr = 0;
	disk->size = 0;
}

/* cpus = naming a CPU the firmware did not list (when it listed them). */
static void cpus_check(struct hv_boot_vm *vm, const struct cfg_vm *c, uint32_t nr_cpus)
{
	unsigned top = 63 - (unsigned)__builtin_clzll(c->cpu_mask);

	if (!c->cpu_mask || !nr_cpus || top < nr_cpus)
		return;
	snprintf(vm->error, sizeof(vm->error), "cpus = names CPU %u, but the machine has %u "
		 "(0-%u)", top, nr_cpus, nr_cpus - 1);
	printk("kestrel: " CONFIG_PATH ":%u: vm \"%s\": %s\n", c->line, vm->name, vm->error);
}

static void prepare_vm(struct hv_boot_vm *vm, const struct cfg_vm *c, uint32_t nr_cpus)
{
	strlcpy(vm->name, c->name, sizeof(vm->name));
	vm->cpu_mask = c->cpu_mask;
	vm->mem_size = c->mem_size;
	vm->nr_vcpus = c->nr_vcpus;
	vm->boot_protocol = c->boot_protocol;
	vm->devices = c->devices;
	vm->flags = c->autostart ? 0 : HV_VM_NO_AUTOSTART;
	memcpy(vm->mac, c->mac, sizeof(vm->mac));
	strlcpy(vm->cmdline, c->cmdline, sizeof(vm->cmdline));
	if (!c->valid) {
		strlcpy(vm->error, c->error, sizeof(vm->error));
		printk("kestrel: %s\n", c->error);
		return;
	}
	cpus_check(vm, c, nr_cpus);
	if (vm->error[0])
		return;
	load_blob(vm, &vm->kernel, c->kernel, "kernel");
	load_blob(vm, &vm->initrd, c->initrd, "initrd");
	load_disk(vm, c->disk);
	if (!vm->error[0])
		memory_check(vm, c->line);
}

static void read_config(struct hv_bootinfo *bi, struct cfg *cfg)
{
	void *text = NULL;
	uint64_t size = 0;
	EFI_STATUS st = read_file(CONFIG_PATH, &text, &size);

	if (st != EFI_SUCCESS) {
		printk("kestrel: cannot read %s: %s; no VMs will run\n", CONFIG_PATH,
		       efi_strerror(st));
		memset(cfg, 0, sizeof(*cfg));
		return;
	}
	config_parse(text, size, CONFIG_PATH, cfg);
	for (unsigned i = 0; i < cfg->nr_errors; i++)
		printk("kestrel: %s\n", cfg->errors[i]);
	if (cfg->batch)
		bi->flags |= HV_BOOT_BATCH;
	if (cfg->no_flight_recorder)
		bi->flags |= HV_BOOT_NO_FLIGHT_RECORDER;
	for (unsigned i = 0; i < cfg->nr_vms; i++)
		prepare_vm(&bi->vms[bi->nr_vms++], &cfg->vms[i], bi->nr_cpus);
	memory_release();
}

static uint64_t find_rsdp(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	uint64_t rsdp1 = 0;

	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (guid_eq(&t->VendorGuid, &acpi20))
			return (uint64_t)(uintptr_t)t->VendorTable;
		if (guid_eq(&t->VendorGuid, &acpi10))
			rsdp1 = (uint64_t)(uintptr_t)t->VendorTable;
	}
	return rsdp1;
}

/* UEFI PI 1.7, vol. 2, 13.4: the MP services protocol, as far as used. */
#define MP_SERVICES_GUID \
	{ 0x3fdda605, 0xa76e, 0x4f46, { 0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 } }
#define MP_PROCESSOR_BSP      (1u << 0)
#define MP_PROCESSOR_ENABLED  (1u << 1)

struct mp_processor_info {
	UINT64 processor_id;      /* the APIC ID */
	UINT32 status;
	UINT32 package, core, thread;
};

struct mp_services {
	EFI_STATUS (EFIAPI *get_number_of_processors)(struct mp_services *self, UINTN *total,
						      UINTN *enabled);
	EFI_STATUS (EFIAPI *get_processor_info)(struct mp_services *self, UINTN number,
						struct mp_processor_info *info);
	/* StartupAllAPs, StartupThisAP, SwitchBSP, EnableDisableAP, WhoAmI follow. */
};

/* The CPUs the firmware started, boot CPU first: under Bochs, OVMF has
 * no ACPI tables, so no MADT to read them from. */
static void find_cpus(struct hv_bootinfo *bi)
{
	EFI_GUID guid = MP_SERVICES_GUID;
	struct mp_services *mp;
	UINTN total, enabled;

	if (uefi_call_wrapper(BS->LocateProtocol, 3, &guid, NULL, (void **)&mp) != EFI_SUCCESS ||
	    uefi_call_wrapper(mp->get_number_of_processors, 3, mp, &total, &enabled) != EFI_SUCCESS)
		return;
	for (UINTN i = 0; i < total && bi->nr_cpus < HV_MAX_CPUS; i++) {
		struct mp_processor_info info;

		if (uefi_call_wrapper(mp->get_processor_info, 3, mp, i, &info) != EFI_SUCCESS ||
		    !(info.status & MP_PROCESSOR_ENABLED))
			continue;
		if (info.status & MP_PROCESSOR_BSP) {
			bi->cpu_apic_ids[bi->nr_cpus] = bi->cpu_apic_ids[0];
			bi->cpu_apic_ids[0] = (uint32_t)info.processor_id;
		} else {
			bi->cpu_apic_ids[bi->nr_cpus] = (uint32_t)info.processor_id;
		}
		bi->nr_cpus++;
	}
}

/* The memory map must be the last thing taken: ExitBootServices fails when
 * the map key is stale, in which case we fetch the map again (UEFI 2.9,
 * 7.4, ExitBootServices()). No allocation may happen in between. */
static void exit_boot_services(EFI_HANDLE image, struct hv_bootinfo *bi)
{
	UINTN cap = 64 * 1024, size, key, desc_size;
	UINT32 desc_version;
	void *buf = alloc_pages(cap);

	for (int tries = 0; tries < 8; tries++) {
		size = cap;
		if (uefi_call_wrapper(BS->GetMemoryMap, 5, &size, buf, &key, &desc_size,
				      &desc_version) != EFI_SUCCESS)
			break;
		bi->memmap = (struct hv_memmap){ .desc_addr = (uint64_t)(uintptr_t)buf,
			.map_size = size, .desc_size = desc_size, .desc_version = desc_version };
		if (uefi_call_wrapper(BS->ExitBootServices, 2, image, key) == EFI_SUCCESS)
			return;
	}
	printk("kestrel: ExitBootServices failed; halting\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_GUID loaded_image_id = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	EFI_LOADED_IMAGE *loaded;
	struct hv_bootinfo *bi;
	struct cfg *cfg;

	ST = systab;
	BS = systab->BootServices;
	serial_init();
	printk_set_sink(serial_write);
	printk("\nkestrel: UEFI loader started\n");

	if (uefi_call_wrapper(BS->HandleProtocol, 3, image, &loaded_image_id,
			      (void **)&loaded) != EFI_SUCCESS ||
	    !(esp_root = open_root(loaded->DeviceHandle))) {
		printk("kestrel: cannot open the boot volume\n");
		return EFI_LOAD_ERROR;
	}
	bi = alloc_pages(sizeof(*bi));
	cfg = alloc_pages(sizeof(*cfg));
	if (!bi || !cfg) {
		printk("kestrel: out of memory\n");
		return EFI_OUT_OF_RESOURCES;
	}
	memset(bi, 0, sizeof(*bi));
	bi->magic = HV_BOOTINFO_MAGIC;
	bi->image_base = (uint64_t)(uintptr_t)loaded->ImageBase;
	bi->image_size = loaded->ImageSize;
	bi->acpi_rsdp = find_rsdp();
	find_cpus(bi);
	read_config(bi, cfg);

	/* Stop the firmware watchdog (5 minutes by default) before leaving. */
	uefi_call_wrapper(BS->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	exit_boot_services(image, bi);
	hv_main(bi);
}
