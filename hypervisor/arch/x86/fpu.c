/* Lazily switched guest FPU state (see include/x86/fpu.h): XSAVE/XRSTOR
 * when the CPU has them (SDM vol. 1, 13), FXSAVE/FXRSTOR otherwise. */
#include <core/page_alloc.h>
#include <core/vm.h>
#include <lib/string.h>
#include <x86/fpu.h>
#include <x86/processor.h>

#define CPUID_1_EDX_FXSR   (1u << 24)
#define CPUID_1_ECX_XSAVE  (1u << 26)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_OSXSAVE    (1ull << 18)
#define XCR0_X87           (1ull << 0)
#define XCR0_SSE           (1ull << 1)
#define XCR0_AVX           (1ull << 2)
#define MXCSR_DEFAULT      0x1f80
#define SAVE_AREA_PAGES    4        /* 16 KiB covers every XSAVE layout today */

static bool have_xsave;
static uint64_t xcr0_supported;
static struct vcpu *owner;

static void xsetbv(uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

void fpu_init(void)
{
	struct cpuid_regs r = cpuid(1, 0);

	if (!(r.edx & CPUID_1_EDX_FXSR))
		return;
	write_cr4(read_cr4() | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT);
	if (r.ecx & CPUID_1_ECX_XSAVE) {
		have_xsave = true;
		write_cr4(read_cr4() | X86_CR4_OSXSAVE);
		xcr0_supported = cpuid(0xd, 0).eax | ((uint64_t)cpuid(0xd, 0).edx << 32);
	}
}

void fpu_vcpu_reset(struct vcpu *v)
{
	uint8_t *area = v->fpu_area;

	/* Legacy region: FCW 0x37f and MXCSR as after FNINIT/reset; the XSAVE
	 * header stays zero, so XRSTOR starts every component in init state. */
	memset(area, 0, SAVE_AREA_PAGES * PAGE_SIZE);
	*(uint16_t *)area = 0x37f;
	*(uint32_t *)(area + 24) = MXCSR_DEFAULT;
	v->xcr0 = XCR0_X87;
	if (owner == v)
		owner = NULL;    /* reload on the next switch */
}

int fpu_vcpu_init(struct vcpu *v)
{
	v->fpu_area = page_alloc_ptr(SAVE_AREA_PAGES);
	if (!v->fpu_area)
		return -1;
	fpu_vcpu_reset(v);
	return 0;
}

static void fpu_save(struct vcpu *v)
{
	if (have_xsave)
		__asm__ volatile("xsave64 %0" : "+m"(*(uint8_t (*)[4096])v->fpu_area)
				 : "a"(~0u), "d"(~0u) : "memory");
	else
		__asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t (*)[512])v->fpu_area));
}

static void fpu_restore(struct vcpu *v)
{
	if (have_xsave) {
		xsetbv(v->xcr0);
		__asm__ volatile("xrstor64 %0" : : "m"(*(uint8_t (*)[4096])v->fpu_area),
				 "a"(~0u), "d"(~0u));
	} else {
		__asm__ volatile("fxrstor64 %0" : : "m"(*(uint8_t (*)[512])v->fpu_area));
	}
}

void fpu_switch_to(struct vcpu *v)
{
	if (owner == v || !v->fpu_area)
		return;
	if (owner && owner->fpu_area)
		fpu_save(owner);
	fpu_restore(v);
	owner = v;
}

bool fpu_set_xcr0(struct vcpu *v, uint32_t index, uint64_t value)
{
	/* x87 is always on; AVX needs SSE; nothing the host lacks. */
	if (!have_xsave || index != 0 || !(value & XCR0_X87) || (value & ~xcr0_supported) ||
	    ((value & XCR0_AVX) && !(value & XCR0_SSE)))
		return false;
	v->xcr0 = value;
	if (owner == v)
		xsetbv(value);
	return true;
}
