// SPDX-License-Identifier: MIT
// FUZZ-SOURCES: hypervisor/core/console.c hypervisor/core/console_views.c hypervisor/core/tsc.c hypervisor/core/hot.c hypervisor/lib/printk.c hypervisor/arch/x86/guest_mem.c hypervisor/arch/x86/guest_walk.c hypervisor/arch/x86/paging.c hypervisor/arch/x86/insn.c hypervisor/core/console_json.c hypervisor/lib/json.c hypervisor/core/trace_ring.c
// FUZZ-OPTIONS: -max_len=600
// libFuzzer target for the management console: the terminal side
// (hypervisor/core/console_io.c: line editor, Ctrl-A focus switching, the
// bytes queued for a VM's UART) and the command side (hypervisor/core/
// console.c: splitting a line into argv, dispatching, every command; the
// views of core/console_views.c on a small guest RAM between guard pages,
// with page tables, nested page tables and vCPU state stubs), with
// the real printk/vsnprintf (hypervisor/lib/printk.c), exit trace
// (core/trace.c) and top-N counters (core/hot.c) underneath.
//
// Everything typed on the serial line is untrusted. The input is:
//   byte 0   number of VMs (0..8) in the fake VM table
//   byte 1   each VM's state, 2 bits a VM for the first four, then the same
//   byte 2   how many bytes the focused VM's UART takes per poll (0..15)
//   byte 3   how many typed bytes one console_poll() sees (1..64)
//   byte 4   poll round at which the focused VM stops by itself (0: never)
//   byte 5   exit-trace records / hot-table keys to put in beforehand (0..63)
//   rest     the bytes typed on the serial line
// Between polls the guests print partial and whole lines, as uart16550.c
// does. Checked, besides ASan/UBSan: the editor's line and the pending
// queue stay in bounds, input reaches only the VM that has the focus while
// it is live, the focus never stays on a VM that is not live, a VM that
// failed or stopped is never brought back (pause/resume/stop refuse it).
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/console.h>
#include <core/console_views.h>
#include <core/exit.h>
#include <core/page_alloc.h>
#include <core/trace.h>
#include <core/vm.h>
#include <devices/milestone.h>
#include <devices/uart16550.h>
#include <lib/printk.h>
#include <pci/pci.h>
#include <virtio/virtio_console.h>
#include <virtio/virtio_net.h>
#include <virtio/virtio_pci.h>
#include <x86/cpu.h>
#include <x86/percpu.h>
#include <core/cpus.h>
#include <x86/serial.h>
#include <x86/vendor.h>
#include <core/hot.h>
#include <devices/lapic.h>
#include <sys/mman.h>
#include <x86/processor.h>

/* The terminal and the trace ring keep their state in statics: they are
 * compiled in here so that every input starts from the same state. */
#include "../../hypervisor/core/console_io.c"
#include "../../hypervisor/core/trace.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_console: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

#define EXPECT(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

/* ---- the fake machine ---- */

static struct vm vm_store[MAX_VMS];
static struct vcpu vcpu_store[MAX_VMS][2];
struct vm *vms[MAX_VMS];
unsigned nr_vms;
volatile uint64_t nmi_count;
/* Two physical CPUs: the boot CPU and an idle AP (`info` lists them). */
static struct pcpu pcpu_store[2] = {
	{ .id = 0, .apic_id = 0, .state = PCPU_ONLINE },
	{ .id = 1, .apic_id = 1, .state = PCPU_ONLINE },
};
struct pcpu *pcpus[MAX_PCPUS] = { &pcpu_store[0], &pcpu_store[1] };
unsigned nr_pcpus = 2;

/* core/vm.c: the placement line `vms` prints on a machine of several CPUs. */
void vm_print_placement(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		printk("%s vCPU %u on CPU %u", i ? "," : "", i, vm->vcpus[i]->home);
	printk("\n");
}

