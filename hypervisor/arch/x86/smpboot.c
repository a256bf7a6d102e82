/*
 * Bringing up the application processors after ExitBootServices (SDM 3,
 * 8.4.4.1: INIT, 10 ms, SIPI, 200 us, SIPI). The firmware parked them; each
 * restarts in real mode in ap_trampoline.S and enters ap_entry() on a stack
 * of its own, with its struct pcpu at the top. They come up one at a time:
 * the boot CPU waits for each to finish (tables, LAPIC, virtualization)
 * before it starts the next, so start-up shares nothing unlocked.
 */
#include <core/cpus.h>
#include <core/page_alloc.h>
#include <core/sched.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/acpi.h>
#include <hv/bootinfo.h>
#include <x86/ap_boot.h>
#include <x86/cpu.h>
#include <x86/percpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>

#define INIT_DELAY_US     10000
#define SIPI_DELAY_US     200
#define ONLINE_TIMEOUT_MS 2000   /* Bochs needs about 10 M instructions */
#define XAPIC_MAX_ID      0xfe

extern const uint8_t ap_trampoline[], ap_trampoline_pm32[], ap_trampoline_lm64[];
extern const uint8_t ap_trampoline_data[], ap_trampoline_end[];

struct pcpu *pcpus[MAX_PCPUS];
unsigned nr_pcpus;

static uint64_t boot_cr0, boot_cr4;
static volatile bool aps_go;

static void delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + us * tsc_khz() / 1000;

	while (rdtsc() < end)
		cpu_relax();
}

