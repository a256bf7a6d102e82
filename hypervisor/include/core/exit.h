/*
 * A VM exit in vendor-neutral form. The SVM and VMX backends decode their
 * exit codes into this; the generic dispatcher (core/exit.c) handles it.
 */
#ifndef CORE_EXIT_H
#define CORE_EXIT_H

#include <stdbool.h>
#include <stdint.h>

enum exit_reason {
	EXIT_NONE,            /* nothing for generic code (handled in the backend) */
	EXIT_CPUID,
	EXIT_IO,
	EXIT_MSR_READ,
	EXIT_MSR_WRITE,
	EXIT_HLT,
	EXIT_HYPERCALL,
	EXIT_XSETBV,
	EXIT_CR_WRITE,        /* MOV to a control register the backend traps */
	EXIT_CR_READ,         /* MOV from one (CR8 on VMX) */
	EXIT_WBINVD,          /* WBINVD: the guest's caches are the host's */
	EXIT_RDPMC,           /* RDPMC: there is no PMU */
	EXIT_PAUSE,           /* PAUSE, intercepted in VMs of several vCPUs: a spin */
	EXIT_UD,              /* an instruction the guest must not have (RDPRU): #UD */
	EXIT_NPF,             /* nested page fault / EPT violation */
	EXIT_INTR,            /* physical interrupt */
	EXIT_IRQ_WINDOW,      /* the guest can take an interrupt now */
	EXIT_EXCEPTION,       /* intercepted guest exception */
	EXIT_SHUTDOWN,        /* triple fault */
	EXIT_ENTRY_FAILED,    /* VMRUN / VM entry refused the state */
	EXIT_UNHANDLED,       /* an exit with no handler: stops the VM */
	NR_EXIT_REASONS
};

struct exit_io {
	uint16_t port;
	uint8_t size;         /* 1, 2, 4 */
	bool in, string, rep;
};

struct exit_npf {
	uint64_t gpa;
	bool read, write, fetch;
	bool present;         /* the nested entry was present (a permission fault) */
	bool page_walk;       /* during the guest's own page-table walk */
	bool in_delivery;     /* while delivering an event (IDT, stack, TSS) */
};

struct exit_exception {
	uint8_t vector;
	bool has_error;
	uint32_t error;
	uint64_t cr2;         /* #PF only */
	uint64_t dr6_bits;    /* #DB on VMX: DR6 B0-B3/BD/BS, not yet in DR6 */
	uint8_t soft_len;     /* from an instruction (ICEBP): its length, else 0 */
};

struct exit_cr {
	uint8_t cr;           /* control register number */
	uint8_t gpr;          /* source or destination register, x86 order */
};

struct exit_info {
	enum exit_reason reason;
	uint64_t raw;         /* the vendor's exit code, for messages and traces */
	const char *raw_name;
	uint8_t insn_len;     /* length of the exiting instruction; 0 when not known */
	union {
		struct exit_io io;
		struct exit_npf npf;
		struct exit_exception exc;
		struct exit_cr cr;
	};
};

struct vcpu;
const char *exit_reason_name(enum exit_reason r);
/* Handles one exit; the vCPU's VM may be stopped as a result. */
void exit_dispatch(struct vcpu *v, struct exit_info *e);

#endif