/* core/cpus.c: one CPU runs everything here, there is nobody to kick. */
void vm_kick(const struct vm *vm)
{
	(void)vm;
}

/* The fake machine has 8 VMs (names below), fewer than the hypervisor's limit. */
#define FUZZ_VMS 8
static const char *const names[FUZZ_VMS] = {
	"alpha", "linux", "1", "7", "beta-2", "x.y_z", "ALPHA", "a-name-of-31-characters-exactly",
};

static const uint8_t *typed;
static size_t typed_len, typed_pos, burst_left;
static unsigned uart_room[MAX_VMS], uart_cap;
static uint64_t uart_taken[MAX_VMS];
static bool quiet = true;

/* x86/serial.h: the host UART. Output goes nowhere (FUZZ_VERBOSE=1 shows it). */
void serial_write(const char *s, size_t len)
{
	EXPECT(len < 4096, "serial_write of %zu bytes", len);
	if (!quiet)
		fwrite(s, 1, len, stderr);
}

int serial_getc(void)
{
	if (!burst_left || typed_pos >= typed_len)
		return -1;
	burst_left--;
	return typed[typed_pos++];
}

/* devices/uart16550.h: the guest UART's receive side. */
bool uart16550_can_accept(const struct vm *vm)
{
	return uart_room[vm->id] > 0;
}

void uart16550_input(struct vm *vm, uint8_t c)
{
	(void)c;
	EXPECT(vm == focus && vm_is_live(vm), "vm %u got input without the focus", vm->id);
	EXPECT(uart_room[vm->id] > 0, "vm %u got input with a full FIFO", vm->id);
	uart_room[vm->id]--;
	uart_taken[vm->id]++;
}

void uart16550_show_partial(struct vm *vm)
{
	console_guest_output(vm, "$ ", 2, false);
}

void uart16550_flush(struct vm *vm)
{
	console_guest_output(vm, "bye", 3, true);
}

/* The fuzzed VMs have no virtio console: input goes to the UART. */
bool virtio_console_active(const struct vm *vm)
{
	(void)vm;
	return false;
}

bool virtio_console_can_accept(struct vm *vm)
{
	fail("vm %u: virtio console asked without one", vm->id);
}

void virtio_console_input(struct vm *vm, uint8_t c)
{
	(void)c;
	fail("vm %u: virtio console input without one", vm->id);
}

void virtio_console_show_partial(struct vm *vm)
{
	(void)vm;
}

/* `devices`: the listing itself is not under test here. */
void pci_print(struct vm *vm)
{
	printk("  pci of vm %u\n", vm->id);
}

void virtio_print(struct vm *vm)
{
	printk("  virtio of vm %u\n", vm->id);
}

/* `net` and the NIC line of `stats`: the switch has its own fuzzer. */
void virtio_net_print(void)
{
	printk("  switch ports\n");
}

void virtio_net_print_vm(const struct vm *vm)
{
	printk("  net of vm %u\n", vm->id);
}

/* The boot milestones at the end of `stats`: a pure table, unit-tested. */
void milestone_print(const struct vm *vm)
{
	printk("  milestones of vm %u\n", vm->id);
}

/* core/vm.c, the parts the console uses (same rules). */
static const char *const state_names[] = {
	[VM_FAILED] = "failed", [VM_RUNNING] = "running",
	[VM_PAUSED] = "paused", [VM_STOPPED] = "stopped",
};

const char *vm_state_name(enum vm_state s)
{
	return state_names[s];
}

bool vm_is_live(const struct vm *vm)
{
	return vm->state == VM_RUNNING || vm->state == VM_PAUSED;
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
	printk("kestrel: vm %u (%s) stopped: %s\n", vm->id, vm->name, vm->stop_reason);
}

/* core/watch.c changes the nested page tables the fake VMs share: left
 * out here (its ranges: tests/unit/test_watch.c; end to end: test_watch.py). */
