// UNIT-SOURCES: hypervisor/arch/x86/insn.c
// UNIT-LIBS: -lZydis
/*
 * Differential test of x86_decode() against Zydis 4 (Debian libzydis-dev),
 * in 64-, 32- and 16-bit mode, on pseudo-random input (fixed seeds):
 * random bytes, random prefix/REX/map/VEX structure, and a sweep of every
 * opcode of every map with every ModRM byte under common prefixes.
 *
 * Rules (each break is one failed check):
 *  - Both decode: length, prefixes, map/opcode, ModRM, SIB, displacement,
 *    immediate and address size agree. For the MMIO MOV forms the operand
 *    sizes, registers, memory operand, segment and effective address agree.
 *    Every shorter prefix of the input must give X86_E_TRUNCATED.
 *  - Zydis decodes, we decline: allowed only for EVEX and XOP, which the
 *    decoder documents as unsupported.
 *  - We decode, Zydis rejects: allowed, because we do not check that an
 *    opcode, LOCK or a mandatory prefix is legal (the CPU did that already);
 *    counted by Zydis status. Not allowed when Zydis ran out of input or
 *    found the instruction too long: then our length is wrong.
 * Zydis runs with AMD branch semantics (66 + Jz = rel16 in 64-bit mode), as
 * Kestrel runs on AMD.
 */
#include <stdarg.h>
#include <string.h>

#include <Zydis/Zydis.h>
#include <x86/insn.h>

#include "unit.h"

#ifndef MAX_PRINTED
#define MAX_PRINTED 60
#endif
#define BUF_LEN 16

struct mode_info {
	enum x86_mode mode;
	ZydisMachineMode zmode;
	ZydisStackWidth zstack;
	const char *name;
	ZydisDecoder dec;
};

struct counts {
	unsigned long inputs;
	unsigned long compared;     /* both decoded, everything compared */
	unsigned long mov_compared; /* of those, MMIO MOV forms */
	unsigned long by_map[5];    /* of those, legacy maps 1..4; [0] = VEX */
	unsigned long unsupported;  /* EVEX/XOP: Zydis decodes, we decline */
	unsigned long zydis_bug;    /* memory operand not compared: zydis #592 */
	unsigned long knc;          /* Xeon Phi VEX forms: Zydis decodes, we say #UD */
	unsigned long both_reject;
	unsigned long ours_only[16]; /* we decode, Zydis rejects: by Zydis status */
};

static struct mode_info modes[] = {
	{ X86_MODE_64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64, "64", { 0 } },
	{ X86_MODE_32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32, "32", { 0 } },
	{ X86_MODE_16, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16, "16", { 0 } },
};
static struct counts counts[3];
static unsigned long printed;

static const char *const zydis_status_names[16] = {
	"no more data", "decoding error", "too long", "bad register",
	"illegal lock", "illegal legacy prefix", "illegal rex", "invalid map",
	"malformed evex", "malformed mvex", "invalid mask",
};

/* xorshift64*: reproducible and good enough to spread bits. */
static uint64_t rng = 0x4b657374726c3031ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static struct counts *counts_of(const struct mode_info *m)
{
	return &counts[m - modes];
}

