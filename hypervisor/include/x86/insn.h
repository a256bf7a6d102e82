/*
 * x86 instruction decoder for guest instructions.
 *
 * Kestrel runs under AMD SVM without next-RIP save and without decode
 * assists, so it has to find the length of every instruction it skips
 * (CPUID, RDMSR/WRMSR, HLT, VMMCALL, ...) and decode the MOVs that touch
 * emulated MMIO. This decoder knows the length of every general-purpose,
 * x87, MMX, SSE and VEX instruction in 16-, 32- and 64-bit code; it does
 * not check that an opcode is defined (an undefined opcode still gets a
 * plausible length), because the CPU has already executed or faulted on it.
 *
 * Not decoded (X86_E_UNSUPPORTED): EVEX (62 in 64-bit mode, or with
 * ModRM.mod == 3 elsewhere) and XOP (8F with map select >= 8). Neither can
 * be an exit we skip, and Linux does not touch MMIO with them.
 *
 * Near branches with a 66 prefix in 64-bit mode take a 16-bit displacement,
 * as on AMD (APM vol. 3, 1.2.7; Intel ignores the 66 there, SDM vol. 2,
 * 2.2.1.3). Kestrel only runs on AMD, so the AMD length is the right one.
 *
 * Header is freestanding: no libc.
 */
#ifndef X86_INSN_H
#define X86_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest legal instruction (SDM vol. 2, 2.3.11; APM vol. 3, 1.1). */
#define X86_MAX_INSN_LEN 15

/* Errors returned (negated) by x86_decode() and x86_mmio_classify(). */
#define X86_E_TRUNCATED   1 /* fewer than the instruction's bytes available */
#define X86_E_TOO_LONG    2 /* more than X86_MAX_INSN_LEN bytes: #GP */
#define X86_E_UNSUPPORTED 3 /* EVEX/XOP, or not an MMIO form we emulate */
#define X86_E_INVALID     4 /* encoding that always raises #UD */

/*
 * Default operand/address size of the code segment, in bytes. Real and
 * virtual-8086 mode are X86_MODE_16; there VEX raises #UD, which the decoder
 * does not model (it decodes the VEX length as in 16-bit protected mode).
 */
enum x86_mode { X86_MODE_16 = 2, X86_MODE_32 = 4, X86_MODE_64 = 8 };

/* Opcode maps, numbered like the VEX.mmmmm field plus one. */
enum x86_map { X86_MAP_1B = 1, X86_MAP_0F = 2, X86_MAP_0F38 = 3, X86_MAP_0F3A = 4 };

/* "No register" in base and index. */
#define X86_REG_NONE 0xff

/* Segment registers in their SDM encoding order (SDM vol. 2, 3.4.2). */
enum x86_seg { X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS };

struct x86_insn {
	uint8_t len;          /* total bytes, prefixes included */
	uint8_t mode;         /* enum x86_mode it was decoded in */

	/*
	 * Legacy prefixes. Of several segment prefixes the last one wins,
	 * except that in 64-bit mode 26/2e/36/3e never replace 64/65. seg is
	 * the raw byte; x86_mem_segment() applies the 64-bit-mode rules.
	 */
	uint8_t seg;          /* segment override prefix byte (26 2e 36 3e 64 65) or 0 */
	bool lock, rep, repne, opsize, adsize; /* f0, f3, f2, 66, 67 seen */
	uint8_t rex;          /* 0x40..0x4f if an effective REX prefix, else 0 */
	uint8_t vex;          /* 0, or 2/3 for a 2-/3-byte VEX prefix */

	uint8_t map;          /* enum x86_map */
	uint8_t opcode;       /* for 3DNow! (0f 0f) the map-1 byte 0x0f; suffix in imm */

	/*
	 * ModRM with reg/rm extended by REX.R/REX.B (or VEX). For MOV to/from
	 * CR/DR (0f 20..23) the CPU ignores mod and always uses a register,
	 * so mod is reported as 3 there (SDM vol. 2, MOV--Move to/from
	 * Control Registers).
	 */
	bool has_modrm;
	uint8_t mod, reg, rm;

