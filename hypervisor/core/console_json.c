/*
 * The console's JSON mode (`mode json`; docs/console-json.md): every byte
 * on the serial line is part of one JSON object per line. Command output
 * streams into a reply's "output" string, hypervisor messages become log
 * objects, guest lines line objects, and VM state changes, noticed by
 * comparing each VM with what was last reported, state objects.
 */
#include <core/console.h>
#include <core/guest_line.h>
#include <core/vm.h>
#include <lib/json.h>
#include <lib/string.h>
#include <x86/serial.h>

#define ERROR_PREFIX "error: "
#define ERROR_MAX    160

bool console_json;

/* What the open JSON line is, if one is: nothing, a log line or a reply. */
static enum { OPEN_NONE, OPEN_LOG, OPEN_REPLY } open_kind;
static struct json out;
static uint64_t seq;

/* The reply's error: the output line being written (how far in, how much
 * of it matched ERROR_PREFIX, whether it is the first error line), and that
 * first line. */
static unsigned column, matched;
static bool failed, in_error;
static char error[ERROR_MAX];
static unsigned error_len;

static struct {
	bool known;
	enum vm_state state;
	unsigned starts, resets;
} seen[MAX_VMS];

/* Guest lines that come while a reply is open (a command that stops a VM
 * flushes its UART's partial line; with several CPUs that line is often
 * there) wait for the reply's end: an object cannot go inside another. */
#define HELD_LINES 4
static struct {
	struct vm *vm;
	bool end_of_line;
	size_t len;
	char text[GUEST_LINE_MAX];
} held[HELD_LINES];
static unsigned nr_held, held_dropped;

static void put(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	serial_write(s, len);
}

/* {"type":..., "seq":N ... */
static void object_begin(const char *type)
{
	json_init(&out, put, NULL);
	json_object_begin(&out, NULL);
	json_str(&out, "type", type);
	json_u64(&out, "seq", seq++);
}

static void object_end(void)
{
	json_object_end(&out);
	serial_write("\n", 1);
	open_kind = OPEN_NONE;
}

/* Ends an unfinished log line before another object. */
void console_json_break(void)
{
	if (open_kind != OPEN_LOG)
		return;
	json_str_end(&out);
	object_end();
}

static void log_text(const char *s, size_t len)
{
	while (len) {
		size_t n = 0;

		while (n < len && s[n] != '\n')
			n++;
		if (open_kind == OPEN_NONE) {
			object_begin("log");
			json_str_begin(&out, "text");
			open_kind = OPEN_LOG;
		}
		json_str_chunk(&out, s, n);
		if (n < len) {
			console_json_break();
			n++;
		}
		s += n;
		len -= n;
	}
}

#define PREFIX_LEN (sizeof(ERROR_PREFIX) - 1)

/* Notes the first output line that starts with "error: ". */
static void track_errors(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\n') {
			column = matched = 0;
			in_error = false;
		} else if (column < PREFIX_LEN) {
			matched += column++ == matched && c == ERROR_PREFIX[matched];
			if (matched == PREFIX_LEN) {
				in_error = !failed;
				failed = true;
			}
		} else if (in_error && error_len < ERROR_MAX) {
			error[error_len++] = c;
		}
	}
}

void console_json_sink(const char *s, size_t len)
{
	if (open_kind == OPEN_REPLY) {
		track_errors(s, len);
		json_str_chunk(&out, s, len);
	} else {
		log_text(s, len);
	}
}

static void line_object(const struct vm *vm, const char *s, size_t len, bool end_of_line)
{
	object_begin("line");
	json_u64(&out, "vm", vm->id);
	json_str(&out, "name", vm->name);
	json_strn(&out, "text", s, len);
	if (!end_of_line)
		json_bool(&out, "partial", true);
	object_end();
}

void console_json_guest(struct vm *vm, const char *s, size_t len, bool end_of_line)
{
	if (open_kind == OPEN_REPLY) {
		if (nr_held == HELD_LINES) {
			held_dropped++;
			return;
		}
		held[nr_held].vm = vm;
		held[nr_held].end_of_line = end_of_line;
		held[nr_held].len = len < GUEST_LINE_MAX ? len : GUEST_LINE_MAX;
		memcpy(held[nr_held].text, s, held[nr_held].len);
		nr_held++;
		return;
	}
	console_json_break();
	line_object(vm, s, len, end_of_line);
}

static void held_lines_flush(void)
{
	for (unsigned i = 0; i < nr_held; i++)
		line_object(held[i].vm, held[i].text, held[i].len, held[i].end_of_line);
	nr_held = 0;
	if (held_dropped) {
		object_begin("log");
		json_str(&out, "text", "kestrel: guest lines dropped during a reply");
		object_end();
		held_dropped = 0;
	}
}

/* A line may start with "@ID " (ID: letters, digits, '-', '_', '.'; at
 * most 32) so that a client can match the reply to its request. Returns
 * the command without it; *id is the ID or NULL. */
char *console_json_request_id(char *line, const char **id)
{
	char *s = line;

	*id = NULL;
	if (*s != '@')
		return line;
	for (s++; (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		  (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'; s++)
		;
	if (s - line < 2 || s - line > 33 || (*s != ' ' && *s != '\0'))
		return line;
	if (*s)
		*s++ = '\0';
	*id = line + 1;
	return s;
}

void console_json_reply_begin(const char *id, const char *cmd)
{
	console_json_break();
	object_begin("reply");
	if (id)
		json_str(&out, "id", id);
	json_str(&out, "cmd", cmd);
	json_str_begin(&out, "output");
	open_kind = OPEN_REPLY;
	column = matched = 0;
	failed = in_error = false;
	error_len = 0;
}

void console_json_reply_end(void)
{
	json_str_end(&out);
	json_bool(&out, "ok", !failed);
	if (failed)
		json_strn(&out, "error", error, error_len);
	else
		console_reply_fields(&out);
	object_end();
	held_lines_flush();
}

static void state_event(const struct vm *vm, const char *previous)
{
	object_begin("state");
	json_u64(&out, "vm", vm->id);
	json_str(&out, "name", vm->name);
	json_str(&out, "state", vm_state_name(vm->state));
	if (previous)
		json_str(&out, "previous", previous);
	json_u64(&out, "starts", vm->starts);
	json_u64(&out, "resets", vm->resets);
	if (!vm_is_live(vm)) {
		json_str(&out, "reason", vm->stop_reason);
		json_bool(&out, "ended_well", vm->ended_well);
	}
	object_end();
}

/* Reports each VM whose state, power-ons or resets changed since the last
 * call; in text mode it only remembers them, so that `mode json` starts
 * from the present. */
void console_json_events(void)
{
	for (unsigned i = 0; i < nr_vms && i < MAX_VMS; i++) {
		const struct vm *vm = vms[i];
		bool changed = !seen[i].known || seen[i].state != vm->state ||
			       seen[i].starts != vm->starts || seen[i].resets != vm->resets;

		if (changed && console_json) {
			console_json_break();
			state_event(vm, seen[i].known ? vm_state_name(seen[i].state) : NULL);
		}
		seen[i].known = true;
		seen[i].state = vm->state;
		seen[i].starts = vm->starts;
		seen[i].resets = vm->resets;
	}
}