/* One failed check, printed with the input while under the print limit. */
static void fail(const struct mode_info *m, const uint8_t *buf, size_t n,
		 const char *fmt, ...)
{
	va_list ap;
	size_t i;

	unit_failed++;
	if (printed++ >= MAX_PRINTED)
		return;
	printf("FAIL mode %s [", m->name);
	for (i = 0; i < n && i < BUF_LEN; i++)
		printf(" %02x", buf[i]);
	printf(" ]: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint64_t mask_bits(unsigned int bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

static bool is_moffs(const struct x86_insn *in)
{
	return in->map == X86_MAP_1B && in->opcode >= 0xa0 && in->opcode <= 0xa3;
}

/* Zydis keeps the two immediates apart; ours are concatenated. */
static uint64_t zydis_imm(const ZydisDecodedInstruction *zi, unsigned int *bytes)
{
	unsigned int s0 = zi->raw.imm[0].size, s1 = zi->raw.imm[1].size;
	uint64_t v = zi->raw.imm[0].value.u & mask_bits(s0);

	if (s1)
		v |= (zi->raw.imm[1].value.u & mask_bits(s1)) << s0;
	*bytes = (s0 + s1) / 8;
	if (zi->encoding == ZYDIS_INSTRUCTION_ENCODING_3DNOW) {
		v = zi->opcode; /* the suffix, which we keep as an imm8 */
		*bytes = 1;
	}
	return v;
}

#define EXPECT(cond, ...)                                \
	do {                                             \
		if (!(cond)) {                           \
			fail(m, buf, n, __VA_ARGS__);    \
			return false;                    \
		}                                        \
	} while (0)

static bool compare_modrm(const struct mode_info *m, const uint8_t *buf, size_t n,
			  const struct x86_insn *in, const ZydisDecodedInstruction *zi)
{
	bool cr_dr = in->map == X86_MAP_0F && !in->vex && in->opcode >= 0x20 &&
		     in->opcode <= 0x23;

	EXPECT(in->has_modrm == !!(zi->attributes & ZYDIS_ATTRIB_HAS_MODRM),
	       "has_modrm %d", in->has_modrm);
	EXPECT(in->has_sib == !!(zi->attributes & ZYDIS_ATTRIB_HAS_SIB),
	       "has_sib %d", in->has_sib);
	if (!in->has_modrm)
		return true;
	EXPECT((cr_dr || in->mod == zi->raw.modrm.mod) &&
	       (in->reg & 7) == zi->raw.modrm.reg && (in->rm & 7) == zi->raw.modrm.rm,
	       "modrm %d/%d/%d vs zydis %d/%d/%d", in->mod, in->reg, in->rm,
	       zi->raw.modrm.mod, zi->raw.modrm.reg, zi->raw.modrm.rm);
	if (in->has_sib)
		EXPECT(in->scale == 1 << zi->raw.sib.scale, "scale %d", in->scale);
	return true;
}

/* Fields any decoded instruction has. */
static bool compare_common(const struct mode_info *m, const uint8_t *buf, size_t n,
			   const struct x86_insn *in, const ZydisDecodedInstruction *zi)
{
	unsigned int zimm_bytes, zdisp = zi->raw.disp.size / 8;
	uint64_t zimm = zydis_imm(zi, &zimm_bytes);
	bool three_dnow = zi->encoding == ZYDIS_INSTRUCTION_ENCODING_3DNOW;

	EXPECT(in->len == zi->length, "length %d, zydis %d (%s)", in->len, zi->length,
	       ZydisMnemonicGetString(zi->mnemonic));
	/*
	 * The address size only matters with a memory operand (Zydis reports
	 * fixed sizes for some register-only forms such as SGX's ENCLS).
	 * Intel's MPX (0f 1a/1b) ignores 67 in 64-bit mode; AMD has no MPX,
	 * there they are hint NOPs that honour it.
	 */
	if (in->has_modrm && in->mod != 3 && zi->meta.isa_set != ZYDIS_ISA_SET_MPX)
		EXPECT(in->addr_size * 8 == zi->address_width, "address size %d, zydis %d",
		       in->addr_size * 8, zi->address_width);
	EXPECT(!!in->rex == !!(zi->attributes & ZYDIS_ATTRIB_HAS_REX), "rex %#x", in->rex);
	EXPECT(!!in->vex == (zi->encoding == ZYDIS_INSTRUCTION_ENCODING_VEX), "vex %d", in->vex);
	if (!three_dnow)
		EXPECT(in->map == zi->opcode_map + 1 && in->opcode == zi->opcode,
		       "map %d opcode %#x, zydis %d %#x", in->map, in->opcode,
		       zi->opcode_map + 1, zi->opcode);
	if (!compare_modrm(m, buf, n, in, zi))
		return false;
	if (is_moffs(in)) {
		EXPECT(in->imm_size == zdisp &&
		       in->imm == ((uint64_t)zi->raw.disp.value & mask_bits(zdisp * 8)),
		       "moffs size %d", in->imm_size);
		return true;
	}
	EXPECT(in->disp_size == zdisp && (int64_t)in->disp == zi->raw.disp.value,
	       "disp %d bytes %#x, zydis %d %#llx", in->disp_size, in->disp, zdisp,
	       (unsigned long long)zi->raw.disp.value);
	EXPECT(in->imm_size == zimm_bytes && in->imm == zimm,
	       "imm %d bytes %#llx, zydis %d %#llx", in->imm_size,
	       (unsigned long long)in->imm, zimm_bytes, (unsigned long long)zimm);
	return true;
}

/* Zydis GPR of any width -> 0..15; RIP/EIP -> 16; none -> X86_REG_NONE. */
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

/* The Zydis register our (reg, high_byte, size) names. */
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

static void fill_registers(uint64_t gpr[16], ZydisRegisterContext *ctx)
{
	int i;

	memset(ctx, 0, sizeof(*ctx));
	for (i = 0; i < 16; i++) {
		gpr[i] = rnd();
		ctx->values[ZYDIS_REGISTER_RAX + i] = gpr[i];
		ctx->values[ZYDIS_REGISTER_EAX + i] = gpr[i] & 0xffffffffull;
		ctx->values[ZYDIS_REGISTER_AX + i] = gpr[i] & 0xffff;
	}
}

/*
 * Zydis 4.0 reads SIB base 101 with mod 00 as r13d, not "no base", when
 * REX.B and 67 are both present (zydis issue #592, fixed after 4.0); the
 * SDM (vol. 2, table 2-5 note) and AMD agree that there is no base.
 */
static bool zydis_bug_592(const struct x86_insn *in)
{
	return in->has_sib && in->mod == 0 && in->base == X86_REG_NONE &&
	       (in->rex & 1) && in->addr_size == 4;
}

static bool compare_mem_operand(const struct mode_info *m, const uint8_t *buf, size_t n,
				const struct x86_insn *in, const ZydisDecodedInstruction *zi,
				const ZydisDecodedOperand *mem)
{
	static ZydisRegisterContext ctx;
	uint64_t gpr[16], zea = 0, rip = rnd();
	int base = in->rip_relative ? 16 : in->base;

	if (zydis_bug_592(in)) {
		counts_of(m)->zydis_bug++;
		return true;
	}

	EXPECT(zydis_gpr(mem->mem.base) == base, "base %d, zydis %s", base,
	       ZydisRegisterGetString(mem->mem.base));
	EXPECT(zydis_gpr(mem->mem.index) == in->index, "index %d, zydis %s", in->index,
	       ZydisRegisterGetString(mem->mem.index));
	if (in->index != X86_REG_NONE)
		EXPECT(mem->mem.scale == in->scale, "scale %d", in->scale);
	EXPECT((int)mem->mem.segment == ZYDIS_REGISTER_ES + (int)x86_mem_segment(in),
	       "segment %d, zydis %s", x86_mem_segment(in),
	       ZydisRegisterGetString(mem->mem.segment));
	fill_registers(gpr, &ctx);
	EXPECT(ZYAN_SUCCESS(ZydisCalcAbsoluteAddressEx(zi, mem, rip, &ctx, &zea)),
	       "zydis cannot compute the address");
	zea &= mask_bits(zi->address_width);
	EXPECT(x86_mem_effective_address(in, gpr, rip) == zea,
	       "address %#llx, zydis %#llx",
	       (unsigned long long)x86_mem_effective_address(in, gpr, rip),
	       (unsigned long long)zea);
	return true;
}

static ZydisMnemonic mnemonic_of(enum x86_mmio_kind kind)
{
	if (kind == X86_MMIO_LOAD_ZX)
		return ZYDIS_MNEMONIC_MOVZX;
	if (kind == X86_MMIO_LOAD_SX)
		return ZYDIS_MNEMONIC_MOVSX;
	return ZYDIS_MNEMONIC_MOV;
}

/* The MMIO view (x86_mmio_classify) against Zydis' operands. */
static bool compare_mov(const struct mode_info *m, const uint8_t *buf, size_t n,
			const struct x86_insn *in, const ZydisDecodedInstruction *zi,
			const ZydisDecodedOperand ops[], const struct x86_mmio_op *op)
{
	bool store = op->kind == X86_MMIO_STORE_REG || op->kind == X86_MMIO_STORE_IMM;
	const ZydisDecodedOperand *mem = &ops[store ? 0 : 1];
	const ZydisDecodedOperand *other = &ops[store ? 1 : 0];
	uint8_t reg_size = store ? op->size : op->dst_size;

	EXPECT(zi->mnemonic == mnemonic_of(op->kind) && zi->operand_count_visible == 2,
	       "kind %d, zydis %s", op->kind, ZydisMnemonicGetString(zi->mnemonic));
	EXPECT(mem->type == ZYDIS_OPERAND_TYPE_MEMORY && mem->size == op->size * 8,
	       "memory size %d, zydis %d", op->size * 8, mem->size);
	if (op->kind == X86_MMIO_STORE_IMM) {
		EXPECT(other->type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
		       (other->imm.value.u & mask_bits(op->size * 8)) == op->imm,
		       "imm %#llx", (unsigned long long)op->imm);
	} else {
		EXPECT(other->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		       other->reg.value == zydis_reg_for(op->reg, op->high_byte, reg_size),
		       "register %d high %d size %d, zydis %s", op->reg, op->high_byte,
		       reg_size, ZydisRegisterGetString(other->reg.value));
	}
	return compare_mem_operand(m, buf, n, in, zi, mem);
}

/* Every shorter input must be reported as truncated. */
static bool compare_truncation(const struct mode_info *m, const uint8_t *buf, size_t n,
			       const struct x86_insn *in)
{
	struct x86_insn cut;
	int rc = x86_decode(buf, in->len - 1, m->mode, &cut);

	EXPECT(rc == -X86_E_TRUNCATED, "cut to %d bytes: rc %d", in->len - 1, rc);
	return true;
}

static void compare_decoded(const struct mode_info *m, const uint8_t *buf, size_t n,
			    const struct x86_insn *in, const ZydisDecodedInstruction *zi,
			    const ZydisDecoderContext *zctx)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct x86_mmio_op op;
	struct counts *c = counts_of(m);

	c->compared++;
	c->by_map[in->vex ? 0 : in->map]++;
	if (!compare_common(m, buf, n, in, zi) || !compare_truncation(m, buf, n, in))
		return;
	if (x86_mmio_classify(in, &op) == 0) {
		c->mov_compared++;
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeOperands(&m->dec, zctx, zi, ops,
							      ZYDIS_MAX_OPERAND_COUNT))) {
			fail(m, buf, n, "zydis cannot decode operands");
			return;
		}
		if (!compare_mov(m, buf, n, in, zi, ops, &op))
			return;
	}
	unit_passed++;
}

