/*
 * gdb remote serial protocol core (see include/debug/gdb_proto.h). The
 * references are the gdb manual's appendix E: E.1 overview (framing,
 * checksums, escapes), E.2 packets, E.3 stop replies, E.4 general queries.
 */
#include <debug/gdb_proto.h>
#include <lib/string.h>

#define NO_REPLY ((size_t)-1)

typedef size_t gdb_cmd_fn(struct gdb_proto *p, const char *arg, const char *end);

static const char hex_chars[] = "0123456789abcdef";

int gdb_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gdb_parse_hex(const char **s, const char *end, uint64_t *val)
{
	const char *q = *s;
	uint64_t v = 0;

	while (q < end && gdb_hex_digit(*q) >= 0) {
		if (q - *s == 16)
			return -1;
		v = v << 4 | (uint64_t)gdb_hex_digit(*q++);
	}
	if (q == *s)
		return -1;
	*s = q;
	*val = v;
	return 0;
}

int gdb_hex_decode(const char *s, size_t len, uint8_t *buf)
{
	for (size_t i = 0; i < len; i++) {
		int hi = gdb_hex_digit(s[2 * i]), lo = gdb_hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void gdb_hex_encode(const uint8_t *buf, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex_chars[buf[i] >> 4];
		out[2 * i + 1] = hex_chars[buf[i] & 15];
	}
}

/* ------------------------------------------------------------ registers */

/* Sizes in gdb's register order: 17 of 8 bytes (GPRs, rip), 7 of 4 (eflags,
 * segments), st0-7 of 10, 8 x87 control of 4, xmm0-15 of 16, mxcsr of 4. */
static const struct { uint8_t count, size; } reg_runs[] = {
	{ 17, 8 }, { 7, 4 }, { 8, 10 }, { 8, 4 }, { 16, 16 }, { 1, 4 },
};

static unsigned reg_size(unsigned n)
{
	for (unsigned i = 0; i < sizeof(reg_runs) / sizeof(reg_runs[0]); i++) {
		if (n < reg_runs[i].count)
			return reg_runs[i].size;
		n -= reg_runs[i].count;
	}
	return 0;
}

/* Register n little-endian into out (reg_size(n) bytes); zero beyond the
 * core registers. */
static void reg_bytes(const struct gdb_regs *r, unsigned n, uint8_t *out)
{
	uint64_t v = n < GDB_NR_CORE_REGS ? r->r[n] : 0;
	unsigned size = reg_size(n);

	for (unsigned i = 0; i < size; i++)
		out[i] = i < 8 ? (uint8_t)(v >> (8 * i)) : 0;
}

static uint64_t le_value(const uint8_t *b, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = size < 8 ? size : 8; i-- > 0;)
		v = v << 8 | b[i];
	return v;
}

/*
 * The description (gdb manual, G.2 "Target Description Format"): the core
 * and SSE features in the 'g' order, register numbers running on from 0
 * as the format's default; then the segment bases and the system
 * registers, numbered from GDB_SYS_REG_FIRST. gdb's i386 code recognises
 * the first three features by name; the last is ours, and gdb shows its
 * registers by name ("system" group: `info registers system`). Written
 * without '$', '#', '}' and '*', so it goes out unescaped.
 */
