/* ELF64 guest kernels: header checks and segment loading (System V gABI,
 * "ELF-64 Object File Format" 1.5). */
#include <core/elf.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <stdarg.h>
#include <stdbool.h>

#define EI_NIDENT    16
#define ELFCLASS32   1
#define ELFCLASS64   2
#define EM_386       3
#define ELFDATA2LSB  1
#define ET_EXEC      2
#define EM_X86_64    62
#define PT_LOAD      1
#define PF_X         1
#define MAX_PHDRS    64

struct elf64_ehdr {
	uint8_t  e_ident[EI_NIDENT];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint64_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");

struct elf64_phdr {
	uint32_t p_type, p_flags;
	uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");

/* ELF32 images (Multiboot kernels) are read into the 64-bit structs. */
struct elf32_ehdr {
	uint8_t  e_ident[EI_NIDENT];
	uint16_t e_type, e_machine;
	uint32_t e_version, e_entry, e_phoff, e_shoff, e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
_Static_assert(sizeof(struct elf32_ehdr) == 52, "ELF32 header");

struct elf32_phdr {
	uint32_t p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};
_Static_assert(sizeof(struct elf32_phdr) == 32, "ELF32 program header");

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_elf32(const void *img)
{
	return ((const uint8_t *)img)[4] == ELFCLASS32;
}

static int check_header(const struct elf64_ehdr *eh, size_t size, bool allow32, char *err,
			size_t len)
{
	bool elf32 = allow32 && eh->e_ident[4] == ELFCLASS32;
	unsigned phent = elf32 ? sizeof(struct elf32_phdr) : sizeof(struct elf64_phdr);

	if (memcmp(eh->e_ident, "\177ELF", 4))
		return fail(err, len, "not an ELF file (bad magic)");
	if ((!elf32 && eh->e_ident[4] != ELFCLASS64) || eh->e_ident[5] != ELFDATA2LSB)
		return fail(err, len, "not a little-endian %s file (class %u)",
			    allow32 ? "ELF32 or ELF64" : "ELF64", eh->e_ident[4]);
	if (eh->e_machine != (elf32 ? EM_386 : EM_X86_64))
		return fail(err, len, "not an %s image (machine %u)", elf32 ? "i386" : "x86-64",
			    eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return fail(err, len, "not an executable (type %u)", eh->e_type);
	if (eh->e_phentsize != phent || !eh->e_phnum || eh->e_phnum > MAX_PHDRS)
		return fail(err, len, "bad program header table (%u entries)", eh->e_phnum);
	if (eh->e_phoff > size || (size - eh->e_phoff) / phent < eh->e_phnum)
		return fail(err, len, "program headers beyond the end of the file (offset %lu)",
			    eh->e_phoff);
	return 0;
}

/* Headers are copied out: an image read from disk need not be aligned. */
static struct elf64_ehdr ehdr(const void *img)
{
	struct elf64_ehdr eh;
	struct elf32_ehdr e;

	memcpy(&eh, img, sizeof(eh));
	if (!is_elf32(img))
		return eh;
	memcpy(&e, img, sizeof(e));
	eh.e_type = e.e_type;
	eh.e_machine = e.e_machine;
	eh.e_entry = e.e_entry;
	eh.e_phoff = e.e_phoff;
	eh.e_phentsize = e.e_phentsize;
	eh.e_phnum = e.e_phnum;
	return eh;
}

static struct elf64_phdr phdr(const void *img, const struct elf64_ehdr *eh, unsigned i)
{
	const uint8_t *p = (const uint8_t *)img + eh->e_phoff;
	struct elf64_phdr ph;
	struct elf32_phdr p32;

	if (!is_elf32(img)) {
		memcpy(&ph, p + i * sizeof(ph), sizeof(ph));
		return ph;
	}
	memcpy(&p32, p + i * sizeof(p32), sizeof(p32));
	return (struct elf64_phdr){ p32.p_type, p32.p_flags, p32.p_offset, p32.p_vaddr,
				    p32.p_paddr, p32.p_filesz, p32.p_memsz, p32.p_align };
}

static int check_segment(const struct elf64_phdr *ph, size_t size, uint64_t min_paddr,
			 uint64_t mem_size, char *err, size_t len)
{
	if (ph->p_filesz > ph->p_memsz)
		return fail(err, len, "segment at 0x%lx: file size exceeds memory size", ph->p_paddr);
	if (ph->p_offset > size || size - ph->p_offset < ph->p_filesz)
		return fail(err, len, "segment at 0x%lx: data beyond the end of the file",
			    ph->p_paddr);
	if (ph->p_paddr < min_paddr || ph->p_paddr > mem_size ||
	    mem_size - ph->p_paddr < ph->p_memsz)
		return fail(err, len, "segment at 0x%lx does not fit in guest RAM", ph->p_paddr);
	return 0;
}

/* Loadable segments must not overlap in guest-physical memory: one would
 * overwrite the other, and what the kernel then runs depends on the load
 * order. At most MAX_PHDRS headers, so the pairs stay few. */
static int check_overlaps(const void *img, const struct elf64_ehdr *eh, char *err, size_t len)
{
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		struct elf64_phdr a = phdr(img, eh, i);

		if (a.p_type != PT_LOAD || !a.p_memsz)
			continue;
		for (unsigned j = i + 1; j < eh->e_phnum; j++) {
			struct elf64_phdr b = phdr(img, eh, j);

			if (b.p_type == PT_LOAD && b.p_memsz && a.p_paddr < b.p_paddr + b.p_memsz &&
			    b.p_paddr < a.p_paddr + a.p_memsz)
				return fail(err, len, "segments at 0x%lx and 0x%lx overlap",
					    a.p_paddr, b.p_paddr);
		}
	}
	return 0;
}

static int check(const void *img, size_t size, uint64_t min_paddr, uint64_t mem_size,
		 struct elf_image *out, char *err, size_t err_len, bool need_entry, bool allow32)
{
	struct elf64_ehdr eh_copy, *eh = &eh_copy;
	bool entry_ok = false, any = false;