/*
 * Zydis decodes a few VEX forms of Knights Corner (first Xeon Phi), such as
 * JKZD (VEX 0f 84), even with its KNC mode off. They #UD on every other
 * CPU, so the decoder is right to call them invalid.
 */
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

/* We decline, Zydis decodes: fine only for what the decoder does not do. */
static void check_declined(const struct mode_info *m, const uint8_t *buf, size_t n,
			   int rc, const ZydisDecodedInstruction *zi)
{
	bool evex_xop = zi->encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX ||
			zi->encoding == ZYDIS_INSTRUCTION_ENCODING_XOP;

	if (rc == -X86_E_UNSUPPORTED && evex_xop) {
		counts_of(m)->unsupported++;
		unit_passed++;
		return;
	}
	if (rc == -X86_E_INVALID && is_knc(zi)) {
		counts_of(m)->knc++;
		unit_passed++;
		return;
	}
	fail(m, buf, n, "rc %d but zydis decodes %s, length %d", rc,
	     ZydisMnemonicGetString(zi->mnemonic), zi->length);
}

/* We decode, Zydis rejects: fine unless Zydis says our length is wrong. */
static void check_accepted(const struct mode_info *m, const uint8_t *buf, size_t n,
			   const struct x86_insn *in, ZyanStatus zs)
{
	unsigned int code = ZYAN_STATUS_CODE(zs) & 15;

	if (zs == ZYDIS_STATUS_NO_MORE_DATA || zs == ZYDIS_STATUS_INSTRUCTION_TOO_LONG) {
		fail(m, buf, n, "length %d, but zydis: %s", in->len,
		     zydis_status_names[code]);
		return;
	}
	counts_of(m)->ours_only[code]++;
	unit_passed++;
}

