/* Guest memory through the guest's own paging (x86/guest_walk.c walks). */
#include <core/vm.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/guest_mem.h>
#include <x86/processor.h>
#include <x86/vendor.h>

static int read_entry(void *ctx, uint64_t gpa, unsigned size, uint64_t *e)
{
	void *p = vm_gpa_to_hva(ctx, gpa, size);

	if (!p)
		return -1;
	*e = 0;
	memcpy(e, p, size);
	return 0;
}

int guest_walk_vcpu(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
		    struct guest_walk *w)
{
	return guest_walk(s, la, read_entry, v->vm, w);
}

int guest_linear_to_phys(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
			 uint64_t *gpa)
{
	struct guest_walk w;

	if (guest_walk_vcpu(v, s, la, &w))
		return -1;
	*gpa = w.gpa;
	return 0;
}

uint64_t guest_rip(struct vcpu *v)
{
	struct guest_sregs s;

	vendor->read_sregs(v, &s);
	return s.rip;
}

/* Page by page through the guest's tables into its RAM. */
static unsigned copy_linear(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
			    uint8_t *buf, unsigned len, bool write)
{
	unsigned done = 0;

	while (done < len) {
		unsigned chunk = PAGE_SIZE - ((la + done) & (PAGE_SIZE - 1));
		uint64_t gpa;
		uint8_t *ram;

		if (chunk > len - done)
			chunk = len - done;
		if (guest_linear_to_phys(v, s, la + done, &gpa) ||
		    !(ram = vm_gpa_to_hva(v->vm, gpa, chunk)))
			break;
		if (write)
			memcpy(ram, buf + done, chunk);
		else
			memcpy(buf + done, ram, chunk);
		done += chunk;
	}
	return done;
}

unsigned guest_read_linear(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
			   void *buf, unsigned len)
{
	return copy_linear(v, s, la, buf, len, false);
}

unsigned guest_write_linear(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
			    const void *buf, unsigned len)
{
	return copy_linear(v, s, la, (uint8_t *)buf, len, true);
}

static enum x86_mode code_mode(const struct guest_sregs *s)
{
	if (!(s->cr0 & X86_CR0_PE) || (s->rflags & X86_RFLAGS_VM))
		return X86_MODE_16;
	if ((s->efer & EFER_LMA) && (s->cs.attr & SEG_ATTR_L))
		return X86_MODE_64;
	return s->cs.attr & SEG_ATTR_DB ? X86_MODE_32 : X86_MODE_16;
}

uint64_t guest_code_linear(const struct guest_sregs *s)
{
	return code_mode(s) == X86_MODE_64 ? s->rip : s->cs.base + (uint32_t)s->rip;
}

int guest_fetch_insn(struct vcpu *v, struct fetched_insn *f)
{
	struct guest_sregs s;

	vendor->read_sregs(v, &s);
	f->mode = code_mode(&s);
	f->nr_bytes = guest_read_linear(v, &s, guest_code_linear(&s), f->bytes, sizeof(f->bytes));
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
