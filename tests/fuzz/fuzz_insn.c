// SPDX-License-Identifier: MIT
// FUZZ-SOURCES: hypervisor/arch/x86/insn.c
// FUZZ-LIBS: -lZydis
// FUZZ-OPTIONS: -max_len=64
// libFuzzer target for the guest instruction decoder (hypervisor/arch/x86/insn.c).
//
// Input: byte 0 picks the mode (16-, 32- or 64-bit code), the rest are the
// bytes at the guest's RIP (only the first 32 are used; the decoder never
// needs more than 15). Guest instruction bytes are untrusted: a wrong length
// skips RIP into the middle of the next instruction, a wrong MMIO operand
// writes the wrong register.
//
// Checked, besides ASan/UBSan (the bytes are an exact-size copy, so any read
// past `avail` is caught):
//  - the decoder's own promises (insn.h): lengths, field ranges, truncation
//    and too-long rules, the same answer whatever follows the instruction;
//  - MMIO classification and the register write/read helpers;
//  - against Zydis 4 (AMD branch semantics, as in tests/unit/test_insn_zydis.c
//    and with its rules): when both decode, length, prefixes, map, opcode,
//    ModRM, displacement, immediate and, for the MMIO MOVs, operand size,
//    register, segment and effective address agree; when only one decodes,
//    only the documented differences are allowed.
// A broken rule aborts with a message naming it.
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>
#include <x86/insn.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BYTES 32

static const enum x86_mode modes[3] = { X86_MODE_16, X86_MODE_32, X86_MODE_64 };
static ZydisDecoder zdec[3];

