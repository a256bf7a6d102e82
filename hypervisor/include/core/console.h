/* The management console on the host serial line. */
#ifndef CORE_CONSOLE_H
#define CORE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

struct vm;
struct json;

void console_init(void);
/* printk's output sink once the core runs: keeps the prompt tidy. */
void console_sink(const char *s, size_t len);
/* Reads pending input; runs a command when a line is complete. */
void console_poll(void);
/* A guest's serial output: a whole line (end_of_line) or the part of one
 * that is ready; "[<vm name>] " starts each line. */
void console_guest_output(struct vm *vm, const char *s, size_t len, bool end_of_line);
/* Whether the console's input goes to this VM's UART. */
bool console_has_focus(const struct vm *vm);
/* Runs one command line (console.c). */
void console_run(char *cmdline);
/* Exits by reason and unbacked accesses of one VM (`stats`, batch end). */
void console_print_stats(const struct vm *vm);
/* Prints the one-line summary of every VM (console `vms`, batch end). */
void console_print_vms(void);

/* JSON mode (core/console_json.c; docs/console-json.md). */
extern bool console_json;
/* Switches between the human console and JSON lines (`mode`); back to
 * text once the running command's reply is out. */
void console_set_json(bool on);
/* The mode once the running command is done. */
bool console_mode_json(void);
void console_json_sink(const char *s, size_t len);
void console_json_guest(struct vm *vm, const char *s, size_t len, bool end_of_line);
/* Ends an unfinished log object before other output. */
void console_json_break(void);
/* Strips a leading "@ID " from a command line; *id is ID or NULL. */
char *console_json_request_id(char *line, const char **id);
/* A reply: begin, the command's output through printk, end. */
void console_json_reply_begin(const char *id, const char *cmd);
void console_json_reply_end(void);
/* State objects for the VMs that changed since the last call. */
void console_json_events(void);
/* The structured members of the last command's reply (console.c). */
void console_reply_fields(struct json *j);

#endif
