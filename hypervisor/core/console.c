/*
 * Management console commands: a table of {name, args, help, fn}. The
 * terminal side (prompt, line editing, input focus) is core/console_io.c.
 */
#include <core/console.h>
#include <core/cpus.h>
#include <core/console_views.h>
#include <core/page_alloc.h>
#include <core/trace.h>
#include <core/vm.h>
#include <core/watch.h>
#include <devices/milestone.h>
#include <lib/json.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <pci/pci.h>
#include <virtio/virtio_net.h>
#include <virtio/virtio_pci.h>
#include <x86/cpu.h>
#include <x86/percpu.h>
#include <x86/vendor.h>

#define MAX_ARGS   8

struct command {
	const char *name, *args, *help;
	void (*fn)(int argc, char **argv);
};

/* The command console_run last ran, for its JSON reply's fields. */
static const struct command *last_command;

struct vm *console_arg_vm(const char *arg)
{
	struct vm *vm = vm_find(arg);

	if (!vm)
		printk("error: no VM \"%s\" (see `vms`)\n", arg);
	return vm;
}

static uint64_t vm_exit_count(const struct vm *vm)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i]->stats.total;
	return n;
}

void console_print_vms(void)
{
	printk("%-3s %-16s %-8s %5s %8s %12s  %s\n", "ID", "NAME", "STATE", "VCPUS", "MEMORY",
	       "EXITS", "REASON");
	for (unsigned i = 0; i < nr_vms; i++) {
		const struct vm *vm = vms[i];

		printk("%-3u %-16s %-8s %5u %7luM %12lu  %s\n", vm->id, vm->name,
		       vm_state_name(vm->state), vm->nr_vcpus, vm->mem_size >> 20,
		       vm_exit_count(vm), vm->stop_reason);
		if (nr_pcpus > 1 && vm->nr_vcpus) {
			printk("    placed:");
			vm_print_placement(vm);
		}
	}
}

static void vms_fields(struct json *j)
{
	json_array_begin(j, "vms");
	for (unsigned i = 0; i < nr_vms; i++) {
		const struct vm *vm = vms[i];

		json_object_begin(j, NULL);
		json_u64(j, "id", vm->id);
		json_str(j, "name", vm->name);
		json_str(j, "state", vm_state_name(vm->state));
		json_u64(j, "vcpus", vm->nr_vcpus);
		json_array_begin(j, "cpus");
		for (unsigned c = 0; c < vm->nr_vcpus; c++)
			json_u64(j, NULL, vm->vcpus[c]->home);
		json_array_end(j);
		json_u64(j, "memory_mib", vm->mem_size >> 20);
		json_u64(j, "exits", vm_exit_count(vm));
		json_u64(j, "starts", vm->starts);
		json_u64(j, "resets", vm->resets);
		json_str(j, "reason", vm->stop_reason);
		json_object_end(j);
	}
	json_array_end(j);
}

static void cmd_vms(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	console_print_vms();
}

#define HOT_SHOWN 6

/* "  top ports: 0x3f8 out 1234, 0x3fd in 567, ..." (counts are upper
 * bounds for the rarer keys: see core/hot.h). */
static void print_hot(const char *what, const struct hot_table *t, uint64_t dir_bit,
		      const char *plain, const char *flagged, int digits)
{
	struct hot_entry top[HOT_SHOWN];
	unsigned n = hot_top(t, top, HOT_SHOWN);

	if (!n)
		return;
	printk("  top %s:", what);
	for (unsigned i = 0; i < n; i++) {
		bool flag = dir_bit && (top[i].key & dir_bit);

		printk("%s 0x%0*lx%s%s %lu", i ? "," : "", digits, top[i].key & ~dir_bit,
		       dir_bit ? " " : "", dir_bit ? (flag ? flagged : plain) : "", top[i].count);
	}
	printk("\n");
}

