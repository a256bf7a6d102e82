/*
 * The console's terminal: the prompt and line editor, the input focus
 * (hypervisor console or one VM's UART, switched with Ctrl-A three times,
 * as on Xen), and who owns the partly written line on the screen so that
 * hypervisor messages, guest lines and the prompt never share a line.
 */
#include <core/console.h>
#include <core/vm.h>
#include <devices/uart16550.h>
#include <virtio/virtio_console.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/serial.h>

#define PROMPT       "kestrel> "
#define LINE_MAX     128
#define CTRL_A       0x01
#define SWITCH_PRESSES 3

static char line[LINE_MAX];
static unsigned line_len;
static bool last_cr;

/* Owner of the partial line on the terminal: nothing, the prompt, or a VM
 * whose unfinished line is showing. */
static const void *line_owner;
static const char prompt_owner;
static bool prompt_lost, console_printing;

static bool json_off_pending;     /* `mode text`: after its reply */

static struct vm *focus;          /* NULL: input goes to the hypervisor */
static unsigned ctrl_a_run;

/*
 * Bytes typed for the focused VM while its UART's FIFO is full. The host
 * UART is always read, so the Ctrl-A escape is seen whatever the guest
 * does (a guest in loopback with a full FIFO once locked the operator out:
 * security review finding 8); what the guest cannot take yet waits here,
 * and past PENDING_MAX it is dropped and counted.
 */
#define PENDING_MAX  256
static uint8_t pending[PENDING_MAX];
static unsigned pending_head, pending_len;
static uint64_t pending_dropped;

/* Ends whatever partial line is showing before other output. */
static void line_break(void)
{
	if (!line_owner)
		return;
	serial_write("\n", 1);
	if (line_owner == &prompt_owner)
		prompt_lost = true;
	line_owner = NULL;
}

void console_sink(const char *s, size_t len)
{
	if (console_json) {
		console_json_sink(s, len);
		return;
	}
	if (!console_printing)
		line_break();
	serial_write(s, len);
}

void console_guest_output(struct vm *vm, const char *s, size_t len, bool end_of_line)
{
	if (console_json) {
		console_json_guest(vm, s, len, end_of_line);
		return;
	}
	if (line_owner != vm) {
		line_break();
		serial_write("[", 1);
		serial_write(vm->name, strlen(vm->name));
		serial_write("] ", 2);
	}
	serial_write(s, len);
	if (end_of_line)
		serial_write("\n", 1);
	line_owner = end_of_line ? NULL : vm;
}

bool console_has_focus(const struct vm *vm)
{
	return focus == vm;
}

static void console_prompt(void)
{
	if (console_json)
		return;
	line_break();
	console_printing = true;
	printk(PROMPT "%.*s", (int)line_len, line);
	console_printing = false;
	line_owner = &prompt_owner;
	prompt_lost = false;
}

/* Echoes what console_key just did to the line. If guest output broke the
 * prompt's line, the redrawn prompt already shows the line as it now is
 * (with the new character, or without the erased one): echoing it again
 * would show it twice. Only the Enter's line end is still due. */
static void console_echo(const char *s)
{
	if (console_json)
		return;
	if (prompt_lost || line_owner != &prompt_owner) {
		console_prompt();
		if (s[0] != '\n')
			return;
	}
	console_printing = true;
	printk("%s", s);
	console_printing = false;
}

void console_set_json(bool on)
{
	json_off_pending = console_json && !on;
	if (on && !console_json) {
		console_json = true;
		ctrl_a_run = 0;
		line_owner = NULL;
	}
}

bool console_mode_json(void)
{
	return console_json && !json_off_pending;
}

static bool blank(const char *s)
{
	while (*s == ' ')
		s++;
	return !*s;
}

/* Runs a command line; in JSON mode its output becomes one reply object
 * (`mode json` typed at the human console gets one too, its first). */