const char gdb_target_xml[] =
	"<?xml version=\"1.0\"?>\n"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	"<target version=\"1.0\">\n"
	"<architecture>i386:x86-64</architecture>\n"
	"<feature name=\"org.gnu.gdb.i386.core\">\n"
	"<flags id=\"x86_eflags\" size=\"4\">\n"
	"<field name=\"CF\" start=\"0\" end=\"0\"/>\n"
	"<field name=\"PF\" start=\"2\" end=\"2\"/>\n"
	"<field name=\"AF\" start=\"4\" end=\"4\"/>\n"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/>\n"
	"<field name=\"SF\" start=\"7\" end=\"7\"/>\n"
	"<field name=\"TF\" start=\"8\" end=\"8\"/>\n"
	"<field name=\"IF\" start=\"9\" end=\"9\"/>\n"
	"<field name=\"DF\" start=\"10\" end=\"10\"/>\n"
	"<field name=\"OF\" start=\"11\" end=\"11\"/>\n"
	"<field name=\"NT\" start=\"14\" end=\"14\"/>\n"
	"<field name=\"RF\" start=\"16\" end=\"16\"/>\n"
	"<field name=\"VM\" start=\"17\" end=\"17\"/>\n"
	"<field name=\"AC\" start=\"18\" end=\"18\"/>\n"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/>\n"
	"<field name=\"VIP\" start=\"20\" end=\"20\"/>\n"
	"<field name=\"ID\" start=\"21\" end=\"21\"/>\n"
	"</flags>\n"
	"<reg name=\"rax\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"x86_eflags\"/>\n"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int32\" group=\"float\"/>\n"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int32\" group=\"float\"/>\n"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int32\" group=\"float\"/>\n"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int32\" group=\"float\"/>\n"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int32\" group=\"float\"/>\n"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int32\" group=\"float\"/>\n"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int32\" group=\"float\"/>\n"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int32\" group=\"float\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.sse\">\n"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
	"<union id=\"vec128\">\n"
	"<field name=\"v4_float\" type=\"v4f\"/>\n"
	"<field name=\"v2_double\" type=\"v2d\"/>\n"
	"<field name=\"v16_int8\" type=\"v16i8\"/>\n"
	"<field name=\"v8_int16\" type=\"v8i16\"/>\n"
	"<field name=\"v4_int32\" type=\"v4i32\"/>\n"
	"<field name=\"v2_int64\" type=\"v2i64\"/>\n"
	"<field name=\"uint128\" type=\"uint128\"/>\n"
	"</union>\n"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>\n"
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"int32\" group=\"vector\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.segments\">\n"
	"<reg name=\"fs_base\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"gs_base\" bitsize=\"64\" type=\"int64\"/>\n"
	"</feature>\n"
	"<feature name=\"org.kestrel.x86.sys\">\n"
	"<reg name=\"cr0\" bitsize=\"64\" type=\"int64\" group=\"system\"/>\n"
	"<reg name=\"cr2\" bitsize=\"64\" type=\"int64\" group=\"system\"/>\n"
	"<reg name=\"cr3\" bitsize=\"64\" type=\"int64\" group=\"system\"/>\n"
	"<reg name=\"cr4\" bitsize=\"64\" type=\"int64\" group=\"system\"/>\n"
	"<reg name=\"cr8\" bitsize=\"64\" type=\"int64\" group=\"system\"/>\n"
	"<reg name=\"efer\" bitsize=\"64\" type=\"int64\" group=\"system\"/>\n"
	"</feature>\n"
	"</target>\n";

/* --------------------------------------------------------------- output */

static void send_framed(struct gdb_proto *p, const char *data, size_t len)
{
	uint8_t sum = 0;

	if (len > GDB_PKT_MAX)
		len = GDB_PKT_MAX;
	p->tx_buf[0] = '$';
	for (size_t i = 0; i < len; i++) {
		p->tx_buf[1 + i] = data[i];
		sum += (uint8_t)data[i];
	}
	p->tx_buf[1 + len] = '#';
	p->tx_buf[2 + len] = hex_chars[sum >> 4];
	p->tx_buf[3 + len] = hex_chars[sum & 15];
	p->tx_len = len + 4;
	p->ops->put(p->ctx, p->tx_buf, p->tx_len);
}

static size_t reply_str(struct gdb_proto *p, const char *s)
{
	size_t n = strnlen(s, sizeof(p->reply));

	memcpy(p->reply, s, n);
	return n;
}

/* Writes the decimal-free formats replies need: a prefix, then v in hex. */
static size_t put_hex_num(char *out, uint64_t v)
{
	char tmp[16];
	size_t n = 0, i = 0;

	do
		tmp[n++] = hex_chars[v & 15];
	while ((v >>= 4) && n < sizeof(tmp));
	while (n)
		out[i++] = tmp[--n];
	return i;
}

enum stop_why { STOP_PLAIN, STOP_SWBREAK, STOP_WATCH, STOP_RWATCH, STOP_AWATCH };

