/*
 * x86 instruction decoder: the length of any guest instruction, plus the
 * MOV forms that Kestrel emulates for MMIO.
 *
 * An instruction is: legacy prefixes, REX (64-bit mode) or VEX, opcode
 * (1-3 bytes), ModRM, SIB, displacement, immediate (SDM vol. 2, 2.1;
 * APM vol. 3, 1.1). The opcode tables below give, per opcode, whether a
 * ModRM byte follows and what kind of immediate, following the opcode maps
 * of SDM vol. 2, appendix A.3 and APM vol. 3, appendix A.
 */
#include <x86/insn.h>

/* Immediate kinds, the low nibble of a table entry. */
enum imm_kind {
	IMM_NONE,
	IMM_B,     /* ib, rel8 */
	IMM_W,     /* iw */
	IMM_Z,     /* iz: 2 or 4 bytes by operand size; also rel16/32 */
	IMM_V,     /* iv: 2, 4 or 8 bytes by operand size (B8+r only) */
	IMM_WB,    /* ENTER: iw, ib */
	IMM_P,     /* far pointer: offset 2 or 4 bytes, then selector */
	IMM_O,     /* moffs: address-size bytes */
	IMM_TB,    /* F6: ib for TEST (/0, /1) only */
	IMM_TZ,    /* F7: iz for TEST (/0, /1) only */
	IMM_SSE4A, /* 0f 78: ib, ib with mandatory 66 (EXTRQ) or F2 (INSERTQ) */
};

/* Flags, the high nibble. */
#define M   0x10 /* a ModRM byte follows */
#define I64 0x20 /* #UD in 64-bit mode (SDM vol. 2, A.2.5 "i64") */
#define UD  0x40 /* #UD in every mode */
#define X   0x80 /* prefix or escape byte: never looked up */

/* Shorthands so that the tables read as the manuals' opcode maps. */
#define NO  IMM_NONE
#define IB  IMM_B
#define IW  IMM_W
#define IZ  IMM_Z
#define IV  IMM_V
#define JZ  IMM_Z  /* near branch rel16/32: same size rule as iz on AMD */
#define OF  IMM_O
#define FP  (IMM_P | I64)
#define MB  (M | IMM_B)
#define MZ  (M | IMM_Z)

/* One-byte opcode map (SDM vol. 2, table A-2). */
static const uint8_t map_1b[256] = {
/*        0    1    2      3    4       5       6    7    8    9    a    b    c    d    e    f */
/* 0 */   M,   M,   M,     M,   IB,     IZ,     I64, I64, M,   M,   M,   M,   IB,  IZ,  I64, X,
/* 1 */   M,   M,   M,     M,   IB,     IZ,     I64, I64, M,   M,   M,   M,   IB,  IZ,  I64, I64,
/* 2 */   M,   M,   M,     M,   IB,     IZ,     X,   I64, M,   M,   M,   M,   IB,  IZ,  X,   I64,
/* 3 */   M,   M,   M,     M,   IB,     IZ,     X,   I64, M,   M,   M,   M,   IB,  IZ,  X,   I64,
/* 4 */   NO,  NO,  NO,    NO,  NO,     NO,     NO,  NO,  NO,  NO,  NO,  NO,  NO,  NO,  NO,  NO,
/* 5 */   NO,  NO,  NO,    NO,  NO,     NO,     NO,  NO,  NO,  NO,  NO,  NO,  NO,  NO,  NO,  NO,
/* 6 */   I64, I64, X,     M,   X,      X,      X,   X,   IZ,  MZ,  IB,  MB,  NO,  NO,  NO,  NO,
/* 7 */   IB,  IB,  IB,    IB,  IB,     IB,     IB,  IB,  IB,  IB,  IB,  IB,  IB,  IB,  IB,  IB,
/* 8 */   MB,  MZ,  MB|I64, MB, M,      M,      M,   M,   M,   M,   M,   M,   M,   M,   M,   X,
/* 9 */   NO,  NO,  NO,    NO,  NO,     NO,     NO,  NO,  NO,  NO,  FP,  NO,  NO,  NO,  NO,  NO,
/* a */   OF,  OF,  OF,    OF,  NO,     NO,     NO,  NO,  IB,  IZ,  NO,  NO,  NO,  NO,  NO,  NO,
/* b */   IB,  IB,  IB,    IB,  IB,     IB,     IB,  IB,  IV,  IV,  IV,  IV,  IV,  IV,  IV,  IV,
/* c */   MB,  MB,  IW,    NO,  X,      X,      MB,  MZ,  IMM_WB, NO, IW, NO,  NO,  IB,  I64, NO,
/* d */   M,   M,   M,     M,   IB|I64, IB|I64, I64, NO,  M,   M,   M,   M,   M,   M,   M,   M,
/* e */   IB,  IB,  IB,    IB,  IB,     IB,     IB,  IB,  JZ,  JZ,  FP,  IB,  NO,  NO,  NO,  NO,
/* f */   X,   NO,  X,     X,   NO,     NO,     M|IMM_TB, M|IMM_TZ, NO, NO, NO, NO, NO, NO, M, M,
};

