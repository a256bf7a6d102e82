/* SPDX-License-Identifier: MIT */
/*
 * hv.cfg parser (format: docs/config.md, API: config.h).
 *
 * The input is untrusted text of known length: it is never assumed to be
 * NUL-terminated and every read is bounded by that length. Lines are handled
 * in place as (pointer, length) pairs, so a line can be arbitrarily long.
 * Every string written to the output goes through a bounded copy that leaves
 * room for the terminating NUL.
 */
#include "config.h"

#define STR_(x)      #x
#define STR(x)       STR_(x)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NUL_TERM     ((size_t)-1) /* length of a NUL-terminated string argument */
#define EXCERPT_MAX  24           /* longest piece of input quoted in a message */
#define NR_KEYS_MAX  17           /* entries in the largest key table */

enum section { SEC_NONE, SEC_HYPERVISOR, SEC_VM, SEC_SKIP };

struct parser {
	struct cfg    *out;
	const char    *file;
	enum section   sec;
	struct cfg_vm *vm;          /* section being parsed (SEC_VM only) */
	unsigned       line;        /* current line, from 1 */
	const char    *hdr;         /* current section header, for messages */
	size_t         hdr_len;
	const char    *key;         /* assignment being parsed, for messages */
	const char    *val;
	size_t         val_len;
	unsigned       key_line[NR_KEYS_MAX]; /* where each key of this [vm] was set */
	unsigned       hv_key_line[2];        /* ... of [hypervisor], which may reopen */
	size_t         msg_len;
	char           msg[HV_ERROR_MAX];     /* message being built; last, so that
					       * ASan notices if it is overrun */
};

struct key_desc {
	const char *name;
	void (*set)(struct parser *p, const char *v, size_t n);
};

/* ---------------------------------------------------------------- text helpers */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_name_char(char c)
{
	return (c >= '0' && c <= '9') || (to_lower(c) >= 'a' && to_lower(c) <= 'z') ||
	       c == '_' || c == '-' || c == '.';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* Case-insensitive comparison of (s, n) with a NUL-terminated string. */
static bool str_ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!lit[i] || to_lower(s[i]) != to_lower(lit[i]))
			return false;
	return lit[i] == '\0';
}

/* Copy at most n bytes, stopping at a NUL, and always terminate. */
static void str_copy(char *dst, size_t cap, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n && src[i] && i + 1 < cap; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* ---------------------------------------------------------------- messages */

static void msg_putn(struct parser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i] && p->msg_len + 1 < sizeof(p->msg); i++)
		p->msg[p->msg_len++] = s[i];
	p->msg[p->msg_len] = '\0';
}

static void msg_putu(struct parser *p, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	msg_putn(p, buf + i, sizeof(buf) - i);
}

/*
 * Append fmt, replacing %s by the string (s, n), %q by the same shortened and
 * in double quotes, %x by the first byte of s in hex and %u by u. Input is
 * only quoted after it has been checked to be printable ASCII.
 */
static void msg_add(struct parser *p, const char *fmt, const char *s, size_t n, uint64_t u)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *fmt; fmt++) {
		if (*fmt != '%' || !fmt[1]) {
			msg_putn(p, fmt, 1);
			continue;
		}
		switch (*++fmt) {
		case 's':
			msg_putn(p, s, n);
			break;
		case 'q':
			msg_add(p, n > EXCERPT_MAX ? "\"%s...\"" : "\"%s\"", s,
				n > EXCERPT_MAX ? EXCERPT_MAX - 3 : n, 0);
			break;
		case 'x':
			msg_putn(p, &hex[(unsigned char)s[0] >> 4], 1);
			msg_putn(p, &hex[(unsigned char)s[0] & 15], 1);
			break;
		case 'u':
			msg_putu(p, u);
			break;
		default:
			msg_putn(p, fmt - 1, 2);
		}
	}
}

/* Start a message: "FILE:LINE: " and 'vm "NAME": ' if it belongs to a VM. */
static void msg_begin(struct parser *p, unsigned line)
{
	p->msg_len = 0;
	msg_add(p, line ? "%s:%u: " : "%s: ", p->file, NUL_TERM, line);
	if (p->vm)
		msg_add(p, "vm \"%s\": ", p->vm->name, NUL_TERM, 0);
}