static __attribute__((noreturn)) void ap_entry(struct pcpu *c)
{
	enum pcpu_state starting = PCPU_STARTING;

	/* Too late: the boot CPU gave up on it and went on without a lock. */
	if (!__atomic_compare_exchange_n(&c->state, &starting, PCPU_BOOTING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		cpu_halt_forever();
	write_cr0(boot_cr0);
	write_cr4(boot_cr4 & ~X86_CR4_VMXE);
	cpu_tables_init();
	lapic_init();
	c->started_tsc = rdtsc();
	c->state = vendor->cpu_enable() == 0 ? PCPU_ONLINE : PCPU_FAILED;
	if (c->state != PCPU_ONLINE)
		cpu_halt_forever();
	while (!aps_go)     /* until the VMs exist (smp_start_aps) */
		cpu_idle();
	hv_lock();
	sched_loop(false);
}

void smp_start_aps(void)
{
	aps_go = true;
	for (unsigned i = 1; i < nr_pcpus; i++)
		cpu_kick(pcpus[i]);
}

static struct ap_boot_data *trampoline_install(uint64_t page)
{
	uint64_t size = (uintptr_t)ap_trampoline_end - (uintptr_t)ap_trampoline;
	uint64_t data_off = (uintptr_t)ap_trampoline_data - (uintptr_t)ap_trampoline;
	struct ap_boot_data *d = (struct ap_boot_data *)(uintptr_t)(page + data_off);

	memcpy((void *)(uintptr_t)page, ap_trampoline, size);
	d->gdt[0] = 0;
	d->gdt[AP_SEL_CODE32 / 8] = 0x00cf9b000000ffffull;   /* 32-bit code, 4 GiB */
	d->gdt[AP_SEL_DATA / 8] = 0x00cf93000000ffffull;     /* data, 4 GiB */
	d->gdt[AP_SEL_CODE64 / 8] = 0x00af9b000000ffffull;   /* 64-bit code */
	d->gdt_limit = sizeof(d->gdt) - 1;
	d->gdt_base = (uint32_t)(uintptr_t)d->gdt;
	d->to_pm32 = (struct far_ptr32){
		.offset = (uint32_t)(page + ((uintptr_t)ap_trampoline_pm32 - (uintptr_t)ap_trampoline)),
		.selector = AP_SEL_CODE32,
	};
	d->to_lm64 = (struct far_ptr32){
		.offset = (uint32_t)(page + ((uintptr_t)ap_trampoline_lm64 - (uintptr_t)ap_trampoline)),
		.selector = AP_SEL_CODE64,
	};
	d->cr3 = (uint32_t)read_cr3();
	d->entry = (uintptr_t)ap_entry;
	return d;
}

/* Starts one AP and waits until it is online or the time is up. */
static enum pcpu_state ap_start(struct ap_boot_data *d, uint64_t page, struct pcpu *c)
{
	enum pcpu_state starting = PCPU_STARTING;
	uint64_t deadline;

	d->stack = (uintptr_t)c & ~15ul;
	d->arg = (uintptr_t)c;
	c->state = PCPU_STARTING;
	__asm__ volatile("mfence" ::: "memory");
	lapic_send_init(c->apic_id);
	delay_us(INIT_DELAY_US);
	for (unsigned sipi = 0; sipi < 2 && c->state == PCPU_STARTING; sipi++) {
		lapic_send_startup(c->apic_id, (uint8_t)(page >> 12));
		delay_us(SIPI_DELAY_US);
	}
	deadline = rdtsc() + ms_to_tsc(ONLINE_TIMEOUT_MS);
	while (c->state == PCPU_STARTING && rdtsc() < deadline)
		cpu_relax();
	/* Give up unless it reached its C entry; then wait for it to finish. */
	if (__atomic_compare_exchange_n(&c->state, &starting, PCPU_ABSENT, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return PCPU_ABSENT;
	while (c->state == PCPU_BOOTING)
		cpu_relax();
	return c->state;
}

/* The firmware's list (MP services) when the loader got one, else the MADT. */
static unsigned host_cpus(const struct hv_bootinfo *bi, uint32_t *ids, unsigned max,
			  const char **source)
{
	unsigned n = 0;

	*source = "the firmware's MP services";
	for (; n < bi->nr_cpus && n < max; n++)
		ids[n] = bi->cpu_apic_ids[n];
	if (n)
		return n;
	*source = "the MADT";
	return acpi_host_cpus(bi->acpi_rsdp, ids, max);
}

void smp_boot_aps(const struct hv_bootinfo *bi, uint64_t page)
{
	uint32_t ids[MAX_PCPUS + 1];
	const char *source;
	unsigned n = host_cpus(bi, ids, MAX_PCPUS + 1, &source), online = 1;
	struct ap_boot_data *d;

	pcpus[0] = this_cpu();
	this_cpu()->state = PCPU_ONLINE;
	this_cpu()->started_tsc = rdtsc();
	nr_pcpus = 1;
	if (n <= 1 || !vendor)
		return;
	if (!page || read_cr3() >> 32) {
		printk("kestrel: smp: %s; using the boot CPU only\n",
		       page ? "host page tables above 4 GiB" : "no free page below 640 KiB");
		return;
	}
	if (n > MAX_PCPUS)
		printk("kestrel: smp: the MADT lists more than %u CPUs; using %u\n",
		       MAX_PCPUS, MAX_PCPUS);
	boot_cr0 = read_cr0();
	boot_cr4 = read_cr4();
	d = trampoline_install(page);
	for (unsigned i = 0; i < n && nr_pcpus < MAX_PCPUS; i++) {
		struct pcpu *c;

		if (ids[i] == this_cpu()->apic_id)
			continue;
		if (ids[i] > XAPIC_MAX_ID) {
			printk("kestrel: smp: CPU with APIC ID %u not reachable in xAPIC mode\n", ids[i]);
			continue;
		}
		c = pcpu_alloc(nr_pcpus);
		if (!c) {
			printk("kestrel: smp: out of memory for CPU %u\n", nr_pcpus);
			break;
		}
		c->apic_id = ids[i];
		pcpus[nr_pcpus++] = c;
		switch (ap_start(d, page, c)) {
		case PCPU_ONLINE:
			online++;
			break;
		case PCPU_FAILED:
			printk("kestrel: smp: CPU %u (APIC ID %u) could not enable %s\n",
			       c->id, c->apic_id, vendor->name);
			break;
		default:
			/* It may still run the trampoline: starting another one
			 * would change the data under it. */
			printk("kestrel: smp: CPU %u (APIC ID %u) did not start; stopping there\n",
			       c->id, c->apic_id);
			goto out;
		}
	}
out:
	printk("kestrel: smp: %u of %u CPUs online (listed by %s)\n", online, n, source);
}
