/*
 * Console views of a guest: `mem`, `walk` and `vcpu` (issue 11).
 *
 * Consistency: the console runs on the one CPU that runs every vCPU, from
 * the scheduler's housekeeping between two guest runs (core/sched.c). No
 * vCPU is in the guest while a view reads its VMCB/VMCS, registers or RAM,
 * so each command shows one snapshot, even of a VM that is not paused.
 * Guest-virtual addresses go through vCPU 0's paging as of its last exit.
 */
#include <core/console_views.h>
#include <core/tsc.h>
#include <core/vm.h>
#include <devices/lapic.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/guest_mem.h>
#include <x86/guest_walk.h>
#include <x86/cpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>

#define MEM_DEFAULT_LEN 64

bool console_parse_u64(const char *s, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

/* A VM that ran: its RAM and vCPUs exist. */
static struct vm *view_vm(const char *arg)
{
	struct vm *vm = console_arg_vm(arg);

	if (vm && vm->state == VM_FAILED) {
		printk("error: vm %u (%s) did not start (%s)\n", vm->id, vm->name, vm->stop_reason);
		return NULL;
	}
	if (vm && !vm->nr_vcpus) {
		printk("error: vm %u (%s) has no vCPUs\n", vm->id, vm->name);
		return NULL;
	}
	return vm;
}

static bool parse_addr(const char *arg, const char *what, uint64_t *addr)
{
	if (console_parse_u64(arg, addr))
		return true;
	printk("error: bad %s \"%s\" (a number: 0x... hex or decimal)\n", what, arg);
	return false;
}

/* ---- mem ---- */

static uint8_t mem_buf[CONSOLE_MEM_MAX];

static void hexdump(uint64_t addr, const uint8_t *p, unsigned len)
{
	for (unsigned off = 0; off < len; off += 16) {
		char hex[16 * 3 + 2], ascii[17];
		unsigned n = 0, i;

		for (i = 0; i < 16 && off + i < len; i++) {
			uint8_t b = p[off + i];

			n += snprintf(hex + n, sizeof(hex) - n, i == 8 ? "  %02x" : i ? " %02x" :
				      "%02x", b);
			ascii[i] = b >= 0x20 && b < 0x7f ? (char)b : '.';
		}
		ascii[i] = '\0';
		printk("%016lx  %-48s |%s|\n", addr + off, hex, ascii);
	}
}

/* Why a guest-virtual read ended at la, for the message. */
static void mem_why(const struct guest_walk *w)
{
	const struct guest_walk_step *st = &w->steps[w->nr_steps ? w->nr_steps - 1 : 0];

	if (w->status == GUEST_WALK_NON_CANONICAL)
		printk("error: 0x%lx is not canonical (%s)\n", w->la,
		       guest_paging_name(w->mode));
	else if (w->status != GUEST_WALK_OK)
		printk("error: 0x%lx is not mapped: %s entry at gpa 0x%lx %s (see `walk`)\n",
		       w->la, guest_walk_level_name(st->level), st->entry_gpa,
		       w->status == GUEST_WALK_NOT_PRESENT ? "not present" : "not in guest RAM");
	else
		printk("error: 0x%lx maps to gpa 0x%lx, not guest RAM\n", w->la, w->gpa);
}

/* Copies up to len bytes at guest-virtual la; how many could be read. */
static unsigned mem_read_virt(struct vm *vm, uint64_t la, unsigned len)
{
	struct vcpu *v = vm->vcpus[0];
	struct guest_sregs s;
	unsigned done = 0;

	vendor->read_sregs(v, &s);
	while (done < len) {
		unsigned chunk = PAGE_SIZE - ((la + done) & (PAGE_SIZE - 1));
		struct guest_walk w;
		void *src = NULL;

		if (chunk > len - done)
			chunk = len - done;
		if (!guest_walk_vcpu(v, &s, la + done, &w))
			src = vm_gpa_to_hva(vm, w.gpa, chunk);
		if (!src) {
			mem_why(&w);
			break;
		}
		memcpy(mem_buf + done, src, chunk);
		done += chunk;
	}
	return done;
}

static unsigned mem_read_phys(struct vm *vm, uint64_t gpa, unsigned len)
{
	uint64_t avail = gpa < vm->mem_size ? vm->mem_size - gpa : 0;

	if (avail < len) {
		printk("error: gpa 0x%lx is outside guest RAM (0..0x%lx)\n", gpa + avail,
		       vm->mem_size - 1);
		len = (unsigned)avail;
	}
	if (len)
		memcpy(mem_buf, vm_gpa_to_hva(vm, gpa, len), len);
	return len;
}

void console_cmd_mem(int argc, char **argv)
{
	struct vm *vm = view_vm(argv[1]);
	bool phys = !strncmp(argv[2], "p:", 2);
	uint64_t addr, len = MEM_DEFAULT_LEN;
	unsigned got;

	if (!vm || !parse_addr(argv[2] + (phys ? 2 : 0), "address", &addr) ||
	    (argc > 3 && !parse_addr(argv[3], "length", &len)))
		return;
	if (len > CONSOLE_MEM_MAX) {
		printk("note: length capped at %u bytes\n", CONSOLE_MEM_MAX);
		len = CONSOLE_MEM_MAX;
	}
	got = phys ? mem_read_phys(vm, addr, (unsigned)len) :
		     mem_read_virt(vm, addr, (unsigned)len);
	if (!got)
		return;
	printk("vm %u (%s) %s 0x%lx, %u bytes:\n", vm->id, vm->name,
	       phys ? "guest-physical" : "guest-virtual", addr, got);
	hexdump(addr, mem_buf, got);
}

/* ---- walk ---- */

/* P, RW, U/S, PS, XD (SDM 3, tables 4-14..4-20; same bits in 32-bit and
 * PAE entries, XD only in 64-bit ones). */
static void walk_print_guest_step(const struct guest_walk_step *st)
{
	uint64_t e = st->entry;

	printk("  L%u %-4s at gpa 0x%lx: 0x%0*lx  P=%u RW=%u US=%u PS=%u NX=%u%s\n",
	       st->level, guest_walk_level_name(st->level), st->entry_gpa, st->size * 2, e,
	       (unsigned)(e & 1), (unsigned)(e >> 1) & 1, (unsigned)(e >> 2) & 1,
	       (unsigned)(e >> 7) & 1, st->size == 8 ? (unsigned)(e >> 63) : 0,
	       st->leaf ? "  leaf" : "");
}

static void walk_print_guest(const struct guest_sregs *s, const struct guest_walk *w)
{
	printk("guest %s, CR3 0x%lx, gva 0x%lx:\n", guest_paging_name(w->mode), s->cr3, w->la);
	for (unsigned i = 0; i < w->nr_steps; i++)
		walk_print_guest_step(&w->steps[i]);
	if (w->status == GUEST_WALK_OK)
		printk("  guest: gpa 0x%lx (%lu KiB page, %s, %s, %s)\n", w->gpa,
		       (1ul << w->page_shift) >> 10, w->writable ? "writable" : "read-only",
		       w->user ? "user" : "supervisor", w->nx ? "no-execute" : "executable");
	else if (w->status == GUEST_WALK_NON_CANONICAL)
		printk("  guest: stopped: not canonical\n");
	else
		printk("  guest: stopped at L%u (%s): %s\n", w->steps[w->nr_steps - 1].level,
		       guest_walk_level_name(w->steps[w->nr_steps - 1].level),
		       guest_walk_status_name(w->status));
}

static void walk_print_nested(const struct vm *vm, uint64_t gpa)
{
	const struct pt_format *fmt = vm->npt.fmt;
	struct pt_walk w;

	pt_walk(&vm->npt, gpa, &w);
	printk("nested %s, root 0x%lx, gpa 0x%lx:\n", fmt->name, vm->npt.root_pa, gpa);
	for (unsigned i = 0; i < w.nr_steps; i++) {
		const struct pt_walk_step *st = &w.steps[i];
		unsigned r = fmt->rights(st->entry);
		bool leaf = w.mapped && i + 1 == w.nr_steps;

		printk("  L%u at hpa 0x%lx: 0x%016lx  %c%c%c%s%s\n", st->level, st->entry_pa,
		       st->entry, r & PT_READ ? 'R' : '-', r & PT_WRITE ? 'W' : '-',
		       r & PT_EXEC ? 'X' : '-', leaf && (r & PT_UNCACHED) ? " UC" : "",
		       leaf ? "  leaf" : "");
	}
	if (w.mapped)
		printk("  nested: hpa 0x%lx (%lu KiB page)\n", w.pa,
		       (1ul << (PAGE_SHIFT + 9 * (w.level - 1))) >> 10);
	else
		printk("  nested: not mapped: gpa 0x%lx is not guest RAM (0..0x%lx)\n", gpa,
		       vm->mem_size - 1);
}

void console_cmd_walk(int argc, char **argv)
{
	struct vm *vm = view_vm(argv[1]);
	struct guest_sregs s;
	struct guest_walk w;
	uint64_t la;

	(void)argc;
	if (!vm || !parse_addr(argv[2], "address", &la))
		return;
	vendor->read_sregs(vm->vcpus[0], &s);
	printk("vm %u (%s) vcpu 0:\n", vm->id, vm->name);
	guest_walk_vcpu(vm->vcpus[0], &s, la, &w);
	walk_print_guest(&s, &w);
	if (w.status == GUEST_WALK_OK)
		walk_print_nested(vm, w.gpa);
}

/* ---- vcpu ---- */

static void print_bits(const char *name, uint64_t val, const char *const *names, unsigned n)
{
	printk("  %-4s 0x%016lx [", name, val);
	for (unsigned i = 0, first = 1; i < n; i++)
		if (names[i] && (val & (1ull << i))) {
			printk("%s%s", first ? "" : " ", names[i]);
			first = 0;
		}
	printk("]\n");
}

static const char *const cr0_names[32] = {
	[0] = "PE", [1] = "MP", [2] = "EM", [3] = "TS", [4] = "ET", [5] = "NE", [16] = "WP",
	[18] = "AM", [29] = "NW", [30] = "CD", [31] = "PG",
};
static const char *const cr4_names[25] = {
	[0] = "VME", [1] = "PVI", [2] = "TSD", [3] = "DE", [4] = "PSE", [5] = "PAE",
	[6] = "MCE", [7] = "PGE", [8] = "PCE", [9] = "OSFXSR", [10] = "OSXMMEXCPT",
	[11] = "UMIP", [12] = "LA57", [13] = "VMXE", [16] = "FSGSBASE", [17] = "PCIDE",
	[18] = "OSXSAVE", [20] = "SMEP", [21] = "SMAP", [22] = "PKE", [23] = "CET", [24] = "PKS",
};
static const char *const efer_names[16] = {
	[0] = "SCE", [8] = "LME", [10] = "LMA", [11] = "NXE", [12] = "SVME", [14] = "FFXSR",
	[15] = "TCE",
};

/* Attributes in the packed VMCB layout (x86/regs.h). */
static void print_seg(const char *name, const struct x86_segment *g)
{
	printk("  %-4s sel 0x%04x base 0x%016lx limit 0x%08x attr 0x%03x type %x%s DPL%u%s%s%s%s\n",
	       name, g->sel, g->base, g->limit, g->attr, g->attr & 0xf,
	       g->attr & (1u << 4) ? " S" : "", SEG_ATTR_DPL(g->attr),
	       g->attr & SEG_ATTR_P ? " P" : " not-present", g->attr & SEG_ATTR_L ? " L" : "",
	       g->attr & SEG_ATTR_DB ? " DB" : "", g->attr & SEG_ATTR_G ? " G" : "");
}

static void print_event(const char *what, const struct guest_event *e)
{
	static const char *const types[8] = {
		"external interrupt", "?", "NMI", "exception", "software interrupt",
		"privileged software exception", "software exception", "?",
	};

	if (!e->valid) {
		printk("  %s: none\n", what);
		return;
	}
	printk("  %s: vector %u (%s)", what, e->vector, types[e->type & 7]);
	if (e->has_error)
		printk(" error 0x%x", e->error);
	printk("\n");
}

static void print_events(struct vcpu *v)
{
	struct guest_events ev;

	vendor->read_events(v, &ev);
	print_event("injecting", &ev.inject);
	print_event("interrupted by the last exit", &ev.interrupted);
	printk("  interrupt shadow %s, NMI blocked %s, NMI pending %s, highest pending "
	       "interrupt %d", ev.shadow ? "yes" : "no", ev.nmi_blocked ? "yes" : "no",
	       v->nmi_pending ? "yes" : "no", vcpu_pending_irq(v));
	if (ev.offered_irq >= 0)
		printk(", offered (V_IRQ) %d", ev.offered_irq);
	if (ev.irq_window)
		printk(", interrupt-window exit requested");
	printk("\n");
}

static void print_lapic(const struct vcpu *v)
{
	static const char *const modes[4] = { "one-shot", "periodic", "TSC-deadline", "?" };
	struct lapic_state a;

	if (!lapic_get_state(v, &a)) {
		printk("  LAPIC: none\n");
		return;
	}
	printk("  LAPIC id %u %s%s%s, TPR 0x%02x PPR 0x%02x SVR 0x%03x, ISR highest %d, "
	       "IRR highest %d\n", a.id, a.x2apic ? "x2APIC" : "xAPIC",
	       a.enabled ? "" : " disabled", a.sw_enabled ? "" : " software-disabled", a.tpr,
	       a.ppr, a.svr, a.isr_highest, a.irr_highest);
	printk("  LAPIC timer %s vector %u%s, initial count %u, current count %u, divide 0x%x, "
	       "deadline %lu\n", modes[a.timer_mode & 3], a.lvt_timer & 0xff,
	       a.lvt_timer & (1u << 16) ? " masked" : "", a.timer_init, a.timer_current,
	       a.timer_div, a.timer_deadline);
}

/* The paravirtual one-shot timer (HV_HC_TIMER_SET), in the guest's TSC. */
static void print_pv_timer(const struct vcpu *v)
{
	uint64_t now = rdtsc(), khz = tsc_khz() ? tsc_khz() : 1;

	if (!v->timer_deadline) {
		printk("  PV timer not armed\n");
		return;
	}
	printk("  PV timer vector 0x%02x, deadline %lu (guest TSC), %s %lu us\n",
	       v->timer_vector, tsc_host_to_guest(v->vm, v->timer_deadline),
	       v->timer_deadline > now ? "in" : "passed",
	       (v->timer_deadline > now ? v->timer_deadline - now : now - v->timer_deadline) *
	       1000 / khz);
}

static const char *const vcpu_states[] = {
	[VCPU_RUNNABLE] = "runnable", [VCPU_HALTED] = "halted", [VCPU_PARKED] = "parked",
	[VCPU_WAIT_SIPI] = "waiting for SIPI",
};

void console_cmd_vcpu(int argc, char **argv)
{
	struct vm *vm = view_vm(argv[1]);
	struct guest_sregs s;
	struct vcpu *v;
	uint64_t n;

	(void)argc;
	if (!vm || !parse_addr(argv[2], "vCPU number", &n))
		return;
	if (n >= vm->nr_vcpus) {
		printk("error: vm %u (%s) has %u vCPU(s): no vCPU %lu\n", vm->id, vm->name,
		       vm->nr_vcpus, n);
		return;
	}
	v = vm->vcpus[n];
	vendor->read_sregs(v, &s);
	printk("vm %u (%s) vcpu %u: %s%s, %s, RIP 0x%lx RFLAGS 0x%lx\n", vm->id,
	       vm->name, v->id, vcpu_states[v->state], v->debug_hold ? " (held by gdb)" : "",
	       guest_paging_name(guest_paging_mode(&s)), s.rip, s.rflags);
	printk("  runs on physical CPU %u\n", v->home);
	print_bits("CR0", s.cr0, cr0_names, 32);
	printk("  CR2  0x%016lx\n  CR3  0x%016lx\n", s.cr2, s.cr3);
	print_bits("CR4", s.cr4, cr4_names, 25);
	printk("  CR8  0x%x (TPR[7:4])\n", v->lapic ? lapic_read_cr8(v) : 0);
	print_bits("EFER", s.efer, efer_names, 16);
	print_seg("CS", &s.cs);
	print_seg("SS", &s.ss);
	print_seg("DS", &s.ds);
	print_seg("ES", &s.es);
	print_seg("FS", &s.fs);
	print_seg("GS", &s.gs);
	print_seg("TR", &s.tr);
	print_seg("LDTR", &s.ldtr);
	printk("  GDTR base 0x%016lx limit 0x%04x\n  IDTR base 0x%016lx limit 0x%04x\n",
	       s.gdtr.base, s.gdtr.limit, s.idtr.base, s.idtr.limit);
	print_events(v);
	print_lapic(v);
	print_pv_timer(v);
}
