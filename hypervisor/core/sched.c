/*
 * Round-robin scheduler, one per physical CPU, over the vCPUs placed on it
 * (vcpu.home). Each runnable vCPU gets a slice of SCHED_SLICE_MS; HLT ends
 * the slice early. Each CPU's LAPIC timer is armed one-shot for its next
 * event (the earliest timer of its vCPUs, the end of the slice, or the next
 * poll), so guest timers fire on time rather than on a tick; after each
 * timer interrupt the loop does the housekeeping: the boot CPU reads the
 * console and the debugger, and every CPU fires its guests' timers. The
 * hypervisor lock (core/cpus.c) is held throughout but in guest mode and
 * HLT.
 */
#include <core/balance.h>
#include <core/console.h>
#include <core/cpus.h>
#include <core/sched.h>
#include <core/tsc.h>
#include <core/vm.h>
#include <debug/gdb_stub.h>
#include <devices/lapic.h>
#include <devices/vpit.h>
#include <lib/printk.h>
#include <virtio/virtio_pci.h>
#include <x86/acpi.h>
#include <x86/cpu.h>
#include <x86/debugreg.h>
#include <x86/fpu.h>
#include <x86/percpu.h>
#include <x86/processor.h>
#include <x86/spec_ctrl.h>
#include <x86/vendor.h>

static bool vcpu_wants_cpu(const struct vcpu *v)
{
	return v->vm->state == VM_RUNNING && v->state == VCPU_RUNNABLE &&
	       !v->vm->reset_requested && !v->debug_hold;
}

/* ... and no other CPU is in its guest or handling its exit (after a move,
 * the CPU it left may still be). */
static bool vcpu_can_run(const struct vcpu *v)
{
	return vcpu_wants_cpu(v) && (!v->runner || v->runner == this_cpu());
}

static bool homed_here(const struct vcpu *v)
{
	return v->home == this_cpu()->id;
}

/* A VM's own timers (the PIT) are kept by the CPU of its vCPU 0. */
static bool vm_timers_here(const struct vm *vm)
{
	return vm->nr_vcpus && homed_here(vm->vcpus[0]);
}

/* The guest timers this CPU keeps whose deadline has passed fire here. */
static void timers_check(void)
{
	uint64_t now = rdtsc();

	for (unsigned i = 0; i < nr_vms; i++) {
		struct vm *vm = vms[i];

		if (vm->state != VM_RUNNING)
			continue;
		if (vm_timers_here(vm))
			vpit_timer_check(vm, now);
		for (unsigned c = 0; c < vm->nr_vcpus; c++) {
			struct vcpu *v = vm->vcpus[c];

			if (!homed_here(v))
				continue;
			if (v->timer_deadline && now >= v->timer_deadline) {
				v->timer_deadline = 0;
				vcpu_raise_irq(v, v->timer_vector);
			}
			lapic_timer_check(v, now);
		}
	}
}

/*
 * A reset the guest asked for, done at the end of its own slice (charged
 * to it, and never under a vCPU still running). A restart wipes all guest
 * RAM and reloads the images; a guest resetting in a loop would spend the
 * machine's time on that, so more than RESET_STORM_MAX resets within
 * RESET_STORM_SECONDS stop the VM (security review finding 7).
 */
#define RESET_STORM_MAX      10
#define RESET_STORM_SECONDS  10

static void restart_requested(struct vm *vm)
{
	uint64_t now = rdtsc();

	if (!vm->reset_requested || !vm_is_live(vm))
		return;
	if (vm->reset_by_console) {     /* an operator's reboot is no storm */
		vm_restart(vm);
		return;
	}
	if (!vm->storm_resets || now - vm->storm_start > ms_to_tsc(RESET_STORM_SECONDS * 1000)) {
		vm->storm_start = now;
		vm->storm_resets = 0;
	}
	if (++vm->storm_resets > RESET_STORM_MAX) {
		vm->reset_requested = false;
		vm_stop(vm, false, "reset storm: more than %u resets within %u s",
			RESET_STORM_MAX, RESET_STORM_SECONDS);
		return;
	}
	vm_restart(vm);
}

/* `start` and `reboot` from the console, done here between slices: the
 * console runs inside a slice, maybe of the very VM it restarts. A reboot
 * of a VM whose vCPUs cannot run (paused, halted) happens here too. */
