/*
 * The gdb stub: the protocol core (debug/gdb_proto.c) on COM2, with a VM
 * as its target. gdb's first packet pauses the VM (VM_PAUSED, as the
 * console's `pause` does, so the scheduler needs nothing new); c and s
 * let it run again; a breakpoint, the end of a step or Ctrl-C pause it
 * and send the stop reply. Software breakpoints are INT3 bytes written
 * into guest RAM through the guest's page tables; the backend intercepts
 * INT3 and steps one instruction for us (GUEST_DEBUG_* in x86/vendor.h).
 * Watchpoints (Z2 write, Z3 read, Z4 access) are the console's watches
 * with gdb as their owner (core/watch.c): an access to one is done, then
 * the VM stops.
 * Hardware breakpoints (Z1) are execute watches of gdb's: their page loses
 * the execute right in the nested tables, so the guest's code is left as
 * it is; at the breakpoint the VM stops before the instruction runs, and
 * every other instruction of the page runs one step with the right back
 * (core/watch.c). A vCont
 * that leaves the other threads stopped (scheduler-locking) holds their
 * vCPUs (debug_hold, which the scheduler honours) while the VM runs.
 */
#include <core/cpus.h>
#include <core/vm.h>
#include <core/watch.h>
#include <debug/gdb_proto.h>
#include <debug/gdb_stub.h>
#include <devices/lapic.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/guest_mem.h>
#include <x86/processor.h>
#include <x86/serial.h>
#include <x86/vendor.h>

#define GDB_MAX_BPS   32
#define POLL_MAX      8192    /* bytes read per poll, so a flood cannot hold the CPU */
#define INT3          0xcc

struct gdb_bp {
	bool used;
	uint64_t addr;            /* guest-linear, as gdb gave it */
	uint64_t gpa;
	uint8_t orig;             /* the byte the INT3 replaced */
};

static struct {
	bool probed, present;
	struct gdb_proto proto;
	struct vm *vm;            /* the VM debugged */
	bool paused;              /* we paused it and owe it a resume */
	struct vcpu *stepping;    /* the vCPU running one instruction for gdb */
	bool phys;                /* monitor phys on: m/M take guest-physical addresses */
	struct gdb_bp bps[GDB_MAX_BPS];
	unsigned nr_bps;
	struct vcpu *watch_vcpu;  /* hit a watchpoint during its step: that stop says so */
	uint64_t watch_addr;
	enum gdb_bp_type watch_type;
} stub;

/* gdb's amd64 order (gdb_proto.h) to the x86 encoding order of regs.h. */
static const uint8_t gpr_of_gdb[16] = {
	GPR_RAX, GPR_RBX, GPR_RCX, GPR_RDX, GPR_RSI, GPR_RDI, GPR_RBP, GPR_RSP,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
};

static struct vcpu *thread_vcpu(unsigned thread)
{
	if (!stub.vm || thread < 1 || thread > stub.vm->nr_vcpus)
		return NULL;
	return stub.vm->vcpus[thread - 1];
}

static void vm_halt(void)
{
	if (stub.vm && stub.vm->state == VM_RUNNING) {
		stub.vm->state = VM_PAUSED;
		stub.paused = true;
		vm_kick(stub.vm);
	}
}

static void vm_run(void)
{
	if (stub.paused && stub.vm && stub.vm->state == VM_PAUSED) {
		stub.vm->state = VM_RUNNING;
		vm_kick(stub.vm);
	}
	stub.paused = false;
}

/* Without others, every vCPU but the thread's is held (gdb's
 * scheduler-locking): the scheduler passes it by while the VM runs. */
static void holds_set(const struct vcpu *runs, bool others)
{
	for (unsigned i = 0; stub.vm && i < stub.vm->nr_vcpus; i++)
		stub.vm->vcpus[i]->debug_hold = !others && stub.vm->vcpus[i] != runs;
	if (stub.vm)
		vm_kick(stub.vm);
}

unsigned gdb_stub_debug_flags(const struct vcpu *v)
{
	if (v->vm != stub.vm)
		return 0;
	return (stub.nr_bps ? GUEST_DEBUG_BP : 0) | (v == stub.stepping ? GUEST_DEBUG_STEP : 0);
}

bool gdb_stub_stepping(const struct vcpu *v)
{
	return v == stub.stepping;
}

