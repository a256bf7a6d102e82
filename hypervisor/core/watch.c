/*
 * Watches (include/core/watch.h): the altp2m/mem_access idea on the nested
 * page tables. A write-watched page keeps its read and execute rights and
 * loses write; a read-watched page loses every right (NPT has no page that
 * can be fetched and written but not read). An access that faults there is
 * decoded like an MMIO load or store, done in guest RAM here and, when it
 * touches a range watched for its kind, logged. An access the decoder does
 * not take (a string or read-modify-write instruction, a page-table A/D
 * update, an event frame, an instruction fetch from a read-watched page)
 * ends the watches on that page, with a note naming it, and runs again
 * unwatched: a console watch never stops the guest. A watch of the gdb
 * stub's (a Z2, Z3 or Z4 watchpoint) is not logged: once the access is
 * done, the VM stops for gdb, as after a hardware data breakpoint, which
 * traps after the access.
 * An execute-watched page loses the execute right: each fetch from it
 * faults. An instruction that starts in the range is logged (the console's
 * watch) or stops the VM before it runs (gdb's hbreak, as the CPU's
 * instruction breakpoints do); then it, like any other instruction of the
 * page, runs one step with the right back (GUEST_DEBUG_STEP: MTF on VMX,
 * TF on SVM) and the page loses it again. The VM's other vCPUs are not
 * held meanwhile: one of them running that page in the window passes
 * unseen.
 */
#include <core/cpus.h>
#include <core/console_views.h>
#include <core/handlers.h>
#include <core/trace.h>
#include <core/vm.h>
#include <core/watch.h>
#include <debug/gdb_stub.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/guest_mem.h>
#include <x86/guest_walk.h>
#include <x86/insn.h>
#include <x86/paging.h>
#include <x86/vendor.h>

/* By VM id; `root` is the nested root the protections were made in: a VM
 * destroyed and built again has new tables, and its old watches are gone. */
static struct vm_watches {
	struct watch_set set;
	uint64_t root;
} watches[MAX_VMS];

static struct watch_set *watch_set_of(struct vm *vm)
{
	struct vm_watches *w = vm->id < MAX_VMS ? &watches[vm->id] : NULL;

	if (w && w->root != vm->npt.root_pa) {
		memset(&w->set, 0, sizeof(w->set));
		w->root = vm->npt.root_pa;
	}
	return w ? &w->set : NULL;
}

/* A vCPU of the VM steps over an instruction of the page. */
static bool stepping_over(const struct vm *vm, uint64_t page)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct exec_step *x = &vm->vcpus[i]->exec_step;

		if (x->on && (x->pages[0] == page || x->pages[1] == page))
			return true;
	}
	return false;
}

/* A page's rights in the nested tables: none while a read-watch covers
 * it, without write while a write-watch does, without execute while an
 * execute watch does (but during a step over), all rights again once none
 * does. */
static unsigned page_rights(const struct vm *vm, const struct watch_set *s, uint64_t page)
{
	unsigned access = watch_set_page_access(s, page);

	if (access & WATCH_READ)
		return 0;
	return PT_RWX & ~(access & WATCH_WRITE ? PT_WRITE : 0) &
	       ~(access & WATCH_EXEC && !stepping_over(vm, page) ? PT_EXEC : 0);
}

/* What a watch's hits are called in the console's lines. */
static const char *hits_noun(unsigned access)
{
	return access == WATCH_READ ? "reads" : access == WATCH_WRITE ? "writes" :
	       access == WATCH_EXEC ? "executions" : "accesses";
}

/* Every page of [gpa, gpa+len), its rights as page_rights says. */
static int watch_apply(struct vm *vm, const struct watch_set *s, uint64_t gpa, uint64_t len)
{
	int r = 0;

	for (uint64_t page = gpa & ~0xfffull; page < gpa + len; page += PAGE_SIZE)
		r |= pt_protect(&vm->npt, page, PAGE_SIZE, page_rights(vm, s, page));
	vendor->flush_nested(vm);
	cpus_leave_guest(vm);
	return r;
}

/* The page's rights again, after a step over began or ended there. */
static int watch_page_refresh(struct vm *vm, uint64_t page)
{
	struct watch_set *s = watch_set_of(vm);

	return s ? watch_apply(vm, s, page & ~0xfffull, PAGE_SIZE) : -1;
}

static void watch_remove(struct vm *vm, struct watch_set *s, unsigned i)
{
	uint64_t gpa = s->w[i].gpa, len = s->w[i].len;

	watch_set_remove(s, i);
	watch_apply(vm, s, gpa, len);
}

