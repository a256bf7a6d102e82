// UNIT-SOURCES: hypervisor/arch/x86/insn.c
/*
 * Hand-written cases for the x86 instruction decoder: the instructions that
 * exit to Kestrel, the MOVs Linux uses on MMIO, and the encodings whose
 * length rules are easy to get wrong. Expected lengths come from the SDM
 * vol. 2 / APM vol. 3 encodings, checked by hand.
 */
#include <stdlib.h>
#include <string.h>

#include <x86/insn.h>

#include "unit.h"

#define M16 X86_MODE_16
#define M32 X86_MODE_32
#define M64 X86_MODE_64
#define NONE X86_REG_NONE

/* "66 0f a2" -> bytes; returns how many. */
static size_t parse_hex(const char *hex, uint8_t *buf, size_t max)
{
	size_t n = 0;
	char *end;

	while (*hex && n < max) {
		unsigned long v = strtoul(hex, &end, 16);

		if (end == hex)
			break;
		buf[n++] = (uint8_t)v;
		hex = end;
	}
	return n;
}

static int decode_hex(const char *hex, enum x86_mode mode, struct x86_insn *insn)
{
	uint8_t buf[32];
	size_t n = parse_hex(hex, buf, sizeof(buf));

	return x86_decode(buf, n, mode, insn);
}

/*
 * hex must be exactly one instruction of want bytes. Also checks that
 * trailing bytes do not change the length and that every shorter prefix
 * of the input is reported as truncated.
 */
static void check_len(const char *hex, enum x86_mode mode, int want)
{
	uint8_t buf[40];
	struct x86_insn insn;
	size_t n, k;
	int rc;

	memset(buf, 0x90, sizeof(buf));
	n = parse_hex(hex, buf, 32);
	CHECK_MSG((int)n == want, "test table: '%s' has %zu bytes", hex, n);
	rc = x86_decode(buf, n, mode, &insn);
	CHECK_MSG(rc == 0 && insn.len == want, "'%s' mode %d: rc %d len %d, want %d",
		  hex, mode * 8, rc, insn.len, want);
	rc = x86_decode(buf, sizeof(buf), mode, &insn);
	CHECK_MSG(rc == 0 && insn.len == want, "'%s' + nops: rc %d len %d", hex, rc, insn.len);
	for (k = 0; k < n; k++) {
		rc = x86_decode(buf, k, mode, &insn);
		CHECK_MSG(rc == -X86_E_TRUNCATED, "'%s' cut to %zu: rc %d", hex, k, rc);
	}
}

static void check_err(const char *hex, enum x86_mode mode, int want)
{
	struct x86_insn insn;
	int rc = decode_hex(hex, mode, &insn);

	CHECK_MSG(rc == -want, "'%s' mode %d: rc %d, want %d", hex, mode * 8, rc, -want);
}

/* The exits Kestrel skips: CPUID, RDMSR, WRMSR, HLT, VMMCALL, VMCALL. */
static void test_exit_instructions(void)
{
	static const enum x86_mode modes[] = { M16, M32, M64 };
	size_t i;

	for (i = 0; i < 3; i++) {
		check_len("0f a2", modes[i], 2);
		check_len("66 0f a2", modes[i], 3);
		check_len("f3 0f a2", modes[i], 3);
		check_len("0f 32", modes[i], 2);
		check_len("0f 30", modes[i], 2);
		check_len("f4", modes[i], 1);
		check_len("0f 01 d9", modes[i], 3);
		check_len("0f 01 c1", modes[i], 3);
		check_len("2e 3e 0f 01 d9", modes[i], 5);
		check_len("f0 f2 f3 66 67 26 0f a2", modes[i], 8);
	}
	check_len("48 0f 32", M64, 3);
	check_len("66 41 0f 30", M64, 4);
}