	/*
	 * Memory operand (has_modrm && mod != 3), uniform for all address
	 * sizes: address = base + index * scale + disp, each register
	 * X86_REG_NONE when absent. 16-bit forms such as [bx+si] appear as
	 * base 3, index 6. rip_relative means base is the next RIP.
	 */
	bool has_sib;
	uint8_t scale;        /* 1, 2, 4 or 8 */
	uint8_t index, base;
	bool rip_relative;
	int32_t disp;         /* sign-extended displacement */
	uint8_t disp_size;    /* 0, 1, 2 or 4 */

	/*
	 * Raw immediate bytes, little-endian, zero-extended. Where an
	 * instruction has two (ENTER iw ib, far pointer off:sel, EXTRQ ib ib)
	 * they are concatenated in encoding order. For a0..a3 (MOV with
	 * moffs) this is the absolute offset and imm_size the address size.
	 */
	uint64_t imm;
	uint8_t imm_size;

	uint8_t op_size;      /* operand-size attribute: 2, 4 or 8 (byte opcodes ignore it) */
	uint8_t addr_size;    /* address-size attribute: 2, 4 or 8 */
};

/*
 * Decode the instruction at bytes[0..avail). Returns 0 and fills *out, or a
 * negative X86_E_* code; *out is then unspecified. avail may exceed the
 * instruction; X86_E_TOO_LONG wins over X86_E_TRUNCATED once 15 bytes are
 * consumed.
 */
int x86_decode(const uint8_t *bytes, size_t avail, enum x86_mode mode,
	       struct x86_insn *out);

/*
 * Offset of the memory operand within its segment, truncated to the address
 * size. gpr[] is in x86 order (RAX=0 .. R15=15); rip is the address of the
 * instruction itself (needed for RIP-relative operands). The caller adds
 * the segment base of x86_mem_segment() where it is not zero.
 */
uint64_t x86_mem_effective_address(const struct x86_insn *insn,
				   const uint64_t gpr[16], uint64_t rip);

/* Segment of the memory operand: the override (only FS/GS count in 64-bit
 * mode), else SS for rSP/rBP bases, else DS (SDM vol. 1, 3.7.4). */
enum x86_seg x86_mem_segment(const struct x86_insn *insn);

/* What an MMIO-faulting instruction does. */
enum x86_mmio_kind {
	X86_MMIO_LOAD,      /* mov reg, [mem] */
	X86_MMIO_LOAD_ZX,   /* movzx reg, [mem] */
	X86_MMIO_LOAD_SX,   /* movsx reg, [mem] */
	X86_MMIO_STORE_REG, /* mov [mem], reg */
	X86_MMIO_STORE_IMM, /* mov [mem], imm */
};

struct x86_mmio_op {
	enum x86_mmio_kind kind;
	uint8_t size;      /* bytes accessed in memory: 1, 2, 4 or 8 */
	uint8_t reg;       /* register operand, 0..15 x86 order */
	bool high_byte;    /* AH/CH/DH/BH: bits 15:8 of register reg (0..3) */
	uint8_t dst_size;  /* bytes written to reg by a load */
	uint64_t imm;      /* STORE_IMM: value, already extended to size */
};

/*
 * Classify a decoded instruction that faulted on MMIO. Handles MOV
 * (88 89 8a 8b, c6 /0, c7 /0, a0..a3), MOVZX (0f b6/b7) and MOVSX
 * (0f be/bf) with a memory operand; anything else is -X86_E_UNSUPPORTED.
 */
int x86_mmio_classify(const struct x86_insn *insn, struct x86_mmio_op *op);

/* Write a loaded value into gpr[] with x86 register-write rules: 8- and
 * 16-bit writes merge, 32-bit writes zero-extend (SDM vol. 1, 3.4.1.1). */
void x86_mmio_load_result(const struct x86_mmio_op *op, uint64_t gpr[16],
			  uint64_t value);

/* The value a store writes, masked to op->size. */
uint64_t x86_mmio_store_value(const struct x86_mmio_op *op,
			      const uint64_t gpr[16]);

#endif /* X86_INSN_H */
