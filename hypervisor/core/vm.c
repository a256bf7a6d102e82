/*
 * VM and vCPU life cycle.
 *
 * What a VM's creation allocates (guest RAM, nested page tables, device
 * state) is charged to the VM in the page allocator, so `destroy` frees it
 * in one call and `start` builds it again (vm_build); the struct vm and its
 * vCPUs stay allocated (see struct vm).
 */
#include <core/boot.h>
#include <core/cpus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <core/platform.h>
#include <core/smp.h>
#include <core/watch.h>
#include <devices/acpi_tables.h>
#include <devices/lapic.h>
#include <devices/uart16550.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <virtio/virtio_net.h>
#include <stdarg.h>
#include <core/tsc.h>
#include <x86/debugreg.h>
#include <x86/fpu.h>
#include <x86/vendor.h>

/* Below 1 MiB, in the range the e820 map reserves (core/boot.c). */
#define ACPI_TABLES_GPA 0xe0000
/* F000:FFF0, where a PC starts and where an OS jumps to reset through the
 * BIOS (Linux's BOOT_BIOS, taken on hardware-reduced ACPI once its EFI
 * reboot finds no EFI runtime). The firmware of a VM is Kestrel: a jump
 * there resets the VM through the reset control port. */
#define RESET_VECTOR_GPA 0xffff0
static const uint8_t reset_stub[] = {
	0xba, ACPI_RESET_PORT & 0xff, ACPI_RESET_PORT >> 8,   /* mov dx, ACPI_RESET_PORT */
	0xb0, ACPI_RESET_VALUE,                               /* mov al, ACPI_RESET_VALUE */
	0xee,                                                 /* out dx, al */
	0xf4,                                                 /* 1: hlt */
	0xeb, 0xfd,                                           /* jmp 1b */
};
_Static_assert(sizeof(reset_stub) <= 16, "F000:FFF0 to the end of the first MiB");

struct vm *vms[MAX_VMS];
unsigned nr_vms;

static const char *const state_names[] = {
	[VM_FAILED] = "failed", [VM_RUNNING] = "running",
	[VM_PAUSED] = "paused", [VM_STOPPED] = "stopped", [VM_DESTROYED] = "destroyed",
};

/* Page allocator owner numbers: 0 is the hypervisor's. */
_Static_assert(MAX_VMS < 255, "a VM's owner number is 1 + its id, in a byte");

static uint8_t vm_owner(const struct vm *vm)
{
	return (uint8_t)(1 + vm->id);
}


const char *vm_state_name(enum vm_state s)
{
	return state_names[s];
}

bool vm_is_live(const struct vm *vm)
{
	return vm->state == VM_RUNNING || vm->state == VM_PAUSED;
}

bool vm_never_started(const struct vm *vm)
{
	return vm->state == VM_STOPPED && !vm->starts;
}

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (!vm->ram_hpa || gpa > vm->mem_size || vm->mem_size - gpa < len)
		return NULL;
	return (void *)(uintptr_t)(vm->ram_hpa + gpa);
}

/* Charged to the VM whenever it is taken, also after vm_build (a large
 * page split by a write-watch, core/watch.c): destroy frees it. */
static uint64_t npt_alloc_table(void *ctx)
{
	uint8_t charged = page_alloc_charge(vm_owner(ctx));
	uint64_t pa = page_alloc(1, 1);

	page_alloc_charge(charged);
	return pa;
}

static void *npt_to_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

/* Guest RAM is the only thing nested paging maps: every other guest-physical
 * access faults and is emulated or refused (core/exit.c). */
static int vm_map_ram(struct vm *vm)
{
	vm->npt.alloc_table = npt_alloc_table;
	vm->npt.to_virt = npt_to_virt;
	vm->npt.ctx = vm;
	if (pt_init(&vm->npt))
		return -1;
	return pt_map(&vm->npt, 0, vm->ram_hpa, vm->mem_size, PT_RWX);
}