static void lifecycle_requests(void)
{
	for (unsigned i = 0; i < nr_vms; i++) {
		if (vms[i]->start_requested)
			vm_start(vms[i]);
		restart_requested(vms[i]);
	}
}

/*
 * Balancing, on the boot CPU every SCHED_BALANCE_MS; the policy is
 * balance_plan's (core/balance.c). A move is a new home: the CPU the vCPU
 * left stops running it at its next exit (kicked), the new one claims its
 * state (core/cpus.c) and flushes what it may have cached there before.
 */
static void vcpu_move(struct vcpu *v, unsigned to)
{
	unsigned from = v->home;

	v->home = to;
	v->moves++;
	v->flush_tlb = true;
	cpu_kick(pcpus[from]);
	cpu_kick(pcpus[to]);
}

static void balance(void)
{
	static struct balance_vcpu bv[MAX_VMS * MAX_VCPUS_PER_VM];
	static struct vcpu *who[MAX_VMS * MAX_VCPUS_PER_VM];
	struct balance_move moves[2];
	uint64_t online = 0;
	unsigned n = 0, m;

	for (unsigned c = 0; c < nr_pcpus; c++)
		if (pcpus[c]->state == PCPU_ONLINE)
			online |= 1ull << c;
	for (unsigned i = 0; i < nr_vms; i++)
		for (unsigned c = 0; c < vms[i]->nr_vcpus; c++) {
			struct vcpu *v = vms[i]->vcpus[c];
			uint64_t mask = vms[i]->boot ? vms[i]->boot->cpu_mask : 0;

			who[n] = v;
			bv[n++] = (struct balance_vcpu){ .cpu = v->home, .run = v->run_tsc,
				.allowed = mask ? mask : ~0ull, .wants = vcpu_wants_cpu(v) };
		}
	m = balance_plan(bv, n, online, ms_to_tsc(SCHED_BALANCE_MS), moves);
	for (unsigned i = 0; i < m; i++)
		vcpu_move(who[moves[i].vcpu], moves[i].to);
}

/* The console and the debugger stay on the boot CPU, and so does balancing. */
static void housekeeping(void)
{
	struct pcpu *c = this_cpu();
	static uint64_t balanced;

	if (c->id == 0) {
		console_poll();
		gdb_stub_poll();
		if (nr_pcpus > 1 && rdtsc() - balanced >= ms_to_tsc(SCHED_BALANCE_MS)) {
			balanced = rdtsc();
			balance();
		}
	}
	timers_check();
}

/* Next runnable vCPU of this CPU after the last one picked, across all VMs. */
static struct vcpu *sched_pick(void)
{
	struct pcpu *c = this_cpu();
	unsigned total = nr_vms * MAX_VCPUS_PER_VM;

	for (unsigned n = 0; n < total; n++) {
		struct vm *vm;

		if (++c->rr_vcpu >= MAX_VCPUS_PER_VM) {
			c->rr_vcpu = 0;
			c->rr_vm = (c->rr_vm + 1) % nr_vms;
		}
		vm = vms[c->rr_vm];
		if (c->rr_vcpu < vm->nr_vcpus && homed_here(vm->vcpus[c->rr_vcpu]) &&
		    vcpu_can_run(vm->vcpus[c->rr_vcpu]))
			return vm->vcpus[c->rr_vcpu];
	}
	return NULL;
}

struct vcpu *current_vcpu(void)
{
	return this_cpu()->current;
}

/* VMs sharing an address-space tag (core/vm.c vm_tag): the backend flushes
 * only when another vCPU of the same VM used the tag last on this CPU, so
 * one VM following another on a shared tag must make it flush too. */
static void tag_switch(struct vm *vm)
{
	struct pcpu *c = this_cpu();

	if (vm != c->tag_vm && vm->tag_shared)
		vm->asid_owner[c->id] = NULL;
	c->tag_vm = vm;
}

static uint64_t earlier(uint64_t a, uint64_t b)
{
	return b && b < a ? b : a;
}

/* The next moment something this CPU keeps must happen, not later than
 * `limit`. */
static uint64_t next_event(uint64_t limit)
{
	for (unsigned i = 0; i < nr_vms; i++) {
		if (vms[i]->state != VM_RUNNING)
			continue;
		if (vm_timers_here(vms[i]))
			limit = earlier(limit, vpit_timer_deadline(vms[i]));
		for (unsigned c = 0; c < vms[i]->nr_vcpus; c++) {
			const struct vcpu *v = vms[i]->vcpus[c];

			if (homed_here(v))
				limit = earlier(earlier(limit, v->timer_deadline),
						lapic_timer_deadline(v));
		}
	}
	return limit;
}