/* MOVs as Linux's readl()/writel() and friends emit them. */
static void test_linux_mmio_lengths(void)
{
	check_len("8b 07", M64, 2);                         /* mov eax,[rdi] */
	check_len("89 47 10", M64, 3);                      /* mov [rdi+0x10],eax */
	check_len("c7 80 b0 00 00 00 00 00 00 00", M64, 10); /* mov dword [rax+0xb0],0 */
	check_len("44 8b 80 00 03 00 00", M64, 7);          /* mov r8d,[rax+0x300] */
	check_len("0f b6 47 04", M64, 4);                   /* movzx eax,byte [rdi+4] */
	check_len("0f b7 07", M64, 3);                      /* movzx eax,word [rdi] */
	check_len("48 8b 04 25 78 56 34 12", M64, 8);       /* mov rax,[0x12345678] */
	check_len("8b 05 10 00 00 00", M64, 6);             /* mov eax,[rip+0x10] */
	check_len("a1 88 77 66 55 44 33 22 11", M64, 9);    /* mov eax,[moffs64] */
	check_len("67 a1 44 33 22 11", M64, 6);             /* moffs32 with 67 */
	check_len("48 a3 88 77 66 55 44 33 22 11", M64, 10);
	check_len("66 89 02", M64, 3);                      /* mov [rdx],ax */
	check_len("88 02", M64, 2);
	check_len("4c 8b 2c 24", M64, 4);                   /* mov r13,[rsp] */
	check_len("4d 8b 6d 00", M64, 4);                   /* mov r13,[r13+0] */
	check_len("41 8b 04 24", M64, 4);                   /* mov eax,[r12] */
	check_len("42 8b 04 a5 00 10 00 00", M64, 8);       /* mov eax,[r12*4+0x1000] */
	check_len("41 8b 04 25 00 10 00 00", M64, 8);       /* REX.B: still [disp32] */
	check_len("8b 84 c8 00 01 00 00", M64, 7);          /* mov eax,[rax+rcx*8+0x100] */
	check_len("64 48 8b 04 25 28 00 00 00", M64, 9);    /* mov rax,fs:0x28 */
}

/* Immediates whose size depends on the opcode, ModRM.reg or prefixes. */
static void test_immediates(void)
{
	check_len("48 c7 c0 ff ff ff ff", M64, 7);    /* C7 keeps imm32 under REX.W */
	check_len("66 48 c7 c0 ff ff ff ff", M64, 8); /* REX.W beats 66 */
	check_len("66 c7 00 34 12", M64, 5);
	check_len("48 b8 88 77 66 55 44 33 22 11", M64, 10); /* mov rax,imm64 */
	check_len("49 bf 88 77 66 55 44 33 22 11", M64, 10);
	check_len("41 b8 44 33 22 11", M64, 6);
	check_len("b8 44 33 22 11", M64, 5);
	check_len("66 b8 22 11", M64, 4);
	check_len("48 66 b8 22 11", M64, 5);          /* REX not last: ignored */
	check_len("66 48 b8 88 77 66 55 44 33 22 11", M64, 11);
	check_len("f6 c1 01", M64, 3);                /* test cl,1 */
	check_len("f6 c9 01", M64, 3);                /* test cl,1 (/1 alias) */
	check_len("f6 d1", M64, 2);                   /* not cl */
	check_len("f7 c1 01 00 00 00", M64, 6);
	check_len("66 f7 c1 01 00", M64, 5);
	check_len("f7 d9", M64, 2);                   /* neg ecx */
	check_len("f7 38", M64, 2);                   /* idiv dword [rax] */
	check_len("c8 10 00 01", M64, 4);             /* enter 16,1 */
	check_len("c2 08 00", M64, 3);
	check_len("6a ff", M64, 2);
	check_len("68 00 00 00 80", M64, 5);
	check_len("69 c0 00 01 00 00", M64, 6);
	check_len("6b c0 10", M64, 3);
	check_len("83 c0 10", M64, 3);
	check_len("81 c0 00 01 00 00", M64, 6);
	check_len("66 81 c0 00 01", M64, 5);
	check_len("c1 e0 04", M64, 3);
	check_len("0f ba e0 04", M64, 4);             /* bt eax,4 */
	check_len("0f a4 c0 04", M64, 4);             /* shld */
	check_len("cd 80", M32, 2);
	check_len("e4 60", M32, 2);
}