static int vcpu_create(struct vm *vm, unsigned i)
{
	struct vcpu *v = page_alloc_ptr((sizeof(*v) + PAGE_SIZE - 1) / PAGE_SIZE);

	if (!v)
		return -1;
	v->vm = vm;
	v->id = i;
	v->state = VCPU_RUNNABLE;
	v->home = (unsigned)cpus_place(vm->boot->cpu_mask, i);
	v->loaded_on = this_cpu()->id;     /* vcpu_init loads its VMCS here */
	v->misc_enable = MISC_ENABLE_DEFAULT;
	debugreg_vcpu_reset(v);
	machine_msrs_reset(&v->machine);
	tsc_aux_vcpu_reset(v);
	/* Counted only once whole: the console may look at any counted
	 * vCPU, even of a VM that failed to start (review R5). */
	if (fpu_vcpu_init(v) || lapic_create(v) || vendor->vcpu_init(v))
		return -1;
	vm->vcpus[i] = v;
	return 0;
}

/* vCPUs are the hypervisor's, not the VM's: a destroyed VM keeps them, and
 * a start counts them again (vm_power_on resets them with the new tables). */
static int vcpus_create(struct vm *vm, unsigned n)
{
	uint8_t charged = page_alloc_charge(PAGE_OWNER_HV);
	int r = 0;

	for (unsigned i = 0; i < n && !r; i++) {
		if (!vm->vcpus[i])
			r = vcpu_create(vm, i);
		if (!r)
			vm->nr_vcpus++;
	}
	page_alloc_charge(charged);
	return r;
}

/* What firmware leaves in guest RAM: ACPI tables describing the platform
 * (core/platform.c) and the reset vector. */
static int acpi_tables_write(struct vm *vm)
{
	struct acpi_platform acpi = {
		.nr_vcpus = vm->nr_vcpus, .cmos_rtc = true, .pic_pit = true, .pm_timer = true,
		.virtio_mmio = vm->boot->devices & HV_DEV_VIRTIO_MMIO ? vm->nr_virtio : 0,
	};
	void *tables = vm_gpa_to_hva(vm, ACPI_TABLES_GPA, ACPI_TABLES_MAX_SIZE);

	void *reset = vm_gpa_to_hva(vm, RESET_VECTOR_GPA, sizeof(reset_stub));

	if (!tables || !reset || acpi_build(&acpi, tables, ACPI_TABLES_MAX_SIZE, ACPI_TABLES_GPA) < 0)
		return -1;
	memcpy(reset, reset_stub, sizeof(reset_stub));
	vm->acpi_rsdp = ACPI_TABLES_GPA;
	return 0;
}

/*
 * The address-space tag (ASID) and nested paging format, once per VM. A
 * CPU may have fewer ASIDs than the VMs (QEMU's SVM has 16): the VMs past
 * them share the tags of the first ones, and the scheduler makes the
 * backend flush when a shared tag passes from one VM to another
 * (core/sched.c). Only a failure to tag the very first VM is an error.
 */
static int vm_tag(struct vm *vm)
{
	static struct vm *tagged[MAX_VMS];
	static unsigned nr_tagged;
	static bool exhausted;
	struct vm *donor;

	if (!exhausted && !vendor->vm_init(vm)) {
		tagged[nr_tagged++] = vm;
		return 0;
	}
	if (!nr_tagged)
		return -1;
	if (!exhausted)
		printk("kestrel: %u VMs have address-space tags of their own; the next share "
		       "them (a TLB flush when a shared tag changes VM)\n", nr_tagged);
	exhausted = true;
	donor = tagged[vm->id % nr_tagged];
	vm->asid = donor->asid;
	vm->npt.fmt = donor->npt.fmt;
	vm->tag_shared = donor->tag_shared = true;
	return 0;
}

/* Guest RAM from the page allocator, 2 MiB aligned for large pages. */
static int vm_alloc_ram(struct vm *vm, char *err, size_t len)
{
	vm->ram_hpa = page_alloc(vm->mem_size / PAGE_SIZE, (2u << 20) / PAGE_SIZE);
	if (vm->ram_hpa)
		return 0;
	snprintf(err, len, "out of memory for its %lu MiB of RAM (%lu MiB free)",
		 vm->mem_size >> 20, page_alloc_free_pages() >> 8);
	return -1;
}