static void arm_host_timer(uint64_t limit)
{
	struct pcpu *c = this_cpu();
	uint64_t when = next_event(limit);

	if (when != c->armed) {
		c->armed = when;
		lapic_timer_arm(when);
	}
}

/* A vCPU elsewhere reprogrammed a VM timer this CPU keeps (the PIT): it
 * arms its own timer again. */
static void vm_timers_moved(const struct vm *vm)
{
	struct vcpu *keeper = vm->nr_vcpus ? vm->vcpus[0] : NULL;
	uint64_t d;

	if (!keeper || homed_here(keeper) || keeper->home >= nr_pcpus)
		return;
	d = vpit_timer_deadline(vm);
	if (d && d < pcpus[keeper->home]->armed)
		cpu_kick(pcpus[keeper->home]);
}

/* Everything one physical CPU keeps of the vCPU it runs. */
static void switch_to(struct vcpu *v)
{
	vcpu_claim(v);
	this_cpu()->current = v;
	tag_switch(v->vm);
	spec_ctrl_vm_switch(v->vm);
	fpu_switch_to(v);
	debugreg_switch_to(v);
	tsc_aux_switch_to(v);
}

/*
 * IPI hand-off. The vCPUs share one physical CPU, so a vCPU that sends an
 * IPI and spins until the target answers (kvm-unit-tests' on_cpu, Linux's
 * smp_call_function, an AP started by SIPI) spun to the end of its slice
 * before the target ran: one slice per round trip (vmexit.flat's `ipi` cost
 * 424 times bare QEMU). The sender lends the target the CPU until it has
 * handled the IPI (its EOI, or the IRET ending an NMI) and SCHED_HANDOFF_US
 * more to answer, or until it halts, then carries on. A target that takes
 * SCHED_HANDOFF_MAX_US to handle it gives the CPU back then: a fixed loan
 * could end inside the handler on a slow (emulated) CPU, and the sender
 * then spun out its slice anyway (kvm-unit-tests' NMI round trips,
 * test_sti_nmi, took a slice each under QEMU's TCG). The loan comes out of
 * the sender's slice, whose end does not move: vCPUs of one VM passing IPIs
 * back and forth take no time from other VMs. A vCPU spinning with PAUSE
 * lends the next of its VM that can run SCHED_HANDOFF_US the same way.
 */
static void lend_cpu(const struct vcpu *from, struct vcpu *to, bool ipi)
{
	struct pcpu *c = this_cpu();

	if (from == c->current && to != from && to->vm == from->vm && homed_here(to)) {
		c->handoff = to;
		c->handoff_ipi = ipi;
	}
}

void sched_ipi_sent(const struct vcpu *from, struct vcpu *to)
{
	lend_cpu(from, to, true);
}

void sched_pause_spin(const struct vcpu *v)
{
	const struct vm *vm = v->vm;

	for (unsigned i = 1; i < vm->nr_vcpus; i++) {
		struct vcpu *t = vm->vcpus[(v->id + i) % vm->nr_vcpus];

		if (vcpu_can_run(t)) {
			lend_cpu(v, t, false);
			return;
		}
	}
}

void sched_irq_done(const struct vcpu *v)
{
	struct pcpu *c = this_cpu();

	if (c->lent == v && c->loan_waits) {
		c->loan_waits = false;
		v->vm->handoffs.answered++;
		c->loan_end = rdtsc() + SCHED_HANDOFF_US * tsc_khz() / 1000;
	}
}

/* Who runs next within the slice of `owner`: the target of a hand-off,
 * `owner` again once the loan is over or the target cannot run. */
static struct vcpu *slice_next(struct vcpu *owner, struct vcpu *cur, uint64_t now)
{
	struct pcpu *c = this_cpu();
	struct vcpu *to = c->handoff;

	c->handoff = NULL;
	if (to && to != cur && to != owner && vcpu_can_run(to)) {
		c->lent = to;
		c->loan_waits = c->handoff_ipi;
		if (c->handoff_ipi)
			to->vm->handoffs.ipi++;
		else
			to->vm->handoffs.pause++;
		c->loan_end = now + (c->handoff_ipi ? SCHED_HANDOFF_MAX_US : SCHED_HANDOFF_US) *
				    tsc_khz() / 1000;
		c->loan_look = now + SCHED_HANDOFF_US * tsc_khz() / 1000;
		return to;
	}
	/* The end of the loan, or the target handing the CPU back to `owner`. */
	if (cur != owner && ((to == owner && vcpu_can_run(owner)) || !vcpu_can_run(cur) ||
			     now >= c->loan_end)) {
		c->lent = NULL;
		return owner;
	}
	return cur;
}