/* Near branches: rel8, rel16/32; 66 in 64-bit mode selects rel16 on AMD. */
static void test_branches(void)
{
	check_len("eb fe", M64, 2);
	check_len("70 00", M64, 2);
	check_len("e3 00", M64, 2);
	check_len("e8 00 00 00 00", M64, 5);
	check_len("e9 00 00 00 00", M64, 5);
	check_len("66 e8 00 00", M64, 4);             /* AMD; Intel would take 6 */
	check_len("66 48 e8 00 00 00 00", M64, 7);
	check_len("0f 84 00 00 00 00", M64, 6);
	check_len("66 0f 84 00 00", M64, 5);
	check_len("e8 00 00 00 00", M32, 5);
	check_len("66 e8 00 00", M32, 4);
	check_len("e8 00 00", M16, 3);
	check_len("66 e8 00 00 00 00", M16, 6);
	check_len("0f 85 00 00", M16, 4);
	check_len("c7 f8 00 00 00 00", M64, 6);       /* xbegin */
	check_len("c6 f8 01", M64, 3);                /* xabort */
}

/* Far pointers, moffs and the opcodes that 64-bit mode drops. */
static void test_legacy_only(void)
{
	check_len("9a 00 00 00 00 08 00", M32, 7);    /* call far ptr16:32 */
	check_len("66 9a 00 00 08 00", M32, 6);
	check_len("ea 00 00 08 00", M16, 5);
	check_len("66 ea 00 00 00 00 08 00", M16, 8);
	check_err("9a 00 00 00 00 08 00", M64, X86_E_INVALID);
	check_err("ea 00 00 00 00 08 00", M64, X86_E_INVALID);
	check_err("06", M64, X86_E_INVALID);
	check_err("d4 0a", M64, X86_E_INVALID);
	check_err("82 c0 01", M64, X86_E_INVALID);
	check_len("d4 0a", M32, 2);
	check_len("82 c0 01", M32, 3);
	check_len("a1 44 33 22 11", M32, 5);
	check_len("67 a1 22 11", M32, 4);
	check_len("66 a1 44 33 22 11", M32, 6);  /* mov ax,[moffs32] */
	check_len("a1 22 11", M16, 3);
	check_len("67 a1 44 33 22 11", M16, 6);
	check_len("40", M32, 1);                      /* inc eax, not REX */
	check_len("48", M32, 1);
	check_len("b8 22 11", M16, 3);
	check_len("66 b8 44 33 22 11", M16, 6);
	check_len("c7 06 34 12 78 56", M16, 6);       /* mov word [0x1234],0x5678 */
}

/* ModRM/SIB/displacement forms in all address sizes. */
static void test_addressing(void)
{
	check_len("8b 05 44 33 22 11", M32, 6);       /* [disp32], not rip */
	check_len("8b 04 25 44 33 22 11", M32, 7);    /* SIB, no base */
	check_len("8b 44 24 08", M32, 4);             /* [esp+8] */
	check_len("8b 45 00", M32, 3);                /* [ebp+0] */
	check_len("8b 04 05 00 00 00 00", M32, 7);    /* [eax*1+disp32] */
	check_len("8b 4c 05 08", M32, 4);             /* [ebp+eax+8] */
	check_len("67 8b 07", M32, 3);                /* [bx] */
	check_len("67 8b 06 34 12", M32, 5);          /* [disp16] */
	check_len("67 8b 47 10", M32, 4);             /* [bx+0x10] */
	check_len("67 8b 87 34 12", M32, 5);          /* [bx+disp16] */
	check_len("8b 07", M16, 2);                   /* mov ax,[bx] */
	check_len("8b 06 34 12", M16, 4);
	check_len("8b 46 02", M16, 3);                /* mov ax,[bp+2] */
	check_len("8b 84 34 12", M16, 4);             /* mov ax,[si+0x1234] */
	check_len("66 8b 07", M16, 3);
	check_len("67 8b 04 24", M16, 4);             /* mov ax,[esp] */
	check_len("67 8b 05 44 33 22 11", M16, 7);
	check_len("67 8b 07", M64, 3);                /* mov eax,[edi] */
	check_len("67 8b 05 00 00 00 00", M64, 7);    /* [eip+disp32] */
}

