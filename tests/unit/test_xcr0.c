/* XSETBV's XCR0 rules (SDM 1, 13.3): every value the security review names
 * as one the CPU refuses must be refused, and the ordinary ones accepted. */
// UNIT-SOURCES:
#include <x86/xcr0.h>
#include "unit.h"

/* An AVX-512 + MPX + AMX + PKRU host, as the review's hosts are. */
#define ALL (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_MPX | XCR0_AVX512 | XCR0_PKRU | XCR0_AMX)
/* QEMU TCG -cpu max: x87, SSE, AVX, PKRU, and bits 3-4 (0x21f). */
#define QEMU_MAX 0x21full

int main(void)
{
	static const uint64_t refused[] = {
		0x0, 0x2, 0x4,       /* no x87 */
		0x5,                 /* AVX without SSE */
		0x23,                /* AVX-512 opmask alone, no AVX */
		0xe3,                /* AVX-512 without AVX */
		0xe1,                /* AVX-512 without SSE and AVX */
		0x67, 0xa7, 0xc7,    /* AVX-512, not all three bits */
		0x0b, 0x13,          /* BNDREGS without BNDCSR and the reverse */
		0x20003, 0x40003,    /* XTILECFG without XTILEDATA and the reverse */
		1ull << 63,          /* reserved */
	};
	static const uint64_t accepted[] = {
		0x1, 0x3, 0x7, 0xe7, 0x1b, 0x207, 0x602e7 & ALL, 0x60007,
	};

	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK_MSG(!xcr0_valid(refused[i], ALL), "%#llx", (unsigned long long)refused[i]);
	for (unsigned i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		CHECK_MSG(xcr0_valid(accepted[i], ALL), "%#llx", (unsigned long long)accepted[i]);
	/* Nothing the host lacks: AVX-512 on a host without it. */
	CHECK(!xcr0_valid(0xe7, QEMU_MAX));
	CHECK(xcr0_valid(0x207, QEMU_MAX));
	CHECK(!xcr0_valid(0x20007, QEMU_MAX));
	return unit_finish("test_xcr0");
}