void console_cmd_watch(int argc, char **argv)
{
	(void)argc;
	(void)argv;
}

void console_cmd_unwatch(int argc, char **argv)
{
	(void)argc;
	(void)argv;
}

/* The console destroys only VMs that no longer run. */
void vm_destroy(struct vm *vm)
{
	EXPECT(!vm_is_live(vm), "destroy of vm %u, which is %s", vm->id,
	       vm_state_name(vm->state));
}

void vcpu_print_regs(struct vcpu *v)
{
	const uint64_t *g = v->regs.gpr;

	printk("vm %u (%s) vcpu %u: %s\n", v->vm->id, v->vm->name, v->id,
	       v->state == VCPU_RUNNABLE ? "runnable" : "halted");
	printk("  RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n", g[GPR_RAX], g[GPR_RBX],
	       g[GPR_RCX], g[GPR_RDX]);
}

/* ---- what the views (core/console_views.c) read ---- */

/* Every fake VM's RAM: VIEW_RAM bytes between PROT_NONE pages, so a view
 * reading past either end is a SEGV report. The guest page tables in it
 * (4-level at CR3 0x1000) map 0..2 MiB with one large page, then 4 KiB
 * pages of which some are not present, and 1..2 GiB outside RAM; the
 * other paging modes read the same bytes as their own tables. */
#define VIEW_RAM (16 * 4096)

static uint8_t *view_ram;
static struct pt view_npt;
static uint8_t npt_pool[8 * 4096] __attribute__((aligned(4096)));
static unsigned npt_used;

static uint64_t npt_alloc(void *ctx)
{
	(void)ctx;
	return npt_used < 8 ? (uint64_t)(uintptr_t)(npt_pool + npt_used++ * 4096) : 0;
}

static void *npt_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

static void put64(uint64_t gpa, uint64_t e)
{
	memcpy(view_ram + gpa, &e, 8);
}

static void view_ram_init(void)
{
	uint8_t *arena = mmap(NULL, VIEW_RAM + 2 * 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	EXPECT(arena != MAP_FAILED, "mmap");
	mprotect(arena, 4096, PROT_NONE);
	mprotect(arena + 4096 + VIEW_RAM, 4096, PROT_NONE);
	view_ram = arena + 4096;
	for (unsigned i = 0; i < VIEW_RAM; i++)
		view_ram[i] = (uint8_t)(i * 7);
	put64(0x1000, 0x2000 | 3);                  /* PML4[0] */
	put64(0x2000, 0x3000 | 3);                  /* PDPT[0] */
	put64(0x2008, 0x40000000 | 0x83);           /* PDPT[1]: 1 GiB, not RAM */
	put64(0x3000, 0x83);                        /* PD[0]: 2 MiB at 0 */
	put64(0x3008, 0x4000 | 3);                  /* PD[1] -> PT */
	put64(0x3010, 0x7fff000 | 3);               /* PD[2] -> a PT outside RAM */
	for (unsigned i = 0; i < 512; i += 1 + i % 3)
		put64(0x4000 + i * 8, ((i * 0x1000ull) % (VIEW_RAM + 0x2000)) | 3);
	view_npt = (struct pt){ .fmt = &pt_format_npt, .alloc_table = npt_alloc,
				.to_virt = npt_virt };
	EXPECT(!pt_init(&view_npt) && !pt_map(&view_npt, 0, (uintptr_t)view_ram, VIEW_RAM, PT_RWX),
	       "nested page tables");
}

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa > vm->mem_size || vm->mem_size - gpa < len)
		return NULL;
	return (void *)(uintptr_t)(vm->ram_hpa + gpa);
}