/* What the backend must intercept now, on every vCPU of the VM. */
static void debug_flags_update(void)
{
	for (unsigned i = 0; stub.vm && i < stub.vm->nr_vcpus; i++)
		vcpu_debug_update(stub.vm->vcpus[i]);
}

/* ------------------------------------------------------------ breakpoints */

static struct gdb_bp *bp_find(uint64_t addr)
{
	for (unsigned i = 0; i < GDB_MAX_BPS; i++)
		if (stub.bps[i].used && stub.bps[i].addr == addr)
			return &stub.bps[i];
	return NULL;
}

static int bp_insert(uint64_t addr)
{
	struct vcpu *v = thread_vcpu(1);
	struct gdb_bp *bp = NULL;
	struct guest_sregs s;
	uint64_t gpa;
	uint8_t *hva;

	if (bp_find(addr))
		return 0;
	for (unsigned i = 0; i < GDB_MAX_BPS && !bp; i++)
		if (!stub.bps[i].used)
			bp = &stub.bps[i];
	if (!v || !bp)
		return -1;
	vendor->read_sregs(v, &s);
	if (guest_linear_to_phys(v, &s, addr, &gpa) || !(hva = vm_gpa_to_hva(stub.vm, gpa, 1)))
		return -1;
	*bp = (struct gdb_bp){ .used = true, .addr = addr, .gpa = gpa, .orig = *hva };
	*hva = INT3;
	stub.nr_bps++;
	return 0;
}

/* The original byte goes back unless the guest has written its own there
 * since (then the INT3 is gone anyway). */
static void bp_remove(struct gdb_bp *bp)
{
	uint8_t *hva = vm_gpa_to_hva(stub.vm, bp->gpa, 1);

	if (hva && *hva == INT3)
		*hva = bp->orig;
	bp->used = false;
	stub.nr_bps--;
}

static void bp_remove_all(void)
{
	for (unsigned i = 0; i < GDB_MAX_BPS; i++)
		if (stub.bps[i].used)
			bp_remove(&stub.bps[i]);
}

/* gdb reads memory with its breakpoints out of it. */
static void bp_hide(uint64_t addr, uint8_t *buf, size_t len)
{
	for (unsigned i = 0; i < GDB_MAX_BPS; i++)
		if (stub.bps[i].used && stub.bps[i].addr - addr < len)
			buf[stub.bps[i].addr - addr] = stub.bps[i].orig;
}

/* ------------------------------------------- steps over watched pages */

/* Steps over an execute-watched instruction not run yet are dropped when
 * the VM stops for gdb or gdb goes (the stub runs between exits, so none
 * is under way): the vCPU fetches again when it runs. */
static void overs_drop(void)
{
	if (stub.vm)
		watch_steps_drop(stub.vm);
}

/* ----------------------------------------------------------- the target */

static void put(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	serial_com2_write(buf, len);
}

static void attach(void *ctx)
{
	(void)ctx;
	if (!stub.vm && nr_vms)
		stub.vm = vms[0];
	holds_set(NULL, true);     /* a session that went without detaching held them */
	vm_halt();
	if (stub.vm)
		printk("kestrel: gdb attached to vm %u (%s)\n", stub.vm->id, stub.vm->name);
}

static void detach(void *ctx)
{
	(void)ctx;
	stub.phys = false;
	bp_remove_all();
	overs_drop();
	if (stub.vm)
		watch_del_all(stub.vm, WATCH_GDB);
	stub.stepping = NULL;
	holds_set(NULL, true);
	debug_flags_update();
	vm_run();
	if (stub.vm)
		printk("kestrel: gdb detached from vm %u (%s)\n", stub.vm->id, stub.vm->name);
}

static unsigned nr_threads(void *ctx)
{
	(void)ctx;
	return stub.vm ? stub.vm->nr_vcpus : 0;
}