/* Two-byte opcode map, 0f xx (SDM vol. 2, table A-3; 0f 0f is 3DNow!,
 * whose opcode is an imm8-like suffix, APM vol. 3, appendix A.1). */
static const uint8_t map_0f[256] = {
/*        0    1    2    3    4    5    6    7    8    9    a    b    c    d    e    f */
/* 0 */   M,   M,   M,   M,   UD,  NO,  NO,  NO,  NO,  NO,  UD,  NO,  UD,  M,   NO,  MB,
/* 1 */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
/* 2 */   M,   M,   M,   M,   UD,  UD,  UD,  UD,  M,   M,   M,   M,   M,   M,   M,   M,
/* 3 */   NO,  NO,  NO,  NO,  NO,  NO,  UD,  NO,  X,   UD,  X,   UD,  UD,  UD,  UD,  UD,
/* 4 */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
/* 5 */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
/* 6 */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
/* 7 */   MB,  MB,  MB,  MB,  M,   M,   M,   NO,  M|IMM_SSE4A, M, UD, UD, M, M,   M,   M,
/* 8 */   JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,  JZ,
/* 9 */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
/* a */   NO,  NO,  NO,  M,   MB,  M,   M,   M,   NO,  NO,  NO,  M,   MB,  M,   M,   M,
/* b */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   MB,  M,   M,   M,   M,   M,
/* c */   M,   M,   MB,  M,   MB,  MB,  MB,  M,   NO,  NO,  NO,  NO,  NO,  NO,  NO,  NO,
/* d */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
/* e */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
/* f */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
};

/* Decoding state: the input, how far we are, and bits gathered on the way. */
struct decoder {
	const uint8_t *bytes;
	size_t avail;
	uint8_t pos;
	uint8_t mandatory; /* 66, f2 or f3 acting as mandatory prefix, or 0 */
	uint8_t ext;       /* REX.WRXB, or the same bits taken from VEX */
	struct x86_insn *insn;
};

#define EXT_W 8
#define EXT_R 4
#define EXT_X 2
#define EXT_B 1

/* The 15-byte limit is checked first: past it the CPU raises #GP whatever
 * follows (SDM vol. 2, 2.3.11). */
static int peek_byte(const struct decoder *d, uint8_t *b)
{
	if (d->pos >= X86_MAX_INSN_LEN)
		return -X86_E_TOO_LONG;
	if (d->pos >= d->avail)
		return -X86_E_TRUNCATED;
	*b = d->bytes[d->pos];
	return 0;
}

static int fetch_byte(struct decoder *d, uint8_t *b)
{
	int rc = peek_byte(d, b);

	if (rc == 0)
		d->pos++;
	return rc;
}

/* Read an n-byte little-endian field. */
static int fetch_le(struct decoder *d, unsigned int n, uint64_t *val)
{
	uint64_t v = 0;
	uint8_t b;
	unsigned int i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = fetch_byte(d, &b);
		if (rc)
			return rc;
		v |= (uint64_t)b << (8 * i);
	}
	*val = v;
	return 0;
}

