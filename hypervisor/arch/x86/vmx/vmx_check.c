/*
 * The VM-entry checks on the guest-state area (SDM vol. 3, 27.3.1), as far
 * as Kestrel's guests can get them wrong. Run only after an entry failed,
 * to say which rule was broken; the CPU remains the authority.
 */
#include <lib/printk.h>
#include <stdarg.h>
#include "vmcs.h"
#include "vmx_caps.h"

#define CR0_PE        (1ull << 0)
#define CR0_PG        (1ull << 31)
#define CR4_PAE       (1ull << 5)
#define EFER_LME      (1ull << 8)
#define EFER_LMA      (1ull << 10)
#define RFLAGS_VM     (1ull << 17)
#define RFLAGS_IF     (1ull << 9)
#define RFLAGS_RSVD   (~0x3f7fd7ull)     /* 63:22, 15, 5, 3 must be 0 */
#define AR_TYPE(ar)   ((ar) & 0xf)
#define AR_S          (1u << 4)
#define AR_DPL(ar)    (((ar) >> 5) & 3)
#define AR_P          (1u << 7)
#define AR_L          (1u << 13)
#define AR_DB         (1u << 14)
#define AR_G          (1u << 15)
#define AR_UNUSABLE   (1u << 16)

static const char *const seg_names[8] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };

struct checker {
	const struct vmx_guest_state *g;
	const struct vmx_caps *caps;
	bool ia32e, unrestricted;
	char *buf;
	size_t len;
};

static const char *__attribute__((format(printf, 2, 3)))
failed(struct checker *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->buf, c->len, fmt, ap);
	va_end(ap);
	return c->buf;
}

/* 27.3.1.1: fixed bits of CR0/CR4 (PE/PG exempt with unrestricted guest). */
static const char *check_control_regs(struct checker *c)
{
	const struct vmx_guest_state *g = c->g;
	uint64_t fixed0 = c->caps->cr0_fixed0;

	if (c->unrestricted)
		fixed0 &= ~(CR0_PE | CR0_PG);
	if ((g->cr0 & fixed0) != fixed0 || (g->cr0 & ~c->caps->cr0_fixed1 & 0xffffffff))
		return failed(c, "guest CR0 0x%lx violates the fixed bits (fixed0 0x%lx) "
			      "(SDM 27.3.1.1)", g->cr0, fixed0);
	if ((g->cr4 & c->caps->cr4_fixed0) != c->caps->cr4_fixed0 ||
	    (g->cr4 & ~c->caps->cr4_fixed1))
		return failed(c, "guest CR4 0x%lx violates the fixed bits (fixed0 0x%lx) "
			      "(SDM 27.3.1.1)", g->cr4, c->caps->cr4_fixed0);
	if ((g->cr0 & CR0_PG) && !(g->cr0 & CR0_PE))
		return failed(c, "guest CR0 0x%lx has PG without PE (SDM 27.3.1.1)", g->cr0);
	if (c->ia32e && (!(g->cr0 & CR0_PG) || !(g->cr4 & CR4_PAE)))
		return failed(c, "IA-32e mode guest needs CR0.PG and CR4.PAE (CR0 0x%lx, CR4 0x%lx) "
			      "(SDM 27.3.1.1)", g->cr0, g->cr4);
	if (!!(g->efer & EFER_LMA) != c->ia32e ||
	    ((g->cr0 & CR0_PG) && !!(g->efer & EFER_LME) != !!(g->efer & EFER_LMA)))
		return failed(c, "guest EFER 0x%lx does not match the IA-32e mode guest control (%d) "
			      "(SDM 27.3.1.1)", g->efer, c->ia32e);
	if (g->dr7 >> 32)
		return failed(c, "guest DR7 0x%lx has bits 63:32 set (SDM 27.3.1.1)", g->dr7);
	return NULL;
}

static bool limit_consistent(const struct vmx_seg_state *s)
{
	if ((s->limit & 0xfff) != 0xfff && (s->ar & AR_G))
		return false;
	if ((s->limit >> 20) && !(s->ar & AR_G))
		return false;
	return true;
}

static const char *check_cs_ss(struct checker *c)
{
	const struct vmx_seg_state *cs = &c->g->seg[VMCS_SEG_CS], *ss = &c->g->seg[VMCS_SEG_SS];
	uint32_t type = AR_TYPE(cs->ar);

	if (!(type == 9 || type == 11 || type == 13 || type == 15 ||
	      (c->unrestricted && type == 3)))
		return failed(c, "guest CS access rights 0x%x: type %u is not an accessed code "
			      "segment (SDM 27.3.1.2)", cs->ar, type);
	if (!(cs->ar & AR_S) || !(cs->ar & AR_P) || (cs->ar & AR_UNUSABLE))
		return failed(c, "guest CS access rights 0x%x: must be present, S=1 and usable "
			      "(SDM 27.3.1.2)", cs->ar);
	if (c->ia32e && (cs->ar & AR_L) && (cs->ar & AR_DB))
		return failed(c, "guest CS access rights 0x%x: L and D/B both set in IA-32e mode "
			      "(SDM 27.3.1.2)", cs->ar);
	if (!(ss->ar & AR_UNUSABLE) && AR_TYPE(ss->ar) != 3 && AR_TYPE(ss->ar) != 7)
		return failed(c, "guest SS access rights 0x%x: type must be 3 or 7 "
			      "(SDM 27.3.1.2)", ss->ar);
	if (!c->unrestricted && AR_DPL(ss->ar) != (ss->sel & 3))
		return failed(c, "guest SS DPL %u differs from its selector RPL (selector 0x%x) "
			      "(SDM 27.3.1.2)", AR_DPL(ss->ar), ss->sel);
	return NULL;
}

