/* VMs and vCPUs. */
#ifndef CORE_VM_H
#define CORE_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <core/exit.h>
#include <core/hot.h>
#include <core/iobus.h>
#include <core/msr_machine.h>
#include <hv/bootinfo.h>
#include <x86/paging.h>
#include <x86/percpu.h>
#include <x86/regs.h>

#define MAX_VCPUS_PER_VM  8
#define HOT_OUT           (1ull << 16)     /* hot_ports: a write (OUT) */
#define HOT_WRITE         (1ull << 32)     /* hot_msrs: a WRMSR */
#define MAX_VMS           HV_MAX_VMS
#define VM_STOP_REASON_MAX 160
/* IA32_MISC_ENABLE at reset: fast strings; PEBS, BTS unavailable (core/msr.c). */
#define MISC_ENABLE_DEFAULT ((1ull << 0) | (1ull << 11) | (1ull << 12))

enum vm_state {
	VM_FAILED,     /* never started: bad config or image */
	VM_RUNNING,
	VM_PAUSED,     /* by the console */
	VM_STOPPED,    /* ended: powered off, or stopped for cause; or not started
	                  yet (autostart = no). `start` powers it on again. */
	VM_DESTROYED,  /* stopped, and its memory back in the pool: `start`
	                  builds it again from hv.cfg's description */
};

enum vcpu_state {
	VCPU_RUNNABLE,
	VCPU_HALTED,   /* in HLT, waiting for an interrupt */
	VCPU_PARKED,   /* HLT with interrupts disabled: only an NMI, INIT or reset wakes it */
	VCPU_WAIT_SIPI, /* after INIT, or an AP not started yet (core/smp.c) */
};

struct vcpu_stats {
	uint64_t exits[NR_EXIT_REASONS];
	uint64_t exceptions[32];      /* intercepted guest exceptions, by vector */
	uint64_t total;
};

struct vcpu {
	/* Must stay first: the entry stubs address it from the vcpu pointer. */
	struct guest_gprs regs;
	struct vm *vm;
	unsigned id;
	enum vcpu_state state;
	bool debug_hold;              /* gdb keeps it stopped while its VM runs (vCont) */
	/* Running one instruction (at linear address la) of an execute-watched
	 * page with the right back (core/watch.c): pages[1] when it crosses into
	 * a second such page (else the same as pages[0]); shadow_rip: the
	 * instruction in the shadow of the one stepped (STI, MOV SS, POP SS),
	 * stepped too. */
	struct exec_step {
		bool on;
		uint64_t pages[2], la, shadow_rip;
	} exec_step;
	unsigned home;                /* the physical CPU it runs on (core/cpus.c) */
	struct pcpu *runner;          /* the CPU in its guest or handling its exit, or NULL */
	uint64_t run_tsc;             /* host TSC cycles it has run (the balancer's measure) */
	unsigned moves;               /* times the balancer moved it to another CPU */
	/* Its translations cached on the CPU it enters next may be stale (a reset, a
	 * move back to a CPU it ran on before): the backend flushes them first. */
	bool flush_tlb;
	unsigned loaded_on;           /* the CPU holding its VMCS, FPU, DRs; ~0u: none */
	/* Bumped by a reset or INIT from another CPU: an exit taken before
	 * it is stale (core/cpus.c guest_exit). */
	uint32_t epoch, entry_epoch;
	void *vendor;                 /* the backend's per-vCPU state */
	struct lapic *lapic;          /* devices/lapic.c */

	/* Interrupts injected past the local APIC (the paravirtual timer), one
	 * bit per vector; the APIC keeps its own IRR. */
	uint64_t pending_irqs[4];
	/* Paravirtual one-shot timer (HV_HC_TIMER_SET). */
	uint64_t timer_deadline;
	uint8_t timer_vector;
	/* NMIs not delivered yet: two at most (one goes in, one is latched),
	 * one while an NMI handler runs (SDM 3, 6.7.1; KVM's process_nmi). */
	uint8_t nmi_pending;

	/* Benchmark: exits of one kind the backend serves from an empty loop. */
	uint64_t bench_floor_left;
	uint8_t bench_floor_exit;     /* HV_BENCH_EXIT_* */
	uint8_t bench_floor_len;

	uint64_t misc_enable;         /* IA32_MISC_ENABLE as the guest set it */
	uint64_t tsc_aux;             /* IA32_TSC_AUX (core/tsc.c) */
	struct vcpu_machine_msrs machine;   /* MTRRs, MCE banks (core/msr_machine.c) */

	/* DR0-DR3 and DR6 while another vCPU runs (x86/debugreg.c). */
	uint64_t dr[4], dr6;

	/* FPU/SSE/AVX state and XCR0 while another vCPU runs (x86/fpu.c). */
	void *fpu_area;
	uint64_t xcr0;

	struct vcpu_stats stats;
};

/* The vCPU this physical CPU is running (or last ran). */
struct vcpu *current_vcpu(void);

struct pci_bus;
struct virtio_dev;
struct vpit;
struct vpic;
struct ioapic_state;
struct testdev;

/* Device state the devices find from the VM (in devices/); NULL when the
 * VM has none. Pages charged to the VM: destroy frees them and clears this. */
