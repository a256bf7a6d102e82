/*
 * Watches (console `watch`, issue 11 item 4): guest-physical ranges whose
 * pages lose rights in the nested page tables, write for a write-watch,
 * all of them for a read-watch; each access that faults on such a page is
 * emulated (core/watch.c) and, when it touches a watched range of its
 * kind, logged with the vCPU, RIP, address, size and value. The set of
 * ranges is a pure core (core/watch_core.c, host unit test
 * tests/unit/test_watch.c). The gdb stub's watchpoints (Z2, Z3, Z4) are
 * watches too, owned by it: an access to one is not logged but stops the
 * VM (gdb_stub_watch_hit). An execute watch takes the execute right: an
 * instruction that starts in its range is logged (the console's) or stops
 * the VM before it runs (gdb's hbreak, Z1); every instruction fetched from
 * the page then runs one step with the right back.
 */
#ifndef CORE_WATCH_H
#define CORE_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#define WATCH_MAX          8                /* ranges per VM, gdb's and the console's */
#define WATCH_MAX_LEN      (16 * 4096ull)   /* bytes per range */
#define WATCH_LOG_MAX      1000             /* hits printed per range; the rest counted */

/* What a watch watches: bits, a read-and-write watch has both. */
#define WATCH_READ         1u
#define WATCH_WRITE        2u
#define WATCH_ACCESS       (WATCH_READ | WATCH_WRITE)
#define WATCH_EXEC         4u
#define WATCH_ANY          (WATCH_ACCESS | WATCH_EXEC)

/* Who set a watch, and so what a hit does. */
enum watch_owner {
	WATCH_CONSOLE,           /* logged */
	WATCH_GDB,               /* the VM stops for gdb */
};

struct watch {
	uint64_t gpa, len;       /* len 0: the slot is free */
	uint64_t hits;
	unsigned access;         /* WATCH_READ, WATCH_WRITE, WATCH_EXEC, or several */
	enum watch_owner owner;
	uint64_t tag;            /* the owner's name for it: the console's gpa, gdb's address */
};

struct watch_set {
	struct watch w[WATCH_MAX];
};

/* Adds [gpa, gpa+len) watched for `access` for owner: the slot's index, or
 * -1 when the set is full, -2 when len is 0 or over WATCH_MAX_LEN, the
 * range wraps or access is none or not WATCH_ANY's. */
int watch_set_add(struct watch_set *s, uint64_t gpa, uint64_t len, unsigned access,
		  enum watch_owner owner, uint64_t tag);
/* The owner's range with that tag and, unless 0, that length and access;
 * or -1. */
int watch_set_find(const struct watch_set *s, enum watch_owner owner, uint64_t tag,
		   uint64_t len, unsigned access);
void watch_set_remove(struct watch_set *s, unsigned idx);
/* The ranges watched for any of `access` that an access of `size` bytes
 * at gpa touches, bit i for slot i. */
unsigned watch_set_hits(const struct watch_set *s, uint64_t gpa, unsigned size,
			unsigned access);
/* The first range watched for reads or writes that it touches, or -1. */
int watch_set_hit(const struct watch_set *s, uint64_t gpa, unsigned size);
/* What the ranges that lie (partly) in the 4 KiB page at `page` watch,
 * together: 0 when none does. */
unsigned watch_set_page_access(const struct watch_set *s, uint64_t page);

struct vcpu;
struct vm;
struct exit_info;

/* A watch for another owner than the console (the gdb stub): [la, la+len)
 * guest-virtual through vCPU 0's paging, contiguous in guest RAM. The same
 * one again changes nothing. 0, or -1
 * when the VM has WATCH_MAX watches, -2 when the range is not guest RAM (or
 * not contiguous in it, or too long), -3 when the page tables need memory
 * there is not. */
int watch_add(struct vm *vm, uint64_t la, uint64_t len, unsigned access,
	      enum watch_owner owner);
/* Ends the owner's watch added at la with that length and access: 0, or
 * -1 if none. */
int watch_del(struct vm *vm, uint64_t la, uint64_t len, unsigned access,
	      enum watch_owner owner);
/* Ends all the owner's watches of the VM. */
void watch_del_all(struct vm *vm, enum watch_owner owner);

/* A nested page fault on a watched page: the access emulated and logged,
 * or the fetch logged and stepped. False when the fault is not the
 * watch's (handle_npf goes on). */
bool watch_npf(struct vcpu *v, struct exit_info *e);
/* A step ended (#DB, MTF, an emulated instruction). True when it was only
 * the step over an execute-watched instruction, whose page loses the right
 * again; false when it was not, or gdb was stepping the vCPU too. */
bool watch_step_done(struct vcpu *v);
/* Steps over an execute-watched instruction not yet run are dropped (the
 * VM stops for gdb): the vCPU fetches again, and faults, when it runs. */
void watch_steps_drop(struct vm *vm);
/* A vCPU powered on again (its backend's debug state reset): its step over,
 * if any, ends. */
void watch_vcpu_reset(struct vcpu *v);
/* The backend's debug intercepts for v (GUEST_DEBUG_*, x86/vendor.h): the
 * gdb stub's, and the step of a step over. */
void vcpu_debug_update(struct vcpu *v);
/* Console: `watch [<vm> <addr> <len> [r|w|x...]]`, `unwatch <vm> <addr>|all`. */
void console_cmd_watch(int argc, char **argv);
void console_cmd_unwatch(int argc, char **argv);

#endif