/* The write at the fault cannot be done here: the page's watches end. */
static void watch_give_up(struct vcpu *v, struct watch_set *s, uint64_t gpa,
			  const char *what)
{
	int i;

	while ((i = watch_set_hit(s, gpa & ~0xfffull, PAGE_SIZE)) >= 0) {
		printk("watch: vm %u (%s) vcpu %u: watch at gpa 0x%lx ends after %lu %s: %s "
		       "at gpa 0x%lx is not emulated\n", v->vm->id, v->vm->name, v->id,
		       s->w[i].gpa, s->w[i].hits, hits_noun(s->w[i].access), what, gpa);
		watch_remove(v->vm, s, (unsigned)i);
	}
}

/* kind: WATCH_READ, WATCH_WRITE (of `size` bytes, `value`) or WATCH_EXEC. */
static void watch_log(struct vcpu *v, struct watch *w, uint64_t gpa, unsigned size,
		      uint64_t value, unsigned kind)
{
	w->hits++;
	if (w->owner != WATCH_CONSOLE)
		return;
	if (w->hits <= WATCH_LOG_MAX && kind == WATCH_EXEC)
		printk("watch: vm %u (%s) vcpu %u rip 0x%lx executed at gpa 0x%lx\n",
		       v->vm->id, v->vm->name, v->id, guest_rip(v), gpa);
	else if (w->hits <= WATCH_LOG_MAX)
		printk("watch: vm %u (%s) vcpu %u rip 0x%lx %s 0x%lx (%u bytes) at gpa 0x%lx\n",
		       v->vm->id, v->vm->name, v->id, guest_rip(v),
		       kind == WATCH_WRITE ? "wrote" : "read", value, size, gpa);
	if (w->hits == WATCH_LOG_MAX)
		printk("watch: vm %u (%s): %u %s at gpa 0x%lx shown, the rest only counted "
		       "(`watch`)\n", v->vm->id, v->vm->name, WATCH_LOG_MAX, hits_noun(w->access),
		       w->gpa);
}

/* The access is done: the first gdb watch it touched stops the VM, with
 * the address in gdb's terms (within the watch). Before the instruction
 * completes, so that a gdb step ending with it says so too. */
static void watch_stop(struct vcpu *v, const struct watch_set *s, unsigned hits, uint64_t gpa)
{
	for (unsigned i = 0; i < WATCH_MAX; i++) {
		const struct watch *w = &s->w[i];

		if (hits & 1u << i && w->owner == WATCH_GDB) {
			gdb_stub_watch_hit(v, w->tag + (gpa > w->gpa ? gpa - w->gpa : 0), w->access);
			return;
		}
	}
}

/* The fault's access, as the decoder saw it: a MOV store for a write fault,
 * a MOV load (or MOVZX, MOVSX) for a read fault. */
static bool access_matches(const struct exit_info *e, const struct x86_mmio_op *op)
{
	bool store = op->kind == X86_MMIO_STORE_REG || op->kind == X86_MMIO_STORE_IMM;

	return store == e->npf.write;
}

/* ---- execute watches ---- */

void vcpu_debug_update(struct vcpu *v)
{
	vendor->set_guest_debug(v, gdb_stub_debug_flags(v) |
				   (v->exec_step.on ? GUEST_DEBUG_STEP : 0));
}

/* After STI, MOV SS or POP SS, the RIP of the instruction in their shadow;
 * else 0. */
static uint64_t shadowed_rip(struct vcpu *v)
{
	struct fetched_insn f;

	if (guest_fetch_insn(v, &f) || f.insn.map != X86_MAP_1B ||
	    !(f.insn.opcode == 0xfb || f.insn.opcode == 0x17 ||
	      (f.insn.opcode == 0x8e && f.insn.reg == 2)))
		return 0;
	return guest_rip(v) + f.insn.len;
}

/*
 * The step over the instruction at RIP, with the page's execute right back.
 * A step over STI, MOV SS or POP SS that stops right after it goes on
 * through the next instruction: the exit between them lost the interrupt
 * shadow (Bochs saves none at the step's #DB), so an interrupt came between
 * `sti` and `hlt`, and the guest halted with the wake-up it waited for
 * already taken. No interrupt is offered during a step, which keeps the
 * shadow's promise. (Under QEMU the step ends after the shadowed
 * instruction: a version that always stepped one more hung there.)
 */
static void step_over(struct vcpu *v, uint64_t page, uint64_t la)
{
	struct exec_step *x = &v->exec_step;

	if (x->on)                                 /* crossing into a second page */
		x->pages[1] = page;
	else
		*x = (struct exec_step){ .on = true, .pages = { page, page }, .la = la,
					 .shadow_rip = shadowed_rip(v) };
	if (watch_page_refresh(v->vm, page))
		printk("watch: no memory to give vm %u page 0x%lx its execute right back\n",
		       v->vm->id, page);
	vcpu_debug_update(v);
}

