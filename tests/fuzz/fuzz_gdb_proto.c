// SPDX-License-Identifier: MIT
// FUZZ-SOURCES: hypervisor/debug/gdb_proto.c
// FUZZ-OPTIONS: -max_len=12000
// libFuzzer target for the gdb remote protocol core (hypervisor/debug/gdb_proto.c):
// every byte on COM2 comes from whoever is at the other end.
//
// The input is the byte stream gdb would send, fed one byte at a time. Inputs that
// start with "!" instead get each later '#' followed by the right checksum of the
// packet before it, so the fuzzer reaches the commands without having to find
// checksums. A fake target has 2 threads and 8 KiB of memory at 0x1000; a Ctrl-C
// event stops it at once, as the stub does.
//
// Checked: everything sent is '+', '-' or one framed packet with a correct
// checksum and at most GDB_PKT_MAX bytes of payload; memory is read and written only
// inside the fake RAM (ASan); registers asked of the target are of a thread that
// exists; a stop reply is owed only after a resume.
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <debug/gdb_proto.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_BASE 0x1000
#define MEM_SIZE 0x2000

static uint8_t mem[MEM_SIZE];
static struct gdb_regs regs[3];
static struct gdb_proto proto;

static void check_packet(const char *buf, size_t len)
{
	uint8_t sum = 0;

	if (len == 1 && (buf[0] == '+' || buf[0] == '-'))
		return;
	if (len < 4 || len > GDB_PKT_MAX + 4 || buf[0] != '$' || buf[len - 3] != '#')
		abort();
	for (size_t i = 1; i < len - 3; i++)
		sum += (uint8_t)buf[i];
	if (gdb_hex_digit(buf[len - 2]) != sum >> 4 || gdb_hex_digit(buf[len - 1]) != (sum & 15))
		abort();
}

static void put(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	check_packet(buf, len);
}

static void attach(void *ctx) { (void)ctx; }
static void detach(void *ctx) { (void)ctx; }
static unsigned nr_threads(void *ctx) { (void)ctx; return 2; }

static int get_regs(void *ctx, unsigned thread, struct gdb_regs *r)
{
	(void)ctx;
	if (thread < 1 || thread > 2)
		abort();
	*r = regs[thread];
	return 0;
}

static int set_regs(void *ctx, unsigned thread, const struct gdb_regs *r)
{
	(void)ctx;
	if (thread < 1 || thread > 2)
		abort();
	regs[thread] = *r;
	return 0;
}

static size_t in_ram(uint64_t addr, size_t len)
{
	if (addr < MEM_BASE || addr >= MEM_BASE + MEM_SIZE)
		return 0;
	return addr + len > MEM_BASE + MEM_SIZE ? MEM_BASE + MEM_SIZE - addr : len;
}

static size_t read_mem(void *ctx, unsigned thread, uint64_t addr, uint8_t *buf, size_t len)
{
	size_t n = in_ram(addr, len);

	(void)ctx;
	(void)thread;
	if (len > GDB_PKT_MAX / 2)
		abort();
	if (n)
		memcpy(buf, mem + (addr - MEM_BASE), n);
	return n;
}

static size_t write_mem(void *ctx, unsigned thread, uint64_t addr, const uint8_t *buf,
			size_t len)
{
	size_t n = in_ram(addr, len);

	(void)ctx;
	(void)thread;
	if (n)
		memcpy(mem + (addr - MEM_BASE), buf, n);
	return n;
}

static void resume(void *ctx, unsigned thread, bool step, bool others)
{
	(void)ctx;
	(void)step;
	(void)others;
	if (thread < 1 || thread > 2)
		abort();              /* vCont's thread ids are checked before */
}

static int breakpoint(void *ctx, enum gdb_bp_type type, uint64_t addr, uint64_t kind,
		      bool insert)
{
	(void)ctx;
	(void)insert;
	if (type > GDB_WP_ACCESS)
		abort();
	if (type == GDB_WP_WRITE)
		return in_ram(addr, kind) == kind && kind ? 0 : -1;
	return type != GDB_BP_SOFT ? 1 : in_ram(addr, 1) ? 0 : -1;
}

static void monitor(void *ctx, const char *cmd, char *out, size_t len)
{
	size_t n = strlen(cmd);

	(void)ctx;
	/* Echo the command back, filling the answer when asked to. */
	if (n && cmd[0] == 'f')
		memset(out, 'x', len - 1), out[len - 1] = 0;
	else
		strncpy(out, cmd, len - 1), out[len - 1] = 0;
}

static const struct gdb_target_ops ops = {
	.put = put, .attach = attach, .detach = detach, .nr_threads = nr_threads,
	.get_regs = get_regs, .set_regs = set_regs, .read_mem = read_mem,
	.write_mem = write_mem, .resume = resume, .breakpoint = breakpoint,
	.monitor = monitor,
};

static void feed(uint8_t c)
{
	if (gdb_proto_rx(&proto, c) != GDB_EV_INTERRUPT)
		return;
	if (!proto.running || !proto.attached)
		abort();
	gdb_proto_stopped(&proto, GDB_SIGINT, 1, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	bool fix = size && data[0] == '!';
	uint8_t sum = 0;

	gdb_proto_init(&proto, &ops, NULL);
	for (size_t i = fix; i < size; i++) {
		feed(data[i]);
		sum = data[i] == '$' ? 0 : (uint8_t)(sum + data[i]);
		if (fix && data[i] == '#') {
			sum -= '#';
			feed((uint8_t)hex[sum >> 4]);
			feed((uint8_t)hex[sum & 15]);
		}
	}
	/* Stops and an exit at the end, whatever state the session is in. */
	gdb_proto_watch_hit(&proto, 1, MEM_BASE, (enum gdb_bp_type)(size % 3 + GDB_WP_WRITE));
	gdb_proto_stopped(&proto, GDB_SIGTRAP, 2, true);
	gdb_proto_exited(&proto, 0);
	return 0;
}