/* vCPU c of VM i: paging mode (i + c) % 5 (4-level, 5-level, PAE, 32-bit, off). */
static void stub_read_sregs(struct vcpu *v, struct guest_sregs *s)
{
	static const uint64_t cr4[] = { X86_CR4_PAE, X86_CR4_PAE | X86_CR4_LA57, X86_CR4_PAE,
					X86_CR4_PSE, 0 };
	unsigned mode = (v->vm->id + v->id) % 5;

	*s = (struct guest_sregs){
		.cr0 = X86_CR0_PE | (mode < 4 ? X86_CR0_PG : 0), .cr3 = mode == 1 ? 0 : 0x1000,
		.cr4 = cr4[mode], .efer = mode < 2 ? EFER_LME | EFER_LMA | EFER_NXE : 0,
		.cs = { .sel = 8, .attr = 0xa9b }, .rip = 0x100000,
	};
}

static void stub_read_events(struct vcpu *v, struct guest_events *ev)
{
	*ev = (struct guest_events){
		.inject = { .valid = v->id & 1, .has_error = true, .type = 3, .vector = 14 },
		.interrupted = { .valid = true, .type = (uint8_t)(v->vm->id % 8), .vector = 32 },
		.offered_irq = v->id ? 48 : -1, .shadow = v->vm->id & 1,
	};
}

bool lapic_get_state(const struct vcpu *v, struct lapic_state *st)
{
	*st = (struct lapic_state){ .id = v->id, .timer_mode = v->vm->id % 4,
				    .isr_highest = -1, .irr_highest = 32 };
	return v->id == 0;
}

uint8_t lapic_read_cr8(const struct vcpu *v)
{
	fail("vm %u vcpu %u: CR8 read without an APIC", v->vm->id, v->id);
}

int vcpu_pending_irq(const struct vcpu *v)
{
	return v->id ? 48 : -1;
}

/* core/exit.c */
const char *exit_reason_name(enum exit_reason r)
{
	static const char *const reason_names[NR_EXIT_REASONS] = {
		[EXIT_NONE] = "none", [EXIT_CPUID] = "cpuid", [EXIT_IO] = "io",
		[EXIT_NPF] = "npf", [EXIT_HLT] = "hlt",
	};

	return r < NR_EXIT_REASONS && reason_names[r] ? reason_names[r] : "?";
}

/* core/page_alloc.c: the trace rings (`trace start`) are the only user. */
uint64_t page_alloc_free_pages(void)
{
	return 12345;
}

uint64_t page_alloc(uint64_t count, uint64_t align)
{
	void *p = aligned_alloc(4096 * align, 4096 * count);

	if (p)
		memset(p, 0, 4096 * count);
	return (uintptr_t)p;
}

void page_free(uint64_t pa, uint64_t count)
{
	(void)count;
	free((void *)(uintptr_t)pa);
}

uint64_t tsc_khz(void)
{
	return 1000000;
}

static const struct vendor_ops fuzz_vendor = {
	.name = "fuzz", .read_sregs = stub_read_sregs, .read_events = stub_read_events,
};
const struct vendor_ops *vendor = &fuzz_vendor;

/* ---- the target ---- */

static void reset_console(void)
{
	/* console_io.c */
	line_len = 0;
	last_cr = false;
	line_owner = NULL;
	prompt_lost = console_printing = false;
	focus = NULL;
	ctrl_a_run = 0;
	pending_head = pending_len = 0;
	pending_dropped = 0;
	console_json = json_off_pending = false;
	/* trace.c */
	next = 0;
	memset(ring, 0, sizeof(ring));
	rec.on = false;
	recording_free();
}

