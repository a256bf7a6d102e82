/*
 * Exit trace: the flight recorder, a fixed-size ring of small records of
 * every VM's newest exits (`trace [vm]`), and recordings with a ring per
 * vCPU (`trace start|stop|dump`, core/trace_ring.h, docs/tracing.md).
 * Build with TRACE=0 (make TRACE=0) to compile both out of the exit path;
 * with the flight recorder off and no recording, an exit pays one test.
 */
#ifndef CORE_TRACE_H
#define CORE_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <core/exit.h>
#include <core/trace_ring.h>

#ifndef CONFIG_TRACE
#define CONFIG_TRACE 1
#endif

#define TRACE_RECORDS 256

struct trace_record {
	uint64_t tsc;
	uint64_t detail;      /* port, guest-physical address, vector or RAX */
	uint32_t raw;         /* vendor exit code */
	uint8_t reason;       /* enum exit_reason */
	uint8_t vm, vcpu;
	uint8_t reserved;
};
_Static_assert(sizeof(struct trace_record) == 24, "trace records stay small");

struct vcpu;
struct trace_rec;

/* The flight recorder on or off (hv.cfg's flight-recorder, on by default). */
void trace_flight_recorder(bool on);
/* Whether trace_exit has anything to do: the flight recorder is on or a
 * recording runs. Read on every exit; false in a TRACE=0 build. */
extern bool trace_running;

#if CONFIG_TRACE
static inline bool trace_active(void)
{
	return trace_running;
}
/* At the dispatcher: into the flight recorder, and into the vCPU's
 * recording ring if one is running for it (then the record, to be closed
 * by trace_exit_done after the handler, else NULL). */
struct trace_rec *trace_exit(struct vcpu *v, const struct exit_info *e);
void trace_exit_close(struct trace_rec *t);
/* Inline: with no recording running, every exit passes here for nothing. */
static inline void trace_exit_done(struct trace_rec *t)
{
	if (t)
		trace_exit_close(t);
}
/* A boot milestone the vCPU wrote (devices/milestone.c), into the recording. */
void trace_mark(struct vcpu *v, uint8_t code);
/* A read or write of `size` bytes in a watched range, done by the npf
 * handler (core/watch.c), or an execution (flags TRACE_F_*, trace_ring.h):
 * into the recording after the exit's record, if that was kept. */
void trace_watch(struct vcpu *v, unsigned size, uint64_t value, unsigned flags);
#else
static inline bool trace_active(void)
{
	return false;
}
static inline struct trace_rec *trace_exit(struct vcpu *v, const struct exit_info *e)
{
	(void)v;
	(void)e;
	return 0;
}
static inline void trace_exit_done(struct trace_rec *t)
{
	(void)t;
}
static inline void trace_mark(struct vcpu *v, uint8_t code)
{
	(void)v;
	(void)code;
}
static inline void trace_watch(struct vcpu *v, unsigned size, uint64_t value, unsigned flags)
{
	(void)v;
	(void)size;
	(void)value;
	(void)flags;
}
#endif
/* Prints the newest `count` records, oldest first (all VMs, or one). */
void trace_print(unsigned count, int vm_id);
/* The console's `trace` command: `trace [vm]` prints the flight recorder;
 * `trace start [vm] [reason...]`, `trace stop`, `trace dump` record. */
void trace_command(int argc, char **argv);

#endif