/* Record one legacy prefix (SDM vol. 2, 2.1.1); false if b is none. */
static bool take_legacy_prefix(struct decoder *d, uint8_t b)
{
	struct x86_insn *in = d->insn;

	switch (b) {
	case 0xf0: in->lock = true; break;
	case 0xf2: in->repne = true; d->mandatory = b; break;
	case 0xf3: in->rep = true; d->mandatory = b; break;
	case 0x66: in->opsize = true; break;
	case 0x67: in->adsize = true; break;
	case 0x26: case 0x2e: case 0x36: case 0x3e:
		/* 64-bit mode ignores these (APM vol. 3, 1.2.4): an
		 * earlier FS/GS override stays in force. */
		if (in->mode != X86_MODE_64 || (in->seg != 0x64 && in->seg != 0x65))
			in->seg = b;
		break;
	case 0x64: case 0x65: in->seg = b; break;
	default: return false;
	}
	return true;
}

/* Prefixes in any order; a REX counts only if it comes right before the
 * opcode (SDM vol. 2, 2.2.1). */
static int decode_prefixes(struct decoder *d)
{
	struct x86_insn *in = d->insn;
	uint8_t b;
	int rc;

	for (;;) {
		rc = peek_byte(d, &b);
		if (rc)
			return rc;
		if (in->mode == X86_MODE_64 && (b & 0xf0) == 0x40)
			in->rex = b;
		else if (take_legacy_prefix(d, b))
			in->rex = 0;
		else
			break;
		d->pos++;
	}
	if (d->mandatory == 0 && in->opsize)
		d->mandatory = 0x66; /* F2/F3 take precedence over 66 */
	d->ext = in->rex & 0xf;
	return 0;
}

/* Operand- and address-size attributes (SDM vol. 1, 3.6.1, table 3-4). */
static void set_sizes(struct decoder *d)
{
	struct x86_insn *in = d->insn;

	if (in->mode == X86_MODE_64) {
		in->addr_size = in->adsize ? 4 : 8;
		if (d->ext & EXT_W)
			in->op_size = 8;
		else
			in->op_size = in->opsize ? 2 : 4;
		return;
	}
	/* 16 <-> 32: 2 ^ 6 == 4, 4 ^ 6 == 2 */
	in->addr_size = in->adsize ? in->mode ^ 6 : in->mode;
	in->op_size = in->opsize ? in->mode ^ 6 : in->mode;
}

/*
 * VEX map 0f reuses the legacy table, but only opcodes with a ModRM and no
 * immediate other than ib exist there; vzeroupper/vzeroall (0f 77) is the
 * one form without ModRM (SDM vol. 2, 2.3.6; table A-3 "v" entries).
 */
static int vex_flags(uint8_t map, uint8_t opcode, uint8_t *flags)
{
	uint8_t f;

	if (map == X86_MAP_0F38) {
		*flags = M;
		return 0;
	}
	if (map == X86_MAP_0F3A) {
		*flags = MB;
		return 0;
	}
	f = map_0f[opcode];
	if (opcode == 0x77) {
		*flags = NO;
		return 0;
	}
	if ((f & (X | UD)) || !(f & M) || (f & 0xf) > IMM_B)
		return -X86_E_INVALID;
	*flags = f;
	return 0;
}

/* 2-byte (c5) or 3-byte (c4) VEX prefix (SDM vol. 2, 2.3.5). R, X, B and
 * vvvv are stored inverted; outside 64-bit mode R/X/B do not exist. */
static int decode_vex(struct decoder *d, uint8_t first, uint8_t *flags)
{
	struct x86_insn *in = d->insn;
	uint8_t b1, b2, map;
	int rc;

	/* A VEX after 66, f2, f3, f0 or REX raises #UD (SDM vol. 2, 2.3.2). */
	if (in->rex || in->opsize || in->rep || in->repne || in->lock)
		return -X86_E_INVALID;
	rc = fetch_byte(d, &b1);
	if (rc)
		return rc;
	if (first == 0xc5) {
		in->vex = 2;
		map = X86_MAP_0F;
		d->ext = (b1 & 0x80) ? 0 : EXT_R;
	} else {
		in->vex = 3;
		map = (b1 & 0x1f) + 1;
		rc = fetch_byte(d, &b2);
		if (rc)
			return rc;
		d->ext = (~b1 >> 5) & (EXT_R | EXT_X | EXT_B);
		if (b2 & 0x80)
			d->ext |= EXT_W;
	}
	if (in->mode != X86_MODE_64)
		d->ext = 0;
	if (map < X86_MAP_0F || map > X86_MAP_0F3A)
		return -X86_E_INVALID;
	in->map = map;
	rc = fetch_byte(d, &in->opcode);
	if (rc)
		return rc;
	return vex_flags(map, in->opcode, flags);
}