/* "T<signal>[[r|a]watch:<addr>;]thread:<n>;[swbreak:;]" (E.3). */
static size_t stop_reply(struct gdb_proto *p, enum stop_why why, uint64_t addr)
{
	size_t n = 0;

	p->reply[n++] = 'T';
	p->reply[n++] = hex_chars[p->stop_signal >> 4];
	p->reply[n++] = hex_chars[p->stop_signal & 15];
	if (why == STOP_RWATCH || why == STOP_AWATCH)
		p->reply[n++] = why == STOP_RWATCH ? 'r' : 'a';
	if (why >= STOP_WATCH) {
		memcpy(p->reply + n, "watch:", 6);
		n += 6;
		n += put_hex_num(p->reply + n, addr);
		p->reply[n++] = ';';
	}
	memcpy(p->reply + n, "thread:", 7);
	n += 7;
	n += put_hex_num(p->reply + n, p->stop_thread);
	p->reply[n++] = ';';
	if (why == STOP_SWBREAK && p->swbreak) {
		memcpy(p->reply + n, "swbreak:;", 9);
		n += 9;
	}
	return n;
}

/* ------------------------------------------------------------- commands */

static unsigned nr_threads(struct gdb_proto *p)
{
	unsigned n = p->ops->nr_threads(p->ctx);

	return n ? n : 1;
}

/* The thread g, m and friends act on: Hg's, or the one that stopped. */
static unsigned reg_thread(struct gdb_proto *p)
{
	return p->g_thread ? p->g_thread : p->stop_thread ? p->stop_thread : 1;
}

static size_t cmd_status(struct gdb_proto *p, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	return stop_reply(p, STOP_PLAIN, 0);
}

static size_t cmd_read_regs(struct gdb_proto *p, const char *arg, const char *end)
{
	struct gdb_regs r;
	size_t off = 0;

	(void)arg;
	(void)end;
	if (p->ops->get_regs(p->ctx, reg_thread(p), &r))
		return reply_str(p, "E01");
	for (unsigned n = 0; n < GDB_NR_REGS; n++) {
		reg_bytes(&r, n, p->data + off);
		off += reg_size(n);
	}
	gdb_hex_encode(p->data, off, p->reply);
	return 2 * off;
}

/* G: as many registers as the data covers, whole ones only. */
static size_t cmd_write_regs(struct gdb_proto *p, const char *arg, const char *end)
{
	size_t len = (size_t)(end - arg) / 2, off = 0;
	unsigned thread = reg_thread(p);
	struct gdb_regs r;

	if ((size_t)(end - arg) % 2 || len > GDB_REGS_BYTES || gdb_hex_decode(arg, len, p->data))
		return reply_str(p, "E01");
	if (p->ops->get_regs(p->ctx, thread, &r))
		return reply_str(p, "E01");
	for (unsigned n = 0; n < GDB_NR_CORE_REGS && off + reg_size(n) <= len; n++) {
		r.r[n] = le_value(p->data + off, reg_size(n));
		off += reg_size(n);
	}
	return reply_str(p, p->ops->set_regs(p->ctx, thread, &r) ? "E01" : "OK");
}

static bool is_sys_reg(uint64_t n)
{
	return n >= GDB_SYS_REG_FIRST && n < GDB_SYS_REG_FIRST + GDB_NR_SYS_REGS;
}

/* p: one register; a system register (target description) too. */
static size_t cmd_read_reg(struct gdb_proto *p, const char *arg, const char *end)
{
	struct gdb_regs r;
	unsigned size;
	uint64_t n;

	if (gdb_parse_hex(&arg, end, &n) || arg != end)
		return reply_str(p, "E01");
	if (n >= GDB_NR_REGS && !is_sys_reg(n))   /* not ours (orig_rax...): unavailable */
		return reply_str(p, "xxxxxxxxxxxxxxxx");
	if (p->ops->get_regs(p->ctx, reg_thread(p), &r))
		return reply_str(p, "E01");
	if (is_sys_reg(n)) {
		size = 8;
		for (unsigned i = 0; i < size; i++)
			p->data[i] = (uint8_t)(r.sys[n - GDB_SYS_REG_FIRST] >> (8 * i));
	} else {
		size = reg_size((unsigned)n);
		reg_bytes(&r, (unsigned)n, p->data);
	}
	gdb_hex_encode(p->data, size, p->reply);
	return 2 * size;
}