static void step_over_end(struct vcpu *v)
{
	v->exec_step.on = false;
	v->exec_step.shadow_rip = 0;
	watch_page_refresh(v->vm, v->exec_step.pages[0]);
	if (v->exec_step.pages[1] != v->exec_step.pages[0])
		watch_page_refresh(v->vm, v->exec_step.pages[1]);
	vcpu_debug_update(v);
}

void watch_vcpu_reset(struct vcpu *v)
{
	if (v->exec_step.on)
		step_over_end(v);
}

bool watch_step_done(struct vcpu *v)
{
	if (!v->exec_step.on)
		return false;
	if (v->exec_step.shadow_rip) {
		bool between = guest_rip(v) == v->exec_step.shadow_rip;

		v->exec_step.shadow_rip = 0;
		if (between)
			return true;    /* before the shadowed instruction: on through it */
	}
	step_over_end(v);
	return !gdb_stub_stepping(v);
}

void watch_steps_drop(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->exec_step.on)
			step_over_end(vm->vcpus[i]);
}

/* A fetch from an execute-watched page. The instruction's start decides a
 * hit (a fetch fault may come from an instruction that crosses into the
 * page): gdb's stops the VM before it runs, unless gdb steps this vCPU
 * (it is leaving the breakpoint); the console's is logged. */
static bool watch_fetch(struct vcpu *v, struct watch_set *s, uint64_t page)
{
	struct guest_sregs sr;
	uint64_t gpa, la;
	unsigned hits = 0;

	vendor->read_sregs(v, &sr);
	la = guest_code_linear(&sr);
	if (v->exec_step.on && v->exec_step.la == la) {
		step_over(v, page, la);      /* the instruction crosses into this page too */
		return true;
	}
	if (v->exec_step.on)                 /* a step whose end went unseen */
		step_over_end(v);
	if (!guest_linear_to_phys(v, &sr, la, &gpa))
		hits = watch_set_hits(s, gpa, 1, WATCH_EXEC);
	for (unsigned i = 0; i < WATCH_MAX; i++) {
		if (hits & 1u << i && s->w[i].owner == WATCH_GDB && !gdb_stub_stepping(v) &&
		    gdb_stub_exec_hit(v))
			return true;
	}
	if (hits)
		trace_watch(v, 0, gpa, TRACE_F_EXEC);
	for (unsigned i = 0; i < WATCH_MAX; i++)
		if (hits & 1u << i)
			watch_log(v, &s->w[i], gpa, 0, 0, WATCH_EXEC);
	step_over(v, page, la);
	return true;
}

bool watch_npf(struct vcpu *v, struct exit_info *e)
{
	struct watch_set *s = watch_set_of(v->vm);
	uint64_t gpa = e->npf.gpa, value = 0;
	unsigned access = s ? watch_set_page_access(s, gpa) : 0, hits;
	bool write = e->npf.write;
	struct fetched_insn f;
	struct x86_mmio_op op;
	char hex[48], what[64];
	void *hva;

	/* A read-watched page is not present: every access to it faults. */
	if (!access || (!e->npf.present && !(access & WATCH_READ)))
		return false;
	if (e->npf.fetch && access & WATCH_EXEC && !(access & WATCH_READ))
		return watch_fetch(v, s, gpa & ~0xfffull);
	if ((!write && !(access & WATCH_READ)) || e->npf.fetch || e->npf.page_walk ||
	    e->npf.in_delivery) {
		watch_give_up(v, s, gpa, e->npf.page_walk ? "a page-table update" :
				  e->npf.in_delivery ? "an event delivery" :
				  e->npf.fetch ? "an instruction fetch" : "an access");
		return true;
	}
	if (guest_fetch_insn(v, &f) || x86_mmio_classify(&f.insn, &op) ||
	    !access_matches(e, &op) || (gpa & 0xfff) + op.size > PAGE_SIZE ||
	    !(hva = vm_gpa_to_hva(v->vm, gpa, op.size))) {
		fetched_insn_hex(&f, hex, sizeof(hex));
		snprintf(what, sizeof(what), "instruction [%s]", hex);
		watch_give_up(v, s, gpa, what);
		return true;
	}
	if (write)
		value = x86_mmio_store_value(&op, v->regs.gpr);
	else
		memcpy(&value, hva, op.size);     /* little-endian: the low op.size bytes */
	hits = watch_set_hits(s, gpa, op.size, write ? WATCH_WRITE : WATCH_READ);
	if (hits)
		trace_watch(v, op.size, value, write ? TRACE_F_WRITE : 0);
	for (unsigned i = 0; i < WATCH_MAX; i++)
		if (hits & 1u << i)
			watch_log(v, &s->w[i], gpa, op.size, value, write ? WATCH_WRITE : WATCH_READ);
	if (write)
		memcpy(hva, &value, op.size);
	else
		x86_mmio_load_result(&op, v->regs.gpr, value);
	watch_stop(v, s, hits, gpa);
	exit_complete_insn(v, f.insn.len);
	return true;
}