/*
 * Both reject. If Zydis got past 15 bytes, so must we. Not the other way
 * round: Zydis stops early at an undefined opcode (such as c7 /2) that we
 * still measure.
 */
static void check_both_rejected(const struct mode_info *m, const uint8_t *buf, size_t n,
				int rc, ZyanStatus zs)
{
	counts_of(m)->both_reject++;
	if (zs == ZYDIS_STATUS_INSTRUCTION_TOO_LONG && rc != -X86_E_TOO_LONG)
		fail(m, buf, n, "rc %d, but zydis: %s", rc,
		     zydis_status_names[ZYAN_STATUS_CODE(zs) & 15]);
	else
		unit_passed++;
}

static void run_one(struct mode_info *m, const uint8_t *buf, size_t n)
{
	ZydisDecodedInstruction zi;
	ZydisDecoderContext zctx;
	struct x86_insn in;
	ZyanStatus zs;
	int rc;

	counts_of(m)->inputs++;
	rc = x86_decode(buf, n, m->mode, &in);
	zs = ZydisDecoderDecodeInstruction(&m->dec, &zctx, buf, n, &zi);
	if (ZYAN_SUCCESS(zs) && rc == 0)
		compare_decoded(m, buf, n, &in, &zi, &zctx);
	else if (ZYAN_SUCCESS(zs))
		check_declined(m, buf, n, rc, &zi);
	else if (rc == 0)
		check_accepted(m, buf, n, &in, zs);
	else
		check_both_rejected(m, buf, n, rc, zs);
}