static size_t cmd_write_reg(struct gdb_proto *p, const char *arg, const char *end)
{
	unsigned thread = reg_thread(p), size;
	struct gdb_regs r;
	uint64_t n;

	/* The system registers are read-only: E01 as for a register not known. */
	if (gdb_parse_hex(&arg, end, &n) || arg == end || *arg++ != '=' || n >= GDB_NR_REGS)
		return reply_str(p, "E01");
	size = reg_size((unsigned)n);
	if ((size_t)(end - arg) != 2 * size || gdb_hex_decode(arg, size, p->data))
		return reply_str(p, "E01");
	if (n >= GDB_NR_CORE_REGS)
		return reply_str(p, "OK");    /* FPU/SSE: not exposed, ignored */
	if (p->ops->get_regs(p->ctx, thread, &r))
		return reply_str(p, "E01");
	r.r[n] = le_value(p->data, size);
	return reply_str(p, p->ops->set_regs(p->ctx, thread, &r) ? "E01" : "OK");
}

/* "addr,len" and what follows it. */
static int parse_addr_len(const char **arg, const char *end, uint64_t *addr, uint64_t *len)
{
	if (gdb_parse_hex(arg, end, addr) || *arg == end || *(*arg)++ != ',')
		return -1;
	return gdb_parse_hex(arg, end, len);
}

static size_t cmd_read_mem(struct gdb_proto *p, const char *arg, const char *end)
{
	uint64_t addr, len;
	size_t got;

	if (parse_addr_len(&arg, end, &addr, &len) || arg != end)
		return reply_str(p, "E01");
	if (len > sizeof(p->data))
		len = sizeof(p->data);    /* a short reply: gdb asks for the rest */
	if (!len)
		return 0;
	got = p->ops->read_mem(p->ctx, reg_thread(p), addr, p->data, (size_t)len);
	if (!got)
		return reply_str(p, "E14");   /* EFAULT */
	gdb_hex_encode(p->data, got, p->reply);
	return 2 * got;
}

static size_t cmd_write_mem(struct gdb_proto *p, const char *arg, const char *end)
{
	uint64_t addr, len;

	if (parse_addr_len(&arg, end, &addr, &len) || arg == end || *arg++ != ':' ||
	    len > sizeof(p->data) || (uint64_t)(end - arg) != 2 * len ||
	    gdb_hex_decode(arg, (size_t)len, p->data))
		return reply_str(p, "E01");
	if (len && p->ops->write_mem(p->ctx, reg_thread(p), addr, p->data, (size_t)len) != len)
		return reply_str(p, "E14");
	return reply_str(p, "OK");
}

/* c [addr] / s [addr]: resume (at addr); the stop reply comes later. */
static size_t resume(struct gdb_proto *p, const char *arg, const char *end, bool step)
{
	unsigned thread = p->c_thread ? p->c_thread : p->stop_thread ? p->stop_thread : 1;
	uint64_t addr;
	struct gdb_regs r;

	if (arg != end) {
		if (gdb_parse_hex(&arg, end, &addr) || arg != end ||
		    p->ops->get_regs(p->ctx, thread, &r))
			return reply_str(p, "E01");
		r.r[GDB_RIP] = addr;
		if (p->ops->set_regs(p->ctx, thread, &r))
			return reply_str(p, "E01");
	}
	p->running = true;
	p->ops->resume(p->ctx, thread, step, true);
	return NO_REPLY;
}

static size_t cmd_continue(struct gdb_proto *p, const char *arg, const char *end)
{
	return resume(p, arg, end, false);
}

static size_t cmd_step(struct gdb_proto *p, const char *arg, const char *end)
{
	return resume(p, arg, end, true);
}

