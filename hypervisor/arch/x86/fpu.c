/* Lazily switched guest FPU state (see include/x86/fpu.h): XSAVE/XRSTOR
 * when the CPU has them (SDM vol. 1, 13), FXSAVE/FXRSTOR otherwise. */
#include <core/page_alloc.h>
#include <core/vm.h>
#include <lib/string.h>
#include <x86/cpuid_bits.h>
#include <x86/fpu.h>
#include <x86/percpu.h>
#include <lib/printk.h>
#include <x86/processor.h>
#include <x86/xcr0.h>

#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define MXCSR_DEFAULT      0x1f80
#define SAVE_AREA_PAGES    4        /* 16 KiB; fpu_init checks the CPU's need */

static bool have_xsave;
static uint64_t xcr0_supported;

static void xsetbv(uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t xgetbv(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | ((uint64_t)hi << 32);
}

void fpu_init(void)
{
	struct cpuid_regs r = cpuid(1, 0);

	if (!(r.edx & CPUID_1_EDX_FXSR))
		return;
	write_cr4(read_cr4() | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT);
	if (!(r.ecx & CPUID_1_ECX_XSAVE))
		return;
	/* ECX: the XSAVE area size for every component the CPU supports. */
	if (cpuid(0xd, 0).ecx > SAVE_AREA_PAGES * PAGE_SIZE) {
		printk("kestrel: fpu: XSAVE area of %u bytes exceeds %u; using FXSAVE\n",
		       cpuid(0xd, 0).ecx, (unsigned)(SAVE_AREA_PAGES * PAGE_SIZE));
		return;
	}
	have_xsave = true;
	write_cr4(read_cr4() | X86_CR4_OSXSAVE);
	xcr0_supported = cpuid(0xd, 0).eax | ((uint64_t)cpuid(0xd, 0).edx << 32);
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
	if (this_cpu()->fpu_owner == v)
		this_cpu()->fpu_owner = NULL;    /* reload on the next switch */
}

int fpu_vcpu_init(struct vcpu *v)
{
	v->fpu_area = page_alloc_ptr(SAVE_AREA_PAGES);
	if (!v->fpu_area)
		return -1;
	fpu_vcpu_reset(v);
	return 0;
}

/*
 * Save and restore every component the CPU has, whatever the vCPU's XCR0:
 * XSAVE/XRSTOR act only on RFBM = XCR0 & EDX:EAX (SDM 1, 13.8), so with the
 * guest's XCR0 a component it has not enabled would keep the previous
 * owner's values (XMM, PKRU, AVX upper halves: XSA-165), and a header
 * naming components outside XCR0 makes XRSTOR fault. The vCPU's XCR0 is
 * read back first: QEMU's nested SVM lets XSETBV through unintercepted.
 */
static void fpu_save(struct vcpu *v)
{
	if (have_xsave) {
		v->xcr0 = xgetbv();
		xsetbv(xcr0_supported);
		__asm__ volatile("xsave64 %0" : "+m"(*(uint8_t (*)[4096])v->fpu_area)
				 : "a"(~0u), "d"(~0u) : "memory");
	} else {
		__asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t (*)[512])v->fpu_area));
	}
}

static void fpu_restore(struct vcpu *v)
{
	if (have_xsave) {
		xsetbv(xcr0_supported);
		__asm__ volatile("xrstor64 %0" : : "m"(*(uint8_t (*)[4096])v->fpu_area),
				 "a"(~0u), "d"(~0u));
		xsetbv(v->xcr0);
	} else {
		__asm__ volatile("fxrstor64 %0" : : "m"(*(uint8_t (*)[512])v->fpu_area));
	}
}

void fpu_switch_to(struct vcpu *v)
{
	struct pcpu *c = this_cpu();

	if (c->fpu_owner == v || !v->fpu_area)
		return;
	if (c->fpu_owner && c->fpu_owner->fpu_area)
		fpu_save(c->fpu_owner);
	fpu_restore(v);
	c->fpu_owner = v;
}

void fpu_put(struct vcpu *v)
{
	struct pcpu *c = this_cpu();

	if (c->fpu_owner != v)
		return;
	fpu_save(v);
	c->fpu_owner = NULL;
}

bool fpu_set_xcr0(struct vcpu *v, uint32_t index, uint64_t value)
{
	/* The hypervisor runs XSETBV with this value next: anything the CPU
	 * would refuse must be refused here, or the host takes the #GP. */
	if (!have_xsave || index != 0 || !xcr0_valid(value, xcr0_supported))
		return false;
	v->xcr0 = value;
	if (this_cpu()->fpu_owner == v)
		xsetbv(value);
	return true;
}