/* 0f 38, 0f 3a, 3DNow!, SSE4a, MOV CR/DR, VEX and the unsupported forms. */
static void test_maps_and_vex(void)
{
	check_len("66 0f 38 00 c1", M64, 5);          /* pshufb */
	check_len("66 0f 3a 0f c1 08", M64, 6);       /* palignr */
	check_len("0f 3a 0f 44 24 08 04", M32, 7);
	check_len("0f 0f c1 b4", M32, 4);             /* pfmul: suffix opcode */
	check_len("0f 0f 44 24 08 b4", M32, 6);
	check_len("66 0f 78 c0 04 08", M64, 6);       /* extrq */
	check_len("f2 0f 78 c1 04 08", M64, 6);       /* insertq */
	check_len("0f 78 c0", M64, 3);                /* vmread */
	check_len("0f 20 c0", M64, 3);                /* mov rax,cr0 */
	check_len("0f 22 05", M64, 3);                /* mod is ignored: no disp32 */
	check_len("0f 21 44", M32, 3);
	check_len("f3 0f b8 c0", M64, 4);             /* popcnt */
	check_len("f3 0f 1e fa", M64, 4);             /* endbr64 */
	check_len("0f 18 08", M64, 3);                /* prefetcht0 */
	check_len("0f 1f 44 00 00", M64, 5);          /* nopl */
	check_len("66 2e 0f 1f 84 00 00 00 00 00", M64, 10);
	check_len("c5 f8 77", M64, 3);                /* vzeroupper */
	check_len("c5 fd 6f 07", M64, 4);             /* vmovdqa ymm0,[rdi] */
	check_len("c4 e3 7d 18 c1 01", M64, 6);       /* vinsertf128 */
	check_len("c4 e2 79 18 07", M64, 5);          /* vbroadcastss */
	check_len("c4 42 78 f2 c1", M64, 5);          /* andn r8d,eax,r9d */
	check_len("c5 f9 70 c1 1b", M64, 5);          /* vpshufd */
	check_len("c5 f8 77", M32, 3);
	check_len("c4 07", M32, 2);                   /* les eax,[edi] */
	check_len("c5 07", M32, 2);                   /* lds eax,[edi] */
	check_len("62 07", M32, 2);                   /* bound eax,[edi] */
	check_len("c4 06 34 12", M16, 4);             /* les ax,[0x1234] */
	check_err("66 c5 f8 77", M64, X86_E_INVALID);
	check_err("48 c5 f8 77", M64, X86_E_INVALID);
	check_err("c4 e4 79 18 07", M64, X86_E_INVALID); /* VEX map 4 */
	check_err("62 f1 7c 48 10 07", M64, X86_E_UNSUPPORTED); /* EVEX */
	check_err("62 f1 7c 48 10 07", M32, X86_E_UNSUPPORTED);
	check_err("8f e8 78 c0 c1 04", M64, X86_E_UNSUPPORTED); /* XOP */
	check_len("8f 00", M64, 2);                   /* pop qword [rax] */
	check_err("0f 04", M64, X86_E_INVALID);
}

static void test_limits(void)
{
	struct x86_insn insn;
	uint8_t buf[20];
	int i;

	/* 14 prefixes + nop = 15 bytes is legal, one more prefix is not. */
	check_len("2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 90", M64, 15);
	check_len("66 66 66 66 66 66 66 66 66 66 66 c7 00 34 12", M64, 15);
	check_err("2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 90", M64, X86_E_TOO_LONG);
	check_err("66 66 66 66 66 66 66 66 66 66 66 66 c7 00 34 12", M64, X86_E_TOO_LONG);
	check_err("f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 48 b8 11 22 33 44 55 66 77 88",
		  M64, X86_E_TOO_LONG);
	/* Once 15 bytes are used up, "too long" wins over "truncated". */
	for (i = 0; i < 20; i++)
		buf[i] = 0x26;
	CHECK_EQ(x86_decode(buf, 15, M32, &insn), -X86_E_TOO_LONG);
	CHECK_EQ(x86_decode(buf, 14, M32, &insn), -X86_E_TRUNCATED);
	CHECK_EQ(x86_decode(buf, 0, M32, &insn), -X86_E_TRUNCATED);
	CHECK_EQ(x86_decode(buf, 1, (enum x86_mode)3, &insn), -X86_E_UNSUPPORTED);
	check_err("48 b8 11 22", M64, X86_E_TRUNCATED);
	check_err("0f", M64, X86_E_TRUNCATED);
	check_err("c4", M32, X86_E_TRUNCATED);
}