void console_print_stats(const struct vm *vm)
{
	uint64_t by_reason[NR_EXIT_REASONS] = { 0 };

	for (unsigned c = 0; c < vm->nr_vcpus; c++)
		for (unsigned r = 0; r < NR_EXIT_REASONS; r++)
			by_reason[r] += vm->vcpus[c]->stats.exits[r];
	printk("vm %u (%s): %lu exits\n", vm->id, vm->name, vm_exit_count(vm));
	for (unsigned r = 0; r < NR_EXIT_REASONS; r++)
		if (by_reason[r])
			printk("  %-14s %12lu\n", exit_reason_name(r), by_reason[r]);
	printk("  unbacked memory: %lu reads, %lu writes; unclaimed ports: %lu reads, %lu writes\n",
	       vm->unbacked.mem_reads, vm->unbacked.mem_writes, vm->unbacked.port_reads,
	       vm->unbacked.port_writes);
	if (vm->nr_vcpus > 1)
		printk("  hand-offs: %lu to IPI targets (%lu handled the IPI within the loan), "
		       "%lu from PAUSE spins\n", vm->handoffs.ipi, vm->handoffs.answered,
		       vm->handoffs.pause);
	print_hot("ports", &vm->hot_ports, HOT_OUT, "in", "out", 4);
	print_hot("MSRs", &vm->hot_msrs, HOT_WRITE, "read", "write", 8);
	print_hot("MMIO pages", &vm->hot_gpas, 0, "", "", 8);
	virtio_net_print_vm(vm);
	for (unsigned c = 0; nr_pcpus > 1 && c < vm->nr_vcpus; c++)
		printk("  vCPU %u: on CPU %u, ran %lu ms, moved %u times\n", c,
		       vm->vcpus[c]->home, vm->vcpus[c]->run_tsc / (tsc_khz() ? tsc_khz() : 1),
		       vm->vcpus[c]->moves);
}

static void cmd_stats(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);

	(void)argc;
	if (!vm)
		return;
	console_print_stats(vm);
	milestone_print(vm);
}

static void cmd_regs(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);

	(void)argc;
	if (!vm)
		return;
	if (!vm->nr_vcpus)
		printk("error: vm %u (%s) has no vCPUs (%s)\n", vm->id, vm->name, vm->stop_reason);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_print_regs(vm->vcpus[i]);
}

static void cmd_pause(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);

	(void)argc;
	if (vm && vm->state != VM_RUNNING)
		printk("error: vm %u (%s) is %s, not running\n", vm->id, vm->name,
		       vm_state_name(vm->state));
	else if (vm) {
		vm->state = VM_PAUSED;
		vm_kick(vm);
	}
}

static void cmd_resume(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);

	(void)argc;
	if (vm && vm->state != VM_PAUSED)
		printk("error: vm %u (%s) is %s, not paused\n", vm->id, vm->name,
		       vm_state_name(vm->state));
	else if (vm) {
		vm->state = VM_RUNNING;
		vm_kick(vm);
	}
}

static void cmd_stop(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);

	(void)argc;
	if (vm && !vm_is_live(vm))
		printk("error: vm %u (%s) is already %s\n", vm->id, vm->name,
		       vm_state_name(vm->state));
	else if (vm)
		vm_stop(vm, false, "stopped from the console");
}

/* Done by the scheduler between slices (core/sched.c), which prints it. */
static void cmd_start(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);

	(void)argc;
	if (vm && vm->state == VM_FAILED)
		printk("error: vm %u (%s) cannot start: %s\n", vm->id, vm->name,
		       vm->stop_reason);
	else if (vm && vm->state != VM_STOPPED && vm->state != VM_DESTROYED)
		printk("error: vm %u (%s) is %s, not stopped (`reboot` restarts it)\n", vm->id,
		       vm->name, vm_state_name(vm->state));
	else if (vm)
		vm->start_requested = true;
}

/* Between slices, as `start` (core/sched.c): the VM's memory goes back to
 * the pool; `start` builds it again from hv.cfg. */
static void cmd_destroy(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);

	(void)argc;
	if (vm && vm_is_live(vm))
		printk("error: vm %u (%s) is %s: `stop` it first\n", vm->id, vm->name,
		       vm_state_name(vm->state));
	else if (vm)
		vm_destroy(vm);
}