/* Outside 64-bit mode c4/c5 (LES/LDS) and 62 (BOUND) become VEX/EVEX when
 * the next byte has ModRM.mod == 3, a form that is invalid for the legacy
 * instruction (SDM vol. 2, 2.3.5 and 2.7.1 [EVEX]). */
static int next_is_reg_modrm(const struct decoder *d, bool *reg_form)
{
	struct decoder probe = *d;
	uint8_t b = 0;
	int rc;

	probe.pos++;
	rc = peek_byte(&probe, &b);
	*reg_form = (b & 0xc0) == 0xc0;
	return rc;
}

static int decode_c4_c5_62(struct decoder *d, uint8_t op, uint8_t *flags)
{
	bool reg_form = true;
	int rc;

	if (d->insn->mode != X86_MODE_64) {
		rc = next_is_reg_modrm(d, &reg_form);
		if (rc)
			return rc;
	}
	if (!reg_form) {
		d->pos++;
		*flags = M; /* LES, LDS, BOUND */
		return 0;
	}
	if (op == 0x62)
		return -X86_E_UNSUPPORTED; /* EVEX */
	d->pos++;
	return decode_vex(d, op, flags);
}

/* 8f with a map select >= 8 is XOP; POP Ev needs ModRM.reg == 0, so the two
 * cannot clash (APM vol. 3, 1.8). */
static int decode_8f(struct decoder *d, uint8_t *flags)
{
	uint8_t b;
	int rc;

	d->pos++;
	rc = peek_byte(d, &b);
	if (rc)
		return rc;
	if ((b & 0x1f) >= 8)
		return -X86_E_UNSUPPORTED;
	*flags = M;
	return 0;
}

/* 0f xx, 0f 38 xx and 0f 3a xx (SDM vol. 2, 2.1.2). */
static int decode_0f(struct decoder *d, uint8_t *flags)
{
	struct x86_insn *in = d->insn;
	uint8_t op;
	int rc;

	d->pos++;
	rc = fetch_byte(d, &op);
	if (rc)
		return rc;
	in->map = X86_MAP_0F;
	in->opcode = op;
	if (op == 0x38 || op == 0x3a) {
		in->map = op == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
		rc = fetch_byte(d, &in->opcode);
		*flags = op == 0x38 ? M : MB;
		return rc;
	}
	*flags = map_0f[op];
	return (*flags & UD) ? -X86_E_INVALID : 0;
}

static int decode_opcode(struct decoder *d, uint8_t *flags)
{
	struct x86_insn *in = d->insn;
	uint8_t op;
	int rc;

	rc = peek_byte(d, &op);
	if (rc)
		return rc;
	in->map = X86_MAP_1B;
	in->opcode = op;
	switch (op) {
	case 0x0f:
		return decode_0f(d, flags);
	case 0x62: case 0xc4: case 0xc5:
		return decode_c4_c5_62(d, op, flags);
	case 0x8f:
		return decode_8f(d, flags);
	}
	d->pos++;
	*flags = map_1b[op];
	if ((*flags & I64) && in->mode == X86_MODE_64)
		return -X86_E_INVALID;
	return 0;
}

static int fetch_disp(struct decoder *d, uint8_t size)
{
	struct x86_insn *in = d->insn;
	uint64_t v;
	int rc;

	in->disp_size = size;
	rc = fetch_le(d, size, &v);
	if (rc)
		return rc;
	if (size == 1)
		in->disp = (int8_t)v;
	else if (size == 2)
		in->disp = (int16_t)v;
	else
		in->disp = (int32_t)(uint32_t)v;
	return 0;
}

