/* The console's JSON mode (core/console_json.c) on the host: a reply's
 * output and error however printk cuts it, log lines split at line ends
 * and closed before other objects, request ids, and state objects only for
 * what changed. Every line written is parsed back by Python in
 * test_kestrelctl; here the exact text is checked. */
// UNIT-SOURCES: hypervisor/core/console_json.c hypervisor/lib/json.c hypervisor/lib/string.c
#include <core/console.h>
#include <core/vm.h>
#include <x86/serial.h>
#include <string.h>
#include "unit.h"

static char wire[16384];
static size_t wire_len;

void serial_write(const char *s, size_t len)
{
	if (wire_len + len < sizeof(wire)) {
		memcpy(wire + wire_len, s, len);
		wire_len += len;
	}
	wire[wire_len] = '\0';
}

static struct vm vm_store[2];
struct vm *vms[MAX_VMS] = { &vm_store[0], &vm_store[1] };
unsigned nr_vms = 2;

const char *vm_state_name(enum vm_state s)
{
	static const char *const names[] = { "failed", "running", "paused", "stopped" };

	return (unsigned)s < 4 ? names[s] : "?";
}

bool vm_is_live(const struct vm *vm)
{
	return vm->state == VM_RUNNING || vm->state == VM_PAUSED;
}

static bool fields_called;

void console_reply_fields(struct json *j)
{
	(void)j;
	fields_called = true;
}

/* What was written since the last call. */
static const char *take(void)
{
	static char copy[sizeof(wire)];

	memcpy(copy, wire, wire_len + 1);
	wire_len = 0;
	wire[0] = '\0';
	return copy;
}

#define CHECK_WIRE(expected)                                                  \
	do {                                                                  \
		const char *got_ = take();                                    \
		CHECK_MSG(!strcmp(got_, expected), "\n got  %s\n want %s", got_, expected); \
	} while (0)

static void reply(const char *id, const char *cmd, const char *const *chunks)
{
	fields_called = false;
	console_json_reply_begin(id, cmd);
	for (; *chunks; chunks++)
		console_json_sink(*chunks, strlen(*chunks));
	console_json_reply_end();
}

static void test_replies(void)
{
	static const char *const ok_out[] = { "a \"b\"\n", "error: not at the start\n", NULL };
	static const char *const err_out[] = { "vm 1\n", "err", "or: no VM \"x\"", "\n",
					       "error: second\n", NULL };
	static const char *const none[] = { NULL };

	reply(NULL, "vms", ok_out);
	CHECK_WIRE("{\"type\":\"reply\",\"seq\":0,\"cmd\":\"vms\",\"output\":\"a \\\"b\\\"\\n"
		   "error: not at the start\\n\",\"ok\":false,\"error\":\"not at the start\"}\n");
	/* "error: " split across chunks, after another line; only the first error. */
	reply("r-1", "stop x", err_out);
	CHECK_WIRE("{\"type\":\"reply\",\"seq\":1,\"id\":\"r-1\",\"cmd\":\"stop x\",\"output\":"
		   "\"vm 1\\nerror: no VM \\\"x\\\"\\nerror: second\\n\",\"ok\":false,"
		   "\"error\":\"no VM \\\"x\\\"\"}\n");
	CHECK(!fields_called);
	reply(NULL, "info", none);
	CHECK_WIRE("{\"type\":\"reply\",\"seq\":2,\"cmd\":\"info\",\"output\":\"\",\"ok\":true}\n");
	CHECK(fields_called);
	/* " error: " is not an error line. */
	static const char *const indented[] = { " error: x\n", NULL };

	reply(NULL, "x", indented);
	CHECK(strstr(take(), "\"ok\":true") != NULL);
}

static void test_log_and_lines(void)
{
	console_json_sink("kestrel: one\nkestrel: tw", 24);
	console_json_sink("o\n", 2);
	CHECK_WIRE("{\"type\":\"log\",\"seq\":4,\"text\":\"kestrel: one\"}\n"
		   "{\"type\":\"log\",\"seq\":5,\"text\":\"kestrel: two\"}\n");
	/* An unfinished log line is closed before a guest line. */
	console_json_sink("part", 4);
	strcpy(vm_store[1].name, "b\"");
	vm_store[1].id = 1;
	console_json_guest(&vm_store[1], "x\by\x01\xff", 5, true);
	console_json_guest(&vm_store[1], "half", 4, false);
	CHECK_WIRE("{\"type\":\"log\",\"seq\":6,\"text\":\"part\"}\n"
		   "{\"type\":\"line\",\"seq\":7,\"vm\":1,\"name\":\"b\\\"\",\"text\":"
		   "\"x\\by\\u0001\\u00ff\"}\n"
		   "{\"type\":\"line\",\"seq\":8,\"vm\":1,\"name\":\"b\\\"\",\"text\":\"half\","
		   "\"partial\":true}\n");
	console_json_break();
	CHECK_WIRE("");
}