/*
 * vCont (E.2 "Packets"): for each thread the leftmost action naming it or
 * naming no thread applies; threads with none stay stopped. The target
 * runs one thread as gdb says (continue or step) and the others all alike,
 * so: at most one action with a thread before the default one, and the
 * default, if any, a continue. That is what gdb sends in all-stop mode
 * (vCont;c, vCont;s:T;c, and with scheduler-locking vCont;s:T, vCont;c:T).
 * Signals (C, S) mean nothing to a VM and are dropped, as for c and s.
 */
static int vcont_action(const char **a, const char *end, char *act, bool *has_thread,
			uint64_t *thread)
{
	char c = *a != end ? **a : 0;
	uint64_t sig;

	if (c != 'c' && c != 'C' && c != 's' && c != 'S')
		return -1;
	(*a)++;
	*act = c == 'C' ? 'c' : c == 'S' ? 's' : c;
	if ((c == 'C' || c == 'S') && (gdb_parse_hex(a, end, &sig) || sig > 0xff))
		return -1;
	*has_thread = *a != end && **a == ':';
	if (!*has_thread)
		return 0;
	(*a)++;
	if (end - *a >= 2 && (*a)[0] == '-' && (*a)[1] == '1') {
		*a += 2;
		*has_thread = false;          /* -1: all threads, as no thread */
		return 0;
	}
	return gdb_parse_hex(a, end, thread);
}

static size_t cmd_vcont(struct gdb_proto *p, const char *a, const char *end)
{
	unsigned thread = p->c_thread ? p->c_thread : p->stop_thread ? p->stop_thread : 1;
	char act, own = 0, all = 0;
	uint64_t t = 0;
	bool has_thread;

	if (a != end && *a == '?' && a + 1 == end)
		return reply_str(p, "vCont;c;C;s;S");
	while (a != end && !all) {
		if (*a++ != ';' || vcont_action(&a, end, &act, &has_thread, &t) ||
		    (a != end && *a != ';'))
			return reply_str(p, "E01");
		if (!has_thread) {
			all = act;
		} else if (own || t > nr_threads(p)) {
			return reply_str(p, "E01");
		} else {
			own = act;
			thread = t ? (unsigned)t : thread;     /* 0: any, the current one */
		}
	}
	if ((!own && !all) || all == 's')
		return reply_str(p, "E01");
	p->running = true;
	p->ops->resume(p->ctx, thread, (own ? own : all) == 's', all == 'c');
	return NO_REPLY;
}

/* v packets: vCont and vCont?; the others (vMustReplyEmpty, vFile...) get
 * the empty reply: not supported. */
static size_t cmd_v(struct gdb_proto *p, const char *arg, const char *end)
{
	if (end - arg >= 4 && !memcmp(arg, "Cont", 4))
		return cmd_vcont(p, arg + 4, end);
	return 0;
}

static size_t cmd_detach(struct gdb_proto *p, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	send_framed(p, "OK", 2);
	p->ops->detach(p->ctx);
	gdb_proto_reset(p);
	return NO_REPLY;
}

static size_t cmd_kill(struct gdb_proto *p, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	p->ops->detach(p->ctx);    /* the VM is not gdb's to kill: it runs on */
	gdb_proto_reset(p);
	return NO_REPLY;
}

/* A thread id: hex, 0 (any) or -1 (all, kept as 0). -1 when malformed or
 * not one of ours. */
static int parse_thread(struct gdb_proto *p, const char *arg, const char *end, unsigned *t)
{
	uint64_t v;

	if (end - arg == 2 && arg[0] == '-' && arg[1] == '1') {
		*t = 0;
		return 0;
	}
	if (gdb_parse_hex(&arg, end, &v) || arg != end || v > nr_threads(p))
		return -1;
	*t = (unsigned)v;
	return 0;
}

static size_t cmd_set_thread(struct gdb_proto *p, const char *arg, const char *end)
{
	unsigned t;

	if (arg == end || (*arg != 'g' && *arg != 'c') || parse_thread(p, arg + 1, end, &t))
		return reply_str(p, "E01");
	*(*arg == 'g' ? &p->g_thread : &p->c_thread) = t;
	return reply_str(p, "OK");
}