static int get_regs(void *ctx, unsigned thread, struct gdb_regs *r)
{
	struct vcpu *v = thread_vcpu(thread);
	struct guest_sregs s;

	(void)ctx;
	if (!v)
		return -1;
	vendor->read_sregs(v, &s);
	for (unsigned i = 0; i < 16; i++)
		r->r[i] = v->regs.gpr[gpr_of_gdb[i]];
	r->r[GDB_RIP] = s.rip;
	r->r[GDB_EFLAGS] = s.rflags;
	r->r[GDB_CS] = s.cs.sel;
	r->r[GDB_SS] = s.ss.sel;
	r->r[GDB_DS] = s.ds.sel;
	r->r[GDB_ES] = s.es.sel;
	r->r[GDB_FS] = s.fs.sel;
	r->r[GDB_GS] = s.gs.sel;
	r->sys[GDB_FS_BASE] = s.fs.base;
	r->sys[GDB_GS_BASE] = s.gs.base;
	r->sys[GDB_CR0] = s.cr0;
	r->sys[GDB_CR2] = s.cr2;
	r->sys[GDB_CR3] = s.cr3;
	r->sys[GDB_CR4] = s.cr4;
	r->sys[GDB_CR8] = lapic_read_cr8(v);
	r->sys[GDB_EFER] = s.efer;
	return 0;
}

/* GPRs, RIP and RFLAGS; a selector means nothing without its descriptor,
 * so segment writes are ignored. RFLAGS bit 1 is always 1. */
static int set_regs(void *ctx, unsigned thread, const struct gdb_regs *r)
{
	struct vcpu *v = thread_vcpu(thread);
	struct guest_sregs s;

	(void)ctx;
	if (!v)
		return -1;
	vendor->read_sregs(v, &s);    /* first: out of any guest mode elsewhere */
	v->epoch++;                   /* an exit its CPU has not handled is void */
	for (unsigned i = 0; i < 16; i++)
		v->regs.gpr[gpr_of_gdb[i]] = r->r[i];
	s.rip = r->r[GDB_RIP];
	s.rflags = (r->r[GDB_EFLAGS] & 0xffffffff) | X86_RFLAGS_FIXED;
	vendor->write_sregs(v, &s);
	return 0;
}

/* monitor phys on: guest-physical, as far as guest RAM goes. */
static size_t phys_access(uint64_t gpa, uint8_t *buf, size_t len, bool write)
{
	uint8_t *hva;
	size_t n;

	if (!stub.vm || gpa >= stub.vm->mem_size)
		return 0;
	n = len < stub.vm->mem_size - gpa ? len : stub.vm->mem_size - gpa;
	if (!n || !(hva = vm_gpa_to_hva(stub.vm, gpa, n)))
		return 0;
	if (write)
		memcpy(hva, buf, n);
	else
		memcpy(buf, hva, n);
	return n;
}

static size_t read_mem(void *ctx, unsigned thread, uint64_t addr, uint8_t *buf, size_t len)
{
	struct vcpu *v = thread_vcpu(thread);
	struct guest_sregs s;
	size_t got;

	(void)ctx;
	if (stub.phys)
		return phys_access(addr, buf, len, false);
	if (!v)
		return 0;
	vendor->read_sregs(v, &s);
	got = guest_read_linear(v, &s, addr, buf, (unsigned)len);
	bp_hide(addr, buf, got);
	return got;
}

/* Page by page through the guest's tables into its RAM, whatever the
 * pages' rights (gdb writes code too). A breakpoint under the write keeps
 * its INT3, and the new byte is what comes back when it goes. */
static size_t write_mem(void *ctx, unsigned thread, uint64_t addr, const uint8_t *buf,
			size_t len)
{
	struct vcpu *v = thread_vcpu(thread);
	struct guest_sregs s;
	size_t done = 0;

	(void)ctx;
	if (stub.phys)
		return phys_access(addr, (uint8_t *)buf, len, true);
	if (!v)
		return 0;
	vendor->read_sregs(v, &s);
	done = guest_write_linear(v, &s, addr, buf, (unsigned)len);
	for (unsigned i = 0; i < GDB_MAX_BPS; i++) {
		struct gdb_bp *bp = &stub.bps[i];
		uint8_t *hva;

		if (bp->used && bp->addr - addr < done &&
		    (hva = vm_gpa_to_hva(stub.vm, bp->gpa, 1))) {
			bp->orig = *hva;
			*hva = INT3;
		}
	}
	return done;
}

static void resume(void *ctx, unsigned thread, bool step, bool others)
{
	(void)ctx;
	stub.stepping = step ? thread_vcpu(thread) : NULL;
	holds_set(thread_vcpu(thread), others);
	debug_flags_update();
	vm_run();
}