static void fill_random(uint8_t *buf, size_t from, size_t to)
{
	for (; from < to; from++)
		buf[from] = (uint8_t)rnd();
}

/* Plain random bytes; one in eight inputs is also cut short. */
static void gen_random(struct mode_info *m, unsigned long count)
{
	uint8_t buf[BUF_LEN];
	unsigned long i;

	for (i = 0; i < count; i++) {
		fill_random(buf, 0, BUF_LEN);
		run_one(m, buf, (rnd() & 7) ? BUF_LEN : 1 + rnd() % BUF_LEN);
	}
}

/* A VEX prefix that is VEX (not LES/LDS) in every mode most of the time. */
static size_t put_vex(uint8_t *buf, size_t n)
{
	uint8_t b1 = (uint8_t)rnd();

	if (rnd() % 8)
		b1 |= 0xc0;
	if (rnd() & 1) {
		buf[n++] = 0xc5;
		buf[n++] = b1;
		return n;
	}
	buf[n++] = 0xc4;
	if (rnd() % 8)
		b1 = (b1 & ~0x1f) | (1 + rnd() % 3);
	buf[n++] = b1;
	buf[n++] = (uint8_t)rnd();
	return n;
}

/* Random legacy prefixes, REX, then an opcode from a random map. */
static void gen_structured(struct mode_info *m, unsigned long count)
{
	static const uint8_t legacy[] = { 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26,
					  0x2e, 0x36, 0x3e, 0x64, 0x65 };
	uint8_t buf[BUF_LEN];
	unsigned long i;
	size_t n, np;

	for (i = 0; i < count; i++) {
		n = 0;
		np = (rnd() & 1) ? 0 : rnd() % 5;
		while (np--)
			buf[n++] = legacy[rnd() % sizeof(legacy)];
		if (m->mode == X86_MODE_64 && (rnd() & 1))
			buf[n++] = 0x40 | (rnd() & 15);
		switch (rnd() % 8) {
		case 0: case 1: case 2: break;
		case 3: case 4: buf[n++] = 0x0f; break;
		case 5: buf[n++] = 0x0f; buf[n++] = 0x38; break;
		case 6: buf[n++] = 0x0f; buf[n++] = 0x3a; break;
		default: n = put_vex(buf, n); break;
		}
		fill_random(buf, n, BUF_LEN);
		run_one(m, buf, BUF_LEN);
	}
}

