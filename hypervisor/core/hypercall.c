/* The hypercall ABI of include/hv/hypercall.h, dispatched by call number. */
#include <core/tsc.h>
#include <core/handlers.h>
#include <hv/hypercall.h>
#include <x86/cpu.h>
#include <x86/vendor.h>

typedef int64_t hypercall_fn(struct vcpu *v, const uint64_t args[3]);

static int64_t hc_abi_version(struct vcpu *v, const uint64_t args[3])
{
	(void)v;
	(void)args;
	return HV_ABI_VERSION;
}

static int64_t hc_poweroff(struct vcpu *v, const uint64_t args[3])
{
	int status = (int)args[0];

	v->vm->exit_status = status;
	vm_stop(v->vm, status == 0, "powered off by the guest (status %d)", status);
	return 0;
}

static int64_t hc_timer_set(struct vcpu *v, const uint64_t args[3])
{
	if (args[0] && (args[1] < 32 || args[1] > 255))
		return -HV_EINVAL;
	v->timer_deadline = tsc_guest_to_host(v->vm, args[0]);
	v->timer_vector = (uint8_t)args[1];
	return 0;
}

static int64_t hc_tsc_khz(struct vcpu *v, const uint64_t args[3])
{
	(void)v;
	(void)args;
	return (int64_t)tsc_khz();
}

static int64_t hc_bench_floor(struct vcpu *v, const uint64_t args[3])
{
	if ((args[1] != HV_BENCH_EXIT_CPUID && args[1] != HV_BENCH_EXIT_HYPERCALL) ||
	    !args[2] || args[2] > 15)
		return -HV_EINVAL;
	v->bench_floor_left = args[0];
	v->bench_floor_exit = (uint8_t)args[1];
	v->bench_floor_len = (uint8_t)args[2];
	return 0;
}

static int64_t hc_nop(struct vcpu *v, const uint64_t args[3])
{
	(void)v;
	(void)args;
	return 0;
}

static hypercall_fn *const hypercalls[] = {
	[HV_HC_ABI_VERSION] = hc_abi_version,
	[HV_HC_POWEROFF]    = hc_poweroff,
	[HV_HC_TIMER_SET]   = hc_timer_set,
	[HV_HC_TSC_KHZ]     = hc_tsc_khz,
	[HV_HC_BENCH_FLOOR] = hc_bench_floor,
	[HV_HC_NOP]         = hc_nop,
};

void handle_hypercall(struct vcpu *v, struct exit_info *e)
{
	uint64_t *g = v->regs.gpr;
	uint64_t nr = g[GPR_RAX];
	const uint64_t args[3] = { g[GPR_RDI], g[GPR_RSI], g[GPR_RDX] };
	int64_t ret;

	if (!exit_skip_insn(v, e))
		return;
	if (vendor->get_cpl(v) != 0)
		ret = -HV_EPERM;
	else if (nr < sizeof(hypercalls) / sizeof(hypercalls[0]) && hypercalls[nr])
		ret = hypercalls[nr](v, args);
	else
		ret = -HV_ENOSYS;
	g[GPR_RAX] = (uint64_t)ret;
}
