/*
 * Round-robin scheduler. Each runnable vCPU gets a slice of
 * SCHED_SLICE_TICKS host timer ticks; HLT ends the slice early. Between
 * exits, at most once per tick, the loop does the housekeeping: console
 * input and the guests' timers.
 */
#include <core/console.h>
#include <core/sched.h>
#include <core/vm.h>
#include <devices/lapic.h>
#include <lib/printk.h>
#include <x86/acpi.h>
#include <x86/cpu.h>
#include <x86/fpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>

#define DEBUG_EXIT_PORT 0xf4   /* QEMU isa-debug-exit: exit status (v << 1) | 1 */
#define BATCH_ALL_WELL  0x10
#define BATCH_SOME_BAD  0x11

static unsigned rr_vm, rr_vcpu;

static bool vcpu_can_run(const struct vcpu *v)
{
	return v->vm->state == VM_RUNNING && v->state == VCPU_RUNNABLE;
}

/* Guest timers fire here, at the resolution of the host tick. */
static void timers_check(void)
{
	uint64_t now = rdtsc();

	for (unsigned i = 0; i < nr_vms; i++) {
		struct vm *vm = vms[i];

		if (vm->state != VM_RUNNING)
			continue;
		for (unsigned c = 0; c < vm->nr_vcpus; c++) {
			struct vcpu *v = vm->vcpus[c];

			if (v->timer_deadline && now >= v->timer_deadline) {
				v->timer_deadline = 0;
				vcpu_raise_irq(v, v->timer_vector);
			}
			lapic_timer_check(v, now);
		}
	}
}

static void housekeeping(void)
{
	console_poll();
	timers_check();
}

/* Next runnable vCPU after the last one picked, across all VMs. */
static struct vcpu *sched_pick(void)
{
	unsigned total = nr_vms * MAX_VCPUS_PER_VM;

	for (unsigned n = 0; n < total; n++) {
		if (++rr_vcpu >= MAX_VCPUS_PER_VM) {
			rr_vcpu = 0;
			rr_vm = (rr_vm + 1) % nr_vms;
		}
		if (rr_vcpu < vms[rr_vm]->nr_vcpus && vcpu_can_run(vms[rr_vm]->vcpus[rr_vcpu]))
			return vms[rr_vm]->vcpus[rr_vcpu];
	}
	return NULL;
}

struct vcpu *current_vcpu;

static void run_slice(struct vcpu *v)
{
	uint64_t start = timer_ticks, seen = start;
	struct exit_info e;

	current_vcpu = v;
	fpu_switch_to(v);
	while (vcpu_can_run(v) && timer_ticks - start < SCHED_SLICE_TICKS) {
		vendor->run(v, &e);
		exit_dispatch(v, &e);
		if (timer_ticks != seen) {
			seen = timer_ticks;
			housekeeping();
		}
	}
}

static bool any_vm_live(void)
{
	for (unsigned i = 0; i < nr_vms; i++)
		if (vm_is_live(vms[i]))
			return true;
	return false;
}

static __attribute__((noreturn)) void batch_poweroff(void)
{
	bool all_well = nr_vms > 0;

	for (unsigned i = 0; i < nr_vms; i++)
		all_well &= vms[i]->state == VM_STOPPED && vms[i]->ended_well;
	printk("kestrel: batch mode: %s; powering off\n",
	       all_well ? "every VM ended well" : "some VMs did not end well");
	/* QEMU's isa-debug-exit turns this into QEMU's exit status; elsewhere
	 * the port is unused and ACPI soft-off follows. */
	outb(DEBUG_EXIT_PORT, all_well ? BATCH_ALL_WELL : BATCH_SOME_BAD);
	acpi_poweroff();
	printk("kestrel: could not power off; halted\n");
	cpu_halt_forever();
}

static void all_stopped(bool batch)
{
	printk("kestrel: every VM has stopped\n");
	console_print_vms();
	if (batch)
		batch_poweroff();
}

void sched_loop(bool batch)
{
	bool reported = false;

	for (;;) {
		struct vcpu *v;

		housekeeping();
		v = nr_vms ? sched_pick() : NULL;
		if (v) {
			run_slice(v);
			continue;
		}
		if (!any_vm_live() && !reported) {
			reported = true;
			all_stopped(batch);
		}
		cpu_idle();
	}
}