static const uint8_t *cur_bytes;
static size_t cur_n;
static int cur_mode;

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_insn: mode %d [", cur_mode * 8);
	for (size_t i = 0; i < cur_n && i < 16; i++)
		fprintf(stderr, " %02x", cur_bytes[i]);
	fprintf(stderr, " ]: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

#define EXPECT(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

static uint64_t mask_bits(unsigned bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

/* xorshift64*, seeded from the input: register values for the address and
 * MMIO checks, reproducible for a given input. */
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static bool same_insn(const struct x86_insn *a, const struct x86_insn *b)
{
	return a->len == b->len && a->mode == b->mode && a->seg == b->seg &&
	       a->lock == b->lock && a->rep == b->rep && a->repne == b->repne &&
	       a->opsize == b->opsize && a->adsize == b->adsize && a->rex == b->rex &&
	       a->vex == b->vex && a->map == b->map && a->opcode == b->opcode &&
	       a->has_modrm == b->has_modrm && a->mod == b->mod && a->reg == b->reg &&
	       a->rm == b->rm && a->has_sib == b->has_sib && a->scale == b->scale &&
	       a->index == b->index && a->base == b->base &&
	       a->rip_relative == b->rip_relative && a->disp == b->disp &&
	       a->disp_size == b->disp_size && a->imm == b->imm &&
	       a->imm_size == b->imm_size && a->op_size == b->op_size &&
	       a->addr_size == b->addr_size;
}

static bool valid_reg(uint8_t r)
{
	return r < 16 || r == X86_REG_NONE;
}

/* The promises of insn.h for a decoded instruction. */
static void check_fields(const struct x86_insn *in, enum x86_mode mode, size_t avail)
{
	EXPECT(in->len >= 1 && in->len <= X86_MAX_INSN_LEN && in->len <= avail,
	       "length %d with %zu bytes", in->len, avail);
	EXPECT(in->mode == mode, "mode %d", in->mode);
	EXPECT(in->seg == 0 || in->seg == 0x26 || in->seg == 0x2e || in->seg == 0x36 ||
	       in->seg == 0x3e || in->seg == 0x64 || in->seg == 0x65, "seg %#x", in->seg);
	EXPECT(in->rex == 0 || (mode == X86_MODE_64 && (in->rex & 0xf0) == 0x40),
	       "rex %#x", in->rex);
	EXPECT(in->vex == 0 || in->vex == 2 || in->vex == 3, "vex %d", in->vex);
	EXPECT(in->map >= X86_MAP_1B && in->map <= X86_MAP_0F3A, "map %d", in->map);
	EXPECT(in->op_size == 2 || in->op_size == 4 || in->op_size == 8, "op_size %d",
	       in->op_size);
	EXPECT(in->addr_size == 2 || in->addr_size == 4 || in->addr_size == 8,
	       "addr_size %d", in->addr_size);
	EXPECT(mode == X86_MODE_64 || (in->op_size != 8 && in->addr_size != 8),
	       "8-byte size outside 64-bit mode");
	EXPECT(mode != X86_MODE_64 || in->addr_size != 2, "16-bit addressing in 64-bit mode");
	EXPECT(in->scale == 1 || in->scale == 2 || in->scale == 4 || in->scale == 8,
	       "scale %d", in->scale);
	EXPECT(valid_reg(in->base) && valid_reg(in->index), "base %d index %d", in->base,
	       in->index);
	EXPECT(in->disp_size == 0 || in->disp_size == 1 || in->disp_size == 2 ||
	       in->disp_size == 4, "disp_size %d", in->disp_size);
	EXPECT(in->imm_size <= 8 && (in->imm_size == 8 || !(in->imm >> (8 * in->imm_size))),
	       "imm %#llx in %d bytes", (unsigned long long)in->imm, in->imm_size);
	if (in->has_modrm) {
		EXPECT(in->mod <= 3 && in->reg < 16 && in->rm < 16, "modrm %d/%d/%d", in->mod,
		       in->reg, in->rm);
		EXPECT(mode == X86_MODE_64 || (in->reg < 8 && in->rm < 8),
		       "extended register outside 64-bit mode");
	} else {
		EXPECT(!in->has_sib && in->disp_size == 0 && in->base == X86_REG_NONE &&
		       in->index == X86_REG_NONE && !in->rip_relative,
		       "memory operand without ModRM");
	}
	if (in->has_sib)
		EXPECT(in->has_modrm && in->mod != 3 && in->addr_size != 2 && (in->rm & 7) == 4,
		       "SIB where there can be none");
	if (in->rip_relative)
		EXPECT(mode == X86_MODE_64 && in->base == X86_REG_NONE &&
		       in->index == X86_REG_NONE && in->disp_size == 4, "bad RIP-relative form");
	/* Every byte is accounted for: at least prefixes + opcode + ModRM + SIB
	 * + displacement + immediate. */
	EXPECT(in->len >= 1 + in->has_modrm + in->has_sib + in->disp_size + in->imm_size,
	       "length %d shorter than its parts", in->len);
}

/* ---- MMIO classification and the register helpers ---- */

static void check_mmio(const struct x86_insn *in)
{
	struct x86_mmio_op op;
	uint64_t gpr[16], before[16], v, ea;
	int rc = x86_mmio_classify(in, &op);
	enum x86_seg seg = x86_mem_segment(in);

	EXPECT(seg <= X86_SEG_GS, "segment %d", seg);
	if (in->has_modrm && in->mod != 3) {
		for (int i = 0; i < 16; i++)
			gpr[i] = rnd();
		ea = x86_mem_effective_address(in, gpr, rnd());
		EXPECT(!(ea & ~mask_bits(in->addr_size * 8)), "address %#llx beyond %d bytes",
		       (unsigned long long)ea, in->addr_size);
	}
	if (rc) {
		EXPECT(rc == -X86_E_UNSUPPORTED, "classify rc %d", rc);
		return;
	}
	EXPECT(!in->vex && !in->lock, "VEX or LOCK form classified as a MOV");
	EXPECT(op.kind <= X86_MMIO_STORE_IMM, "kind %d", op.kind);
	EXPECT(op.size == 1 || op.size == 2 || op.size == 4 || op.size == 8, "size %d", op.size);
	EXPECT(op.reg < 16, "reg %d", op.reg);
	EXPECT(!op.high_byte || (op.size == 1 && op.reg < 4 && !in->rex),
	       "high byte reg %d size %d", op.reg, op.size);
	EXPECT(op.kind == X86_MMIO_STORE_IMM || in->mode == X86_MODE_64 || op.reg < 8,
	       "extended register outside 64-bit mode");
	if (op.kind == X86_MMIO_LOAD || op.kind == X86_MMIO_LOAD_ZX || op.kind == X86_MMIO_LOAD_SX) {
		EXPECT(op.dst_size == 1 || op.dst_size == 2 || op.dst_size == 4 ||
		       op.dst_size == 8, "dst_size %d", op.dst_size);
		EXPECT(op.dst_size >= op.size, "dst_size %d < size %d", op.dst_size, op.size);
		EXPECT(op.kind == X86_MMIO_LOAD ? op.dst_size == op.size : op.size < 8,
		       "load sizes %d -> %d", op.size, op.dst_size);
		/* Only the destination register changes, by the x86 rules. */
		for (int i = 0; i < 16; i++)
			before[i] = gpr[i] = rnd();
		v = rnd();
		x86_mmio_load_result(&op, gpr, v);
		for (int i = 0; i < 16; i++)
			EXPECT(i == op.reg || gpr[i] == before[i], "load wrote register %d", i);
		uint64_t m = mask_bits(op.size * 8), val = v & m, r = gpr[op.reg];

		if (op.high_byte) {
			EXPECT(r == ((before[op.reg] & ~0xff00ull) | (val << 8)), "AH-style load");
		} else {
			uint64_t ext = val;

			if (op.kind == X86_MMIO_LOAD_SX && (val >> (op.size * 8 - 1)) & 1)
				ext |= ~m;
			if (op.dst_size == 4)
				EXPECT(r == (uint32_t)ext, "32-bit load does not zero-extend");
			else if (op.dst_size == 8)
				EXPECT(r == ext, "64-bit load");
			else
				EXPECT(r == ((before[op.reg] & ~mask_bits(op.dst_size * 8)) |
					     (ext & mask_bits(op.dst_size * 8))), "merging load");
		}
	} else {
		for (int i = 0; i < 16; i++)
			gpr[i] = rnd();
		v = x86_mmio_store_value(&op, gpr);
		EXPECT(!(v & ~mask_bits(op.size * 8)), "store value wider than %d", op.size);
		if (op.kind == X86_MMIO_STORE_REG)
			EXPECT(v == ((op.high_byte ? gpr[op.reg] >> 8 : gpr[op.reg]) &
				     mask_bits(op.size * 8)), "stored register value");
		else
			EXPECT(v == op.imm, "stored immediate");
	}
}

/* ---- Zydis, with the rules of tests/unit/test_insn_zydis.c ---- */

static bool is_moffs(const struct x86_insn *in)
{
	return in->map == X86_MAP_1B && !in->vex && in->opcode >= 0xa0 && in->opcode <= 0xa3;
}

static uint64_t zydis_imm(const ZydisDecodedInstruction *zi, unsigned *bytes)
{
	unsigned s0 = zi->raw.imm[0].size, s1 = zi->raw.imm[1].size;
	uint64_t v = zi->raw.imm[0].value.u & mask_bits(s0);

	if (s1)
		v |= (zi->raw.imm[1].value.u & mask_bits(s1)) << s0;
	*bytes = (s0 + s1) / 8;
	if (zi->encoding == ZYDIS_INSTRUCTION_ENCODING_3DNOW) {
		v = zi->opcode;
		*bytes = 1;
	}
	return v;
}

static void compare_common(const struct x86_insn *in, const ZydisDecodedInstruction *zi)
{
	unsigned zimm_bytes, zdisp = zi->raw.disp.size / 8;
	uint64_t zimm = zydis_imm(zi, &zimm_bytes);
	bool cr_dr = in->map == X86_MAP_0F && !in->vex && in->opcode >= 0x20 && in->opcode <= 0x23;

	EXPECT(in->len == zi->length, "length %d, zydis %d (%s)", in->len, zi->length,
	       ZydisMnemonicGetString(zi->mnemonic));
	if (in->has_modrm && in->mod != 3 && zi->meta.isa_set != ZYDIS_ISA_SET_MPX)
		EXPECT(in->addr_size * 8 == zi->address_width, "address size %d, zydis %d",
		       in->addr_size * 8, zi->address_width);
	EXPECT(!!in->rex == !!(zi->attributes & ZYDIS_ATTRIB_HAS_REX), "rex %#x", in->rex);
	EXPECT(!!in->vex == (zi->encoding == ZYDIS_INSTRUCTION_ENCODING_VEX), "vex %d", in->vex);
	if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_3DNOW)
		EXPECT(in->map == zi->opcode_map + 1 && in->opcode == zi->opcode,
		       "map %d opcode %#x, zydis %d %#x", in->map, in->opcode,
		       zi->opcode_map + 1, zi->opcode);
	EXPECT(in->has_modrm == !!(zi->attributes & ZYDIS_ATTRIB_HAS_MODRM), "has_modrm %d",
	       in->has_modrm);
	EXPECT(in->has_sib == !!(zi->attributes & ZYDIS_ATTRIB_HAS_SIB), "has_sib %d",
	       in->has_sib);
	if (in->has_modrm) {
		EXPECT((cr_dr || in->mod == zi->raw.modrm.mod) &&
		       (in->reg & 7) == zi->raw.modrm.reg && (in->rm & 7) == zi->raw.modrm.rm,
		       "modrm %d/%d/%d vs zydis %d/%d/%d", in->mod, in->reg, in->rm,
		       zi->raw.modrm.mod, zi->raw.modrm.reg, zi->raw.modrm.rm);
		if (in->has_sib)
			EXPECT(in->scale == 1 << zi->raw.sib.scale, "scale %d", in->scale);
	}
	if (is_moffs(in)) {
		EXPECT(in->imm_size == zdisp &&
		       in->imm == ((uint64_t)zi->raw.disp.value & mask_bits(zdisp * 8)),
		       "moffs size %d", in->imm_size);
		return;
	}
	EXPECT(in->disp_size == zdisp && (int64_t)in->disp == zi->raw.disp.value,
	       "disp %d bytes %#x, zydis %d %#llx", in->disp_size, in->disp, zdisp,
	       (unsigned long long)zi->raw.disp.value);
	EXPECT(in->imm_size == zimm_bytes && in->imm == zimm,
	       "imm %d bytes %#llx, zydis %d %#llx", in->imm_size, (unsigned long long)in->imm,
	       zimm_bytes, (unsigned long long)zimm);
}

static int zydis_gpr(ZydisRegister r)
{
	ZydisRegister big;

	if (r == ZYDIS_REGISTER_NONE)
		return X86_REG_NONE;
	if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP)
		return 16;
	big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	if (big >= ZYDIS_REGISTER_RAX && big <= ZYDIS_REGISTER_R15)
		return big - ZYDIS_REGISTER_RAX;
	return -1;
}

static ZydisRegister zydis_reg_for(uint8_t reg, bool high, uint8_t size)
{
	switch (size) {
	case 1:
		if (high)
			return ZYDIS_REGISTER_AH + reg;
		if (reg < 4)
			return ZYDIS_REGISTER_AL + reg;
		if (reg < 8)
			return ZYDIS_REGISTER_SPL + reg - 4;
		return ZYDIS_REGISTER_R8B + reg - 8;
	case 2:
		return ZYDIS_REGISTER_AX + reg;
	case 4:
		return ZYDIS_REGISTER_EAX + reg;
	default:
		return ZYDIS_REGISTER_RAX + reg;
	}
}

/* Zydis 4.0 issue #592 (SIB base 101, mod 00, REX.B and 67): not compared,
 * as in the unit test. */
static bool zydis_bug_592(const struct x86_insn *in)
{
	return in->has_sib && in->mod == 0 && in->base == X86_REG_NONE && (in->rex & 1) &&
	       in->addr_size == 4;
}

static void compare_mov(const struct x86_insn *in, const ZydisDecodedInstruction *zi,
			const ZydisDecoderContext *zctx, const ZydisDecoder *dec)
{
	static ZydisRegisterContext ctx;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct x86_mmio_op op;
	uint64_t gpr[16], zea = 0, rip = rnd();

	if (x86_mmio_classify(in, &op))
		return;
	EXPECT(ZYAN_SUCCESS(ZydisDecoderDecodeOperands(dec, zctx, zi, ops,
						       ZYDIS_MAX_OPERAND_COUNT)),
	       "zydis cannot decode the operands");

	bool store = op.kind == X86_MMIO_STORE_REG || op.kind == X86_MMIO_STORE_IMM;
	const ZydisDecodedOperand *mem = &ops[store ? 0 : 1], *other = &ops[store ? 1 : 0];
	ZydisMnemonic want = op.kind == X86_MMIO_LOAD_ZX ? ZYDIS_MNEMONIC_MOVZX :
			     op.kind == X86_MMIO_LOAD_SX ? ZYDIS_MNEMONIC_MOVSX : ZYDIS_MNEMONIC_MOV;

	EXPECT(zi->mnemonic == want && zi->operand_count_visible == 2, "kind %d, zydis %s",
	       op.kind, ZydisMnemonicGetString(zi->mnemonic));
	EXPECT(mem->type == ZYDIS_OPERAND_TYPE_MEMORY && mem->size == op.size * 8,
	       "memory size %d, zydis %d", op.size * 8, mem->size);
	if (op.kind == X86_MMIO_STORE_IMM)
		EXPECT(other->type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
		       (other->imm.value.u & mask_bits(op.size * 8)) == op.imm,
		       "imm %#llx", (unsigned long long)op.imm);
	else
		EXPECT(other->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		       other->reg.value == zydis_reg_for(op.reg, op.high_byte,
							 store ? op.size : op.dst_size),
		       "register %d high %d, zydis %s", op.reg, op.high_byte,
		       ZydisRegisterGetString(other->reg.value));
	if (zydis_bug_592(in))
		return;
	EXPECT(zydis_gpr(mem->mem.base) == (in->rip_relative ? 16 : in->base),
	       "base %d, zydis %s", in->base, ZydisRegisterGetString(mem->mem.base));
	EXPECT(zydis_gpr(mem->mem.index) == in->index, "index %d, zydis %s", in->index,
	       ZydisRegisterGetString(mem->mem.index));
	if (in->index != X86_REG_NONE)
		EXPECT(mem->mem.scale == in->scale, "scale %d", in->scale);
	EXPECT((int)mem->mem.segment == ZYDIS_REGISTER_ES + (int)x86_mem_segment(in),
	       "segment %d, zydis %s", x86_mem_segment(in),
	       ZydisRegisterGetString(mem->mem.segment));
	memset(&ctx, 0, sizeof(ctx));
	for (int i = 0; i < 16; i++) {
		gpr[i] = rnd();
		ctx.values[ZYDIS_REGISTER_RAX + i] = gpr[i];
		ctx.values[ZYDIS_REGISTER_EAX + i] = gpr[i] & 0xffffffffull;
		ctx.values[ZYDIS_REGISTER_AX + i] = gpr[i] & 0xffff;
	}
	EXPECT(ZYAN_SUCCESS(ZydisCalcAbsoluteAddressEx(zi, mem, rip, &ctx, &zea)),
	       "zydis cannot compute the address");
	zea &= mask_bits(zi->address_width);
	EXPECT(x86_mem_effective_address(in, gpr, rip) == zea, "address %#llx, zydis %#llx",
	       (unsigned long long)x86_mem_effective_address(in, gpr, rip),
	       (unsigned long long)zea);
}

static bool is_knc(const ZydisDecodedInstruction *zi)
{
	switch (zi->meta.isa_set) {
	case ZYDIS_ISA_SET_KNCE: case ZYDIS_ISA_SET_KNCJKBR: case ZYDIS_ISA_SET_KNCSTREAM:
	case ZYDIS_ISA_SET_KNCV: case ZYDIS_ISA_SET_KNC_MISC: case ZYDIS_ISA_SET_KNC_PF_HINT:
		return true;
	default:
		return false;
	}
}

static void compare_zydis(int m, const uint8_t *buf, size_t n, int rc, const struct x86_insn *in)
{
	ZydisDecodedInstruction zi;
	ZydisDecoderContext zctx;
	ZyanStatus zs = ZydisDecoderDecodeInstruction(&zdec[m], &zctx, buf, n, &zi);

	if (ZYAN_SUCCESS(zs) && rc == 0) {
		compare_common(in, &zi);
		compare_mov(in, &zi, &zctx, &zdec[m]);
	} else if (ZYAN_SUCCESS(zs)) {
		/* We decline: only EVEX/XOP (unsupported; Zydis reads an EVEX
		 * whose P1 bit 2 is clear as Knights Corner's MVEX, #UD on
		 * every other CPU) and Knights Corner VEX forms. */
		bool evex_xop = zi.encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX ||
				zi.encoding == ZYDIS_INSTRUCTION_ENCODING_MVEX ||
				zi.encoding == ZYDIS_INSTRUCTION_ENCODING_XOP;

		EXPECT((rc == -X86_E_UNSUPPORTED && evex_xop) || (rc == -X86_E_INVALID && is_knc(&zi)),
		       "rc %d but zydis decodes %s, length %d", rc,
		       ZydisMnemonicGetString(zi.mnemonic), zi.length);
	} else if (rc == 0) {
		/* We decode, Zydis rejects: fine unless it ran out of bytes or
		 * past 15, which means our length is wrong. */
		EXPECT(zs != ZYDIS_STATUS_NO_MORE_DATA && zs != ZYDIS_STATUS_INSTRUCTION_TOO_LONG,
		       "length %d, but zydis status %#x", in->len, zs);
	}
	/*
	 * Both reject: the error code is only informational (it ends
	 * up in the message of a stopped VM), and the two disagree by
	 * design. Zydis says "too long" as soon as it knows the
	 * length, even with fewer than 15 bytes at hand, where we say
	 * TRUNCATED (insn.h); and we stop early at VEX after a 66/F2/
	 * F3/F0/REX prefix (INVALID) or at EVEX/XOP (UNSUPPORTED)
	 * where Zydis goes on and finds 14 prefixes + c5/62 too long
	 * (the unit test's "if Zydis got past 15 bytes, so must we"
	 * does not hold there). Either way no CPU executes it, so it
	 * never exited.
	 */
}

/* ---- the target ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct x86_insn in, again;
	uint8_t padded[MAX_BYTES + 16];
	int m, rc, rc2;
	size_t n;

	if (!ready) {
		for (int i = 0; i < 3; i++)
			if (!ZYAN_SUCCESS(ZydisDecoderInit(&zdec[i],
					i == 2 ? ZYDIS_MACHINE_MODE_LONG_64 :
					i == 1 ? ZYDIS_MACHINE_MODE_LEGACY_32 :
						 ZYDIS_MACHINE_MODE_LEGACY_16,
					i == 2 ? ZYDIS_STACK_WIDTH_64 :
					i == 1 ? ZYDIS_STACK_WIDTH_32 : ZYDIS_STACK_WIDTH_16)) ||
			    !ZYAN_SUCCESS(ZydisDecoderEnableMode(&zdec[i],
					ZYDIS_DECODER_MODE_AMD_BRANCHES, ZYAN_TRUE)))
				abort();
		ready = true;
	}
	if (size < 1)
		return 0;
	m = data[0] % 3;
	n = size - 1 < MAX_BYTES ? size - 1 : MAX_BYTES;
	rng = 0x4b657374726c3031ull;
	for (size_t i = 0; i < size; i++)
		rng = (rng ^ data[i]) * 0x100000001b3ull;
	rng |= 1;

	/* An exact-size copy: a read past `avail` is an ASan report. */
	uint8_t *bytes = malloc(n ? n : 1);

	memcpy(bytes, data + 1, n);
	cur_bytes = bytes;
	cur_n = n;
	cur_mode = modes[m];
	memset(&in, 0xa5, sizeof(in));
	rc = x86_decode(bytes, n, modes[m], &in);
	EXPECT(rc == 0 || rc == -X86_E_TRUNCATED || rc == -X86_E_TOO_LONG ||
	       rc == -X86_E_UNSUPPORTED || rc == -X86_E_INVALID, "rc %d", rc);
	EXPECT(rc != -X86_E_TOO_LONG || n >= X86_MAX_INSN_LEN, "too long with %zu bytes", n);
	EXPECT(x86_decode(bytes, n, (enum x86_mode)3, &again) == -X86_E_UNSUPPORTED,
	       "bad mode accepted");

	/* Whatever follows the bytes the decoder needed cannot change the answer. */
	memset(padded, rc == -X86_E_TRUNCATED ? 0x90 : 0xff, sizeof(padded));
	memcpy(padded, bytes, n);
	if (rc == 0) {
		check_fields(&in, modes[m], n);
		rc2 = x86_decode(bytes, in.len, modes[m], &again);
		EXPECT(rc2 == 0 && same_insn(&in, &again), "not the same with exactly %d bytes",
		       in.len);
		rc2 = x86_decode(padded, sizeof(padded), modes[m], &again);
		EXPECT(rc2 == 0 && same_insn(&in, &again), "not the same with more bytes");
		for (size_t k = 0; k < in.len; k++)
			EXPECT(x86_decode(bytes, k, modes[m], &again) == -X86_E_TRUNCATED,
			       "cut to %zu of %d bytes: rc %d", k, in.len,
			       x86_decode(bytes, k, modes[m], &again));
		check_mmio(&in);
	} else if (rc == -X86_E_TRUNCATED) {
		EXPECT(n < X86_MAX_INSN_LEN, "truncated with %zu bytes", n);
		for (size_t k = 0; k < n; k++)
			EXPECT(x86_decode(bytes, k, modes[m], &again) == -X86_E_TRUNCATED,
			       "truncated at %zu bytes but not at %zu", n, k);
	} else {
		rc2 = x86_decode(padded, sizeof(padded), modes[m], &again);
		EXPECT(rc2 == rc, "rc %d, but %d with more bytes", rc, rc2);
	}
	compare_zydis(m, bytes, n, rc, &in);
	free(bytes);
	return 0;
}