/* File the message: the current VM's first error, or a global error. */
static void msg_commit(struct parser *p)
{
	struct cfg *out = p->out;

	if (p->vm) {
		if (p->vm->nr_errors++ == 0)
			str_copy(p->vm->error, sizeof(p->vm->error), p->msg, p->msg_len);
		p->vm->valid = false;
	} else if (out->nr_errors < CFG_MAX_ERRORS) {
		str_copy(out->errors[out->nr_errors++], HV_ERROR_MAX, p->msg, p->msg_len);
	} else {
		out->nr_errors_dropped++;
	}
}

static void report(struct parser *p, unsigned line, const char *fmt,
		   const char *s, size_t n, uint64_t u)
{
	msg_begin(p, line);
	msg_add(p, fmt, s, n, u);
	msg_commit(p);
}

/* 'KEY "VALUE": why' for the assignment being parsed. */
static void value_fail(struct parser *p, const char *why, uint64_t u)
{
	msg_begin(p, p->line);
	msg_add(p, "%s ", p->key, NUL_TERM, 0);
	msg_add(p, "%q: ", p->val, p->val_len, 0);
	msg_add(p, why, NULL, 0, u);
	msg_commit(p);
}

/* ---------------------------------------------------------------- values */

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return n > 0;
}

/* Decimal bytes with an optional K, M or G suffix (powers of 1024). */
static bool parse_size(const char *s, size_t n, uint64_t *out)
{
	char last = n ? to_lower(s[n - 1]) : '\0';
	unsigned shift = last == 'k' ? 10 : last == 'm' ? 20 : last == 'g' ? 30 : 0;

	if (shift)
		n--;
	if (!parse_u64(s, n, out) || *out > (UINT64_MAX >> shift))
		return false;
	*out <<= shift;
	return true;
}

/* -1 (after the message) when the value is not a switch. */
static int parse_switch(struct parser *p, const char *v, size_t n)
{
	static const char *const words[] = { "off", "on", "no", "yes", "false", "true", "0", "1" };

	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (str_ieq(v, n, words[i]))
			return i & 1;
	value_fail(p, "expected on or off (or yes/no, true/false, 1/0)", 0);
	return -1;
}

static void set_batch(struct parser *p, const char *v, size_t n)
{
	int on = parse_switch(p, v, n);

	if (on >= 0)
		p->out->batch = on;
}

static void set_flight_recorder(struct parser *p, const char *v, size_t n)
{
	int on = parse_switch(p, v, n);

	if (on >= 0)
		p->out->no_flight_recorder = !on;
}

/* A key that turns one HV_DEV_* flag on or off. */
static void set_device(struct parser *p, const char *v, size_t n, uint32_t flag)
{
	int on = parse_switch(p, v, n);

	if (on >= 0)
		p->vm->devices = on ? p->vm->devices | flag : p->vm->devices & ~flag;
}

static void set_testdev(struct parser *p, const char *v, size_t n)
{
	set_device(p, v, n, HV_DEV_TESTDEV);
}

static void set_rng(struct parser *p, const char *v, size_t n)
{
	set_device(p, v, n, HV_DEV_VIRTIO_RNG);
}

/* Default on, so the flag says off. */
static void set_event_idx(struct parser *p, const char *v, size_t n)
{
	int on = parse_switch(p, v, n);

	if (on >= 0)
		p->vm->devices = on ? p->vm->devices & ~HV_DEV_NO_EVENT_IDX
				    : p->vm->devices | HV_DEV_NO_EVENT_IDX;
}

static void set_virtio_console(struct parser *p, const char *v, size_t n)
{
	set_device(p, v, n, HV_DEV_VIRTIO_CONSOLE);
}

static void set_net(struct parser *p, const char *v, size_t n)
{
	set_device(p, v, n, HV_DEV_VIRTIO_NET);
}

static void set_disk_readonly(struct parser *p, const char *v, size_t n)
{
	set_device(p, v, n, HV_DEV_DISK_READONLY);
}