/* ---- console ---- */

static void watch_list(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nr_vms; i++) {
		struct watch_set *s = vms[i]->nr_vcpus ? watch_set_of(vms[i]) : NULL;

		for (unsigned j = 0; s && j < WATCH_MAX; j++) {
			const struct watch *w = &s->w[j];

			if (!w->len)
				continue;
			printk("vm %u (%s) gpa 0x%lx-0x%lx: %lu %s%s\n", vms[i]->id, vms[i]->name,
			       w->gpa, w->gpa + w->len - 1, w->hits, hits_noun(w->access),
			       w->owner == WATCH_GDB ? " (gdb's)" : "");
			n++;
		}
	}
	if (!n)
		printk("no watches (watch <vm> <addr> <len>)\n");
}

enum range_error { RANGE_OK, RANGE_UNMAPPED, RANGE_SPLIT, RANGE_NOT_RAM };

/* The guest-physical range behind guest-virtual [la, la+len), through
 * vCPU 0's paging and contiguous in guest RAM; *bad: the page not mapped. */
static enum range_error watch_translate(struct vm *vm, uint64_t la, uint64_t len,
					uint64_t *gpa, uint64_t *bad)
{
	struct vcpu *v = vm->vcpus[0];
	struct guest_sregs sr;

	vendor->read_sregs(v, &sr);
	for (uint64_t off = 0; off < len; off = (off | 0xfff) + 1) {
		struct guest_walk w;

		if (guest_walk_vcpu(v, &sr, la + off, &w)) {
			*bad = la + off;
			return RANGE_UNMAPPED;
		}
		if (!off)
			*gpa = w.gpa;
		else if (w.gpa != *gpa + off)
			return RANGE_SPLIT;
	}
	return *gpa < vm->mem_size && len <= vm->mem_size - *gpa ? RANGE_OK : RANGE_NOT_RAM;
}

/* Adds the range to the set and takes the rights from its pages. */
static int watch_insert(struct vm *vm, struct watch_set *s, uint64_t gpa, uint64_t len,
			unsigned access, enum watch_owner owner, uint64_t tag)
{
	int i = watch_set_add(s, gpa, len, access, owner, tag);

	if (i < 0)
		return i;
	if (watch_apply(vm, s, gpa, len)) {
		watch_remove(vm, s, (unsigned)i);
		return -3;
	}
	return 0;
}

/* The watches of another owner than the console's: only on VMs that run
 * or are paused (watch_set_of then knows their tables). */
static struct watch_set *watch_set_live(struct vm *vm)
{
	return vm->nr_vcpus && vm_is_live(vm) ? watch_set_of(vm) : NULL;
}

int watch_add(struct vm *vm, uint64_t la, uint64_t len, unsigned access,
	      enum watch_owner owner)
{
	struct watch_set *s = watch_set_live(vm);
	uint64_t gpa = 0, bad;

	if (!s)
		return -2;
	if (watch_set_find(s, owner, la, len, access) >= 0)
		return 0;
	if (!len || len > WATCH_MAX_LEN || watch_translate(vm, la, len, &gpa, &bad) != RANGE_OK)
		return -2;
	return watch_insert(vm, s, gpa, len, access, owner, la);
}

int watch_del(struct vm *vm, uint64_t la, uint64_t len, unsigned access,
	      enum watch_owner owner)
{
	struct watch_set *s = watch_set_live(vm);
	int i = s ? watch_set_find(s, owner, la, len, access) : -1;

	if (i < 0)
		return -1;
	watch_remove(vm, s, (unsigned)i);
	return 0;
}

void watch_del_all(struct vm *vm, enum watch_owner owner)
{
	struct watch_set *s = watch_set_live(vm);

	for (unsigned i = 0; s && i < WATCH_MAX; i++)
		if (s->w[i].len && s->w[i].owner == owner)
			watch_remove(vm, s, i);
}

/* The guest-physical range behind [addr, addr+len): "p:" physical, else
 * virtual through vCPU 0's paging, contiguous in guest RAM. */
