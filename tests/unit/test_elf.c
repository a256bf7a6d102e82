/* ELF64 guest-kernel checks: each refused image names the failed check. */
// UNIT-SOURCES: hypervisor/core/elf.c
#include <stdlib.h>
#include <string.h>
#include <core/elf.h>
#include "unit.h"

#define MEM (16u << 20)

struct image {
	struct {
		uint8_t ident[16];
		uint16_t type, machine;
		uint32_t version;
		uint64_t entry, phoff, shoff;
		uint32_t flags;
		uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
	} eh;
	struct {
		uint32_t type, flags;
		uint64_t offset, vaddr, paddr, filesz, memsz, align;
	} ph[2];
	uint8_t payload[64];
};

static struct image good(void)
{
	struct image im;

	memset(&im, 0, sizeof(im));
	memcpy(im.eh.ident, "\177ELF\2\1\1", 7);
	im.eh.type = 2;
	im.eh.machine = 62;
	im.eh.entry = 0x100010;
	im.eh.phoff = offsetof(struct image, ph);
	im.eh.phentsize = sizeof(im.ph[0]);
	im.eh.phnum = 2;
	im.ph[0] = (typeof(im.ph[0])){ 1, 5, offsetof(struct image, payload), 0x100000,
				       0x100000, 64, 4096, 4096 };
	im.ph[1] = (typeof(im.ph[1])){ 4, 4, 0, 0, 0, 0, 0, 0 };   /* PT_NOTE: ignored */
	for (int i = 0; i < 64; i++)
		im.payload[i] = (uint8_t)i;
	return im;
}

static int check(const struct image *im, size_t size, char *err)
{
	struct elf_image out;

	return elf_check(im, size, 0x10000, MEM, &out, err, 160);
}

#define REFUSED(im, size, text)                                              \
	do {                                                                 \
		char err_[160] = "";                                         \
		CHECK(check(&(im), size, err_) == -1);                       \
		CHECK_MSG(strstr(err_, text) != NULL, "got \"%s\"", err_);   \
	} while (0)

int main(void)
{
	struct image im = good();
	struct elf_image out;
	char err[160];
	uint8_t *ram = calloc(1, MEM);

	CHECK(elf_check(&im, sizeof(im), 0x10000, MEM, &out, err, sizeof(err)) == 0);
	CHECK_EQ(out.entry, 0x100010);
	CHECK_EQ(out.lowest, 0x100000);
	CHECK_EQ(out.highest, 0x101000);
	memset(ram + 0x100000, 0xee, 8192);
	elf_load(&im, ram);
	CHECK_EQ(ram[0x100000 + 63], 63);
	CHECK_EQ(ram[0x100000 + 64], 0);          /* bss zeroed */
	CHECK_EQ(ram[0x100000 + 4095], 0);
	CHECK_EQ(ram[0x100000 + 4096], 0xee);     /* beyond memsz untouched */

	REFUSED(im, 10, "too short");
	im = good(); im.eh.ident[1] = 'X';          REFUSED(im, sizeof(im), "bad magic");
	im = good(); im.eh.ident[4] = 1;            REFUSED(im, sizeof(im), "ELF64");
	im = good(); im.eh.machine = 3;             REFUSED(im, sizeof(im), "x86-64");
	im = good(); im.eh.type = 3;                REFUSED(im, sizeof(im), "not an executable");
	im = good(); im.eh.phnum = 0;               REFUSED(im, sizeof(im), "program header");
	im = good(); im.eh.phoff = 1u << 30;        REFUSED(im, sizeof(im), "beyond the end");
	im = good(); im.eh.phnum = 60;              REFUSED(im, sizeof(im), "beyond the end");
	im = good(); im.ph[0].filesz = 8192;        REFUSED(im, sizeof(im), "file size exceeds");
	im = good(); im.ph[0].offset = 1u << 20;    REFUSED(im, sizeof(im), "beyond the end of the file");
	im = good(); im.ph[0].paddr = 0x8000;       REFUSED(im, sizeof(im), "does not fit");
	im = good(); im.ph[0].paddr = MEM - 100;    REFUSED(im, sizeof(im), "does not fit");
	im = good(); im.ph[0].memsz = ~0ull;        REFUSED(im, sizeof(im), "does not fit");
	im = good(); im.ph[0].type = 6;             REFUSED(im, sizeof(im), "no loadable segment");
	im = good(); im.eh.entry = 0x200000;        REFUSED(im, sizeof(im), "entry point");
	im = good(); im.ph[0].flags = 6;            REFUSED(im, sizeof(im), "entry point");
	im = good(); im.ph[1] = im.ph[0]; im.ph[1].paddr += 4095;
	REFUSED(im, sizeof(im), "segments at 0x100000 and 0x100fff overlap");
	im = good(); im.ph[1] = im.ph[0]; im.ph[1].paddr += 4096;   /* adjacent: fine */
	CHECK(check(&im, sizeof(im), err) == 0);

	/* Holes in the guest's memory map (Multiboot: EBDA, VGA and BIOS). */
	im = good();
	CHECK(elf_check_hole(&im, 0x9fc00, 0x100000, err, sizeof(err)) == 0);    /* just above */
	CHECK(elf_check_hole(&im, 0x101000, 0x102000, err, sizeof(err)) == 0);   /* just below */
	CHECK(elf_check_hole(&im, 0xfffff, 0x100001, err, sizeof(err)) == -1);
	CHECK_MSG(strstr(err, "segment at 0x100000 overlaps the hole") != NULL, "got \"%s\"", err);
	im.ph[0].memsz = 0;                                   /* an empty segment holds nothing */
	CHECK(elf_check_hole(&im, 0xfffff, 0x100001, err, sizeof(err)) == 0);
	free(ram);
	return unit_finish("test_elf");
}