/* 16-bit addressing: fixed base/index pairs, no SIB (SDM vol. 2, table 2-1). */
static int decode_mem16(struct decoder *d, uint8_t modrm)
{
	static const uint8_t base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
	static const uint8_t index16[8] = { 6, 7, 6, 7, X86_REG_NONE,
		X86_REG_NONE, X86_REG_NONE, X86_REG_NONE };
	struct x86_insn *in = d->insn;
	uint8_t rm = modrm & 7;

	in->base = base16[rm];
	in->index = index16[rm];
	if (in->mod == 0 && rm == 6) {
		in->base = X86_REG_NONE; /* [disp16] */
		return fetch_disp(d, 2);
	}
	return in->mod ? fetch_disp(d, in->mod == 1 ? 1 : 2) : 0;
}

/* 32/64-bit addressing (SDM vol. 2, tables 2-2, 2-3 and 2.2.1.6). Note that
 * r12 as rm and r13 as base follow the rules of rsp/rbp: the special cases
 * look at the low three bits only. */
static int decode_mem32(struct decoder *d, uint8_t modrm)
{
	struct x86_insn *in = d->insn;
	uint8_t sib;
	int rc;

	if ((modrm & 7) == 4) {
		rc = fetch_byte(d, &sib);
		if (rc)
			return rc;
		in->has_sib = true;
		in->scale = 1 << (sib >> 6);
		in->index = ((sib >> 3) & 7) | ((d->ext & EXT_X) ? 8 : 0);
		if (in->index == 4)
			in->index = X86_REG_NONE;
		in->base = (sib & 7) | ((d->ext & EXT_B) ? 8 : 0);
		if (in->mod == 0 && (sib & 7) == 5) {
			in->base = X86_REG_NONE; /* [index*scale + disp32] */
			return fetch_disp(d, 4);
		}
	} else if (in->mod == 0 && (modrm & 7) == 5) {
		/* [disp32], which 64-bit mode turns into [rip + disp32] */
		in->rip_relative = in->mode == X86_MODE_64;
		return fetch_disp(d, 4);
	} else {
		in->base = in->rm;
	}
	if (in->mod == 0)
		return 0;
	return fetch_disp(d, in->mod == 1 ? 1 : 4);
}

static int decode_modrm(struct decoder *d)
{
	struct x86_insn *in = d->insn;
	uint8_t modrm;
	int rc;

	rc = fetch_byte(d, &modrm);
	if (rc)
		return rc;
	in->has_modrm = true;
	in->mod = modrm >> 6;
	in->reg = ((modrm >> 3) & 7) | ((d->ext & EXT_R) ? 8 : 0);
	in->rm = (modrm & 7) | ((d->ext & EXT_B) ? 8 : 0);
	/* MOV to/from CR/DR: mod is ignored, the operand is a register */
	if (in->map == X86_MAP_0F && !in->vex && in->opcode >= 0x20 && in->opcode <= 0x23)
		in->mod = 3;
	if (in->mod == 3)
		return 0;
	if (in->addr_size == 2)
		return decode_mem16(d, modrm);
	return decode_mem32(d, modrm);
}

/* Immediate bytes for a table entry's kind; needs ModRM and sizes known. */
static unsigned int imm_bytes(const struct decoder *d, uint8_t kind)
{
	const struct x86_insn *in = d->insn;
	unsigned int z = in->op_size == 2 ? 2 : 4;
	bool test = (in->reg & 7) < 2;

	switch (kind) {
	case IMM_B:  return 1;
	case IMM_W:  return 2;
	case IMM_Z:  return z;
	case IMM_V:  return in->op_size;
	case IMM_WB: return 3;
	case IMM_P:  return z + 2;
	case IMM_O:  return in->addr_size;
	case IMM_TB: return test ? 1 : 0;
	case IMM_TZ: return test ? z : 0;
	case IMM_SSE4A:
		return (d->mandatory == 0x66 || d->mandatory == 0xf2) ? 2 : 0;
	default:     return 0;
	}
}