/* Decoded fields: prefixes, registers, memory operand. */
static void test_fields(void)
{
	struct x86_insn in;

	CHECK_EQ(decode_hex("44 8b 80 00 03 00 00", M64, &in), 0);
	CHECK_EQ(in.rex, 0x44);
	CHECK_EQ(in.map, X86_MAP_1B);
	CHECK_EQ(in.opcode, 0x8b);
	CHECK_EQ(in.reg, 8);
	CHECK_EQ(in.mod, 2);
	CHECK_EQ(in.base, 0);
	CHECK_EQ(in.index, NONE);
	CHECK_EQ(in.disp, 0x300);
	CHECK_EQ(in.disp_size, 4);
	CHECK_EQ(in.op_size, 4);
	CHECK_EQ(in.addr_size, 8);

	CHECK_EQ(decode_hex("48 8b 04 25 78 56 34 12", M64, &in), 0);
	CHECK(in.has_sib);
	CHECK_EQ(in.base, NONE);
	CHECK_EQ(in.index, NONE);
	CHECK_EQ(in.disp, 0x12345678);
	CHECK_EQ(in.op_size, 8);
	CHECK(!in.rip_relative);

	CHECK_EQ(decode_hex("42 8b 04 a5 00 10 00 00", M64, &in), 0);
	CHECK_EQ(in.index, 12);
	CHECK_EQ(in.scale, 4);
	CHECK_EQ(in.base, NONE);

	CHECK_EQ(decode_hex("41 8b 04 25 00 10 00 00", M64, &in), 0);
	CHECK_EQ(in.base, NONE);
	CHECK_EQ(in.disp, 0x1000);

	CHECK_EQ(decode_hex("4f 8b 44 cd f8", M64, &in), 0); /* mov r8,[r13+r9*8-8] */
	CHECK_EQ(in.reg, 8);
	CHECK_EQ(in.base, 13);
	CHECK_EQ(in.index, 9);
	CHECK_EQ(in.scale, 8);
	CHECK_EQ((int64_t)in.disp, -8);
	CHECK_EQ(in.disp_size, 1);

	CHECK_EQ(decode_hex("8b 05 10 00 00 00", M64, &in), 0);
	CHECK(in.rip_relative);
	CHECK_EQ(decode_hex("8b 05 10 00 00 00", M32, &in), 0);
	CHECK(!in.rip_relative);
	CHECK_EQ(in.base, NONE);

	CHECK_EQ(decode_hex("f0 f3 66 67 65 48 0f c1 07", M64, &in), 0);
	CHECK(in.lock && in.rep && !in.repne && in.opsize && in.adsize);
	CHECK_EQ(in.seg, 0x65);
	CHECK_EQ(in.op_size, 8);
	CHECK_EQ(in.addr_size, 4);
	CHECK_EQ(in.map, X86_MAP_0F);
	CHECK_EQ(in.opcode, 0xc1);

	CHECK_EQ(decode_hex("66 0f 38 00 c1", M64, &in), 0);
	CHECK_EQ(in.map, X86_MAP_0F38);
	CHECK_EQ(in.opcode, 0x00);
	CHECK_EQ(decode_hex("c4 e3 7d 18 c1 01", M64, &in), 0);
	CHECK_EQ(in.vex, 3);
	CHECK_EQ(in.map, X86_MAP_0F3A);
	CHECK_EQ(in.imm, 1);
	CHECK_EQ(decode_hex("c4 42 f8 f2 c1", M64, &in), 0); /* andn r8,rax,r9 */
	CHECK_EQ(in.reg, 8);
	CHECK_EQ(in.rm, 9);
	CHECK_EQ(in.op_size, 8);

	CHECK_EQ(decode_hex("0f 20 00", M64, &in), 0);
	CHECK_EQ(in.mod, 3);
	CHECK_EQ(decode_hex("c8 10 00 01", M64, &in), 0);
	CHECK_EQ(in.imm, 0x010010);
	CHECK_EQ(in.imm_size, 3);
	CHECK_EQ(decode_hex("48 b8 88 77 66 55 44 33 22 11", M64, &in), 0);
	CHECK_EQ(in.imm, 0x1122334455667788ull);
	CHECK_EQ(in.imm_size, 8);

	/* [bp+si+disp8] in 16-bit code */
	CHECK_EQ(decode_hex("8b 42 fe", M16, &in), 0);
	CHECK_EQ(in.base, 5);
	CHECK_EQ(in.index, 6);
	CHECK_EQ((int64_t)in.disp, -2);
	CHECK_EQ(in.op_size, 2);
	CHECK_EQ(in.addr_size, 2);
	CHECK_EQ(x86_mem_segment(&in), X86_SEG_SS);
}