/* The guest's own reset path (devices/power.c), at the end of a slice. */
static void cmd_reboot(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);

	(void)argc;
	if (!vm)
		return;
	if (!vm_is_live(vm)) {
		printk("error: vm %u (%s) is %s, not running or paused (`start` starts it)\n",
		       vm->id, vm->name, vm_state_name(vm->state));
		return;
	}
	vm->reset_by_console = true;
	vm->reset_requested = true;
}

static const char *const pcpu_state_names[] = {
	[PCPU_ABSENT] = "absent", [PCPU_STARTING] = "starting", [PCPU_BOOTING] = "booting",
	[PCPU_ONLINE] = "online", [PCPU_FAILED] = "failed",
};

/* The vCPUs placed on a CPU, as "vm:vcpu" (vms being built count too). */
static void for_each_homed(unsigned cpu, void (*fn)(void *ctx, const struct vcpu *v), void *ctx)
{
	for (unsigned i = 0; i < nr_vms; i++)
		for (unsigned c = 0; c < vms[i]->nr_vcpus; c++)
			if (vms[i]->vcpus[c]->home == cpu)
				fn(ctx, vms[i]->vcpus[c]);
}

static void print_homed(void *count, const struct vcpu *v)
{
	printk(" %s:%u", v->vm->name, v->id);
	++*(unsigned *)count;
}

static void cmd_info(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printk("kestrel hypervisor, backend %s, %lu MiB free, %lu physical NMIs taken\n",
	       vendor ? vendor->name : "none", page_alloc_free_pages() >> 8, nmi_count);
	for (unsigned i = 0; i < nr_pcpus; i++) {
		unsigned n = 0;

		printk("cpu %u: APIC ID %u, %s%s; vCPUs:", i, pcpus[i]->apic_id,
		       pcpu_state_names[pcpus[i]->state], i == 0 ? ", console" : "");
		for_each_homed(i, print_homed, &n);
		printk("%s\n", n ? "" : " none");
	}
}

static void json_homed(void *json, const struct vcpu *v)
{
	char name[HV_VM_NAME_MAX + 12];

	snprintf(name, sizeof(name), "%s:%u", v->vm->name, v->id);
	json_str(json, NULL, name);
}

