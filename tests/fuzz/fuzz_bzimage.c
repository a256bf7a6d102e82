// SPDX-License-Identifier: MIT
// FUZZ-SOURCES: hypervisor/core/bzimage.c hypervisor/lib/printk.c
// libFuzzer target for the Linux boot protocol's setup-header checks and
// zero page (hypervisor/core/bzimage.c).
//
// Input: 8 bytes of guest RAM size (a size the config allows, 2 MiB..3 GiB,
// or with the top bit set any 64-bit value), 2 bytes of error-buffer length,
// 1 byte of e820 entry count, then the kernel image. The image, the error
// buffer, the e820 table and the zero page are exact-size heap copies, so
// any access outside them is an ASan report.
//
// What bzimage_check() accepts must fit the promises boot.c relies on: the
// protected-mode kernel lies inside the file, load_addr + init_size inside
// guest RAM, above 1 MiB, the kernel's own alignment honoured when it is
// relocatable; every refusal writes a terminated, non-empty reason. The
// zero page must carry the header bytes and the arguments where
// zero-page.rst puts them, and nothing else.
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/bzimage.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_bzimage: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

#define EXPECT(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

static uint64_t get(const uint8_t *p, unsigned off, unsigned n)
{
	uint64_t v = 0;

	memcpy(&v, p + off, n);
	return v;
}

static void put(uint8_t *zp, unsigned off, uint64_t v, unsigned n)
{
	memcpy(zp + off, &v, n);
}

/* The zero page as zero-page.rst and boot.rst describe it, built here
 * independently: the setup header from 0x1f1 to 0x202 + the byte at 0x201
 * copied from the image, the fields a boot loader fills, the e820 table;
 * every other byte zero. */
static void check_zero_page(const uint8_t *img, const uint8_t *zp,
			    const struct boot_params_args *a)
{
	static uint8_t want[BOOT_PARAMS_SIZE];
	unsigned hdr_end = 0x202 + img[0x201];

	memset(want, 0, sizeof(want));
	memcpy(want + 0x1f1, img + 0x1f1, hdr_end - 0x1f1);
	put(want, 0x210, 0xff, 1);                          /* type_of_loader: undefined */
	put(want, 0x228, (uint32_t)a->cmdline_gpa, 4);      /* cmd_line_ptr */
	put(want, 0x0c8, a->cmdline_gpa >> 32, 4);          /* ext_cmd_line_ptr */
	put(want, 0x218, (uint32_t)a->initrd_gpa, 4);       /* ramdisk_image */
	put(want, 0x0c0, a->initrd_gpa >> 32, 4);           /* ext_ramdisk_image */
	put(want, 0x21c, (uint32_t)a->initrd_size, 4);      /* ramdisk_size */
	put(want, 0x0c4, a->initrd_size >> 32, 4);          /* ext_ramdisk_size */
	put(want, 0x070, a->acpi_rsdp, 8);                  /* acpi_rsdp_addr */
	put(want, 0x1e8, a->nr_e820, 1);                    /* e820_entries */
	memcpy(want + 0x2d0, a->e820, a->nr_e820 * 20);     /* e820_table */
	put(want, 0x1ef, 0, 1);                             /* sentinel */
	if (memcmp(zp, want, sizeof(want)))
		for (unsigned off = 0; off < BOOT_PARAMS_SIZE; off++)
			EXPECT(zp[off] == want[off], "zero-page byte %#x is %#x, want %#x", off,
			       zp[off], want[off]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bzimage b;
	uint64_t mem_size;
	uint16_t err_len;
	uint8_t nr_e820;

	if (size < 11)
		return 0;
	memcpy(&mem_size, data, 8);
	memcpy(&err_len, data + 8, 2);
	nr_e820 = data[10];
	data += 11;
	size -= 11;
	if (!(mem_size >> 63))
		mem_size = (mem_size % 1536 + 1) << 21;   /* CFG_MEM_MIN..CFG_MEM_MAX */
	err_len = err_len % 200 + 1;

	uint8_t *img = malloc(size ? size : 1);
	char *err = malloc(err_len);

	memcpy(img, data, size);
	memset(err, 0x5a, err_len);
	memset(&b, 0xa5, sizeof(b));
	if (bzimage_check(img, size, mem_size, &b, err, err_len)) {
		EXPECT(memchr(err, '\0', err_len), "reason not terminated");
		EXPECT(err_len == 1 || err[0], "no reason");
		goto out;
	}
	EXPECT(err[0] == 0x5a, "error written on success");

	/* What boot_linux() relies on. */
	uint64_t kernel = size - b.setup_size, align = get(img, 0x230, 4);

	EXPECT(size >= 0x270 && get(img, 0x1fe, 2) == 0xaa55 && !memcmp(img + 0x202, "HdrS", 4),
	       "accepted without boot flag and HdrS");
	EXPECT(b.version == get(img, 0x206, 2) && b.version >= 0x020c, "version %#x", b.version);
	EXPECT(0x202u + img[0x201] <= size, "header runs past the file");
	EXPECT(b.setup_size >= 512 && b.setup_size % 512 == 0 && b.setup_size < size,
	       "setup_size %#llx of %zu", (unsigned long long)b.setup_size, size);
	EXPECT(b.init_size >= kernel, "init_size %#llx below the kernel's %#llx bytes",
	       (unsigned long long)b.init_size, (unsigned long long)kernel);
	EXPECT(b.load_addr >= 0x100000 && b.load_addr <= mem_size &&
	       mem_size - b.load_addr >= b.init_size,
	       "load_addr %#llx + init_size %#llx outside %#llx of RAM",
	       (unsigned long long)b.load_addr, (unsigned long long)b.init_size,
	       (unsigned long long)mem_size);
	if (img[0x234] && align && !(align & (align - 1)))
		EXPECT(!(b.load_addr & (align - 1)), "load_addr %#llx not aligned to %#llx",
		       (unsigned long long)b.load_addr, (unsigned long long)align);
	else
		EXPECT(b.load_addr == get(img, 0x258, 8), "non-relocatable kernel moved");
	EXPECT(b.cmdline_max == get(img, 0x238, 4), "cmdline_size");
	EXPECT(b.initrd_max == get(img, 0x22c, 4) + 1, "initrd_addr_max");

	/* The zero page, with arguments from the header's own numbers. */
	nr_e820 %= E820_MAX + 1;
	struct e820_entry *e820 = malloc(nr_e820 ? nr_e820 * sizeof(*e820) : 1);
	uint8_t *zp = malloc(BOOT_PARAMS_SIZE);
	struct boot_params_args args = {
		.cmdline_gpa = get(img, 0x258, 8) ^ b.load_addr,
		.initrd_gpa = b.load_addr + b.init_size, .initrd_size = b.init_size * 3,
		.acpi_rsdp = get(img, 0x260, 4) * 0x9e3779b97f4a7c15ull,
		.e820 = e820, .nr_e820 = nr_e820,
	};

	for (unsigned i = 0; i < nr_e820; i++)
		e820[i] = (struct e820_entry){ i * 0x100000ull + b.load_addr, b.init_size + i,
					       i % 5 };
	memset(zp, 0xa5, BOOT_PARAMS_SIZE);
	bzimage_boot_params(img, &args, zp);
	check_zero_page(img, zp, &args);
	free(zp);
	free(e820);
out:
	free(err);
	free(img);
	return 0;
}
