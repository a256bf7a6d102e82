/*
 * The Linux/x86 boot protocol, 64-bit entry (Documentation/x86/boot.rst,
 * protocol 2.12+): header checks and the zero page. Pure: the host unit
 * tests and the fuzzer run exactly this code.
 */
#ifndef CORE_BZIMAGE_H
#define CORE_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_PARAMS_SIZE 4096

struct bzimage {
	uint16_t version;          /* boot protocol version */
	uint64_t setup_size;       /* bytes before the protected-mode kernel */
	uint64_t load_addr;        /* guest-physical; entry is load_addr + 0x200 */
	uint64_t init_size;        /* memory the kernel needs from load_addr */
	uint32_t cmdline_max;      /* bytes, without the NUL */
	uint64_t initrd_max;       /* highest address the initrd may end at + 1 */
};

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "E820 entry (zero-page.rst)");

#define E820_RAM       1
#define E820_RESERVED  2
#define E820_MAX       128

/* Checks the setup header and picks the load address in a guest with
 * mem_size bytes of RAM. -1 with the failed check in err. */
int bzimage_check(const void *img, size_t size, uint64_t mem_size, struct bzimage *out,
		  char *err, size_t err_len);

struct boot_params_args {
	uint64_t cmdline_gpa;
	uint64_t initrd_gpa, initrd_size;
	uint64_t acpi_rsdp;
	const struct e820_entry *e820;
	unsigned nr_e820;
};

/* Fills the 4 KiB zero page from the image's setup header and the args. */
void bzimage_boot_params(const void *img, const struct boot_params_args *a, uint8_t *zp);

#endif