static void info_fields(struct json *j)
{
	json_str(j, "backend", vendor ? vendor->name : "none");
	json_u64(j, "free_mib", page_alloc_free_pages() >> 8);
	json_u64(j, "nmis", nmi_count);
	json_array_begin(j, "cpus");
	for (unsigned i = 0; i < nr_pcpus; i++) {
		json_object_begin(j, NULL);
		json_u64(j, "id", i);
		json_u64(j, "apic_id", pcpus[i]->apic_id);
		json_str(j, "state", pcpu_state_names[pcpus[i]->state]);
		json_bool(j, "console", i == 0);
		json_array_begin(j, "vcpus");
		for_each_homed(i, json_homed, j);
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
}

static void cmd_mode(int argc, char **argv)
{
	if (argc == 1)
		printk("console mode: %s\n", console_json ? "json" : "text");
	else if (!strcmp(argv[1], "json") || !strcmp(argv[1], "text"))
		console_set_json(!strcmp(argv[1], "json"));
	else
		printk("error: usage: mode [json|text]\n");
}

static void mode_fields(struct json *j)
{
	json_str(j, "mode", console_mode_json() ? "json" : "text");
}

/* Parses its own arguments: the flight recorder or a recording (core/trace.c). */
static void cmd_trace(int argc, char **argv)
{
	trace_command(argc, argv);
}

static void cmd_devices(int argc, char **argv)
{
	struct vm *vm = console_arg_vm(argv[1]);

	(void)argc;
	if (!vm)
		return;
	printk("vm %u (%s) devices:\n", vm->id, vm->name);
	pci_print(vm);
	virtio_print(vm);
}

static void cmd_net(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	virtio_net_print();
}

static void cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "help",   "",     "list the commands",                       cmd_help },
	{ "info",   "",     "hypervisor backend and free memory",      cmd_info },
	{ "vms",    "",     "list VMs: id, name, state, vCPUs, memory, exits", cmd_vms },
	{ "stats",  "<vm>", "exits by reason and unbacked accesses",   cmd_stats },
	{ "regs",   "<vm>", "guest registers of every vCPU",           cmd_regs },
	{ "pause",  "<vm>", "stop scheduling a VM",                    cmd_pause },
	{ "resume", "<vm>", "schedule a paused VM again",              cmd_resume },
	{ "stop",   "<vm>", "stop a VM (`start` powers it on again)",  cmd_stop },
	{ "start",  "<vm>", "power a stopped VM on again from its images", cmd_start },
	{ "destroy", "<vm>", "free a stopped VM's memory (`start` builds it again)", cmd_destroy },
	{ "reboot", "<vm>", "reset a running or paused VM now (it runs)", cmd_reboot },
	{ "trace",  "[vm] | start [vm] [reason...] | stop | dump",
	  "the last 32 exits (of one VM); record exits per vCPU (docs/tracing.md)", cmd_trace },
	{ "devices", "<vm>", "PCI functions, virtio status and queue counters", cmd_devices },
	{ "net",    "",     "the virtual switch: ports, links and counters", cmd_net },
	{ "mem",    "<vm> <addr> [len]", "hex dump of guest memory: virtual (vCPU 0), p:ADDR physical",
	  console_cmd_mem },
	{ "watch",  "[vm] [addr] [len] [r|w|x...]",
	  "log the reads, writes or executions of guest memory (p:ADDR physical); alone: list",
	  console_cmd_watch },
	{ "unwatch", "<vm> <addr|all>", "end a watch (or all of the VM's)", console_cmd_unwatch },
	{ "walk",   "<vm> <gva>", "each level of vCPU 0's page walk and of the nested one",
	  console_cmd_walk },
	{ "vcpu",   "<vm> <n>", "control registers, segments, events and local APIC of a vCPU",
	  console_cmd_vcpu },
	{ "mode",   "[json|text]", "console for programs (JSON lines) or for people",
	  cmd_mode },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (unsigned i = 0; i < NR_COMMANDS; i++)
		printk("  %-7s %-17s  %s\n", commands[i].name, commands[i].args, commands[i].help);
	printk("<vm> is a VM id or name; numbers are decimal, or hex with 0x.\n");
}

/* Arguments a command takes: one per "<required>" and "[optional]". */
static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static int split(char *s, char **argv)
{
	int argc = 0;

	while (*s && argc < MAX_ARGS) {
		while (*s == ' ')
			*s++ = '\0';
		if (!*s)
			break;
		argv[argc++] = s;
		while (*s && *s != ' ')
			s++;
	}
	return *s ? -1 : argc;
}

void console_run(char *cmdline)
{
	char *argv[MAX_ARGS];
	int argc = split(cmdline, argv);

	last_command = NULL;
	if (argc == 0)
		return;
	if (argc < 0) {
		printk("error: too many arguments\n");
		return;
	}
	for (unsigned i = 0; i < NR_COMMANDS; i++) {
		const struct command *c = &commands[i];

		if (strcmp(c->name, argv[0]))
			continue;
		/* "..." in the arguments: the command counts them itself. */
		if (argc < 1 + count_char(c->args, '<') ||
		    (!count_char(c->args, '.') &&
		     argc > 1 + count_char(c->args, '<') + count_char(c->args, '[')))
			printk("error: usage: %s %s\n", c->name, c->args);
		else
			c->fn(argc, argv);
		last_command = c;
		return;
	}
	printk("error: unknown command \"%s\" (try `help`)\n", argv[0]);
}

/* The commands whose JSON replies have members of their own. */
static const struct {
	const char *name;
	void (*fn)(struct json *j);
} reply_fields[] = {
	{ "info", info_fields },
	{ "vms",  vms_fields },
	{ "mode", mode_fields },
};

void console_reply_fields(struct json *j)
{
	unsigned n = sizeof(reply_fields) / sizeof(reply_fields[0]);

	for (unsigned i = 0; last_command && i < n; i++)
		if (!strcmp(reply_fields[i].name, last_command->name))
			reply_fields[i].fn(j);
}
