/*
 * XCR0 bits and the rules XSETBV enforces (SDM vol. 1, 13.3 "Enabling the
 * XSAVE feature set"; SDM vol. 2B, XSETBV). Pure: shared by fpu.c and the
 * host unit test.
 */
#ifndef X86_XCR0_H
#define X86_XCR0_H

#include <stdbool.h>
#include <stdint.h>

#define XCR0_X87        (1ull << 0)
#define XCR0_SSE        (1ull << 1)
#define XCR0_AVX        (1ull << 2)
#define XCR0_BNDREGS    (1ull << 3)    /* MPX */
#define XCR0_BNDCSR     (1ull << 4)
#define XCR0_OPMASK     (1ull << 5)    /* AVX-512: opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_ZMM_HI256  (1ull << 6)
#define XCR0_HI16_ZMM   (1ull << 7)
#define XCR0_PKRU       (1ull << 9)
#define XCR0_XTILECFG   (1ull << 17)   /* AMX */
#define XCR0_XTILEDATA  (1ull << 18)

#define XCR0_AVX512     (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)
#define XCR0_MPX        (XCR0_BNDREGS | XCR0_BNDCSR)
#define XCR0_AMX        (XCR0_XTILECFG | XCR0_XTILEDATA)

/* Groups whose bits must be all set or all clear. */
static inline bool xcr0_all_or_none(uint64_t v, uint64_t group)
{
	return (v & group) == 0 || (v & group) == group;
}

/* Whether XSETBV would accept `v` for XCR0 on a CPU supporting `supported`
 * (CPUID.(EAX=0DH,ECX=0):EDX:EAX). */
static inline bool xcr0_valid(uint64_t v, uint64_t supported)
{
	if (!(v & XCR0_X87) || (v & ~supported))
		return false;
	if ((v & XCR0_AVX) && !(v & XCR0_SSE))
		return false;
	if (!xcr0_all_or_none(v, XCR0_AVX512) ||
	    ((v & XCR0_AVX512) && (v & (XCR0_SSE | XCR0_AVX)) != (XCR0_SSE | XCR0_AVX)))
		return false;
	return xcr0_all_or_none(v, XCR0_MPX) && xcr0_all_or_none(v, XCR0_AMX);
}

#endif