static int vm_build_charged(struct vm *vm, char *err, size_t len)
{
	const char *failed = "";

	if (vm_alloc_ram(vm, err, len))
		return -1;
	if (vm_map_ram(vm)) {
		snprintf(err, len, "cannot set up nested paging (out of memory?)");
		return -1;
	}
	if (vm->boot->cpu_mask && cpus_place(vm->boot->cpu_mask, 0) < 0) {
		snprintf(err, len, "cpus = lists none of the %u CPU(s) online", nr_pcpus);
		return -1;
	}
	if (vcpus_create(vm, vm->boot->nr_vcpus)) {
		snprintf(err, len, "cannot create %u vCPUs", vm->boot->nr_vcpus);
		return -1;
	}
	if (platform_create(vm, &failed)) {
		snprintf(err, len, "cannot create its %s (see above, or out of memory)", failed);
		return -1;
	}
	return 0;
}

/* Everything destroy frees: RAM, nested page tables, devices; the vCPUs
 * (kept or new) counted. Its allocations are charged to the VM. */
static int vm_build(struct vm *vm, char *err, size_t len)
{
	uint8_t charged = page_alloc_charge(vm_owner(vm));
	int r = vm_build_charged(vm, err, len);

	page_alloc_charge(charged);
	return r;
}

/* Frees what vm_build took and forgets where it was. */
static uint64_t vm_unbuild(struct vm *vm)
{
	uint64_t pages;

	virtio_net_forget(vm);    /* the switch's port points at the NIC */
	/* No CPU may still walk the tables, nor keep what they translated. */
	vendor->flush_nested(vm);
	cpus_leave_guest(vm);
	pages = page_free_owner(vm_owner(vm));
	vm->ram_hpa = 0;
	vm->npt.root_pa = 0;
	vm->acpi_rsdp = 0;
	vm->nr_vcpus = 0;
	memset(&vm->pio, 0, sizeof(*vm) - offsetof(struct vm, pio));
	return pages;
}

static int vm_setup(struct vm *vm, const struct hv_boot_vm *bv, char *err, size_t len)
{
	if (vm_tag(vm)) {
		snprintf(err, len, "cannot set up nested paging (no address-space tag)");
		return -1;
	}
	if (vm_build(vm, err, len))
		return -1;
	if (acpi_tables_write(vm)) {
		snprintf(err, len, "cannot write the ACPI tables");
		return -1;
	}
	return boot_prepare(vm, bv, err, len);
}

static void vm_create(const struct hv_boot_vm *bv)
{
	struct vm *vm = page_alloc_ptr((sizeof(*vm) + PAGE_SIZE - 1) / PAGE_SIZE);

	if (!vm) {
		printk("kestrel: vm \"%s\": out of memory\n", bv->name);
		return;
	}
	vm->id = nr_vms;
	vm->boot = bv;
	vms[nr_vms++] = vm;
	strlcpy(vm->name, bv->name, sizeof(vm->name));
	vm->mem_size = bv->mem_size;
	vm->state = VM_FAILED;
	tsc_vm_reset(vm);
	if (bv->error[0]) {
		strlcpy(vm->stop_reason, bv->error, sizeof(vm->stop_reason));
		return;   /* the loader already reported it */
	}
	if (!vendor) {
		strlcpy(vm->stop_reason, "no hardware virtualization", sizeof(vm->stop_reason));
		return;
	}
	if (vm_setup(vm, bv, vm->stop_reason, sizeof(vm->stop_reason))) {
		printk("kestrel: vm %u (%s) not started: %s\n", vm->id, vm->name, vm->stop_reason);
		vm_unbuild(vm);   /* it cannot start: its RAM and devices go back now */
		return;
	}
	printk("kestrel: vm %u (%s): %u vCPU(s), %lu MiB, kernel %s%s\n", vm->id, vm->name,
	       vm->nr_vcpus, vm->mem_size >> 20, bv->kernel.path,
	       bv->flags & HV_VM_NO_AUTOSTART ? "; not started (autostart = no)" : "");
	if (nr_pcpus > 1) {
		printk("kestrel: vm %u (%s) placed:", vm->id, vm->name);
		vm_print_placement(vm);
	}
	if (bv->flags & HV_VM_NO_AUTOSTART) {
		/* Set up like the others, so a bad image fails at boot, not at `start`. */
		vm->state = VM_STOPPED;
		strlcpy(vm->stop_reason, "not started (autostart = no)", sizeof(vm->stop_reason));
		return;
	}
	vm->state = VM_RUNNING;
	vm->starts = 1;
}