static void set_autostart(struct parser *p, const char *v, size_t n)
{
	int on = parse_switch(p, v, n);

	if (on >= 0)
		p->vm->autostart = on;
}

static void set_transport(struct parser *p, const char *v, size_t n)
{
	if (str_ieq(v, n, "pci"))
		p->vm->devices &= ~HV_DEV_VIRTIO_MMIO;
	else if (str_ieq(v, n, "mmio"))
		p->vm->devices |= HV_DEV_VIRTIO_MMIO;
	else
		value_fail(p, "expected pci or mmio", 0);
}

static int hex_digit(char c)
{
	c = to_lower(c);
	if (c >= '0' && c <= '9')
		return c - '0';
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Exactly six two-digit hex bytes separated by ':' (52:54:00:12:34:56). */
static bool parse_mac(const char *s, size_t n, uint8_t mac[6])
{
	if (n != 6 * 3 - 1)
		return false;
	for (size_t i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static void set_mac(struct parser *p, const char *v, size_t n)
{
	uint8_t mac[6];
	const char *why = NULL;

	if (!parse_mac(v, n, mac))
		why = "expected six hex bytes like 52:54:00:12:34:56";
	else if (mac[0] & 1)  /* IEEE 802: the individual/group bit */
		why = "multicast (bit 0 of the first byte is set); a NIC needs a unicast address";
	else if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		why = "the all-zero address is not a valid MAC";
	if (why) {
		value_fail(p, why, 0);
		return;
	}
	for (size_t i = 0; i < 6; i++)
		p->vm->mac[i] = mac[i];
	p->vm->devices |= HV_DEV_MAC_SET;
}

static void set_memory(struct parser *p, const char *v, size_t n)
{
	uint64_t size;

	if (!parse_size(v, n, &size))
		value_fail(p, "expected a size like 64M", 0);
	else if (size < CFG_MEM_MIN || size > CFG_MEM_MAX)
		value_fail(p, "must be between 2M and 3G (guest RAM ends below the device "
			   "window at 0xc0000000)", 0);
	else if (size % CFG_MEM_ALIGN)
		value_fail(p, "must be a multiple of 2M", 0);
	else
		p->vm->mem_size = size;
}

static void set_vcpus(struct parser *p, const char *v, size_t n)
{
	uint64_t nr;

	if (!parse_u64(v, n, &nr) || nr < 1 || nr > CFG_MAX_VCPUS)
		value_fail(p, "expected a number from 1 to %u", CFG_MAX_VCPUS);
	else
		p->vm->nr_vcpus = (uint32_t)nr;
}

/* "0,2-3": host CPUs by number, single or as ranges, each below
 * CFG_MAX_CPU_ID + 1. */
static bool parse_cpu_list(const char *s, size_t n, uint64_t *mask)
{
	uint64_t m = 0;
	size_t i = 0;

	while (i < n) {
		size_t start = i, dash = n, end;
		uint64_t lo, hi;

		while (i < n && s[i] != ',')
			i++;
		end = i++;
		for (size_t k = start; k < end; k++)
			if (s[k] == '-' && dash == n)
				dash = k;
		if (dash == n) {
			if (!parse_u64(s + start, end - start, &lo))
				return false;
			hi = lo;
		} else if (!parse_u64(s + start, dash - start, &lo) ||
			   !parse_u64(s + dash + 1, end - dash - 1, &hi)) {
			return false;
		}
		if (lo > hi || hi > CFG_MAX_CPU_ID)
			return false;
		for (uint64_t c = lo; c <= hi; c++)
			m |= 1ull << c;
		if (i == n && s[n - 1] == ',')
			return false;     /* "0," */
	}
	*mask = m;
	return m != 0;
}

static void set_cpus(struct parser *p, const char *v, size_t n)
{
	uint64_t mask;

	if (!parse_cpu_list(v, n, &mask))
		value_fail(p, "expected host CPU numbers from 0 to %u, like 1 or 0,2-3",
			   CFG_MAX_CPU_ID);
	else
		p->vm->cpu_mask = mask;
}

/* Why a path cannot name a file on the ESP, or NULL if it can. */
static const char *path_problem(const char *v, size_t n)
{
	size_t start = 0;

	if (n == 0)
		return "expected a path like guests/minimal.elf";
	if (v[0] == '/')
		return "paths are relative to the ESP root: drop the leading '/'";
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? v[i] : '/';

		if (c == '\\')
			return "separate directories with '/', not '\\'";
		if (c == '"' || c == '*' || c == ':' || c == '<' || c == '>' || c == '?' ||
		    c == '|' || c == '\t')
			return "FAT file names cannot contain tabs or \"*:<>?|";
		if (c != '/')
			continue;
		if (i == start)
			return "empty directory name ('//' or a trailing '/')";
		if (str_ieq(v + start, i - start, ".") || str_ieq(v + start, i - start, ".."))
			return "'.' and '..' are not allowed in paths";
		start = i + 1;
	}
	return NULL;
}

static void set_path(struct parser *p, const char *v, size_t n, char *dst)
{
	const char *why = path_problem(v, n);

	if (n >= HV_PATH_MAX)
		value_fail(p, "too long (at most %u characters)", HV_PATH_MAX - 1);
	else if (why)
		value_fail(p, why, 0);
	else
		str_copy(dst, HV_PATH_MAX, v, n);
}

static void set_kernel(struct parser *p, const char *v, size_t n)
{
	set_path(p, v, n, p->vm->kernel);
}

static void set_initrd(struct parser *p, const char *v, size_t n)
{
	set_path(p, v, n, p->vm->initrd);
}

static void set_disk(struct parser *p, const char *v, size_t n)
{
	set_path(p, v, n, p->vm->disk);
}

static void set_cmdline(struct parser *p, const char *v, size_t n)
{
	if (n >= HV_CMDLINE_MAX)
		value_fail(p, "too long (at most %u characters)", HV_CMDLINE_MAX - 1);
	else
		str_copy(p->vm->cmdline, sizeof(p->vm->cmdline), v, n);
}

static void set_boot(struct parser *p, const char *v, size_t n)
{
	static const struct { const char *name; uint32_t protocol; } protocols[] = {
		{ "kestrel", HV_BOOT_KESTREL },
		{ "linux", HV_BOOT_LINUX },
		{ "pvh", HV_BOOT_PVH },
		{ "multiboot", HV_BOOT_MULTIBOOT },
	};

	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
		if (str_ieq(v, n, protocols[i].name)) {
			p->vm->boot_protocol = protocols[i].protocol;
			return;
		}
	}
	value_fail(p, "expected kestrel, linux, pvh or multiboot", 0);
}

/* Keys checked when the section ends: the required ones (memory, kernel) and
 * those that only make sense with another (disk-readonly, mac). */
enum { KEY_MEMORY, KEY_KERNEL, KEY_DISK, KEY_DISK_READONLY, KEY_MAC };

static const struct key_desc vm_keys[] = {
	[KEY_MEMORY] = { "memory", set_memory },
	[KEY_KERNEL] = { "kernel", set_kernel },
	[KEY_DISK] = { "disk", set_disk },
	[KEY_DISK_READONLY] = { "disk-readonly", set_disk_readonly },
	[KEY_MAC] = { "mac", set_mac },
	{ "vcpus", set_vcpus },
	{ "initrd", set_initrd },
	{ "cmdline", set_cmdline },
	{ "boot", set_boot },
	{ "testdev", set_testdev },
	{ "transport", set_transport },
	{ "net", set_net },
	{ "rng", set_rng },
	{ "virtio-console", set_virtio_console },
	{ "event-idx", set_event_idx },
	{ "autostart", set_autostart },
	{ "cpus", set_cpus },
};

static const struct key_desc hypervisor_keys[] = {
	{ "batch", set_batch },
	{ "flight-recorder", set_flight_recorder },
};

_Static_assert(ARRAY_LEN(vm_keys) <= NR_KEYS_MAX, "key_line[] too small");
_Static_assert(ARRAY_LEN(hypervisor_keys) <= ARRAY_LEN(((struct parser *)0)->hv_key_line),
	       "hv_key_line[] too small");
_Static_assert(HV_VM_NAME_MAX == 32, "messages say a VM name has at most 31 characters");

/* ---------------------------------------------------------------- sections */

/* What can only be judged once the whole [vm NAME] section has been read. */
static void vm_check(struct parser *p)
{
	const unsigned *line = p->key_line;

	for (unsigned k = KEY_MEMORY; k <= KEY_KERNEL; k++)
		if (!line[k])
			report(p, p->vm->line, "no %s line; it is required", vm_keys[k].name,
			       NUL_TERM, 0);
	if (line[KEY_DISK_READONLY] && !line[KEY_DISK])
		report(p, line[KEY_DISK_READONLY], "%s: there is no disk line to apply it to",
		       vm_keys[KEY_DISK_READONLY].name, NUL_TERM, 0);
	if (line[KEY_MAC] && !(p->vm->devices & HV_DEV_VIRTIO_NET))
		report(p, line[KEY_MAC], "%s: needs net = on; without it the VM has no NIC",
		       vm_keys[KEY_MAC].name, NUL_TERM, 0);
}

static void section_finish(struct parser *p)
{
	if (p->vm)
		vm_check(p);
	p->vm = NULL;
	p->sec = SEC_NONE;
	for (unsigned i = 0; i < NR_KEYS_MAX; i++)
		p->key_line[i] = 0;
}

/* A section that cannot be used: report it and ignore its lines. */
static void header_fail(struct parser *p, const char *why)
{
	msg_begin(p, p->line);
	msg_add(p, "%q: ", p->hdr, p->hdr_len, 0);
	msg_add(p, why, NULL, 0, 0);
	msg_add(p, "; lines up to the next section are ignored", NULL, 0, 0);
	msg_commit(p);
	p->sec = SEC_SKIP;
}

static void vm_open(struct parser *p, const char *name, size_t n)
{
	struct cfg *out = p->out;
	struct cfg_vm *vm;
	size_t i;

	for (i = 0; i < n && is_name_char(name[i]); i++)
		;
	if (n == 0 || n >= HV_VM_NAME_MAX || i < n) {
		header_fail(p, "a VM name is 1 to 31 characters from A-Z a-z 0-9 _ . -");
		return;
	}
	if (out->nr_vms == HV_MAX_VMS) {
		header_fail(p, "too many VMs (at most " STR(HV_MAX_VMS) ")");
		return;
	}
	vm = &out->vms[out->nr_vms++];
	str_copy(vm->name, sizeof(vm->name), name, n);
	vm->line = p->line;
	vm->valid = true;
	vm->nr_vcpus = 1;
	vm->boot_protocol = HV_BOOT_KESTREL;
	vm->autostart = true;
	p->vm = vm;
	p->sec = SEC_VM;
	/* Ignoring case keeps names unambiguous when typed at the console. */
	for (struct cfg_vm *o = out->vms; o < vm; o++) {
		if (str_ieq(name, n, o->name)) {
			report(p, p->line, "name already used by the VM on line %u", NULL, 0, o->line);
			break;
		}
	}
}

/* s[0] is '['; the previous section has been finished. */
static void header_parse(struct parser *p, const char *s, size_t n)
{
	const char *rest;
	size_t word = 0, rest_len;

	p->hdr = s;
	p->hdr_len = n;
	if (s[n - 1] != ']') {
		header_fail(p, "a section header ends with ']'");
		return;
	}
	s++;
	n -= 2;
	trim(&s, &n);
	while (word < n && !is_blank(s[word]))
		word++;
	rest = s + word;
	rest_len = n - word;
	trim(&rest, &rest_len);
	if (str_ieq(s, word, "vm"))
		vm_open(p, rest, rest_len);
	else if (!str_ieq(s, word, "hypervisor"))
		header_fail(p, "unknown section (expected [hypervisor] or [vm NAME])");
	else if (rest_len)
		header_fail(p, "[hypervisor] takes no name");
	else
		p->sec = SEC_HYPERVISOR;
}

/* ---------------------------------------------------------------- lines */

static void key_dispatch(struct parser *p, const struct key_desc *keys, size_t nr_keys,
			 unsigned *key_line, const char *key, size_t key_len)
{
	for (size_t i = 0; i < nr_keys; i++) {
		if (!str_ieq(key, key_len, keys[i].name))
			continue;
		p->key = keys[i].name;
		if (key_line[i]) {
			report(p, p->line, "%s: set twice (first on line %u)", p->key, NUL_TERM,
			       key_line[i]);
		} else {
			key_line[i] = p->line;
			keys[i].set(p, p->val, p->val_len);
		}
		return;
	}
	report(p, p->line, p->sec == SEC_VM ?
	       "unknown key %q (docs/config.md lists the keys)" :
	       "unknown key %q (expected batch or flight-recorder)", key, key_len, 0);
}

static void assignment_parse(struct parser *p, const char *s, size_t n)
{
	size_t key_len = 0, eq;

	while (key_len < n && is_name_char(s[key_len]) && s[key_len] != '.')
		key_len++;
	for (eq = key_len; eq < n && is_blank(s[eq]); eq++)
		;
	if (key_len == 0 || eq == n || s[eq] != '=') {
		report(p, p->line, "%q: expected \"key = value\" or a [section] header", s, n, 0);
		return;
	}
	if (p->sec == SEC_NONE) {
		report(p, p->line, "%q: setting outside any section", s, n, 0);
		return;
	}
	p->val = s + eq + 1;
	p->val_len = n - eq - 1;
	trim(&p->val, &p->val_len);
	if (p->val_len && p->val[0] == '"') {
		if (p->val_len < 2 || p->val[p->val_len - 1] != '"') {
			report(p, p->line, "%q: missing closing '\"'", s, n, 0);
			return;
		}
		p->val++;
		p->val_len -= 2;
	}
	if (p->sec == SEC_VM)
		key_dispatch(p, vm_keys, ARRAY_LEN(vm_keys), p->key_line, s, key_len);
	else
		key_dispatch(p, hypervisor_keys, ARRAY_LEN(hypervisor_keys), p->hv_key_line,
			     s, key_len);
}

/*
 * Length of the line before its comment: '#' or ';' at the start or after a
 * blank, outside double quotes. *bad is the index of the first byte not
 * allowed (control bytes anywhere, non-ASCII outside comments), or n.
 */
static size_t line_scan(const char *s, size_t n, size_t *bad)
{
	size_t end = n;
	bool quoted = false;

	for (*bad = 0; *bad < n; ++*bad) {
		unsigned char c = (unsigned char)s[*bad];

		if ((c < 0x20 && c != '\t') || c == 0x7f || (c >= 0x80 && end == n))
			break;
		if (end < n)
			continue;
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && (c == '#' || c == ';') && (*bad == 0 || is_blank(s[*bad - 1])))
			end = *bad;
	}
	return end;
}