static const char *check_system_segs(struct checker *c)
{
	const struct vmx_seg_state *tr = &c->g->seg[VMCS_SEG_TR];
	const struct vmx_seg_state *ldtr = &c->g->seg[VMCS_SEG_LDTR];
	uint32_t type = AR_TYPE(tr->ar);

	if ((tr->ar & AR_UNUSABLE) || (tr->ar & AR_S) || !(tr->ar & AR_P) ||
	    (type != 11 && (c->ia32e || type != 3)) || (tr->sel & 4))
		return failed(c, "guest TR (selector 0x%x, access rights 0x%x) must be a present, "
			      "usable busy TSS in the GDT (SDM 27.3.1.2)", tr->sel, tr->ar);
	if (!(ldtr->ar & AR_UNUSABLE) &&
	    (AR_TYPE(ldtr->ar) != 2 || (ldtr->ar & AR_S) || !(ldtr->ar & AR_P)))
		return failed(c, "guest LDTR access rights 0x%x: a usable LDTR must be a present "
			      "LDT descriptor (SDM 27.3.1.2)", ldtr->ar);
	return NULL;
}

static const char *check_segments(struct checker *c)
{
	const char *why = check_cs_ss(c);

	if (why || (why = check_system_segs(c)))
		return why;
	for (unsigned i = 0; i < 8; i++) {
		const struct vmx_seg_state *s = &c->g->seg[i];

		if (s->ar & AR_UNUSABLE)
			continue;
		if ((s->ar & 0xfffe0f00) != 0)
			return failed(c, "guest %s access rights 0x%x: reserved bits set "
				      "(SDM 27.3.1.2)", seg_names[i], s->ar);
		if (!limit_consistent(s))
			return failed(c, "guest %s limit 0x%x does not match its granularity bit "
				      "(SDM 27.3.1.2)", seg_names[i], s->limit);
	}
	return NULL;
}

static bool canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* 27.3.1.3 RIP and RFLAGS, 27.3.1.5 non-register state. */
static const char *check_rip_rflags_state(struct checker *c)
{
	const struct vmx_guest_state *g = c->g;
	bool long_cs = c->ia32e && (g->seg[VMCS_SEG_CS].ar & AR_L);

	if (long_cs ? !canonical(g->rip) : (g->rip >> 32))
		return failed(c, "guest RIP 0x%lx is not valid for the code segment "
			      "(SDM 27.3.1.3)", g->rip);
	if ((g->rflags & RFLAGS_RSVD) || !(g->rflags & 2))
		return failed(c, "guest RFLAGS 0x%lx: reserved bits wrong (SDM 27.3.1.3)",
			      g->rflags);
	if ((g->rflags & RFLAGS_VM) && (c->ia32e || !(g->cr0 & CR0_PE)))
		return failed(c, "guest RFLAGS 0x%lx: VM set outside protected mode "
			      "(SDM 27.3.1.3)", g->rflags);
	if (g->activity > 3)
		return failed(c, "guest activity state %u is not valid (SDM 27.3.1.5)",
			      g->activity);
	if ((g->interruptibility & ~0x1fu) ||
	    ((g->interruptibility & INTERRUPTIBILITY_STI) && !(g->rflags & RFLAGS_IF)))
		return failed(c, "guest interruptibility 0x%x is not valid with RFLAGS 0x%lx "
			      "(SDM 27.3.1.5)", g->interruptibility, g->rflags);
	if (g->link_pointer != ~0ull)
		return failed(c, "VMCS link pointer 0x%lx is not all-ones (SDM 27.3.1.5)",
			      g->link_pointer);
	return NULL;
}

const char *vmx_check_guest_state(const struct vmx_guest_state *g, const struct vmx_caps *caps,
				  char *buf, size_t len)
{
	struct checker c = {
		.g = g, .caps = caps, .buf = buf, .len = len,
		.ia32e = g->entry_controls & ENTRY_IA32E_MODE,
		.unrestricted = g->proc2 & PROC2_UNRESTRICTED,
	};
	const char *why = check_control_regs(&c);

	if (!why)
		why = check_segments(&c);
	if (!why)
		why = check_rip_rflags_state(&c);
	return why;
}