static int decode_imm(struct decoder *d, uint8_t kind)
{
	struct x86_insn *in = d->insn;

	in->imm_size = imm_bytes(d, kind);
	return fetch_le(d, in->imm_size, &in->imm);
}

int x86_decode(const uint8_t *bytes, size_t avail, enum x86_mode mode,
	       struct x86_insn *out)
{
	struct decoder d = { .bytes = bytes, .avail = avail, .insn = out };
	uint8_t flags = 0;
	int rc;

	if (mode != X86_MODE_16 && mode != X86_MODE_32 && mode != X86_MODE_64)
		return -X86_E_UNSUPPORTED;
	*out = (struct x86_insn){ .mode = mode, .scale = 1,
		.base = X86_REG_NONE, .index = X86_REG_NONE };
	rc = decode_prefixes(&d);
	if (rc == 0)
		rc = decode_opcode(&d, &flags);
	if (rc)
		return rc;
	set_sizes(&d);
	if (flags & M)
		rc = decode_modrm(&d);
	if (rc == 0)
		rc = decode_imm(&d, flags & 0xf);
	if (rc)
		return rc;
	out->len = d.pos;
	return 0;
}

/* ---------------------------------------------------------------- memory */

static uint64_t size_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
}

static bool is_moffs(const struct x86_insn *insn)
{
	return insn->map == X86_MAP_1B && !insn->vex &&
	       insn->opcode >= 0xa0 && insn->opcode <= 0xa3;
}

uint64_t x86_mem_effective_address(const struct x86_insn *insn,
				   const uint64_t gpr[16], uint64_t rip)
{
	uint64_t ea;

	if (is_moffs(insn))
		return insn->imm;
	ea = (uint64_t)(int64_t)insn->disp;
	if (insn->rip_relative)
		ea += rip + insn->len; /* relative to the next instruction */
	if (insn->base != X86_REG_NONE)
		ea += gpr[insn->base & 15];
	if (insn->index != X86_REG_NONE)
		ea += gpr[insn->index & 15] * insn->scale;
	/* Address arithmetic wraps at the address size (SDM vol. 1, 3.3.7). */
	return ea & size_mask(insn->addr_size);
}

enum x86_seg x86_mem_segment(const struct x86_insn *insn)
{
	/* 64-bit mode ignores ES/CS/SS/DS overrides (APM vol. 3, 1.2.4) */
	bool null_override = insn->mode == X86_MODE_64 &&
			     insn->seg != 0x64 && insn->seg != 0x65;

	switch (null_override ? 0 : insn->seg) {
	case 0x26: return X86_SEG_ES;
	case 0x2e: return X86_SEG_CS;
	case 0x36: return X86_SEG_SS;
	case 0x3e: return X86_SEG_DS;
	case 0x64: return X86_SEG_FS;
	case 0x65: return X86_SEG_GS;
	}
	if (!is_moffs(insn) && (insn->base == 4 || insn->base == 5))
		return X86_SEG_SS;
	return X86_SEG_DS;
}

/* ---------------------------------------------------------------- MMIO */

/* The ModRM.reg register operand; without REX, byte registers 4..7 are
 * AH, CH, DH, BH (SDM vol. 2, 3.1.1.1, table 3-1). */
static void set_reg_operand(const struct x86_insn *insn, struct x86_mmio_op *op,
			    uint8_t reg, uint8_t reg_size)
{
	op->reg = reg;
	if (reg_size == 1 && !insn->rex && reg >= 4 && reg < 8) {
		op->high_byte = true;
		op->reg = reg - 4;
	}
}

/* a0..a3: MOV between AL/rAX and an absolute offset. */
static int classify_moffs(const struct x86_insn *insn, struct x86_mmio_op *op)
{
	op->size = (insn->opcode & 1) ? insn->op_size : 1;
	op->kind = (insn->opcode & 2) ? X86_MMIO_STORE_REG : X86_MMIO_LOAD;
	op->dst_size = op->size;
	op->reg = 0;
	return 0;
}