static bool watch_range(struct vm *vm, const char *arg, uint64_t len, uint64_t *gpa)
{
	bool phys = arg[0] == 'p' && arg[1] == ':';
	enum range_error r = RANGE_OK;
	uint64_t la, bad = 0;

	if (!console_parse_u64(arg + (phys ? 2 : 0), &la)) {
		printk("error: bad address \"%s\"\n", arg);
		return false;
	}
	if (phys) {
		*gpa = la;
		if (la >= vm->mem_size || len > vm->mem_size - la)
			r = RANGE_NOT_RAM;
	} else {
		r = watch_translate(vm, la, len, gpa, &bad);
	}
	if (r == RANGE_UNMAPPED)
		printk("error: 0x%lx is not mapped (see `walk`)\n", bad);
	else if (r == RANGE_SPLIT)
		printk("error: 0x%lx-0x%lx is not contiguous in guest-physical memory "
		       "(watch its pages with p:)\n", la, la + len - 1);
	else if (r == RANGE_NOT_RAM)
		printk("error: gpa 0x%lx-0x%lx is not all guest RAM (0..0x%lx)\n", *gpa,
		       *gpa + len - 1, vm->mem_size - 1);
	return r == RANGE_OK;
}

/* "r", "w", "x" or several of them, each once: the WATCH_* bits, or 0. */
static unsigned parse_access(const char *arg)
{
	unsigned access = 0, bit;

	for (; *arg; arg++) {
		bit = *arg == 'r' ? WATCH_READ : *arg == 'w' ? WATCH_WRITE :
		      *arg == 'x' ? WATCH_EXEC : 0;
		if (!bit || access & bit)
			return 0;
		access |= bit;
	}
	return access;
}

void console_cmd_watch(int argc, char **argv)
{
	unsigned access = WATCH_WRITE;
	struct watch_set *s;
	uint64_t len, gpa;
	struct vm *vm;
	int i;

	if (argc == 1) {
		watch_list();
		return;
	}
	if (argc == 5)
		access = parse_access(argv[4]);
	if (argc < 4 || argc > 5 || !access) {
		printk("error: usage: watch <vm> <addr> <len> [r|w|x...] (reads, writes (the "
		       "default), executions, or several: rw, rwx)\n");
		return;
	}
	if (!(vm = console_arg_vm(argv[1])))
		return;
	if (!vm->nr_vcpus || !vm_is_live(vm) || !(s = watch_set_of(vm))) {
		printk("error: vm %u (%s) is %s: watches are for running or paused VMs\n", vm->id,
		       vm->name, vm_state_name(vm->state));
		return;
	}
	if (!console_parse_u64(argv[3], &len) || !len || len > WATCH_MAX_LEN) {
		printk("error: bad length \"%s\" (1..%lu)\n", argv[3], (unsigned long)WATCH_MAX_LEN);
		return;
	}
	if (!watch_range(vm, argv[2], len, &gpa))
		return;
	if ((i = watch_insert(vm, s, gpa, len, access, WATCH_CONSOLE, gpa)) == -1) {
		printk("error: vm %u (%s) has %u watches already\n", vm->id, vm->name, WATCH_MAX);
		return;
	}
	if (i) {
		printk("error: out of memory for the page tables of the watch\n");
		return;
	}
	printk("watch: vm %u (%s) gpa 0x%lx-0x%lx, %s logged\n", vm->id, vm->name, gpa,
	       gpa + len - 1, hits_noun(access));
}

void console_cmd_unwatch(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);
	struct watch_set *s = vm && vm->nr_vcpus ? watch_set_of(vm) : NULL;
	bool all = !strcmp(argv[2], "all");
	uint64_t gpa = 0;
	int i;

	(void)argc;
	if (!s)
		return;
	if (!all && !watch_range(vm, argv[2], 1, &gpa))
		return;
	if (!all && (i = watch_set_find(s, WATCH_CONSOLE, gpa, 0, 0)) < 0) {
		printk("error: vm %u (%s) has no watch starting at gpa 0x%lx (see `watch`)\n",
		       vm->id, vm->name, gpa);
		return;
	}
	for (unsigned j = 0; j < WATCH_MAX; j++) {
		if (s->w[j].len && s->w[j].owner == WATCH_CONSOLE && (all || s->w[j].gpa == gpa)) {
			printk("unwatch: vm %u (%s) gpa 0x%lx: %lu %s\n", vm->id, vm->name,
			       s->w[j].gpa, s->w[j].hits, hits_noun(s->w[j].access));
			watch_remove(vm, s, j);
		}
	}
}
