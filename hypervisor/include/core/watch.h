/*
 * Write-watch (console `watch`, issue 11 item 4): guest-physical ranges
 * whose pages lose their write right in the nested page tables; each write
 * that faults on such a page is emulated (core/watch.c) and, when it
 * touches a watched range, logged with the vCPU, RIP, address, size and
 * value. The set of ranges is a pure core (core/watch_core.c, host unit
 * test tests/unit/test_watch.c).
 */
#ifndef CORE_WATCH_H
#define CORE_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#define WATCH_MAX          4                /* ranges per VM */
#define WATCH_MAX_LEN      (16 * 4096ull)   /* bytes per range */
#define WATCH_LOG_MAX      1000             /* hits printed per range; the rest counted */

struct watch {
	uint64_t gpa, len;       /* len 0: the slot is free */
	uint64_t hits;
};

struct watch_set {
	struct watch w[WATCH_MAX];
};

/* Adds [gpa, gpa+len): the slot's index, or -1 when the set is full, -2
 * when len is 0 or over WATCH_MAX_LEN or the range wraps. */
int watch_set_add(struct watch_set *s, uint64_t gpa, uint64_t len);
/* The range that begins at gpa, or -1. */
int watch_set_find(const struct watch_set *s, uint64_t gpa);
void watch_set_remove(struct watch_set *s, unsigned idx);
/* The first range an access of `size` bytes at gpa touches, or -1. */
int watch_set_hit(const struct watch_set *s, uint64_t gpa, unsigned size);
/* Whether any range lies (partly) in the 4 KiB page at `page`. */
bool watch_set_covers_page(const struct watch_set *s, uint64_t page);

struct vcpu;
struct exit_info;

/* A nested page fault on a watched page: the write emulated and logged.
 * False when the fault is not the watch's (handle_npf goes on). */
bool watch_npf(struct vcpu *v, struct exit_info *e);
/* Console: `watch [<vm> <addr> <len> [w]]`, `unwatch <vm> <addr>|all`. */
void console_cmd_watch(int argc, char **argv);
void console_cmd_unwatch(int argc, char **argv);

#endif