static void check_console(void)
{
	EXPECT(line_len < LINE_MAX, "line_len %u", line_len);
	EXPECT(pending_len <= PENDING_MAX && pending_head < PENDING_MAX, "pending %u at %u",
	       pending_len, pending_head);
	EXPECT(ctrl_a_run < SWITCH_PRESSES, "ctrl_a_run %u", ctrl_a_run);
	EXPECT(!focus || vm_is_live(focus), "focus on vm %u, which is %s", focus->id,
	       vm_state_name(focus->state));
	EXPECT(!console_printing, "console_printing left set");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum vm_state before[MAX_VMS];
	unsigned stop_round, rounds = 0;

	if (size < 6)
		return 0;
	quiet = !getenv("FUZZ_VERBOSE");
	if (!view_ram)
		view_ram_init();
	reset_console();
	nr_vms = data[0] % (FUZZ_VMS + 1);
	uart_cap = data[2] % 16;
	stop_round = data[4] % 32;
	for (unsigned i = 0; i < FUZZ_VMS; i++) {
		struct vm *vm = &vm_store[i];

		memset(vm, 0, sizeof(*vm));
		vm->id = i;
		strcpy(vm->name, names[i]);
		vm->state = (enum vm_state)((data[1] >> (2 * (i % 4))) & 3);
		vm->mem_size = VIEW_RAM;
		vm->ram_hpa = (uintptr_t)view_ram;
		vm->npt = view_npt;
		vm->nr_vcpus = i % 3;
		if (vm->state == VM_FAILED && i % 2)
			snprintf(vm->stop_reason, sizeof(vm->stop_reason),
				 "kernel \"guests/%s.elf\": not an ELF file (bad magic)", names[i]);
		for (unsigned c = 0; c < vm->nr_vcpus; c++) {
			struct vcpu *v = &vcpu_store[i][c];

			memset(v, 0, sizeof(*v));
			v->vm = vm;
			v->id = c;
			v->regs.gpr[GPR_RAX] = 0x1234ull * (i + 1);
			v->stats.exits[(i + c) % NR_EXIT_REASONS] = 1000 + i;
			v->stats.total = 1000 + i;
			vm->vcpus[c] = v;
		}
		vms[i] = vm;
		before[i] = vm->state;
		uart_taken[i] = 0;
	}
	/* Exit-trace records and hot keys, from byte 5. */
	for (unsigned i = 0; i < data[5] % 64u && nr_vms; i++) {
		struct vm *vm = vms[i % nr_vms];
		struct vcpu v = { .vm = vm, .id = i % 2 };
		struct exit_info e = { .reason = (enum exit_reason)(i % (NR_EXIT_REASONS + 1)) };

		trace_exit(&v, &e);
		hot_count(&vm->hot_ports, (0x3f8 + i % 24) | (i & 1 ? HOT_OUT : 0));
		hot_count(&vm->hot_msrs, (0xc0000080u + i % 5) | (i & 2 ? HOT_WRITE : 0));
		hot_count(&vm->hot_gpas, 0xfee00000u + (i % 3) * 4096);
	}

	typed = data + 6;
	typed_len = size - 6;
	typed_pos = 0;
	printk_set_sink(console_sink);
	console_init();
	while (typed_pos < typed_len && rounds < 100000) {
		rounds++;
		/* The guests took what was in their FIFOs and print something. */
		for (unsigned i = 0; i < nr_vms; i++)
			uart_room[i] = uart_cap;
		if (nr_vms && rounds % 3 == 0) {
			struct vm *vm = vms[rounds % nr_vms];

			if (vm_is_live(vm))
				console_guest_output(vm, "partial", 7, rounds % 2);
		}
		if (stop_round && rounds == stop_round && focus)
			vm_stop(focus, true, "powered off (status %d)", 0);
		burst_left = data[3] % 64 + 1;
		console_poll();
		check_console();
	}
	for (unsigned i = 0; i < FUZZ_VMS; i++) {
		enum vm_state s = vms[i]->state;

		if (i >= nr_vms || before[i] == VM_FAILED || before[i] == VM_STOPPED)
			EXPECT(s == before[i], "vm %u went from %s to %s", i,
			       vm_state_name(before[i]), vm_state_name(s));
		if (i >= nr_vms)
			EXPECT(!uart_taken[i], "vm %u not in the table got input", i);
	}
	printk_set_sink(NULL);
	return 0;
}