/* What the VMs cost the hypervisor beyond their RAM (docs/config.md). */
static void vm_report_memory(uint64_t free_before)
{
	uint64_t taken = (free_before - page_alloc_free_pages()) * PAGE_SIZE, ram = 0;
	unsigned built = 0;

	for (unsigned i = 0; i < nr_vms; i++)
		if (vms[i]->ram_hpa) {
			ram += vms[i]->mem_size;
			built++;
		}
	if (!built)
		return;
	printk("kestrel: %u VMs built: %lu KiB of guest RAM, %lu KiB for the hypervisor "
	       "(%lu KiB a VM), %lu MiB free\n", built, ram >> 10, (taken - ram) >> 10,
	       (taken - ram) / built >> 10, page_alloc_free_pages() >> 8);
}

void vm_create_all(const struct hv_bootinfo *bi)
{
	uint64_t free_before = page_alloc_free_pages();

	for (unsigned i = 0; i < bi->nr_vms && i < MAX_VMS; i++)
		vm_create(&bi->vms[i]);
	vm_report_memory(free_before);
}

/* From any CPU: the one that ran it gives its registers up first, and an
 * exit of it not yet handled there is dropped (the epoch). */
static void vcpu_power_on(struct vcpu *v)
{
	vcpu_claim(v);
	vcpu_drop_events(v);
	v->state = VCPU_RUNNABLE;
	v->misc_enable = MISC_ENABLE_DEFAULT;
	lapic_reset(v);
	fpu_vcpu_reset(v);
	debugreg_vcpu_reset(v);
	machine_msrs_reset(&v->machine);
	tsc_aux_vcpu_reset(v);
	vendor->vcpu_reset(v);
	watch_vcpu_reset(v);
}

/* RAM cleared, devices and vCPUs at power-on, tables and images written
 * again; `what` names the step in the stop reason if that fails. */