/* Z2-Z4/z2-z4: a watch of gdb's over [addr, addr+len) for writes, reads
 * or both. Removing one that is gone already (an access the watch could
 * not emulate ends it) is no error. */
static int watchpoint(uint64_t addr, uint64_t len, unsigned access, bool insert)
{
	if (!stub.vm)
		return -1;
	if (!insert) {
		watch_del(stub.vm, addr, len, access, WATCH_GDB);
		return 0;
	}
	return watch_add(stub.vm, addr, len, access, WATCH_GDB) ? -1 : 0;
}

/* Z1/z1: a hardware breakpoint, an execute watch of the instruction's
 * first byte. Removing one that is gone is no error. */
static int hw_breakpoint(uint64_t addr, bool insert)
{
	if (!stub.vm)
		return -1;
	if (!insert) {
		watch_del(stub.vm, addr, 1, WATCH_EXEC, WATCH_GDB);
		return 0;
	}
	return watch_add(stub.vm, addr, 1, WATCH_EXEC, WATCH_GDB) ? -1 : 0;
}

/* Z0 through Z4. */
static int breakpoint(void *ctx, enum gdb_bp_type type, uint64_t addr, uint64_t kind,
		      bool insert)
{
	struct gdb_bp *bp;
	int rc = 0;

	(void)ctx;
	if (type == GDB_WP_WRITE || type == GDB_WP_READ || type == GDB_WP_ACCESS)
		return watchpoint(addr, kind, type == GDB_WP_WRITE ? WATCH_WRITE :
				  type == GDB_WP_READ ? WATCH_READ : WATCH_ACCESS, insert);
	if (type == GDB_BP_HARD)
		return hw_breakpoint(addr, insert);
	if (type != GDB_BP_SOFT)
		return 1;
	if (insert)
		rc = bp_insert(addr);
	else if ((bp = bp_find(addr)))
		bp_remove(bp);
	debug_flags_update();
	return rc;
}

/* monitor sregs: beyond what the target description has (GDTR, IDTR),
 * for every vCPU at once (gdb does not say which thread it shows). */
static void monitor_sregs(char *out, size_t len)
{
	size_t n = 0;

	for (unsigned i = 0; stub.vm && i < stub.vm->nr_vcpus && n < len; i++) {
		struct guest_sregs s;

		vendor->read_sregs(stub.vm->vcpus[i], &s);
		n += (size_t)snprintf(out + n, len - n,
			"vcpu %u: cr0 0x%lx cr2 0x%lx cr3 0x%lx cr4 0x%lx efer 0x%lx\n"
			"  fs_base 0x%lx gs_base 0x%lx gdtr 0x%lx/0x%x idtr 0x%lx/0x%x\n",
			i, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.fs.base, s.gs.base,
			s.gdtr.base, s.gdtr.limit, s.idtr.base, s.idtr.limit);
	}
}

static void monitor_help(char *out, size_t len)
{
	snprintf(out, len, "commands: vm <name|id>, sregs, phys on|off "
		 "(debugging vm %u %s, %s addresses)\n", stub.vm ? stub.vm->id : 0,
		 stub.vm ? stub.vm->name : "-", stub.phys ? "guest-physical" : "guest-virtual");
}

/* "vm <name|id>": gdb moves to another VM; the one it leaves runs on.
 * "phys on|off": m/M on guest-physical or guest-virtual addresses. */
static void monitor(void *ctx, const char *cmd, char *out, size_t len)
{
	struct vm *vm;

	(void)ctx;
	if (!strcmp(cmd, "sregs")) {
		monitor_sregs(out, len);
		return;
	}
	if (!strcmp(cmd, "phys on") || !strcmp(cmd, "phys off")) {
		stub.phys = cmd[6] == 'n';
		monitor_help(out, len);
		return;
	}
	if (strncmp(cmd, "vm ", 3)) {
		monitor_help(out, len);
		return;
	}
	if (!(vm = vm_find(cmd + 3))) {
		snprintf(out, len, "no VM '%s'\n", cmd + 3);
		return;
	}
	detach(NULL);
	stub.vm = vm;
	vm_halt();
	stub.proto.stop_thread = 1;
	stub.proto.g_thread = stub.proto.c_thread = 0;
	snprintf(out, len, "debugging vm %u (%s); its registers: maint flush register-cache\n",
		 vm->id, vm->name);
}