static void test_effective_address(void)
{
	uint64_t gpr[16];
	struct x86_insn in;
	int i;

	for (i = 0; i < 16; i++)
		gpr[i] = 0x1000ull * (uint64_t)(i + 1);

	CHECK_EQ(decode_hex("8b 05 10 00 00 00", M64, &in), 0);
	CHECK_EQ(x86_mem_effective_address(&in, gpr, 0x400000), 0x400016);
	CHECK_EQ(decode_hex("8b 44 8d 08", M64, &in), 0); /* [rbp+rcx*4+8] */
	CHECK_EQ(x86_mem_effective_address(&in, gpr, 0), 0x6000 + 0x2000 * 4 + 8);
	CHECK_EQ(x86_mem_segment(&in), X86_SEG_SS);
	CHECK_EQ(decode_hex("48 a1 88 77 66 55 44 33 22 11", M64, &in), 0);
	CHECK_EQ(x86_mem_effective_address(&in, gpr, 0), 0x1122334455667788ull);
	CHECK_EQ(x86_mem_segment(&in), X86_SEG_DS);

	/* 32-bit addressing in 64-bit mode truncates. */
	gpr[0] = 0xffffffff00001000ull;
	CHECK_EQ(decode_hex("67 8b 40 f0", M64, &in), 0);
	CHECK_EQ(x86_mem_effective_address(&in, gpr, 0), 0xff0);
	CHECK_EQ(decode_hex("8b 40 f0", M64, &in), 0);
	CHECK_EQ(x86_mem_effective_address(&in, gpr, 0), 0xffffffff00000ff0ull);

	/* 16-bit addressing wraps at 64 KiB. */
	gpr[3] = 0xffff; /* bx */
	gpr[6] = 2;      /* si */
	CHECK_EQ(decode_hex("8b 40 ff", M16, &in), 0); /* [bx+si-1] */
	CHECK_EQ(x86_mem_effective_address(&in, gpr, 0), 0);
	CHECK_EQ(x86_mem_segment(&in), X86_SEG_DS);

	CHECK_EQ(decode_hex("64 8b 00", M64, &in), 0);
	CHECK_EQ(x86_mem_segment(&in), X86_SEG_FS);
	CHECK_EQ(decode_hex("64 2e 8b 00", M64, &in), 0); /* 2e ignored in 64-bit */
	CHECK_EQ(x86_mem_segment(&in), X86_SEG_FS);
	CHECK_EQ(decode_hex("2e 8b 45 00", M64, &in), 0); /* [rbp], 2e ignored */
	CHECK_EQ(in.seg, 0x2e);
	CHECK_EQ(x86_mem_segment(&in), X86_SEG_SS);
	CHECK_EQ(decode_hex("64 2e 8b 00", M32, &in), 0);
	CHECK_EQ(x86_mem_segment(&in), X86_SEG_CS);
	CHECK_EQ(decode_hex("3e 8b 45 00", M32, &in), 0);
	CHECK_EQ(x86_mem_segment(&in), X86_SEG_DS);
}