/* When the host timer next looks at the loan: SCHED_HANDOFF_US into it,
 * then at its end. An IPI handled before the first look moves loan_end but
 * not the timer: the target mostly halts first, and the timer's write would
 * cost each round trip (vmexit.flat's `ipi` was 8% slower under TCG). */
static uint64_t loan_timer(const struct pcpu *c, uint64_t now)
{
	return c->loan_look > now ? c->loan_look : c->loan_end;
}

static void run_slice(struct vcpu *v)
{
	struct pcpu *c = this_cpu();
	uint64_t now = rdtsc(), slice_end = now + ms_to_tsc(SCHED_SLICE_MS);
	uint64_t poll = now + ms_to_tsc(SCHED_HOUSEKEEPING_MS), seen = c->timer_ticks;
	struct vcpu *cur = v;
	struct exit_info e;

	c->handoff = NULL;
	c->lent = NULL;
	while ((now = rdtsc()) < slice_end) {
		struct vcpu *next = slice_next(v, cur, now);

		if (!vcpu_can_run(next) || !homed_here(next))
			break;
		/* Every time: another CPU may have claimed it meanwhile. */
		switch_to(cur = next);
		arm_host_timer(earlier(cur == v ? slice_end : loan_timer(c, now), poll));
		cur->runner = c;
		now = rdtsc();
		vendor->run(cur, &e);
		cur->run_tsc += rdtsc() - now;
		exit_dispatch(cur, &e);
		cur->runner = NULL;
		if (!homed_here(cur))   /* moved meanwhile: its new CPU may run it now */
			vcpu_kick(cur);
		vm_timers_moved(cur->vm);
		if (c->timer_ticks != seen) {
			seen = c->timer_ticks;
			c->armed = 0;
			housekeeping();
		}
	}
	c->lent = NULL;
	restart_requested(v->vm);
}

static bool any_vm_live(void)
{
	for (unsigned i = 0; i < nr_vms; i++)
		if (vm_is_live(vms[i]))
			return true;
	return false;
}

/* VMs never started (autostart = no) are left out: batch mode does not
 * wait for them and they do not spoil "ended well" (docs/config.md). */
static __attribute__((noreturn)) void batch_poweroff(void)
{
	bool ran = false, all_well = true;

	for (unsigned i = 0; i < nr_vms; i++) {
		if (vm_never_started(vms[i]))
			continue;
		ran = true;
		all_well &= (vms[i]->state == VM_STOPPED || vms[i]->state == VM_DESTROYED) &&
			    vms[i]->ended_well;
	}
	all_well &= ran;
	printk("kestrel: batch mode: %s; powering off\n",
	       all_well ? "every VM ended well" : "some VMs did not end well");
	machine_poweroff(all_well);
}

static void all_stopped(bool batch)
{
	printk("kestrel: every VM has stopped\n");
	console_print_vms();
	if (!batch)
		return;
	for (unsigned i = 0; i < nr_vms; i++)
		if (vms[i]->state != VM_FAILED && !vm_never_started(vms[i])) {
			console_print_stats(vms[i]);
			virtio_print(vms[i]);
		}
	batch_poweroff();
}

/* Every CPU runs it, the boot CPU with the lock held since start-up. Only
 * the boot CPU takes lifecycle requests and reports the end. */
void sched_loop(bool batch)
{
	struct pcpu *c = this_cpu();
	bool reported = false;

	for (;;) {
		struct vcpu *v;

		housekeeping();
		if (c->id == 0)
			lifecycle_requests();
		v = nr_vms ? sched_pick() : NULL;
		if (v) {
			run_slice(v);
			reported = false;   /* after a `start`, report again when all have stopped */
			continue;
		}
		if (c->id == 0 && !any_vm_live() && !reported) {
			reported = true;
			all_stopped(batch);
		}
		arm_host_timer(rdtsc() + ms_to_tsc(SCHED_HOUSEKEEPING_MS));
		hv_unlock();
		cpu_idle();
		hv_lock();
		c->armed = 0;
	}
}