static size_t cmd_thread_alive(struct gdb_proto *p, const char *arg, const char *end)
{
	unsigned t;

	return reply_str(p, parse_thread(p, arg, end, &t) || !t ? "E01" : "OK");
}

static size_t cmd_breakpoint(struct gdb_proto *p, const char *arg, const char *end,
			     bool insert)
{
	uint64_t type, addr, kind;
	int rc;

	if (gdb_parse_hex(&arg, end, &type) || arg == end || *arg++ != ',' ||
	    parse_addr_len(&arg, end, &addr, &kind) || type > GDB_WP_ACCESS)
		return reply_str(p, "E01");
	rc = p->ops->breakpoint(p->ctx, (enum gdb_bp_type)type, addr, kind, insert);
	return rc > 0 ? 0 : reply_str(p, rc ? "E01" : "OK");
}

static size_t cmd_insert_bp(struct gdb_proto *p, const char *arg, const char *end)
{
	return cmd_breakpoint(p, arg, end, true);
}

static size_t cmd_remove_bp(struct gdb_proto *p, const char *arg, const char *end)
{
	return cmd_breakpoint(p, arg, end, false);
}

/* ---------------------------------------------------------------- queries */

static bool has_feature(const char *arg, const char *end, const char *name)
{
	size_t len = strlen(name);

	for (const char *f = arg; f < end; f++)
		if ((f == arg || f[-1] == ':' || f[-1] == ';') && (size_t)(end - f) >= len &&
		    !memcmp(f, name, len) && (f + len == end || f[len] == ';'))
			return true;
	return false;
}

/* Appends a NUL-terminated string to the reply at n; its new length. */
static size_t reply_append(struct gdb_proto *p, size_t n, const char *str)
{
	size_t len = strlen(str);

	memcpy(p->reply + n, str, len);
	return n + len;
}

static size_t q_supported(struct gdb_proto *p, const char *arg, const char *end)
{
	size_t n = reply_str(p, "PacketSize=");

	n += put_hex_num(p->reply + n, GDB_PKT_MAX);
	n = reply_append(p, n, ";qXfer:features:read+");
	p->swbreak = has_feature(arg, end, "swbreak+");
	if (p->swbreak)
		n = reply_append(p, n, ";swbreak+");
	return n;
}

static bool starts_with(const char *s, const char *end, const char *prefix)
{
	size_t len = strlen(prefix);

	return (size_t)(end - s) >= len && !memcmp(s, prefix, len);
}

/* qXfer:features:read:<annex>:<offset>,<length> (E.4): 'm' and a part of
 * the description with more to come, 'l' and its last part (maybe none).
 * The only annex is target.xml; other objects get the empty reply. */
static size_t q_xfer(struct gdb_proto *p, const char *arg, const char *end)
{
	static const char annex[] = "target.xml:";
	size_t size = sizeof(gdb_target_xml) - 1, n;
	uint64_t off, len;

	if (!starts_with(arg, end, ":features:read:"))
		return 0;
	arg += 15;
	if (!starts_with(arg, end, annex))
		return reply_str(p, "E00");
	arg += sizeof(annex) - 1;
	if (parse_addr_len(&arg, end, &off, &len) || arg != end)
		return reply_str(p, "E00");
	if (off > size)
		return reply_str(p, "E01");
	n = size - off;
	if (len < n)
		n = (size_t)len;
	if (n > sizeof(p->reply) - 1)
		n = sizeof(p->reply) - 1;
	p->reply[0] = off + n < size ? 'm' : 'l';
	memcpy(p->reply + 1, gdb_target_xml + off, n);
	return n + 1;
}

static size_t q_attached(struct gdb_proto *p, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	return reply_str(p, "1");    /* an existing VM: detach, never kill */
}

static size_t q_current_thread(struct gdb_proto *p, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	memcpy(p->reply, "QC", 2);
	return 2 + put_hex_num(p->reply + 2, reg_thread(p));
}

static size_t q_first_thread(struct gdb_proto *p, const char *arg, const char *end)
{
	size_t n = 0;

	(void)arg;
	(void)end;
	p->reply[n++] = 'm';
	for (unsigned t = 1; t <= nr_threads(p); t++) {
		if (t > 1)
			p->reply[n++] = ',';
		n += put_hex_num(p->reply + n, t);
	}
	return n;
}