/* Every opcode of every map with every ModRM byte, under each prefix set. */
static void gen_sweep(struct mode_info *m)
{
	static const char *const prefixes[] = { "", "\x66", "\x67", "\xf3", "\xf2",
						"\xf0", "\x67\x66", "\x48", "\x66\x48",
						"\x41" };
	static const char *const escapes[] = { "", "\x0f", "\x0f\x38", "\x0f\x3a",
					       "\xc5\xf8", "\xc5\xf9", "\xc4\xe2\x79",
					       "\xc4\xe3\x79", "\xc4\xe1\xfa", "\xc4\x41\x7d",
					       "\xc4\xc3\xf9", "\x62\xf1\x7c\x48",
					       "\x8f\xe8\x78", "\x8f\xe9\x78" };
	uint8_t buf[BUF_LEN];
	size_t p, e, n, pl;
	unsigned int op, modrm;

	for (p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		pl = strlen(prefixes[p]);
		if (m->mode != X86_MODE_64 && pl && (prefixes[p][pl - 1] & 0xf0) == 0x40)
			continue; /* REX is INC/DEC there */
		for (e = 0; e < sizeof(escapes) / sizeof(escapes[0]); e++) {
			if (e >= 4 && p != 0)
				continue; /* VEX/EVEX/XOP after a prefix: #UD */
			memcpy(buf, prefixes[p], pl);
			memcpy(buf + pl, escapes[e], strlen(escapes[e]));
			n = pl + strlen(escapes[e]);
			for (op = 0; op < 256; op++) {
				for (modrm = 0; modrm < 256; modrm++) {
					buf[n] = (uint8_t)op;
					buf[n + 1] = (uint8_t)modrm;
					fill_random(buf, n + 2, BUF_LEN);
					run_one(m, buf, BUF_LEN);
				}
			}
		}
	}
}

/* The MMIO forms under random prefixes, REX, ModRM, SIB and displacement. */
static void gen_movs(struct mode_info *m, unsigned long count)
{
	static const uint8_t prefixes[] = { 0x66, 0x67, 0x26, 0x2e, 0x36, 0x3e,
					    0x64, 0x65, 0xf2, 0xf3 };
	static const uint8_t movs[] = { 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7,
					0xa0, 0xa1, 0xa2, 0xa3, 0xb6, 0xb7, 0xbe, 0xbf };
	uint8_t buf[BUF_LEN];
	unsigned long i;
	size_t n, np;
	uint8_t op;

	for (i = 0; i < count; i++) {
		n = 0;
		for (np = rnd() % 4; np; np--)
			buf[n++] = prefixes[rnd() % sizeof(prefixes)];
		if (m->mode == X86_MODE_64 && (rnd() & 1))
			buf[n++] = 0x40 | (rnd() & 15);
		op = movs[rnd() % sizeof(movs)];
		if (op >= 0xb6)
			buf[n++] = 0x0f;
		buf[n++] = op;
		fill_random(buf, n, BUF_LEN);
		if ((op == 0xc6 || op == 0xc7) && (rnd() & 1))
			buf[n] &= 0xc7; /* mostly /0, the only MOV */
		run_one(m, buf, BUF_LEN);
	}
}

