/* Reading guest memory through the guest's own paging, for instruction
 * fetch and emulation (no decode assists on the emulated SVM). */
#ifndef X86_GUEST_MEM_H
#define X86_GUEST_MEM_H

#include <stdint.h>
#include <x86/guest_walk.h>
#include <x86/insn.h>
#include <x86/regs.h>

struct vcpu;

/* The recorded walk of la through the vCPU's paging (s: its registers),
 * reading the tables from its VM's RAM; 0 when mapped (x86/guest_walk.h). */
int guest_walk_vcpu(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
		    struct guest_walk *w);
/* Translates a guest-linear address; 0, or -1 when not mapped, not
 * canonical, or when a guest page table is not in guest RAM. */
int guest_linear_to_phys(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
			 uint64_t *gpa);
/* The vCPU's RIP, through read_sregs: for rare paths (recordings,
 * write-watch), not the exit hot path (47 VMREADs on VMX). */
uint64_t guest_rip(struct vcpu *v);
/* The guest-linear address of RIP (CS base outside 64-bit mode). */
uint64_t guest_code_linear(const struct guest_sregs *s);
/* Copies len bytes at guest-linear la; returns how many could be read. */
unsigned guest_read_linear(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
			   void *buf, unsigned len);
/* Writes len bytes at guest-linear la into guest RAM, whatever the guest
 * pages' rights (a debugger's); returns how many could be written. */
unsigned guest_write_linear(struct vcpu *v, const struct guest_sregs *s, uint64_t la,
			    const void *buf, unsigned len);

struct fetched_insn {
	struct x86_insn insn;
	uint8_t bytes[15];
	unsigned nr_bytes;        /* bytes that could be read at RIP */
	enum x86_mode mode;
};

/* Fetches and decodes the instruction at the vCPU's RIP. 0 on success; a
 * negative X86_E_* or -1 (unreadable) otherwise, with whatever bytes could
 * be read left in f->bytes for the error message. */
int guest_fetch_insn(struct vcpu *v, struct fetched_insn *f);
/* Formats f->bytes as hex ("0f 01 db") for messages. */
void fetched_insn_hex(const struct fetched_insn *f, char *buf, unsigned len);

#endif