	if (size < sizeof(*eh))
		return fail(err, err_len, "file too short for an ELF header (%zu bytes)", size);
	eh_copy = ehdr(img);
	if (check_header(eh, size, allow32, err, err_len))
		return -1;
	*out = (struct elf_image){ .entry = eh->e_entry, .lowest = UINT64_MAX };
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		struct elf64_phdr ph_copy = phdr(img, eh, i), *ph = &ph_copy;

		if (ph->p_type != PT_LOAD)
			continue;
		if (check_segment(ph, size, min_paddr, mem_size, err, err_len))
			return -1;
		any = true;
		if (ph->p_paddr < out->lowest)
			out->lowest = ph->p_paddr;
		if (ph->p_paddr + ph->p_memsz > out->highest)
			out->highest = ph->p_paddr + ph->p_memsz;
		if ((ph->p_flags & PF_X) && eh->e_entry >= ph->p_paddr &&
		    eh->e_entry - ph->p_paddr < ph->p_memsz)
			entry_ok = true;
	}
	if (!any)
		return fail(err, err_len, "no loadable segment");
	if (check_overlaps(img, eh, err, err_len))
		return -1;
	if (need_entry && !entry_ok)
		return fail(err, err_len, "entry point 0x%lx is not in an executable segment",
			    eh->e_entry);
	return 0;
}

int elf_check(const void *img, size_t size, uint64_t min_paddr, uint64_t mem_size,
	      struct elf_image *out, char *err, size_t err_len)
{
	return check(img, size, min_paddr, mem_size, out, err, err_len, true, false);
}

int elf_check_any_class(const void *img, size_t size, uint64_t min_paddr, uint64_t mem_size,
			struct elf_image *out, char *err, size_t err_len)
{
	return check(img, size, min_paddr, mem_size, out, err, err_len, true, true);
}

int elf_check_segments(const void *img, size_t size, uint64_t min_paddr, uint64_t mem_size,
		       struct elf_image *out, char *err, size_t err_len)
{
	return check(img, size, min_paddr, mem_size, out, err, err_len, false, false);
}

int elf_check_hole(const void *img, uint64_t lo, uint64_t hi, char *err, size_t err_len)
{
	struct elf64_ehdr eh = ehdr(img);

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph = phdr(img, &eh, i);

		if (ph.p_type == PT_LOAD && ph.p_memsz && ph.p_paddr < hi &&
		    lo < ph.p_paddr + ph.p_memsz)
			return fail(err, err_len, "segment at 0x%lx overlaps the hole at 0x%lx-0x%lx "
				    "in guest RAM", ph.p_paddr, lo, hi);
	}
	return 0;
}

#define PT_NOTE 4

/* One PT_NOTE segment: records of namesz, descsz, type, then the name and
 * the descriptor, each padded to 4 bytes (gABI, "Note Section"). */
static int note_in_segment(const uint8_t *p, uint64_t len, const char *name, uint32_t type,
			   uint64_t *value)
{
	size_t name_len = strlen(name) + 1;

	while (len >= 12) {
		uint32_t h[3];
		uint64_t name_sz, desc_sz, rec;

		memcpy(h, p, sizeof(h));
		name_sz = (h[0] + 3ull) & ~3ull;
		desc_sz = (h[1] + 3ull) & ~3ull;
		rec = 12 + name_sz + desc_sz;
		if (rec > len)
			return -1;
		if (h[2] == type && h[0] == name_len && !memcmp(p + 12, name, name_len) &&
		    (h[1] == 4 || h[1] == 8)) {
			*value = 0;
			memcpy(value, p + 12 + name_sz, h[1]);
			return 0;
		}
		p += rec;
		len -= rec;
	}
	return -1;
}

int elf_find_note(const void *img, size_t size, const char *name, uint32_t type,
		  uint64_t *value)
{
	struct elf64_ehdr eh = ehdr(img);

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph = phdr(img, &eh, i);

		if (ph.p_type == PT_NOTE && ph.p_offset <= size && size - ph.p_offset >= ph.p_filesz &&
		    !note_in_segment((const uint8_t *)img + ph.p_offset, ph.p_filesz, name, type,
				     value))
			return 0;
	}
	return -1;
}

void elf_load(const void *img, void *ram)
{
	struct elf64_ehdr eh = ehdr(img);

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph_copy = phdr(img, &eh, i), *ph = &ph_copy;
		uint8_t *dst;

		/* Only PT_LOAD addresses were checked: others may point anywhere. */
		if (ph->p_type != PT_LOAD)
			continue;
		dst = (uint8_t *)ram + ph->p_paddr;
		memcpy(dst, (const uint8_t *)img + ph->p_offset, ph->p_filesz);
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	}
}
