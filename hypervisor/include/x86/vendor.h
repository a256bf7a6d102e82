/*
 * The seam between generic code and the hardware virtualization backends
 * (AMD SVM in arch/x86/svm/, Intel VMX in arch/x86/vmx/). One const ops
 * table is chosen at start-up from CPUID; generic code calls only these.
 */
#ifndef X86_VENDOR_H
#define X86_VENDOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <core/exit.h>
#include <x86/paging.h>
#include <x86/processor.h>
#include <x86/regs.h>

struct vm;
struct vcpu;

/*
 * Guest exceptions both backends intercept. #DB and #AC: a guest can make
 * their delivery raise them again forever, a loop inside the CPU that no
 * interrupt breaks (XSA-156, CVE-2015-8104 and CVE-2015-5307); intercepted,
 * each round is an exit and the guest stays preemptible. #UD and #MC: to
 * see them. Every intercepted exception is given back to the guest
 * (core/exit.c).
 */
#define GUEST_EXCEPTION_INTERCEPTS \
	((1u << X86_EXC_DB) | (1u << X86_EXC_UD) | (1u << X86_EXC_AC) | (1u << X86_EXC_MC))

/*
 * What a debugger attached to the guest asks of the backend (the gdb stub,
 * debug/gdb_stub.c). GUEST_DEBUG_BP: INT3 exits as #BP with RIP at the
 * INT3 and soft_len 1 (on SVM also through the INTn intercept, which is
 * how QEMU's TCG reports INT3); INT3s that are not the debugger's are given
 * back. GUEST_DEBUG_STEP: the next entry runs one instruction and exits
 * with #DB, no interrupt offered meanwhile; the backend sets RFLAGS.TF
 * (or uses the monitor trap flag) and takes it away again, with the DR6.BS
 * it caused, when the flag is cleared, so the guest sees neither.
 */
#define GUEST_DEBUG_BP    (1u << 0)
#define GUEST_DEBUG_STEP  (1u << 1)

struct vendor_ops {
	const char *name;
	/* Whether this CPU has the extension with nested paging; when not,
	 * writes the reason to why. */
	bool (*probe)(char *why, size_t len);
	/* Enables the extension on this physical CPU; the first call (boot
	 * CPU) also builds what all CPUs share. 0 or -1 (printed). */
	int (*cpu_enable)(void);
	/* Prepares the VM's nested page tables and address-space tag. */
	int (*vm_init)(struct vm *vm);
	/* The VM's nested page tables lost rights (write-watch): no vCPU of
	 * it may enter with a translation cached from before. */
	void (*flush_nested)(struct vm *vm);
	/* Allocates and initializes the per-vCPU control structure. */
	int (*vcpu_init)(struct vcpu *v);
	/* Puts it back to that initial state (VM restart). */
	void (*vcpu_reset)(struct vcpu *v);
	/* Run on the CPU that ran it: what of the vCPU this CPU holds (a
	 * current VMCS, MSRs switched lazily) goes back to memory, so another
	 * CPU can use it (core/cpus.c vcpu_claim). Every other op that takes
	 * a vCPU claims it first. */
	void (*vcpu_put)(struct vcpu *v);
	void (*read_sregs)(struct vcpu *v, struct guest_sregs *s);
	/* Single registers for hot paths (read_sregs is 47 VMREADs on VMX). */
	unsigned (*get_cpl)(struct vcpu *v);
	uint64_t (*get_rflags)(struct vcpu *v);
	void (*write_sregs)(struct vcpu *v, const struct guest_sregs *s);
	/* INIT: forgets the event being injected or re-injected, the interrupt
	 * offered, the interrupt shadow and NMI blocking (SDM 3, 9.1.1). */
	void (*init_events)(struct vcpu *v);
	/* Pending and injected events and the interrupt shadow (views). */
	void (*read_events)(struct vcpu *v, struct guest_events *ev);
	/* Enters the guest and returns at the next exit the generic code must
	 * see, decoded into *e. Pending interrupts are delivered here. */
	void (*run)(struct vcpu *v, struct exit_info *e);
	/* Moves RIP past the exiting instruction and clears the interrupt
	 * shadow it may have set. */
	void (*skip_insn)(struct vcpu *v, unsigned len);
	/* Queues an exception for the next entry (SDM 3, 6.15; APM 2, 15.20). */
	void (*inject_exception)(struct vcpu *v, uint8_t vector, bool has_error,
				 uint32_t error);
	/* Gives an intercepted exception back to the guest as it arrived
	 * (same vector, error code and, for ICEBP, instruction length). */
	void (*reflect_exception)(struct vcpu *v, const struct exit_exception *x);
	/* GUEST_DEBUG_* flags, all at once (the previous ones are replaced). */
	void (*set_guest_debug)(struct vcpu *v, unsigned flags);
	/* Prints the control structure and registers (for a stopped VM). */
	void (*dump)(struct vcpu *v);
	/* The CPUID 0x40000001 EDX bit naming the hypercall instruction. */
	uint32_t hypercall_feature;
};

extern const struct vendor_ops *vendor;
/* Whether guests can run RDTSCP and RDPID (VMX needs a control for them);
 * set by the backend's cpu_enable, read by CPUID. */
extern bool vendor_guest_rdtscp;
extern const struct vendor_ops svm_vendor_ops;
extern const struct vendor_ops vmx_vendor_ops;

#endif
