/* SPDX-License-Identifier: MIT */
/*
 * hv.cfg parser: turns the hand-written configuration text into a struct cfg
 * the UEFI loader can act on. Pure and freestanding (no allocation, no I/O,
 * no libc), so the same file is linked into hv.efi and into the host unit
 * tests and fuzzer. The file format is described in docs/config.md.
 *
 * Error policy: a problem inside one [vm NAME] section makes only that VM
 * invalid (cfg_vm.valid = false, cfg_vm.error says why); problems outside any
 * VM section land in cfg.errors[] and never invalidate a VM. Every message
 * has the form "FILE:LINE: [vm "NAME": ]what went wrong".
 */
#ifndef KESTREL_EFI_CONFIG_H
#define KESTREL_EFI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/bootinfo.h"

#define CFG_MAX_VCPUS   8
#define CFG_MAX_CPU_ID  63                /* cpus = takes host CPUs 0 to 63 */
#define CFG_MAX_ERRORS  8                 /* cfg.errors[] slots */
#define CFG_MEM_MIN     (2ull << 20)      /* 2 MiB */
/* Guest RAM is one block from 0; it must end below the 32-bit device
 * window (0xc0000000 up: IOAPIC, local APIC, future PCI BARs), or RAM would
 * hide the devices (security review R2). */
#define CFG_MEM_MAX     (3ull << 30)      /* 3 GiB */
#define CFG_MEM_ALIGN   (2ull << 20)      /* guest RAM is mapped with 2 MiB pages */

struct cfg_vm {
	char     name[HV_VM_NAME_MAX];    /* always a valid name, NUL-terminated */
	uint64_t mem_size;                /* bytes; 0 if no valid memory line */
	uint32_t nr_vcpus;                /* default 1 */
	uint32_t boot_protocol;           /* enum hv_boot_protocol, default kestrel */
	uint32_t devices;                 /* HV_DEV_*, default none */
	bool     autostart;               /* run at boot; default true */
	uint64_t cpu_mask;                /* cpus =: bit n for host CPU n; 0: any */
	char     kernel[HV_PATH_MAX];     /* relative to the ESP root, '/' separators */
	char     initrd[HV_PATH_MAX];     /* "" when none */
	char     disk[HV_PATH_MAX];       /* virtio-blk image; "" when none */
	uint8_t  mac[6];                  /* with HV_DEV_MAC_SET in devices */
	char     cmdline[HV_CMDLINE_MAX]; /* "" when none */
	unsigned line;                    /* line of the [vm NAME] header */
	bool     valid;                   /* false: do not run; other fields may be partial */
	unsigned nr_errors;               /* problems found in this section */
	char     error[HV_ERROR_MAX];     /* the first of them; "" when valid */
};

struct cfg {
	bool     batch;                   /* power off once every VM has stopped */
	bool     no_flight_recorder;      /* flight-recorder = off */
	unsigned nr_vms;                  /* vms[0 .. nr_vms-1], valid or not */
	struct cfg_vm vms[HV_MAX_VMS];
	unsigned nr_errors;               /* errors[0 .. nr_errors-1], <= CFG_MAX_ERRORS */
	unsigned nr_errors_dropped;       /* further problems that did not fit */
	char     errors[CFG_MAX_ERRORS][HV_ERROR_MAX]; /* problems not tied to one VM */
};

/*
 * Parse len bytes of text (need not be NUL-terminated; may contain any byte)
 * into *out, which is completely overwritten. file_name is only used in
 * messages. Never fails as a whole: whatever could not be understood is
 * reported in out->errors[] or in the affected VM's error.
 */
void config_parse(const char *text, size_t len, const char *file_name, struct cfg *out);

#endif
