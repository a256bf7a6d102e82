/* Start-up of the hypervisor core after ExitBootServices. */
#include <core/console.h>
#include <core/cpus.h>
#include <core/hv_main.h>
#include <core/page_alloc.h>
#include <core/sched.h>
#include <core/trace.h>
#include <core/vm.h>
#include <lib/printk.h>
#include <x86/acpi.h>
#include <x86/cpu.h>
#include <x86/fpu.h>
#include <x86/percpu.h>
#include <x86/spec_ctrl.h>
#include <x86/processor.h>
#include <x86/serial.h>
#include <x86/vendor.h>

const struct vendor_ops *vendor;
bool vendor_guest_rdtscp;

static const struct vendor_ops *const backends[] = { &svm_vendor_ops, &vmx_vendor_ops };

static void vendor_select(void)
{
	char why[128];

	for (unsigned i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (!backends[i]->probe(why, sizeof(why))) {
			printk("kestrel: %s: %s\n", backends[i]->name, why);
			continue;
		}
		if (backends[i]->cpu_enable() == 0) {
			vendor = backends[i];
			printk("kestrel: using %s\n", vendor->name);
			return;
		}
	}
	printk("kestrel: no usable hardware virtualization; no VM can run\n");
}

static __attribute__((noreturn)) void hv_start(struct hv_bootinfo *bi)
{
	const char *no_acpi;

	cpu_tables_init();
	no_acpi = acpi_init(bi->acpi_rsdp);

	if (no_acpi)
		printk("kestrel: ACPI soft-off unavailable (%s); batch mode will halt instead\n",
		       no_acpi);
	lapic_init();
	time_calibrate();
	fpu_init();
	spec_ctrl_init();
	vendor_select();
	smp_boot_aps(bi, page_alloc_realmode());
	vm_create_all(bi);
	console_init();
	hv_lock();
	trace_flight_recorder(!(bi->flags & HV_BOOT_NO_FLIGHT_RECORDER));
	smp_start_aps();
	sched_loop(bi->flags & HV_BOOT_BATCH);
}

void hv_main(struct hv_bootinfo *bi)
{
	struct pcpu *boot_cpu;
	uint64_t top;

	serial_init();
	printk_set_sink(console_sink);
	if (bi->magic != HV_BOOTINFO_MAGIC) {
		printk("kestrel: bad boot information from the loader; halting\n");
		cpu_halt_forever();
	}
	top = page_alloc_init(&bi->memmap);
	printk("kestrel: %lu MiB free for the hypervisor\n", page_alloc_free_pages() >> 8);
	host_paging_init(top);
	boot_cpu = pcpu_alloc(0);
	if (!boot_cpu) {
		printk("kestrel: out of memory at start-up; halting\n");
		cpu_halt_forever();
	}
	/* Leave the firmware's stack (boot-services memory) for our own. */
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%1"
			 : : "r"((uintptr_t)boot_cpu & ~15ul), "r"(hv_start), "D"(bi)
			 : "memory");
	__builtin_unreachable();
}