static void vm_power_on(struct vm *vm, const char *what)
{
	char err[VM_STOP_REASON_MAX];

	cpus_leave_guest(vm);    /* its other vCPUs may be running elsewhere */
	memset(vm_gpa_to_hva(vm, 0, vm->mem_size), 0, vm->mem_size);
	tsc_vm_reset(vm);
	platform_reset(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_power_on(vm->vcpus[i]);
	if (acpi_tables_write(vm)) {
		vm_stop(vm, false, "%s failed: cannot write the ACPI tables", what);
		return;
	}
	if (boot_prepare(vm, vm->boot, err, sizeof(err)))
		vm_stop(vm, false, "%s failed: %s", what, err);
	vm_kick(vm);    /* its vCPUs' CPUs may be idle */
}

void vm_restart(struct vm *vm)
{
	bool console = vm->reset_by_console;

	vm->reset_requested = vm->reset_by_console = false;
	vm->resets++;
	uart16550_reset(vm);
	printk("kestrel: vm %u (%s) restarts (%s, %u so far)\n", vm->id, vm->name,
	       console ? "reboot from the console" : "reset by the guest", vm->resets);
	vm->state = VM_RUNNING;   /* a paused VM rebooted runs */
	vm_power_on(vm, "restart");
}

/* A destroyed VM built again, as stopped; false (and why) when it cannot be. */
static bool vm_rebuild(struct vm *vm)
{
	char err[VM_STOP_REASON_MAX];

	if (!vm_build(vm, err, sizeof(err))) {
		vm->state = VM_STOPPED;
		return true;
	}
	vm_unbuild(vm);
	snprintf(vm->stop_reason, sizeof(vm->stop_reason), "cannot start: %s", err);
	printk("kestrel: vm %u (%s) %s\n", vm->id, vm->name, vm->stop_reason);
	return false;
}

void vm_start(struct vm *vm)
{
	vm->start_requested = false;
	if (vm->state == VM_DESTROYED && !vm_rebuild(vm))
		return;
	if (vm->state != VM_STOPPED)
		return;
	/* What the last run left: a reset it asked for, why it stopped. */
	vm->reset_requested = vm->reset_by_console = false;
	vm->storm_resets = 0;
	vm->ended_well = false;
	vm->exit_status = 0;
	vm->stop_reason[0] = '\0';
	vm->starts++;
	uart16550_reset(vm);
	printk("kestrel: vm %u (%s) starts (from the console, start %u)\n", vm->id, vm->name,
	       vm->starts);
	vm->state = VM_RUNNING;
	vm_power_on(vm, "start");
}

void vm_destroy(struct vm *vm)
{
	uint64_t pages;

	if (vm->state != VM_STOPPED) {
		printk("error: vm %u (%s) is %s: only a stopped VM can be destroyed\n", vm->id,
		       vm->name, vm_state_name(vm->state));
		return;
	}
	pages = vm_unbuild(vm);
	vm->state = VM_DESTROYED;
	strlcpy(vm->stop_reason, "destroyed from the console", sizeof(vm->stop_reason));
	printk("kestrel: vm %u (%s) destroyed: %lu KiB back to the pool, %lu KiB free\n",
	       vm->id, vm->name, pages * 4, page_alloc_free_pages() * 4);
}

void vm_print_placement(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		printk("%s vCPU %u on CPU %u", i ? "," : "", i, vm->vcpus[i]->home);
	printk("\n");
}

struct vm *vm_find(const char *id_or_name)
{
	for (unsigned i = 0; i < nr_vms; i++) {
		char id[12];

		snprintf(id, sizeof(id), "%u", vms[i]->id);
		if (!strcmp(id, id_or_name) || !strcmp(vms[i]->name, id_or_name))
			return vms[i];
	}
	return NULL;
}

void vm_stop(struct vm *vm, bool ended_well, const char *fmt, ...)
{
	va_list ap;

	if (!vm_is_live(vm))
		return;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	uart16550_flush(vm);
	vm->state = VM_STOPPED;
	vm->ended_well = ended_well;
	vm_kick(vm);
	printk("kestrel: vm %u (%s) stopped: %s\n", vm->id, vm->name, vm->stop_reason);
}

void vcpu_raise_irq(struct vcpu *v, uint8_t vector)
{
	v->pending_irqs[vector / 64] |= 1ull << (vector % 64);
	if (v->state == VCPU_HALTED)
		v->state = VCPU_RUNNABLE;
	vcpu_kick(v);
}

static int direct_pending(const struct vcpu *v)
{
	for (int w = 3; w >= 0; w--)
		if (v->pending_irqs[w])
			return w * 64 + 63 - __builtin_clzll(v->pending_irqs[w]);
	return -1;
}

int vcpu_pending_irq(const struct vcpu *v)
{
	int direct = direct_pending(v), apic = lapic_pending(v);

	return direct > apic ? direct : apic;
}

void vcpu_ack_irq(struct vcpu *v, uint8_t vector)
{
	if (v->pending_irqs[vector / 64] & (1ull << (vector % 64)))
		v->pending_irqs[vector / 64] &= ~(1ull << (vector % 64));
	else
		lapic_ack(v, vector);
}

void vcpu_print_regs(struct vcpu *v)
{
	const uint64_t *g = v->regs.gpr;
	struct guest_sregs s;

	vendor->read_sregs(v, &s);
	printk("vm %u (%s) vcpu %u: %s\n", v->vm->id, v->vm->name, v->id,
	       v->state == VCPU_RUNNABLE ? "runnable" : "halted");
	printk("  RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n", g[GPR_RAX], g[GPR_RBX],
	       g[GPR_RCX], g[GPR_RDX]);
	printk("  RSI %016lx RDI %016lx RBP %016lx RSP %016lx\n", g[GPR_RSI], g[GPR_RDI],
	       g[GPR_RBP], g[GPR_RSP]);
	printk("  R8  %016lx R9  %016lx R10 %016lx R11 %016lx\n", g[GPR_R8], g[GPR_R9],
	       g[GPR_R10], g[GPR_R11]);
	printk("  R12 %016lx R13 %016lx R14 %016lx R15 %016lx\n", g[GPR_R12], g[GPR_R13],
	       g[GPR_R14], g[GPR_R15]);
	printk("  RIP %016lx RFLAGS %016lx CS %04x SS %04x\n", s.rip, s.rflags, s.cs.sel, s.ss.sel);
	printk("  CR0 %016lx CR2 %016lx CR3 %016lx CR4 %016lx\n", s.cr0, s.cr2, s.cr3, s.cr4);
	printk("  EFER %016lx GDTR %016lx/%x IDTR %016lx/%x\n", s.efer, s.gdtr.base, s.gdtr.limit,
	       s.idtr.base, s.idtr.limit);
}