static const struct gdb_target_ops vm_target = {
	.put = put, .attach = attach, .detach = detach, .nr_threads = nr_threads,
	.get_regs = get_regs, .set_regs = set_regs, .read_mem = read_mem,
	.write_mem = write_mem, .resume = resume, .breakpoint = breakpoint,
	.monitor = monitor,
};

/* ---------------------------------------------------------------- events */

static void stopped(struct vcpu *v, uint8_t signal, bool at_breakpoint)
{
	bool watch = stub.watch_vcpu == v;

	vm_halt();
	stub.stepping = NULL;
	stub.watch_vcpu = NULL;
	overs_drop();
	debug_flags_update();
	if (watch)
		gdb_proto_watch_hit(&stub.proto, v->id + 1, stub.watch_addr, stub.watch_type);
	else
		gdb_proto_stopped(&stub.proto, signal, v->id + 1, at_breakpoint);
}

/* Called before the accessing instruction completes: a step of gdb's ends
 * with it (exit_complete_insn) and its stop reports the watchpoint; else
 * the VM stops here, and gdb reads the registers once the instruction has
 * completed (the stub answers between slices). */
void gdb_stub_watch_hit(struct vcpu *v, uint64_t addr, unsigned access)
{
	if (v->vm != stub.vm || !stub.proto.attached)
		return;
	stub.watch_vcpu = v;
	stub.watch_addr = addr;
	stub.watch_type = access == WATCH_READ ? GDB_WP_READ :
			  access == WATCH_WRITE ? GDB_WP_WRITE : GDB_WP_ACCESS;
	if (v != stub.stepping)
		stopped(v, GDB_SIGTRAP, false);
}

/* A fetch at one of gdb's hardware breakpoints (core/watch.c): the VM
 * stops before the instruction runs. */
bool gdb_stub_exec_hit(struct vcpu *v)
{
	if (v->vm != stub.vm || !stub.proto.attached)
		return false;
	stopped(v, GDB_SIGTRAP, false);
	return true;
}

bool gdb_stub_exception(struct vcpu *v, const struct exit_exception *x)
{
	struct guest_sregs s;
	struct gdb_bp *bp;

	if (v->vm != stub.vm)
		return false;
	if (x->vector == X86_EXC_DB && v == stub.stepping) {
		stopped(v, GDB_SIGTRAP, false);
		return true;
	}
	if (x->vector != X86_EXC_BP)
		return false;
	vendor->read_sregs(v, &s);
	if (!(bp = bp_find(s.cs.base + s.rip)))
		return false;         /* the guest's own INT3 */
	if (!stub.proto.attached) {
		/* gdb went without removing it: the instruction runs as it was. */
		bp_remove(bp);
		debug_flags_update();
		return true;
	}
	stopped(v, GDB_SIGTRAP, true);
	return true;
}

bool gdb_stub_step_done(struct vcpu *v)
{
	if (!v || v != stub.stepping)
		return false;
	stopped(v, GDB_SIGTRAP, false);
	return true;
}

static void check_vm_ended(void)
{
	if (stub.proto.attached && stub.proto.running && stub.vm && !vm_is_live(stub.vm)) {
		stub.paused = false;
		stub.stepping = NULL;
		holds_set(NULL, true);
		stub.nr_bps = 0;
		memset(stub.bps, 0, sizeof(stub.bps));
		overs_drop();
		stub.watch_vcpu = NULL;
		gdb_proto_exited(&stub.proto, (uint8_t)stub.vm->exit_status);
	}
}

void gdb_stub_poll(void)
{
	int c;

	if (!stub.probed) {
		stub.probed = true;
		stub.present = serial_com2_init();
		gdb_proto_init(&stub.proto, &vm_target, NULL);
	}
	if (!stub.present)
		return;
	for (unsigned n = 0; n < POLL_MAX && (c = serial_com2_getc()) >= 0; n++) {
		if (gdb_proto_rx(&stub.proto, (uint8_t)c) != GDB_EV_INTERRUPT)
			continue;
		vm_halt();
		stub.stepping = NULL;
		overs_drop();
		debug_flags_update();
		gdb_proto_stopped(&stub.proto, GDB_SIGINT, stub.proto.stop_thread, false);
	}
	check_vm_ended();
}
