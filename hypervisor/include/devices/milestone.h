/*
 * The boot-milestone port: a guest marks points of its boot by writing one
 * byte (a code) to MILESTONE_PORT; each write is stamped with the host TSC
 * and so with the time since the VM was powered on (created, restarted,
 * started from the console), and `stats <vm>` lists them. The idea of
 * cloud-hypervisor's port-0x80 codes and Firecracker's boot-timer device,
 * on a port of its own: Linux writes port 0x80 for I/O delays (outb_p).
 *
 * 0x440 is in the EISA system-board range (0x400-0x4ff) at an address no
 * PC device, firmware (OVMF's debug port is 0x402, Bochs's 0x400-0x403 and
 * 0xe9) or Linux driver uses; nothing else on Kestrel's port bus is near.
 *
 * A code's high three bits give the stage that wrote it:
 *   0x00-0x1f firmware, 0x20-0x3f bootloader, 0x40-0x5f kernel,
 *   0x60-0x7f userspace, 0x80-0xff custom (the guest's own meaning).
 * Named codes: MILESTONE_KERNEL_ENTRY (a kernel's first instruction that
 * can mark, as the minimal guest does), MILESTONE_REACHED_INIT (the first
 * act of /init), MILESTONE_USERSPACE_READY (a workload is up).
 *
 * A VM keeps the first MILESTONE_MAX writes of each run; later ones are
 * counted as dropped. The port is one byte wide: a byte read returns
 * 0xff; wider accesses are not the device's (unclaimed, and counted).
 *
 * Two halves: a pure core (devices/milestone_core.c, host-tested by
 * tests/unit/test_milestone.c) holding the table, and the glue
 * (devices/milestone.c) on the port bus and in the console's `stats`.
 */
#ifndef DEVICES_MILESTONE_H
#define DEVICES_MILESTONE_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

#define MILESTONE_PORT            0x440
#define MILESTONE_MAX             32

#define MILESTONE_KERNEL_ENTRY    0x40
#define MILESTONE_REACHED_INIT    0x60
#define MILESTONE_USERSPACE_READY 0x61

struct milestone {
	uint64_t tsc;         /* host TSC at the write */
	uint8_t code;
};

struct milestone_table {
	uint64_t start_tsc;   /* host TSC when the VM was powered on */
	unsigned count;       /* entries in mark[] */
	uint64_t dropped;     /* writes after the table was full */
	struct milestone mark[MILESTONE_MAX];
};

/* Empty, for a run that started at `start_tsc`. */
void milestone_table_reset(struct milestone_table *t, uint64_t start_tsc);
/* Records `code` at `tsc`; false (and counted as dropped) when full. */
bool milestone_record(struct milestone_table *t, uint8_t code, uint64_t tsc);
/* "firmware", "bootloader", "kernel", "userspace" or "custom". */
const char *milestone_stage(uint8_t code);
/* The name of a named code, or NULL. */
const char *milestone_name(uint8_t code);
/* Microseconds from `start_tsc` to `tsc` at `khz` TSC kHz (0 when tsc
 * is earlier or khz is unknown). */
uint64_t milestone_us(uint64_t start_tsc, uint64_t tsc, uint64_t khz);

int milestone_create(struct vm *vm);
/* Power-on: the table empties and the clock restarts. */
void milestone_reset(struct vm *vm);
/* The VM's milestones for `stats` (nothing when it has no port). */
void milestone_print(const struct vm *vm);

#endif
