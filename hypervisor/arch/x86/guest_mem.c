/* Guest page walks (SDM vol. 3, 4.3 32-bit, 4.4 PAE, 4.5 4/5-level paging). */
#include <core/vm.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/guest_mem.h>
#include <x86/processor.h>
#include <x86/vendor.h>

#define PTE_P        (1ull << 0)
#define PTE_PS       (1ull << 7)
#define PTE_ADDR     0x000ffffffffff000ull
#define X86_CR4_PSE  (1ull << 4)
#define X86_CR4_LA57 (1ull << 12)

static int read_entry(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t *e)
{
	void *p = vm_gpa_to_hva(v->vm, gpa, size);

	if (!p)
		return -1;
	*e = 0;
	memcpy(e, p, size);
	return 0;
}

/* Walks `levels` levels of 512-entry (8-byte) tables starting at `table`. */
static int walk64(struct vcpu *v, uint64_t table, uint64_t la, unsigned levels, uint64_t *gpa)
{
	for (unsigned l = levels; l >= 1; l--) {
		unsigned shift = 12 + 9 * (l - 1);
		uint64_t e;

		if (read_entry(v, (table & PTE_ADDR) + ((la >> shift) & 511) * 8, 8, &e) ||
		    !(e & PTE_P))
			return -1;
		if (l == 1 || ((e & PTE_PS) && l <= 3)) {
			uint64_t mask = (1ull << shift) - 1;

			*gpa = (e & PTE_ADDR & ~mask) | (la & mask);
			return 0;
		}
		table = e;
	}
	return -1;
}

static int walk32(struct vcpu *v, const struct guest_sregs *s, uint32_t la, uint64_t *gpa)
{
	uint64_t pde, pte;

	if (read_entry(v, (s->cr3 & 0xfffff000) + (la >> 22) * 4, 4, &pde) || !(pde & PTE_P))
		return -1;
	if ((pde & PTE_PS) && (s->cr4 & X86_CR4_PSE)) {
		/* 4 MiB page; bits 13-20 hold physical-address bits 32-39. */
		*gpa = (pde & 0xffc00000) | ((pde & 0x1fe000) << 19) | (la & 0x3fffff);
		return 0;
	}
	if (read_entry(v, (pde & 0xfffff000) + ((la >> 12) & 1023) * 4, 4, &pte) ||
	    !(pte & PTE_P))
		return -1;
	*gpa = (pte & 0xfffff000) | (la & 0xfff);
	return 0;
}

int guest_linear_to_phys(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
			 uint64_t *gpa)
{
	uint64_t pdpte;

	if (!(s->cr0 & X86_CR0_PG)) {
		*gpa = s->efer & EFER_LMA ? la : (uint32_t)la;
		return 0;
	}
	if (s->efer & EFER_LMA)   /* 4- or 5-level paging (SDM 3, 4.5) */
		return walk64(v, s->cr3, la, s->cr4 & X86_CR4_LA57 ? 5 : 4, gpa);
	if (s->cr4 & X86_CR4_PAE) {
		/* Four PDPTEs at CR3[31:5], then a 2-level 64-bit walk. */
		if (read_entry(v, (s->cr3 & 0xffffffe0) + ((la >> 30) & 3) * 8, 8, &pdpte) ||
		    !(pdpte & PTE_P))
			return -1;
		return walk64(v, pdpte, (uint32_t)la, 2, gpa);
	}
	return walk32(v, s, (uint32_t)la, gpa);
}

unsigned guest_read_linear(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
			   void *buf, unsigned len)
{
	unsigned done = 0;

	while (done < len) {
		unsigned chunk = PAGE_SIZE - ((la + done) & (PAGE_SIZE - 1));
		uint64_t gpa;
		void *src;

		if (chunk > len - done)
			chunk = len - done;
		if (guest_linear_to_phys(v, s, la + done, &gpa))
			break;
		src = vm_gpa_to_hva(v->vm, gpa, chunk);
		if (!src)
			break;
		memcpy((uint8_t *)buf + done, src, chunk);
		done += chunk;
	}
	return done;
}

static enum x86_mode code_mode(const struct guest_sregs *s)
{
	if (!(s->cr0 & X86_CR0_PE) || (s->rflags & X86_RFLAGS_VM))
		return X86_MODE_16;
	if ((s->efer & EFER_LMA) && (s->cs.attr & SEG_ATTR_L))
		return X86_MODE_64;
	return s->cs.attr & SEG_ATTR_DB ? X86_MODE_32 : X86_MODE_16;
}

int guest_fetch_insn(struct vcpu *v, struct fetched_insn *f)
{
	struct guest_sregs s;
	uint64_t la;

	vendor->read_sregs(v, &s);
	f->mode = code_mode(&s);
	la = f->mode == X86_MODE_64 ? s.rip : s.cs.base + (uint32_t)s.rip;
	f->nr_bytes = guest_read_linear(v, &s, la, f->bytes, sizeof(f->bytes));
	if (!f->nr_bytes)
		return -1;
	return x86_decode(f->bytes, f->nr_bytes, f->mode, &f->insn);
}

void fetched_insn_hex(const struct fetched_insn *f, char *buf, unsigned len)
{
	unsigned n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < f->nr_bytes && n + 4 < len; i++)
		n += snprintf(buf + n, len - n, i ? " %02x" : "%02x", f->bytes[i]);
	if (!f->nr_bytes)
		snprintf(buf, len, "(unreadable)");
}