static void line_parse(struct parser *p, const char *s, size_t n)
{
	size_t col = 1, bad, len;
	bool header;

	for (; n && is_blank(*s); s++, n--)
		col++;
	header = n && s[0] == '[';
	if (header)
		section_finish(p);
	else if (p->sec == SEC_SKIP)
		return;
	len = line_scan(s, n, &bad);
	if (bad < n) {
		report(p, p->line, s[bad] == '\0' ? "NUL byte at column %u" :
		       (unsigned char)s[bad] < 0x80 ? "control byte 0x%x at column %u" :
		       "byte 0x%x at column %u: only comments may hold non-ASCII text",
		       s + bad, 1, col + bad);
		p->sec = header ? SEC_SKIP : p->sec;
	} else {
		trim(&s, &len);
		if (len && header)
			header_parse(p, s, len);
		else if (len)
			assignment_parse(p, s, len);
	}
}

void config_parse(const char *text, size_t len, const char *file_name, struct cfg *out)
{
	struct parser p = { .out = out, .file = file_name ? file_name : "config" };
	size_t pos = 0;

	*out = (struct cfg){ 0 };
	if (!text)
		len = 0;
	while (pos < len) {
		size_t end = pos, n;

		while (end < len && text[end] != '\n')
			end++;
		n = end - pos;
		if (n && text[end - 1] == '\r')
			n--;
		p.line++;
		line_parse(&p, text + pos, n);
		pos = end + 1;
	}
	section_finish(&p);
	if (out->nr_vms == 0)
		report(&p, 0, "no [vm NAME] section, so there is nothing to run", NULL, 0, 0);
}