/* Decode + classify; returns the classify result. */
static int classify_hex(const char *hex, enum x86_mode mode, struct x86_mmio_op *op)
{
	struct x86_insn in;
	int rc = decode_hex(hex, mode, &in);

	CHECK_MSG(rc == 0, "'%s': decode rc %d", hex, rc);
	return rc ? rc : x86_mmio_classify(&in, op);
}

static void check_op(const char *hex, enum x86_mode mode, enum x86_mmio_kind kind,
		     int size, int reg, bool high, int dst_size)
{
	struct x86_mmio_op op;
	int rc = classify_hex(hex, mode, &op);

	CHECK_MSG(rc == 0 && op.kind == kind && op.size == size && op.reg == reg &&
		  op.high_byte == high && op.dst_size == dst_size,
		  "'%s': rc %d kind %d size %d reg %d high %d dst %d", hex, rc,
		  op.kind, op.size, op.reg, op.high_byte, op.dst_size);
}

static void test_mmio_classify(void)
{
	struct x86_mmio_op op;

	check_op("8b 07", M64, X86_MMIO_LOAD, 4, 0, false, 4);
	check_op("48 8b 0f", M64, X86_MMIO_LOAD, 8, 1, false, 8);
	check_op("66 8b 17", M64, X86_MMIO_LOAD, 2, 2, false, 2);
	check_op("44 8b 80 00 03 00 00", M64, X86_MMIO_LOAD, 4, 8, false, 4);
	check_op("8a 27", M64, X86_MMIO_LOAD, 1, 0, true, 1);     /* mov ah,[rdi] */
	check_op("40 8a 27", M64, X86_MMIO_LOAD, 1, 4, false, 1); /* mov spl,[rdi] */
	check_op("44 8a 27", M64, X86_MMIO_LOAD, 1, 12, false, 1);
	check_op("89 47 10", M64, X86_MMIO_STORE_REG, 4, 0, false, 4);
	check_op("88 7f 01", M64, X86_MMIO_STORE_REG, 1, 3, true, 1); /* bh */
	check_op("0f b6 47 04", M64, X86_MMIO_LOAD_ZX, 1, 0, false, 4);
	check_op("66 0f b6 07", M64, X86_MMIO_LOAD_ZX, 1, 0, false, 2);
	check_op("0f b7 07", M64, X86_MMIO_LOAD_ZX, 2, 0, false, 4);
	check_op("48 0f bf 07", M64, X86_MMIO_LOAD_SX, 2, 0, false, 8);
	check_op("0f be 37", M64, X86_MMIO_LOAD_SX, 1, 6, false, 4);
	check_op("a0 00 10 00 00 00 00 00 00", M64, X86_MMIO_LOAD, 1, 0, false, 1);
	check_op("a1 00 10 00 00 00 00 00 00", M64, X86_MMIO_LOAD, 4, 0, false, 4);
	check_op("48 a3 00 10 00 00 00 00 00 00", M64, X86_MMIO_STORE_REG, 8, 0, false, 8);
	check_op("a3 00 10 00 00", M32, X86_MMIO_STORE_REG, 4, 0, false, 4);
	check_op("8b 07", M16, X86_MMIO_LOAD, 2, 0, false, 2);

	CHECK_EQ(classify_hex("c7 80 b0 00 00 00 78 56 34 12", M64, &op), 0);
	CHECK_EQ(op.kind, X86_MMIO_STORE_IMM);
	CHECK_EQ(op.size, 4);
	CHECK_EQ(op.imm, 0x12345678);
	CHECK_EQ(classify_hex("48 c7 00 fe ff ff ff", M64, &op), 0);
	CHECK_EQ(op.size, 8);
	CHECK_EQ(op.imm, 0xfffffffffffffffeull);
	CHECK_EQ(classify_hex("66 c7 00 34 12", M64, &op), 0);
	CHECK_EQ(op.size, 2);
	CHECK_EQ(op.imm, 0x1234);
	CHECK_EQ(classify_hex("c6 00 ab", M64, &op), 0);
	CHECK_EQ(op.size, 1);
	CHECK_EQ(op.imm, 0xab);

	CHECK_EQ(classify_hex("8b c0", M64, &op), -X86_E_UNSUPPORTED);   /* register form */
	CHECK_EQ(classify_hex("01 07", M64, &op), -X86_E_UNSUPPORTED);   /* add */
	CHECK_EQ(classify_hex("c7 08 00 00 00 00", M64, &op), -X86_E_UNSUPPORTED);
	CHECK_EQ(classify_hex("f0 89 07", M64, &op), -X86_E_UNSUPPORTED); /* #UD */
	CHECK_EQ(classify_hex("63 07", M64, &op), -X86_E_UNSUPPORTED);   /* movsxd */
	CHECK_EQ(classify_hex("c5 fa 6f 07", M64, &op), -X86_E_UNSUPPORTED);
	CHECK_EQ(classify_hex("0f b6 c0", M64, &op), -X86_E_UNSUPPORTED);
}