static void console_exec(char *cmdline)
{
	char cmd[LINE_MAX];
	const char *id = NULL;
	bool json = console_json;

	if (json)
		cmdline = console_json_request_id(cmdline, &id);
	if (json && !id && blank(cmdline))
		return;
	memcpy(cmd, cmdline, strlen(cmdline) + 1);     /* shorter than line[] */
	if (json)
		console_json_reply_begin(id, cmd);
	console_run(cmdline);
	if (!json && console_json)
		console_json_reply_begin(NULL, cmd);
	if (console_json)
		console_json_reply_end();
	if (json_off_pending) {
		console_json = json_off_pending = false;
		line_owner = NULL;
	}
}

static void console_key(int c)
{
	bool lf_after_cr = c == '\n' && last_cr;

	last_cr = c == '\r';
	if (lf_after_cr)
		return;
	if (c == '\r' || c == '\n') {
		console_echo("\n");
		line_owner = NULL;
		line[line_len] = '\0';
		console_exec(line);
		line_len = 0;
		console_prompt();
	} else if ((c == 0x7f || c == 0x08) && line_len) {
		line_len--;
		console_echo("\b \b");
	} else if (c >= 0x20 && c < 0x7f && line_len < LINE_MAX - 1) {
		char echo[2] = { (char)c, '\0' };

		line[line_len++] = (char)c;
		console_echo(echo);
	}
}

/* A VM's input goes to its virtio console once the driver runs (Linux
 * with console=hvc0), else to its UART. */
static bool input_can_accept(struct vm *vm)
{
	return virtio_console_active(vm) ? virtio_console_can_accept(vm)
					 : uart16550_can_accept(vm);
}

static void input_put(struct vm *vm, uint8_t c)
{
	if (virtio_console_active(vm))
		virtio_console_input(vm, c);
	else
		uart16550_input(vm, c);
}

static void pending_drain(void)
{
	while (focus && pending_len && input_can_accept(focus)) {
		input_put(focus, pending[pending_head]);
		pending_head = (pending_head + 1) % PENDING_MAX;
		pending_len--;
	}
}

static void pending_drop_all(void)
{
	if (pending_len || pending_dropped)
		printk("kestrel: %u typed bytes not taken by the guest were dropped\n",
		       (unsigned)(pending_len + pending_dropped));
	pending_len = 0;
	pending_dropped = 0;
}

/* Console -> each live VM in turn -> console. */
static void console_switch_focus(void)
{
	unsigned start = focus ? focus->id + 1 : 0;

	pending_drop_all();
	focus = NULL;
	for (unsigned i = start; i < nr_vms && !focus; i++)
		if (vm_is_live(vms[i]))
			focus = vms[i];
	if (focus) {
		printk("kestrel: console input goes to vm %u (%s); Ctrl-A three times to "
		       "switch\n", focus->id, focus->name);
		uart16550_show_partial(focus);
		virtio_console_show_partial(focus);
	} else {
		printk("kestrel: console input goes to the hypervisor\n");
		console_prompt();
	}
}

static void route(int c)
{
	if (!focus) {
		console_key(c);
		return;
	}
	pending_drain();
	if (!pending_len && input_can_accept(focus))
		input_put(focus, (uint8_t)c);
	else if (pending_len < PENDING_MAX)
		pending[(pending_head + pending_len++) % PENDING_MAX] = (uint8_t)c;
	else
		pending_dropped++;
}

void console_poll(void)
{
	int c;

	/* A VM that stopped gives the input back. */
	if (focus && !vm_is_live(focus)) {
		pending_drop_all();
		focus = NULL;
		printk("kestrel: console input goes to the hypervisor\n");
		console_prompt();
	}
	pending_drain();
	while ((c = serial_getc()) >= 0) {
		if (console_json) {          /* no input focus: every line is a command */
			console_key(c);
			continue;
		}
		if (c == CTRL_A && ++ctrl_a_run < SWITCH_PRESSES)
			continue;
		if (ctrl_a_run == SWITCH_PRESSES) {
			ctrl_a_run = 0;
			console_switch_focus();
			continue;
		}
		/* Fewer than three: they were meant for the guest or the editor. */
		for (; ctrl_a_run; ctrl_a_run--)
			route(CTRL_A);
		route(c);
	}
	console_json_events();
	console_json_break();
}

void console_init(void)
{
	printk("kestrel: console ready; type `help`; Ctrl-A three times switches the input "
	       "between the hypervisor and each VM\n");
	console_prompt();
}