/* 88, 89, 8a, 8b, c6 /0, c7 /0 with a memory operand. */
static int classify_mov(const struct x86_insn *insn, struct x86_mmio_op *op)
{
	uint8_t op_size = insn->op_size;

	switch (insn->opcode) {
	case 0x88: op->kind = X86_MMIO_STORE_REG; op->size = 1; break;
	case 0x89: op->kind = X86_MMIO_STORE_REG; op->size = op_size; break;
	case 0x8a: op->kind = X86_MMIO_LOAD; op->size = 1; break;
	case 0x8b: op->kind = X86_MMIO_LOAD; op->size = op_size; break;
	case 0xc6: case 0xc7:
		if ((insn->reg & 7) != 0)
			return -X86_E_UNSUPPORTED;
		op->kind = X86_MMIO_STORE_IMM;
		op->size = insn->opcode == 0xc6 ? 1 : op_size;
		/* the imm32 of a 64-bit store is sign-extended */
		op->imm = insn->imm_size == 4 ? (uint64_t)(int64_t)(int32_t)insn->imm
					      : insn->imm;
		op->imm &= size_mask(op->size);
		return 0;
	default:
		return -X86_E_UNSUPPORTED;
	}
	op->dst_size = op->size;
	set_reg_operand(insn, op, insn->reg, op->size);
	return 0;
}

/* 0f b6/b7 (MOVZX) and 0f be/bf (MOVSX): the register is never 8-bit. */
static int classify_movx(const struct x86_insn *insn, struct x86_mmio_op *op)
{
	switch (insn->opcode) {
	case 0xb6: case 0xb7: op->kind = X86_MMIO_LOAD_ZX; break;
	case 0xbe: case 0xbf: op->kind = X86_MMIO_LOAD_SX; break;
	default: return -X86_E_UNSUPPORTED;
	}
	op->size = (insn->opcode & 1) ? 2 : 1;
	op->dst_size = insn->op_size;
	op->reg = insn->reg;
	return 0;
}

int x86_mmio_classify(const struct x86_insn *insn, struct x86_mmio_op *op)
{
	*op = (struct x86_mmio_op){ .kind = X86_MMIO_LOAD };
	/* LOCK on a MOV is #UD; VEX forms are not MOVs */
	if (insn->vex || insn->lock)
		return -X86_E_UNSUPPORTED;
	if (is_moffs(insn))
		return classify_moffs(insn, op);
	if (!insn->has_modrm || insn->mod == 3)
		return -X86_E_UNSUPPORTED;
	if (insn->map == X86_MAP_1B)
		return classify_mov(insn, op);
	if (insn->map == X86_MAP_0F)
		return classify_movx(insn, op);
	return -X86_E_UNSUPPORTED;
}

/* Register write rules (SDM vol. 1, 3.4.1.1): 32-bit results zero-extend
 * to 64 bits, 8- and 16-bit results leave the other bits alone. */
static void write_reg(uint64_t *r, uint8_t size, bool high_byte, uint64_t v)
{
	switch (size) {
	case 1:
		if (high_byte)
			*r = (*r & ~0xff00ull) | ((v & 0xff) << 8);
		else
			*r = (*r & ~0xffull) | (v & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		*r = (uint32_t)v;
		break;
	default:
		*r = v;
		break;
	}
}

static uint64_t sign_extend(uint64_t v, uint8_t size)
{
	unsigned int shift = 64 - 8 * size;

	if (size >= 8)
		return v;
	return (uint64_t)((int64_t)(v << shift) >> shift);
}

void x86_mmio_load_result(const struct x86_mmio_op *op, uint64_t gpr[16],
			  uint64_t value)
{
	value &= size_mask(op->size);
	if (op->kind == X86_MMIO_LOAD_SX)
		value = sign_extend(value, op->size);
	write_reg(&gpr[op->reg & 15], op->dst_size, op->high_byte, value);
}

uint64_t x86_mmio_store_value(const struct x86_mmio_op *op,
			      const uint64_t gpr[16])
{
	uint64_t v;

	if (op->kind == X86_MMIO_STORE_IMM)
		return op->imm & size_mask(op->size);
	v = gpr[op->reg & 15];
	if (op->high_byte)
		v >>= 8;
	return v & size_mask(op->size);
}