struct vm_devices {
	struct vpit *vpit;
	struct vpic *vpic;
	struct ioapic_state *ioapic;
	struct testdev *testdev;
};
#define VM_MAX_VIRTIO     4             /* blk, net, console, rng */

struct vm_unbacked_stats {
	uint64_t mem_reads, mem_writes;    /* guest-physical accesses nothing backs */
	uint64_t port_reads, port_writes;  /* port I/O no device claims */
};

/* Its vCPUs lending each other the CPU (core/sched.c, hand-off). */
struct vm_handoff_stats {
	uint64_t ipi;        /* loans to an IPI's target */
	uint64_t answered;   /* ... that the target handled within the loan */
	uint64_t pause;      /* loans from a vCPU spinning with PAUSE */
};

struct vm {
	unsigned id;
	char name[HV_VM_NAME_MAX];
	enum vm_state state;
	char stop_reason[VM_STOP_REASON_MAX];
	bool ended_well;              /* powered off with status 0 */
	bool reset_requested;         /* the guest or the console asked for a reset */
	bool reset_by_console;        /* ... and it was the console (`reboot`) */
	bool start_requested;         /* `start`: done by the scheduler, between slices */
	unsigned starts;              /* power-ons from the images: at boot and by `start` */
	unsigned resets;
	unsigned storm_resets;        /* resets since storm_start (core/sched.c) */
	uint64_t storm_start;         /* TSC */
	const struct hv_boot_vm *boot;   /* what it was started from (restarts) */
	int exit_status;

	uint64_t mem_size;
	uint64_t ram_hpa;             /* host-physical base; identity-mapped */
	struct pt npt;                /* nested page tables (NPT or EPT format) */
	uint32_t asid;                /* address-space tag (ASID / VPID) */
	/* SVM, per physical CPU: the vCPU whose translations the tag holds. */
	const struct vcpu *asid_owner[MAX_PCPUS];
	bool tag_shared;              /* more VMs than tags: another VM has it too */
	uint64_t acpi_rsdp;           /* guest-physical RSDP, 0 when none */
	uint64_t tsc_offset;          /* guest TSC - host TSC, for every vCPU (core/tsc.c) */
	uint64_t tsc_adjust;          /* IA32_TSC_ADJUST */

	/* vcpus[0 .. nr_vcpus-1] run. A destroyed VM keeps its vCPU structures
	 * (nr_vcpus 0) for the next start: the backends and the FPU, debug
	 * register and TSC_AUX switches keep pointers to the last vCPU they
	 * loaded, and have no call to forget one. */
	unsigned nr_vcpus;
	struct vcpu *vcpus[MAX_VCPUS_PER_VM];

	/* From here to the end: what vm_build sets up, cleared by destroy. */
	struct pio_bus pio;
	struct mmio_bus mmio;
	struct vm_unbacked_stats unbacked;
	struct vm_handoff_stats handoffs;
	/* Where the exits go (core/hot.c): port | HOT_OUT, MSR | HOT_WRITE, and
	 * the guest-physical page of each emulated MMIO access. */
	struct hot_table hot_ports, hot_msrs, hot_gpas;
	void *uart;                   /* the VM's 16550 (devices/uart16550.c) */
	struct pci_bus *pci;          /* pci/pci_host.c */
	struct virtio_dev *virtio[VM_MAX_VIRTIO];   /* virtio/transport.c */
	unsigned nr_virtio;
	struct vm_devices dev;
};

extern struct vm *vms[MAX_VMS];
extern unsigned nr_vms;

/* Creates every VM described by the boot info; VMs whose preparation fails
 * are kept in state VM_FAILED with the reason. */
void vm_create_all(const struct hv_bootinfo *bi);
/* " vCPU 0 on CPU 1, vCPU 1 on CPU 0" and a line end. */
void vm_print_placement(const struct vm *vm);
/* By decimal id or by name; NULL when there is none. */
struct vm *vm_find(const char *id_or_name);
/* Host pointer for [gpa, gpa+len) of guest RAM, or NULL if not all RAM. */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);
/* Restarts a VM the guest or the console reset: RAM cleared, devices and
 * vCPUs at their power-on state, booted again from the same images. Never
 * while one of its vCPUs is in a slice (core/sched.c). */
void vm_restart(struct vm *vm);
/* Powers a stopped VM on again from its images, as vm_restart does. */
void vm_start(struct vm *vm);
/* Returns a stopped VM's memory to the pool (console `destroy`): guest RAM,
 * nested page tables and device state; the VM stays, VM_DESTROYED, and
 * vm_start builds it again. */
void vm_destroy(struct vm *vm);
/* Never ran: autostart = no, and not started since. */
bool vm_never_started(const struct vm *vm);
/* Stops the VM for good; `reason` is kept and printed. */
void vm_stop(struct vm *vm, bool ended_well, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *vm_state_name(enum vm_state s);
bool vm_is_live(const struct vm *vm);

void vcpu_raise_irq(struct vcpu *v, uint8_t vector);
/* Highest pending vector, or -1. */
int vcpu_pending_irq(const struct vcpu *v);
void vcpu_ack_irq(struct vcpu *v, uint8_t vector);
/* Prints the guest registers (console `regs`, stop dumps). */
void vcpu_print_regs(struct vcpu *v);

#endif
