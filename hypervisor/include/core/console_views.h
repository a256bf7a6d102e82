/* Console views of a guest: memory, page walks, vCPU state (issue 11). */
#ifndef CORE_CONSOLE_VIEWS_H
#define CORE_CONSOLE_VIEWS_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* The bytes `mem` shows at most per command. */
#define CONSOLE_MEM_MAX 4096

/* The VM a console argument names (id or name), or NULL after an error
 * message (console.c). */
struct vm *console_arg_vm(const char *arg);

/* "0x..." hex or decimal, the whole string; false when not a number. */
bool console_parse_u64(const char *s, uint64_t *out);
/* `mem <vm> <addr> [len]`: hex dump, guest-virtual through vCPU 0's paging
 * or guest-physical with a "p:" prefix. */
void console_cmd_mem(int argc, char **argv);
/* `walk <vm> <gva>`: every level of vCPU 0's walk and of the nested one. */
void console_cmd_walk(int argc, char **argv);
/* `vcpu <vm> <n>`: control registers, segments, events, local APIC. */
void console_cmd_vcpu(int argc, char **argv);

#endif