static size_t q_next_thread(struct gdb_proto *p, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	return reply_str(p, "l");
}

/* qRcmd,<hex command>: the answer goes back hex-encoded (E.4). */
static size_t q_monitor(struct gdb_proto *p, const char *arg, const char *end)
{
	char *cmd = (char *)p->data, *out = p->reply + sizeof(p->reply) / 2;
	size_t len = (size_t)(end - arg) / 2, n;

	if (arg == end || *arg++ != ',' || (size_t)(end - arg) % 2 ||
	    (len = (size_t)(end - arg) / 2) >= sizeof(p->data) ||
	    gdb_hex_decode(arg, len, p->data))
		return reply_str(p, "E01");
	cmd[len] = 0;
	out[0] = 0;
	p->ops->monitor(p->ctx, cmd, out, sizeof(p->reply) / 2);
	n = strnlen(out, sizeof(p->reply) / 2 - 1);
	if (!n)
		return reply_str(p, "OK");
	memmove(p->data, out, n);
	gdb_hex_encode(p->data, n, p->reply);
	return 2 * n;
}

static const struct {
	const char *name;
	gdb_cmd_fn *fn;
} queries[] = {
	{ "qSupported", q_supported },   { "qAttached", q_attached },
	{ "qC", q_current_thread },      { "qfThreadInfo", q_first_thread },
	{ "qsThreadInfo", q_next_thread }, { "qRcmd", q_monitor },
	{ "qXfer", q_xfer },
};

/* A query is its name, then the end, ':' or ','. Unknown ones get the
 * empty reply, which tells gdb they are not supported. */
