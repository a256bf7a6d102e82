/* The boot-milestone table and code meanings (see devices/milestone.h). */
#include <stddef.h>
#include <devices/milestone.h>

void milestone_table_reset(struct milestone_table *t, uint64_t start_tsc)
{
	t->start_tsc = start_tsc;
	t->count = 0;
	t->dropped = 0;
}

bool milestone_record(struct milestone_table *t, uint8_t code, uint64_t tsc)
{
	if (t->count >= MILESTONE_MAX) {
		t->dropped++;
		return false;
	}
	t->mark[t->count++] = (struct milestone){ .tsc = tsc, .code = code };
	return true;
}

const char *milestone_stage(uint8_t code)
{
	static const char *const stages[] = { "firmware", "bootloader", "kernel", "userspace" };

	return code < 0x80 ? stages[code >> 5] : "custom";
}

const char *milestone_name(uint8_t code)
{
	switch (code) {
	case MILESTONE_KERNEL_ENTRY:    return "kernel entry";
	case MILESTONE_REACHED_INIT:    return "reached init";
	case MILESTONE_USERSPACE_READY: return "userspace ready";
	default:                        return NULL;
	}
}

/* Split so that delta * 1000 cannot overflow whatever the delta. */
uint64_t milestone_us(uint64_t start_tsc, uint64_t tsc, uint64_t khz)
{
	uint64_t delta = tsc - start_tsc;

	if (tsc < start_tsc || !khz)
		return 0;
	return delta / khz * 1000 + delta % khz * 1000 / khz;
}