/* Apply a load of value to register 0 holding before; return the result. */
static uint64_t load_into(const char *hex, uint64_t before, uint64_t value)
{
	struct x86_mmio_op op;
	uint64_t gpr[16] = { 0 };

	if (classify_hex(hex, M64, &op))
		return 0xdeadull;
	gpr[op.reg] = before;
	x86_mmio_load_result(&op, gpr, value);
	return gpr[op.reg];
}

static void test_mmio_values(void)
{
	const uint64_t ones = ~0ull;
	struct x86_mmio_op op;
	uint64_t gpr[16] = { 0 };

	CHECK_EQ(load_into("8b 07", ones, 0x12345678), 0x12345678);
	CHECK_EQ(load_into("48 8b 07", ones, 0x1122334455667788ull), 0x1122334455667788ull);
	CHECK_EQ(load_into("66 8b 07", ones, 0x1234), 0xffffffffffff1234ull);
	CHECK_EQ(load_into("8a 07", ones, 0x1234), 0xffffffffffffff34ull);
	CHECK_EQ(load_into("8a 27", ones, 0x12), 0xffffffffffff12ffull);     /* ah */
	CHECK_EQ(load_into("0f b6 07", ones, 0x80), 0x80);
	CHECK_EQ(load_into("0f be 07", ones, 0x80), 0xffffff80);
	CHECK_EQ(load_into("66 0f be 07", 0x1111111111111111ull, 0x80), 0x111111111111ff80ull);
	CHECK_EQ(load_into("48 0f bf 07", 0, 0x8000), 0xffffffffffff8000ull);
	CHECK_EQ(load_into("0f b7 07", ones, 0xffff8001), 0x8001);
	CHECK_EQ(load_into("a1 00 00 00 00 00 00 00 00", ones, 7), 7);

	gpr[0] = 0x123456789abcdef0ull;
	gpr[3] = 0x1234;
	CHECK_EQ(classify_hex("88 7f 01", M64, &op), 0); /* mov [rdi+1],bh */
	CHECK_EQ(x86_mmio_store_value(&op, gpr), 0x12);
	CHECK_EQ(classify_hex("66 89 07", M64, &op), 0);
	CHECK_EQ(x86_mmio_store_value(&op, gpr), 0xdef0);
	CHECK_EQ(classify_hex("89 07", M64, &op), 0);
	CHECK_EQ(x86_mmio_store_value(&op, gpr), 0x9abcdef0);
	CHECK_EQ(classify_hex("48 89 07", M64, &op), 0);
	CHECK_EQ(x86_mmio_store_value(&op, gpr), 0x123456789abcdef0ull);
	CHECK_EQ(classify_hex("48 c7 07 00 00 00 80", M64, &op), 0);
	CHECK_EQ(x86_mmio_store_value(&op, gpr), 0xffffffff80000000ull);
}

int main(void)
{
	test_exit_instructions();
	test_linux_mmio_lengths();
	test_immediates();
	test_branches();
	test_legacy_only();
	test_addressing();
	test_maps_and_vex();
	test_limits();
	test_fields();
	test_effective_address();
	test_mmio_classify();
	test_mmio_values();
	return unit_finish("test_insn");
}