static size_t cmd_query(struct gdb_proto *p, const char *arg, const char *end)
{
	const char *name = arg - 1;
	size_t len = 0;

	while (name + len < end && name[len] != ':' && name[len] != ',')
		len++;
	for (unsigned i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		if (strlen(queries[i].name) == len && !memcmp(queries[i].name, name, len))
			return queries[i].fn(p, name + len, end);
	return 0;
}

static gdb_cmd_fn *const commands[128] = {
	['?'] = cmd_status,      ['g'] = cmd_read_regs,  ['G'] = cmd_write_regs,
	['p'] = cmd_read_reg,    ['P'] = cmd_write_reg,  ['m'] = cmd_read_mem,
	['M'] = cmd_write_mem,   ['c'] = cmd_continue,   ['s'] = cmd_step,
	['D'] = cmd_detach,      ['k'] = cmd_kill,       ['H'] = cmd_set_thread,
	['T'] = cmd_thread_alive, ['Z'] = cmd_insert_bp, ['z'] = cmd_remove_bp,
	['q'] = cmd_query,       ['v'] = cmd_v,
};

static void handle_packet(struct gdb_proto *p)
{
	const char *pkt = p->rx_buf, *end = p->rx_buf + p->rx_len;
	uint8_t c = p->rx_len ? (uint8_t)pkt[0] : 0;
	gdb_cmd_fn *fn = c < 128 ? commands[c] : NULL;
	size_t n;

	p->packets++;
	if (!p->attached) {
		p->attached = true;
		p->running = false;
		p->stop_signal = GDB_SIGTRAP;
		p->stop_thread = 1;
		p->ops->attach(p->ctx);
	}
	n = fn ? fn(p, pkt + 1, end) : 0;
	if (n != NO_REPLY)
		send_framed(p, p->reply, n);
}

/* -------------------------------------------------------------- framing */

static enum gdb_rx_event rx_idle(struct gdb_proto *p, uint8_t c)
{
	switch (c) {
	case '$':
		p->rx = GDB_RX_DATA;
		p->rx_len = 0;
		p->rx_sum = 0;
		p->rx_overflow = false;
		break;
	case '-':               /* the last packet arrived damaged */
		if (p->tx_len)
			p->ops->put(p->ctx, p->tx_buf, p->tx_len);
		break;
	case 0x03:
		p->interrupts++;
		if (p->attached && p->running)
			return GDB_EV_INTERRUPT;
		break;
	default:                /* '+', line noise */
		break;
	}
	return GDB_EV_NONE;
}

static void rx_append(struct gdb_proto *p, uint8_t c)
{
	if (p->rx_len < GDB_PKT_MAX)
		p->rx_buf[p->rx_len++] = (char)c;
	else
		p->rx_overflow = true;
}

static enum gdb_rx_event rx_end(struct gdb_proto *p)
{
	p->rx = GDB_RX_IDLE;
	if (p->rx_overflow || p->rx_sum != p->rx_sum_given) {
		if (p->rx_overflow)
			p->overflows++;
		else
			p->bad_checksums++;
		p->ops->put(p->ctx, "-", 1);
		return GDB_EV_NONE;
	}
	p->ops->put(p->ctx, "+", 1);
	p->rx_buf[p->rx_len] = 0;
	handle_packet(p);
	return GDB_EV_PACKET;
}

enum gdb_rx_event gdb_proto_rx(struct gdb_proto *p, uint8_t c)
{
	int d;

	switch (p->rx) {
	case GDB_RX_IDLE:
		return rx_idle(p, c);
	case GDB_RX_DATA:
		if (c == '$')           /* a new packet: resynchronise on it */
			return rx_idle(p, c);
		if (c == '#') {
			p->rx = GDB_RX_SUM1;
			break;
		}
		p->rx_sum += c;
		if (c == '}')
			p->rx = GDB_RX_ESCAPE;
		else
			rx_append(p, c);
		break;
	case GDB_RX_ESCAPE:             /* '}' then the byte XOR 0x20 (E.1) */
		p->rx_sum += c;
		rx_append(p, c ^ 0x20);
		p->rx = GDB_RX_DATA;
		break;
	case GDB_RX_SUM1:
	case GDB_RX_SUM2:
		d = gdb_hex_digit((char)c);
		if (d < 0) {
			p->rx = GDB_RX_IDLE;
			p->bad_checksums++;
			p->ops->put(p->ctx, "-", 1);
			break;
		}
		if (p->rx == GDB_RX_SUM1) {
			p->rx_sum_given = (uint8_t)(d << 4);
			p->rx = GDB_RX_SUM2;
			break;
		}
		p->rx_sum_given |= (uint8_t)d;
		return rx_end(p);
	}
	return GDB_EV_NONE;
}

void gdb_proto_stopped(struct gdb_proto *p, uint8_t signal, unsigned thread,
		       bool at_breakpoint)
{
	p->stop_signal = signal;
	p->stop_thread = thread;
	if (!p->attached)
		return;
	p->running = false;
	send_framed(p, p->reply, stop_reply(p, at_breakpoint ? STOP_SWBREAK : STOP_PLAIN, 0));
}

void gdb_proto_watch_hit(struct gdb_proto *p, unsigned thread, uint64_t addr,
			 enum gdb_bp_type type)
{
	p->stop_signal = GDB_SIGTRAP;
	p->stop_thread = thread;
	if (!p->attached)
		return;
	p->running = false;
	send_framed(p, p->reply, stop_reply(p, type == GDB_WP_READ ? STOP_RWATCH :
					       type == GDB_WP_ACCESS ? STOP_AWATCH : STOP_WATCH,
					    addr));
}

void gdb_proto_exited(struct gdb_proto *p, uint8_t status)
{
	char w[3] = { 'W', hex_chars[status >> 4], hex_chars[status & 15] };

	if (!p->attached)
		return;
	send_framed(p, w, sizeof(w));
	gdb_proto_reset(p);
}

void gdb_proto_reset(struct gdb_proto *p)
{
	p->attached = p->running = p->swbreak = false;
	p->g_thread = p->c_thread = 0;
	p->rx = GDB_RX_IDLE;
	p->tx_len = 0;
}

void gdb_proto_init(struct gdb_proto *p, const struct gdb_target_ops *ops, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->ctx = ctx;
	p->stop_signal = GDB_SIGTRAP;
	p->stop_thread = 1;
}
