/* Linux/x86 boot protocol: setup-header checks and the zero page
 * (Documentation/x86/boot.rst and zero-page.rst). */
#include <core/bzimage.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <stdarg.h>
#include <stdbool.h>

/* Offsets in the image and in the zero page (the setup header sits at the
 * same offset in both). */
#define HDR_SETUP_SECTS      0x1f1
#define HDR_BOOT_FLAG        0x1fe
#define HDR_JUMP             0x200
#define HDR_MAGIC            0x202
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260
#define ZP_ACPI_RSDP_ADDR    0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_E820_ENTRIES      0x1e8
#define ZP_SENTINEL          0x1ef
#define ZP_E820_TABLE        0x2d0

#define LOADED_HIGH          (1u << 0)
#define XLF_KERNEL_64        (1u << 0)
#define MIN_VERSION          0x020c    /* 2.12: xloadflags, 64-bit entry */
#define LOADER_UNDEFINED     0xff

static uint32_t get(const uint8_t *p, unsigned off, unsigned size)
{
	uint32_t v = 0;

	memcpy(&v, p + off, size);
	return v;
}

static uint64_t get64(const uint8_t *p, unsigned off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int check_header(const uint8_t *p, size_t size, struct bzimage *b, char *err, size_t len)
{
	unsigned sects;

	if (size < 0x270)
		return fail(err, len, "too short for a Linux setup header (%zu bytes)", size);
	if (get(p, HDR_BOOT_FLAG, 2) != 0xaa55 || memcmp(p + HDR_MAGIC, "HdrS", 4))
		return fail(err, len, "not a bzImage (no 0xAA55 boot flag and \"HdrS\" header)");
	if (size < HDR_MAGIC + get(p, HDR_JUMP + 1, 1))
		return fail(err, len, "setup header runs past the end of the file");
	b->version = (uint16_t)get(p, HDR_VERSION, 2);
	if (b->version < MIN_VERSION)
		return fail(err, len, "boot protocol %u.%02u is older than 2.12",
			    b->version >> 8, b->version & 0xff);
	if (!(get(p, HDR_XLOADFLAGS, 2) & XLF_KERNEL_64))
		return fail(err, len, "no 64-bit entry point (xloadflags bit 0 clear)");
	if (!(get(p, HDR_LOADFLAGS, 1) & LOADED_HIGH))
		return fail(err, len, "zImage kernels (not loaded high) are not supported");
	sects = get(p, HDR_SETUP_SECTS, 1);
	b->setup_size = (uint64_t)((sects ? sects : 4) + 1) * 512;
	if (b->setup_size >= size)
		return fail(err, len, "setup size %lu is beyond the end of the file",
			    b->setup_size);
	return 0;
}

/* Relocatable kernels go to their preferred address when it fits, otherwise
 * to the first aligned address above 16 MiB; others only at pref_address. */
static int place_kernel(const uint8_t *p, size_t size, uint64_t mem_size, struct bzimage *b,
			char *err, size_t len)
{
	uint64_t align = get(p, HDR_KERNEL_ALIGNMENT, 4), kernel = size - b->setup_size;

	b->load_addr = get64(p, HDR_PREF_ADDRESS);
	b->init_size = get(p, HDR_INIT_SIZE, 4);
	if (b->init_size < kernel)
		b->init_size = kernel;
	if (get(p, HDR_RELOCATABLE, 1) && align && !(align & (align - 1)) &&
	    (b->load_addr & (align - 1)))
		b->load_addr = (b->load_addr + align - 1) & ~(align - 1);
	if (b->load_addr < 0x100000 || b->load_addr > mem_size ||
	    mem_size - b->load_addr < b->init_size)
		return fail(err, len, "needs %lu MiB of RAM from 0x%lx (init_size); the VM has "
			    "%lu MiB", b->init_size >> 20, b->load_addr, mem_size >> 20);
	return 0;
}

int bzimage_check(const void *img, size_t size, uint64_t mem_size, struct bzimage *b,
		  char *err, size_t len)
{
	const uint8_t *p = img;

	if (check_header(p, size, b, err, len) || place_kernel(p, size, mem_size, b, err, len))
		return -1;
	b->cmdline_max = get(p, HDR_CMDLINE_SIZE, 4);
	b->initrd_max = (uint64_t)get(p, HDR_INITRD_ADDR_MAX, 4) + 1;
	return 0;
}

static void put(uint8_t *zp, unsigned off, uint64_t v, unsigned size)
{
	memcpy(zp + off, &v, size);
}

void bzimage_boot_params(const void *img, const struct boot_params_args *a, uint8_t *zp)
{
	const uint8_t *p = img;
	/* The header runs from 0x1f1 to 0x202 + the byte at 0x201. */
	unsigned hdr_end = HDR_MAGIC + get(p, HDR_JUMP + 1, 1);

	memset(zp, 0, BOOT_PARAMS_SIZE);
	memcpy(zp + HDR_SETUP_SECTS, p + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	put(zp, HDR_TYPE_OF_LOADER, LOADER_UNDEFINED, 1);
	put(zp, HDR_CMD_LINE_PTR, (uint32_t)a->cmdline_gpa, 4);
	put(zp, ZP_EXT_CMD_LINE_PTR, a->cmdline_gpa >> 32, 4);
	put(zp, HDR_RAMDISK_IMAGE, (uint32_t)a->initrd_gpa, 4);
	put(zp, ZP_EXT_RAMDISK_IMAGE, a->initrd_gpa >> 32, 4);
	put(zp, HDR_RAMDISK_SIZE, (uint32_t)a->initrd_size, 4);
	put(zp, ZP_EXT_RAMDISK_SIZE, a->initrd_size >> 32, 4);
	put(zp, ZP_ACPI_RSDP_ADDR, a->acpi_rsdp, 8);
	put(zp, ZP_E820_ENTRIES, a->nr_e820, 1);
	memcpy(zp + ZP_E820_TABLE, a->e820, a->nr_e820 * sizeof(struct e820_entry));
	put(zp, ZP_SENTINEL, 0, 1);
}