static void check_id(const char *line, const char *want_id, const char *want_rest)
{
	char buf[64];
	const char *id;
	const char *rest;

	strcpy(buf, line);
	rest = console_json_request_id(buf, &id);
	CHECK_MSG(want_id ? id && !strcmp(id, want_id) : !id, "%s: id %s", line, id);
	CHECK_MSG(!strcmp(rest, want_rest), "%s: rest '%s'", line, rest);
}

static void test_request_ids(void)
{
	check_id("@a-1_b.c vms", "a-1_b.c", "vms");
	check_id("@x", "x", "");
	check_id("vms", NULL, "vms");
	check_id("@ vms", NULL, "@ vms");
	check_id("@a\"b vms", NULL, "@a\"b vms");
	check_id("@0123456789abcdef0123456789abcdef vms", "0123456789abcdef0123456789abcdef",
		 "vms");
	check_id("@0123456789abcdef0123456789abcdef0 vms", NULL,
		 "@0123456789abcdef0123456789abcdef0 vms");
}

static void test_events(void)
{
	vm_store[0] = (struct vm){ .id = 0, .name = "a", .state = VM_RUNNING, .starts = 1 };
	vm_store[1] = (struct vm){ .id = 1, .name = "b", .state = VM_STOPPED,
				   .stop_reason = "powered off", .ended_well = true };
	/* Text mode: remembered, not written. */
	console_json = false;
	console_json_events();
	CHECK_WIRE("");
	console_json = true;
	console_json_events();
	CHECK_WIRE("");
	vm_store[0].state = VM_STOPPED;
	strcpy(vm_store[0].stop_reason, "stopped from the console");
	console_json_events();
	CHECK_WIRE("{\"type\":\"state\",\"seq\":9,\"vm\":0,\"name\":\"a\",\"state\":\"stopped\","
		   "\"previous\":\"running\",\"starts\":1,\"resets\":0,"
		   "\"reason\":\"stopped from the console\",\"ended_well\":false}\n");
	/* A reset: same state, one more reset. */
	vm_store[1].state = VM_RUNNING;
	vm_store[1].resets = 1;
	console_json_events();
	vm_store[1].resets = 2;
	console_json_events();
	CHECK_WIRE("{\"type\":\"state\",\"seq\":10,\"vm\":1,\"name\":\"b\",\"state\":\"running\","
		   "\"previous\":\"stopped\",\"starts\":0,\"resets\":1}\n"
		   "{\"type\":\"state\",\"seq\":11,\"vm\":1,\"name\":\"b\",\"state\":\"running\","
		   "\"previous\":\"running\",\"starts\":0,\"resets\":2}\n");
	console_json_events();
	CHECK_WIRE("");
}

static unsigned count(const char *s, const char *what)
{
	unsigned n = 0;

	for (; (s = strstr(s, what)); s++)
		n++;
	return n;
}

/* A guest line that comes while a reply is open (a stop flushing the VM's
 * UART) follows the reply as an object of its own; four wait, more are
 * dropped and said so. */
static void test_lines_held_during_a_reply(void)
{
	const char *w;

	take();
	console_json_reply_begin(NULL, "stop b");
	console_json_sink("kestrel: vm 1 (b) stopped\n", 26);
	console_json_guest(&vm_store[1], "tick", 4, false);
	console_json_sink("more\n", 5);
	for (unsigned i = 0; i < 5; i++)
		console_json_guest(&vm_store[1], "x", 1, true);
	console_json_reply_end();
	w = take();
	CHECK_MSG(strstr(w, "\"output\":\"kestrel: vm 1 (b) stopped\\nmore\\n\",\"ok\":true}\n"
			    "{\"type\":\"line\"") != NULL, "%s", w);
	CHECK_EQ(count(w, "\"type\":\"line\""), 4);
	CHECK(strstr(w, "\"text\":\"tick\",\"partial\":true}") != NULL);
	CHECK(strstr(w, "kestrel: guest lines dropped during a reply") != NULL);
	/* The next reply starts clean. */
	reply(NULL, "vms", (const char *const[]){ NULL });
	CHECK_EQ(count(take(), "\"type\":\"line\""), 0);
}

int main(void)
{
	test_replies();
	test_log_and_lines();
	test_request_ids();
	test_events();
	test_lines_held_during_a_reply();
	return unit_finish("test_console_json");
}