/* 3DNow!: every ModRM with every suffix, whatever the SIB/disp length. */
static void gen_3dnow(struct mode_info *m)
{
	uint8_t buf[BUF_LEN];
	unsigned int modrm, suffix;

	for (modrm = 0; modrm < 256; modrm++) {
		for (suffix = 0; suffix < 256; suffix++) {
			buf[0] = 0x0f;
			buf[1] = 0x0f;
			buf[2] = (uint8_t)modrm;
			memset(buf + 3, (int)suffix, BUF_LEN - 3);
			run_one(m, buf, BUF_LEN);
		}
	}
}

static void print_counts(const struct mode_info *m)
{
	const struct counts *c = counts_of(m);
	unsigned long ours_only = 0;
	int i;

	for (i = 0; i < 16; i++)
		ours_only += c->ours_only[i];
	printf("mode %s: %lu inputs, %lu compared (%lu MMIO movs), %lu EVEX/XOP declined, "
	       "%lu KNC declined, %lu zydis #592, %lu rejected by both, "
	       "%lu accepted only by us:", m->name, c->inputs, c->compared, c->mov_compared,
	       c->unsupported, c->knc, c->zydis_bug, c->both_reject, ours_only);
	for (i = 0; i < 16; i++)
		if (c->ours_only[i])
			printf(" [%s %lu]", zydis_status_names[i] ? zydis_status_names[i] : "?",
			       c->ours_only[i]);
	printf("\n        compared by map: 1-byte %lu, 0f %lu, 0f38 %lu, 0f3a %lu, VEX %lu\n",
	       c->by_map[1], c->by_map[2], c->by_map[3], c->by_map[4], c->by_map[0]);
}

/* So that a broken generator cannot make the test pass by comparing nothing. */
static void check_minimums(const struct mode_info *m)
{
	const struct counts *c = counts_of(m);

	CHECK_MSG(c->compared >= 1000000, "mode %s: only %lu compared", m->name, c->compared);
	CHECK_MSG(c->mov_compared >= 80000, "mode %s: only %lu MMIO movs compared",
		  m->name, c->mov_compared);
	CHECK_MSG(c->by_map[0] >= 50000, "mode %s: only %lu VEX compared", m->name,
		  c->by_map[0]);
	CHECK_MSG(c->unsupported >= 10000, "mode %s: only %lu EVEX/XOP seen", m->name,
		  c->unsupported);
}

int main(void)
{
	size_t i;

	for (i = 0; i < 3; i++) {
		struct mode_info *m = &modes[i];

		if (!ZYAN_SUCCESS(ZydisDecoderInit(&m->dec, m->zmode, m->zstack)) ||
		    !ZYAN_SUCCESS(ZydisDecoderEnableMode(&m->dec,
				ZYDIS_DECODER_MODE_AMD_BRANCHES, ZYAN_TRUE))) {
			printf("FAIL: cannot set up Zydis\n");
			return 1;
		}
		gen_random(m, 200000);
		gen_structured(m, 300000);
		gen_sweep(m);
		gen_3dnow(m);
		gen_movs(m, 100000);
		print_counts(m);
		check_minimums(m);
	}
	if (printed > MAX_PRINTED)
		printf("(%lu more failures not shown)\n", printed - MAX_PRINTED);
	return unit_finish("test_insn_zydis");
}
