/*
 * Per-CPU state of the host. Each physical CPU runs on its own stack of
 * HV_STACK_SIZE bytes, aligned to its size, and its struct pcpu sits at the
 * top of that stack: this_cpu() finds it from RSP, as Xen's get_cpu_info()
 * does, so no register a guest could have loaded (GS base) is trusted.
 */
#ifndef X86_PERCPU_H
#define X86_PERCPU_H

#include <stdbool.h>
#include <stdint.h>

#define HV_STACK_PAGES 16
#define HV_STACK_SIZE  (HV_STACK_PAGES * 4096ul)
/* CPUs the hypervisor brings up; more in the MADT are left parked. */
#define MAX_PCPUS      16

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "TSS layout (SDM vol. 3, 8.7)");

enum pcpu_state {
	PCPU_ABSENT,     /* not started: beyond MAX_PCPUS, or no answer */
	PCPU_STARTING,   /* INIT-SIPI-SIPI sent */
	PCPU_BOOTING,    /* it reached its C entry (the boot CPU waits for it now) */
	PCPU_ONLINE,     /* its tables, LAPIC and virtualization are set up */
	PCPU_FAILED,     /* started, but could not enable virtualization */
};

struct vcpu;
struct vm;

struct pcpu {
	unsigned id;                 /* index in pcpus[], 0 = the boot CPU */
	uint32_t apic_id;
	volatile enum pcpu_state state;
	uint64_t gdt[5];
	struct tss64 tss;
	uint64_t ist_stack_top;      /* #DF, NMI and #MC run on it */
	uint64_t host_save_pa;       /* SVM: the host VMCB VMSAVE/VMLOAD use */
	uint64_t vmxon_pa;           /* VMX: the VMXON region */
	uint64_t started_tsc;        /* when it came online */
	volatile uint64_t timer_ticks;   /* its LAPIC timer's interrupts */

	/* Read by other CPUs (core/cpus.c): the vCPU in guest mode here (set
	 * before the lock is dropped for the entry, cleared after the exit),
	 * and a function another CPU asked this one to run. */
	struct vcpu *volatile guest;
	void (*volatile call_fn)(void *arg);
	void *volatile call_arg;
	volatile bool flush_nested;  /* VMX: INVEPT before the next entry */

	/* The scheduler's (core/sched.c). */
	struct vcpu *current;        /* the vCPU it runs or last ran */
	struct vcpu *handoff;        /* an IPI's target, lent the rest of a slice */
	bool handoff_ipi;            /* ... to handle an IPI (else a PAUSE spin's) */
	struct vcpu *lent;           /* the vCPU running on loan, if any */
	uint64_t loan_end;           /* TSC */
	uint64_t loan_look;          /* TSC: the host timer's first look at it */
	bool loan_waits;             /* for `lent` to handle the IPI */
	uint64_t armed;              /* the LAPIC timer's deadline, 0: re-arm */
	unsigned rr_vm, rr_vcpu;     /* round-robin position */
	const struct vm *tag_vm;     /* the VM that used the shared tag last */
	unsigned nr_homed;           /* vCPUs placed here */

	/* Whose state the CPU's registers hold (lazy switches). */
	struct vcpu *fpu_owner, *dr_owner, *aux_owner;
	struct vcpu *vmcs_current, *vmx_lazy_owner;
	const void *spec_last_vm;
};

extern struct pcpu *pcpus[MAX_PCPUS];
extern unsigned nr_pcpus;        /* entries of pcpus[] in use */

static inline struct pcpu *this_cpu(void)
{
	uintptr_t sp;

	__asm__("mov %%rsp, %0" : "=r"(sp));
	return (struct pcpu *)((sp & ~(HV_STACK_SIZE - 1)) + HV_STACK_SIZE - sizeof(struct pcpu));
}

/* A new CPU's stack with its struct pcpu at the top (zeroed but for id);
 * NULL when out of memory. The stack pointer to start on is pcpu itself. */
struct pcpu *pcpu_alloc(unsigned id);

struct hv_bootinfo;
/* Brings up every other CPU the firmware listed (arch/x86/smpboot.c), one
 * at a time, each ending in an idle loop. Prints what came up. */
void smp_boot_aps(const struct hv_bootinfo *bi, uint64_t realmode_page);
/* Lets the APs into the scheduler (once the VMs exist); the caller holds
 * the hypervisor lock. */
void smp_start_aps(void);

#endif
