/* The gdb remote protocol core against a fake target: framing, checksums,
 * acks and retransmission, escapes, overflow, the hex codecs, the register
 * layout gdb's amd64 target expects, memory, threads, breakpoints, resume,
 * vCont, interrupt, monitor and detach. */
// UNIT-SOURCES: hypervisor/debug/gdb_proto.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <debug/gdb_proto.h>
#include "unit.h"

#define MEM_BASE 0x1000
#define MEM_SIZE 0x3000
#define THREADS  2

static struct {
	char out[16384];
	size_t out_len;
	unsigned attaches, detaches, resumes, resume_thread;
	bool resume_step, resume_others;
	struct gdb_regs regs[THREADS + 1];
	uint8_t mem[MEM_SIZE];
	enum gdb_bp_type bp_type;
	uint64_t bp_addr, bp_kind;
	bool bp_insert;
	unsigned bps;
	char monitor_cmd[64];
} t;

static void fake_put(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	if (t.out_len + len < sizeof(t.out)) {
		memcpy(t.out + t.out_len, buf, len);
		t.out_len += len;
		t.out[t.out_len] = 0;
	}
}

static void fake_attach(void *ctx) { (void)ctx; t.attaches++; }
static void fake_detach(void *ctx) { (void)ctx; t.detaches++; }
static unsigned fake_threads(void *ctx) { (void)ctx; return THREADS; }

static int fake_get_regs(void *ctx, unsigned thread, struct gdb_regs *r)
{
	(void)ctx;
	if (thread < 1 || thread > THREADS)
		return -1;
	*r = t.regs[thread];
	return 0;
}

static int fake_set_regs(void *ctx, unsigned thread, const struct gdb_regs *r)
{
	(void)ctx;
	if (thread < 1 || thread > THREADS)
		return -1;
	t.regs[thread] = *r;
	return 0;
}

static size_t fake_range(uint64_t addr, size_t len)
{
	if (addr < MEM_BASE || addr >= MEM_BASE + MEM_SIZE)
		return 0;
	return addr + len > MEM_BASE + MEM_SIZE ? MEM_BASE + MEM_SIZE - addr : len;
}

static size_t fake_read(void *ctx, unsigned thread, uint64_t addr, uint8_t *buf, size_t len)
{
	size_t n = fake_range(addr, len);

	(void)ctx;
	(void)thread;
	memcpy(buf, t.mem + (addr - MEM_BASE) * !!n, n);
	return n;
}

static size_t fake_write(void *ctx, unsigned thread, uint64_t addr, const uint8_t *buf,
			 size_t len)
{
	size_t n = fake_range(addr, len);

	(void)ctx;
	(void)thread;
	memcpy(t.mem + (addr - MEM_BASE) * !!n, buf, n);
	return n;
}

static void fake_resume(void *ctx, unsigned thread, bool step, bool others)
{
	(void)ctx;
	t.resumes++;
	t.resume_thread = thread;
	t.resume_step = step;
	t.resume_others = others;
}

/* Software breakpoints and write watchpoints, as the stub has them. */
static int fake_bp(void *ctx, enum gdb_bp_type type, uint64_t addr, uint64_t kind,
		   bool insert)
{
	(void)ctx;
	if (type != GDB_BP_SOFT && type != GDB_WP_WRITE)
		return 1;
	t.bps++;
	t.bp_type = type;
	t.bp_addr = addr;
	t.bp_kind = kind;
	t.bp_insert = insert;
	return addr == 0xdead ? -1 : 0;
}

static void fake_monitor(void *ctx, const char *cmd, char *out, size_t len)
{
	(void)ctx;
	snprintf(t.monitor_cmd, sizeof(t.monitor_cmd), "%s", cmd);
	if (strcmp(cmd, "quiet"))
		snprintf(out, len, "did %s\n", cmd);
}

static const struct gdb_target_ops fake_ops = {
	.put = fake_put, .attach = fake_attach, .detach = fake_detach,
	.nr_threads = fake_threads, .get_regs = fake_get_regs, .set_regs = fake_set_regs,
	.read_mem = fake_read, .write_mem = fake_write, .resume = fake_resume,
	.breakpoint = fake_bp, .monitor = fake_monitor,
};

static struct gdb_proto p;

static void reset(void)
{
	memset(&t, 0, sizeof(t));
	gdb_proto_init(&p, &fake_ops, NULL);
}

static enum gdb_rx_event feed_raw(const char *s, size_t len)
{
	enum gdb_rx_event ev = GDB_EV_NONE, e;

	for (size_t i = 0; i < len; i++)
		if ((e = gdb_proto_rx(&p, (uint8_t)s[i])) != GDB_EV_NONE)
			ev = e;
	return ev;
}

/* Frames a packet with its checksum, feeds it, and returns the reply's
 * payload (after the '+', between '$' and '#'), checking its checksum. */
static const char *send(const char *payload)
{
	static char reply[16384];
	char buf[8192];
	unsigned sum = 0;
	size_t len = strlen(payload);
	const char *d, *h;

	for (size_t i = 0; i < len; i++)
		sum += (uint8_t)payload[i];
	snprintf(buf, sizeof(buf), "$%s#%02x", payload, sum & 0xff);
	t.out_len = 0;
	t.out[0] = 0;
	feed_raw(buf, strlen(buf));
	reply[0] = 0;
	if (t.out[0] != '+' || !(d = strchr(t.out, '$')) || !(h = strchr(d, '#')))
		return t.out[0] == '+' && !t.out[1] ? "<none>" : "<bad>";
	sum = 0;
	for (const char *c = d + 1; c < h; c++)
		sum += (uint8_t)*c;
	CHECK_EQ(strtoul(h + 1, NULL, 16), sum & 0xff);
	memcpy(reply, d + 1, (size_t)(h - d - 1));
	reply[h - d - 1] = 0;
	return reply;
}

static void check_hex(void)
{
	const char *s = "1fA,", *e = s + 4;
	uint64_t v;
	uint8_t b[3];
	char out[7] = { 0 };

	CHECK(!gdb_parse_hex(&s, e, &v));
	CHECK_EQ(v, 0x1fa);
	CHECK_EQ(*s, ',');
	s = ",";
	CHECK(gdb_parse_hex(&s, s + 1, &v));            /* no digits */
	s = "11112222333344445";                         /* 17 digits: too many */
	CHECK(gdb_parse_hex(&s, s + 17, &v));
	s = "ffffffffffffffff";
	CHECK(!gdb_parse_hex(&s, s + 16, &v));
	CHECK_EQ(v, ~0ull);
	CHECK(!gdb_hex_decode("00a5Ff", 3, b));
	CHECK(b[0] == 0 && b[1] == 0xa5 && b[2] == 0xff);
	CHECK(gdb_hex_decode("0g", 1, b));
	gdb_hex_encode(b, 3, out);
	CHECK(!strcmp(out, "00a5ff"));
}

static void check_framing(void)
{
	reset();
	/* A bad checksum is nacked and not handled (no attach). */
	t.out_len = 0;
	feed_raw("$?#00", 5);
	CHECK(!strcmp(t.out, "-"));
	CHECK_EQ(t.attaches, 0);
	CHECK_EQ(p.bad_checksums, 1);
	/* A non-hex checksum too. */
	t.out_len = 0;
	feed_raw("$?#zz", 5);
	CHECK_EQ(t.out[0], '-');
	/* Noise and acks between packets are ignored; the first packet attaches. */
	feed_raw("+++junk", 7);
	CHECK(!strcmp(send("?"), "T05thread:1;"));
	CHECK_EQ(t.attaches, 1);
	CHECK(!strcmp(send("?"), "T05thread:1;"));
	CHECK_EQ(t.attaches, 1);
	/* '-' gets the last packet again. */
	t.out_len = 0;
	feed_raw("-", 1);
	CHECK(!strcmp(t.out, "$T05thread:1;#d7"));
	/* A '$' inside a packet starts a new one. */
	t.out_len = 0;
	feed_raw("$qAtt$qAttached#8f", 18);
	CHECK(strstr(t.out, "$1#31") != NULL);
	/* Escapes: "}]" is ']' ^ 0x20 = '}' ... an escaped 'q' ("}Q") is 'q'. */
	{
		unsigned sum = 0;
		char buf[64];
		const char *pl = "}QAttached";

		for (const char *c = pl; *c; c++)
			sum += (uint8_t)*c;
		snprintf(buf, sizeof(buf), "$%s#%02x", pl, sum & 0xff);
		t.out_len = 0;
		feed_raw(buf, strlen(buf));
		CHECK(strstr(t.out, "$1#31") != NULL);
	}
	/* Unknown packets get the empty reply. */
	CHECK(!strcmp(send("vMustReplyEmpty"), ""));
	CHECK(!strcmp(send("qTStatus"), ""));
	CHECK(!strcmp(send("\x7f"), ""));
}

static void check_overflow(void)
{
	static char big[GDB_PKT_MAX + 64];

	reset();
	memset(big, 'm', sizeof(big) - 1);
	big[0] = '$';
	big[sizeof(big) - 4] = '#';
	big[sizeof(big) - 3] = '0';
	big[sizeof(big) - 2] = '0';
	t.out_len = 0;
	feed_raw(big, sizeof(big) - 1);
	CHECK(!strcmp(t.out, "-"));
	CHECK_EQ(p.overflows, 1);
	CHECK_EQ(p.packets, 0);
	/* The stub works on afterwards. */
	CHECK(!strcmp(send("qAttached"), "1"));
}

static void check_registers(void)
{
	const char *r;
	char want[32];
	struct gdb_regs *g = &t.regs[1];

	reset();
	for (unsigned i = 0; i < GDB_NR_CORE_REGS; i++)
		g->r[i] = 0x1111111111111111ull * (i % 15 + 1);
	g->r[GDB_RIP] = 0xffffffff80001234ull;
	g->r[GDB_EFLAGS] = 0x246;
	g->r[GDB_CS] = 0x10;
	r = send("g");
	CHECK_EQ(strlen(r), 2 * GDB_REGS_BYTES);
	CHECK(!strncmp(r, "1111111111111111", 16));             /* rax */
	CHECK(!strncmp(r + 16 * 16, "34120080ffffffff", 16)); /* rip, LE */
	CHECK(!strncmp(r + 17 * 16, "46020000", 8));            /* eflags, 4 bytes */
	CHECK(!strncmp(r + 17 * 16 + 8, "10000000", 8));        /* cs, 4 bytes */
	CHECK_EQ(strspn(r + 2 * 184, "0"), 2 * (GDB_REGS_BYTES - 184));  /* FPU, SSE */
	/* p: single registers, with their sizes; beyond mxcsr unavailable. */
	CHECK(!strcmp(send("p10"), "34120080ffffffff"));
	CHECK(!strcmp(send("p11"), "46020000"));
	CHECK(!strcmp(send("p18"), "00000000000000000000"));    /* st0: 10 bytes */
	CHECK(!strcmp(send("p38"), "00000000"));                /* mxcsr */
	/* The system registers after mxcsr (39): fs_base 0x39 .. efer 0x40. */
	g->sys[GDB_FS_BASE] = 0x7fff12345678ull;
	g->sys[GDB_CR3] = 0x10b000;
	g->sys[GDB_EFER] = 0xd01;
	CHECK(!strcmp(send("p39"), "78563412ff7f0000"));
	CHECK(!strcmp(send("p3d"), "00b0100000000000"));        /* cr3 */
	CHECK(!strcmp(send("p40"), "010d000000000000"));        /* efer */
	CHECK(!strcmp(send("p41"), "xxxxxxxxxxxxxxxx"));        /* beyond: unavailable */
	CHECK(!strcmp(send("P3d=0000000000000000"), "E01"));    /* read-only */
	CHECK_EQ(g->sys[GDB_CR3], 0x10b000);
	CHECK(!strcmp(send("pzz"), "E01"));
	/* P: rip and eflags; FPU writes accepted and ignored; bad sizes refused. */
	CHECK(!strcmp(send("P10=efbeadde00000000"), "OK"));
	CHECK_EQ(g->r[GDB_RIP], 0xdeadbeef);
	CHECK(!strcmp(send("P11=02000000"), "OK"));
	CHECK_EQ(g->r[GDB_EFLAGS], 2);
	CHECK(!strcmp(send("P11=0200"), "E01"));
	CHECK(!strcmp(send("P18=00000000000000000000"), "OK"));
	CHECK(!strcmp(send("P39=00"), "E01"));
	/* G: a prefix writes only the whole registers it covers. */
	snprintf(want, sizeof(want), "G%s%s", "0100000000000000", "02000000");
	CHECK(!strcmp(send(want), "OK"));
	CHECK_EQ(g->r[GDB_RAX], 1);
	CHECK_EQ(g->r[GDB_RBX], 0x2222222222222222ull);
	CHECK(!strcmp(send("G0"), "E01"));
	/* Hg picks the thread; the other thread's registers are separate. */
	t.regs[2].r[GDB_RAX] = 0x77;
	CHECK(!strcmp(send("Hg2"), "OK"));
	CHECK(!strncmp(send("g"), "7700000000000000", 16));
	CHECK(!strcmp(send("Hg3"), "E01"));
	CHECK(!strcmp(send("Hg-1"), "OK"));
	CHECK(!strcmp(send("Hx1"), "E01"));
}

/* Reads the description through qXfer in parts of `chunk` bytes as gdb
 * does, checking the 'm'/'l' prefixes; the text read, or NULL. */
static const char *read_xml(size_t chunk)
{
	static char xml[16384];
	size_t got = 0;
	char req[64];
	const char *r;

	for (;;) {
		snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,%zx", got, chunk);
		r = send(req);
		if ((r[0] != 'm' && r[0] != 'l') || strlen(r + 1) > chunk ||
		    got + strlen(r + 1) >= sizeof(xml))
			return NULL;
		memcpy(xml + got, r + 1, strlen(r + 1));
		got += strlen(r + 1);
		if (r[0] == 'l')
			break;
		if (!r[1])
			return NULL;            /* 'm' with nothing: no progress */
	}
	xml[got] = 0;
	return xml;
}

/* qXfer:features:read: the description whole in any part size, the
 * annex, offsets at and past its end, malformed requests, other objects;
 * and the description itself: what gdb's i386 code needs of it, in the
 * 'g' order, and nothing that would need escaping. */
static void check_target_xml(void)
{
	size_t size = strlen(gdb_target_xml);
	const char *x, *rax, *mxcsr, *fs_base, *cr3;
	char req[64];

	reset();
	CHECK(size > GDB_PKT_MAX);          /* more than one reply: parts exercised */
	x = read_xml(0xffff);               /* gdb's first request is this big */
	CHECK(x && !strcmp(x, gdb_target_xml));
	x = read_xml(7);
	CHECK(x && !strcmp(x, gdb_target_xml));
	x = read_xml(size);                 /* exactly all, but capped by a reply */
	CHECK(x && !strcmp(x, gdb_target_xml));
	CHECK(!strcmp(send("qXfer:features:read:target.xml:0,5"), "m<?xml"));
	snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,10", size - 3);
	CHECK(!strcmp(send(req), "lt>\n"));  /* the tail of "</target>\n" */
	snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,10", size);
	CHECK(!strcmp(send(req), "l"));
	snprintf(req, sizeof(req), "qXfer:features:read:target.xml:%zx,10", size + 1);
	CHECK(!strcmp(send(req), "E01"));
	CHECK(!strcmp(send("qXfer:features:read:target.xml:0,0"), "m"));
	CHECK(!strcmp(send("qXfer:features:read:i386-64bit.xml:0,10"), "E00"));
	CHECK(!strcmp(send("qXfer:features:read:target.xmlx:0,10"), "E00"));
	CHECK(!strcmp(send("qXfer:features:read:target.xml:0"), "E00"));
	CHECK(!strcmp(send("qXfer:features:read:target.xml:0,10,"), "E00"));
	CHECK(!strcmp(send("qXfer:features:read:target.xml:,10"), "E00"));
	CHECK(!strcmp(send("qXfer:libraries:read::0,10"), ""));
	CHECK(!strcmp(send("qXfer:features:write:target.xml:0:00"), ""));
	/* Its content. */
	x = gdb_target_xml;
	CHECK(strcspn(x, "$#}*") == size);
	CHECK(strstr(x, "<architecture>i386:x86-64</architecture>") != NULL);
	CHECK(strstr(x, "<feature name=\"org.gnu.gdb.i386.core\">") != NULL);
	CHECK(strstr(x, "<feature name=\"org.gnu.gdb.i386.sse\">") != NULL);
	CHECK(strstr(x, "<feature name=\"org.gnu.gdb.i386.segments\">") != NULL);
	CHECK(!strncmp(x, "<?xml version=\"1.0\"?>\n", 22));
	CHECK(!strcmp(x + size - 10, "</target>\n"));
	rax = strstr(x, "<reg name=\"rax\" bitsize=\"64\"");
	mxcsr = strstr(x, "<reg name=\"mxcsr\" bitsize=\"32\"");
	fs_base = strstr(x, "<reg name=\"fs_base\" bitsize=\"64\"");
	cr3 = strstr(x, "<reg name=\"cr3\" bitsize=\"64\"");
	CHECK(rax && mxcsr && fs_base && cr3 && rax < mxcsr && mxcsr < fs_base && fs_base < cr3);
	/* No explicit numbers: every register follows the one before, so the
	 * count of <reg before fs_base is its number, and the bit sizes up to
	 * mxcsr add up to the 'g' reply. */
	{
		unsigned regs = 0, bits = 0;
		const char *c;

		for (c = strstr(x, "<reg "); c && c < fs_base; c = strstr(c + 1, "<reg ")) {
			regs++;
			bits += (unsigned)strtoul(strstr(c, "bitsize=\"") + 9, NULL, 10);
		}
		CHECK_EQ(regs, GDB_SYS_REG_FIRST);
		CHECK_EQ(bits, 8 * GDB_REGS_BYTES);
		for (regs = 0, c = fs_base; c && c < cr3; c = strstr(c + 1, "<reg "))
			regs++;
		CHECK_EQ(GDB_SYS_REG_FIRST + regs, GDB_SYS_REG_FIRST + GDB_CR3);
		CHECK(strstr(x, "regnum=") == NULL);
	}
}

static void check_memory(void)
{
	const char *r;

	reset();
	for (unsigned i = 0; i < MEM_SIZE; i++)
		t.mem[i] = (uint8_t)i;
	CHECK(!strcmp(send("m1010,4"), "10111213"));
	/* Reads past the end are cut short; none at all is EFAULT. */
	CHECK(!strcmp(send("m3ffe,8"), "feff"));
	CHECK(!strcmp(send("m0,4"), "E14"));
	CHECK(!strcmp(send("m1000,0"), ""));
	/* A huge length is capped to what a reply holds. */
	r = send("m1000,ffffffff");
	CHECK_EQ(strlen(r), 2 * (GDB_PKT_MAX / 2));
	CHECK(!strcmp(send("m1000"), "E01"));
	CHECK(!strcmp(send("m,4"), "E01"));
	CHECK(!strcmp(send("M1004,2:abcd"), "OK"));
	CHECK(t.mem[4] == 0xab && t.mem[5] == 0xcd);
	CHECK(!strcmp(send("M1004,2:abc"), "E01"));      /* length mismatch */
	CHECK(!strcmp(send("M1004,2:abcdef"), "E01"));
	CHECK(!strcmp(send("M1004,1:zz"), "E01"));
	CHECK(!strcmp(send("M3fff,2:0102"), "E14"));     /* partly outside */
	CHECK(!strcmp(send("M10,ffffffffffff:00"), "E01"));
}

static void check_threads(void)
{
	reset();
	CHECK(!strcmp(send("qfThreadInfo"), "m1,2"));
	CHECK(!strcmp(send("qsThreadInfo"), "l"));
	CHECK(!strcmp(send("qC"), "QC1"));
	CHECK(!strcmp(send("T2"), "OK"));
	CHECK(!strcmp(send("T3"), "E01"));
	CHECK(!strcmp(send("T0"), "E01"));
	CHECK(!strcmp(send("qAttached"), "1"));
	CHECK(!strcmp(send("qSupported:multiprocess+;swbreak+"),
		      "PacketSize=1000;qXfer:features:read+;swbreak+"));
	/* A breakpoint stop says so when gdb asked for it, else not. */
	t.out_len = 0;
	gdb_proto_stopped(&p, GDB_SIGTRAP, 2, true);
	CHECK(strstr(t.out, "$T05thread:2;swbreak:;#") != NULL);
	CHECK(!strcmp(send("qSupported:multiprocess+;swbreak-;xswbreak+"),
		      "PacketSize=1000;qXfer:features:read+"));
	t.out_len = 0;
	gdb_proto_stopped(&p, GDB_SIGTRAP, 2, true);
	CHECK(strstr(t.out, "$T05thread:2;#") != NULL);
}

static void check_breakpoints(void)
{
	reset();
	CHECK(!strcmp(send("Z0,ffffffff80001000,1"), "OK"));
	CHECK(t.bp_insert && t.bp_addr == 0xffffffff80001000ull && t.bp_type == GDB_BP_SOFT);
	CHECK(!strcmp(send("z0,ffffffff80001000,1"), "OK"));
	CHECK(!t.bp_insert);
	CHECK(!strcmp(send("Z0,dead,1"), "E01"));
	/* Z1, Z3, Z4: not supported by the target, the empty reply. */
	CHECK(!strcmp(send("Z1,1000,1"), ""));
	CHECK(!strcmp(send("Z3,1000,4"), ""));
	CHECK(!strcmp(send("z4,1000,4"), ""));
	CHECK(!strcmp(send("Z9,1000,4"), "E01"));
	CHECK(!strcmp(send("Z0,1000"), "E01"));
	CHECK_EQ(t.bps, 3);
	/* Z2/z2: a write watchpoint, its length (kind) passed on. */
	CHECK(!strcmp(send("Z2,ffff800000123450,8"), "OK"));
	CHECK(t.bp_insert && t.bp_type == GDB_WP_WRITE);
	CHECK_EQ(t.bp_addr, 0xffff800000123450ull);
	CHECK_EQ(t.bp_kind, 8);
	CHECK(!strcmp(send("z2,1004,2"), "OK"));
	CHECK(!t.bp_insert && t.bp_type == GDB_WP_WRITE && t.bp_addr == 0x1004);
	CHECK_EQ(t.bp_kind, 2);
	CHECK(!strcmp(send("Z2,dead,4"), "E01"));
	CHECK(!strcmp(send("Z2,1000,"), "E01"));
	CHECK_EQ(t.bps, 6);
}

/* A watchpoint stop: the data address and the thread (E.3), and the
 * session is no longer running; '?' then repeats a plain stop. */
static void check_watch_stop(void)
{
	reset();
	CHECK(!strcmp(send("qSupported:swbreak+"), "PacketSize=1000;qXfer:features:read+;swbreak+"));
	CHECK(!strcmp(send("c"), "<none>"));
	t.out_len = 0;
	gdb_proto_watch_hit(&p, 2, 0xffffffff80012340ull, GDB_WP_WRITE);
	CHECK(!strcmp(t.out, "$T05watch:ffffffff80012340;thread:2;#26"));
	CHECK(!p.running);
	CHECK(!strcmp(send("?"), "T05thread:2;"));
	CHECK(!strcmp(send("qC"), "QC2"));
	/* A read (Z3) and an access (Z4) watchpoint say so. */
	CHECK(!strcmp(send("c"), "<none>"));
	t.out_len = 0;
	gdb_proto_watch_hit(&p, 1, 0x1234, GDB_WP_READ);
	CHECK(strstr(t.out, "$T05rwatch:1234;thread:1;#") != NULL);
	CHECK(!strcmp(send("c"), "<none>"));
	t.out_len = 0;
	gdb_proto_watch_hit(&p, 1, 0x1234, GDB_WP_ACCESS);
	CHECK(strstr(t.out, "$T05awatch:1234;thread:1;#") != NULL);
	/* Address 0 is written as one digit; no session, no reply. */
	t.out_len = 0;
	gdb_proto_watch_hit(&p, 1, 0, GDB_WP_WRITE);
	CHECK(strstr(t.out, "$T05watch:0;thread:1;#") != NULL);
	CHECK(!strcmp(send("D"), "OK"));
	t.out_len = 0;
	t.out[0] = 0;
	gdb_proto_watch_hit(&p, 1, 0x10, GDB_WP_WRITE);
	CHECK_EQ(t.out_len, 0);
}

static void check_resume(void)
{
	reset();
	CHECK(!strcmp(send("c"), "<none>"));             /* no reply until the stop */
	CHECK_EQ(t.resumes, 1);
	CHECK(!t.resume_step);
	CHECK(p.running);
	/* Ctrl-C while running is the caller's to act on. */
	CHECK_EQ(feed_raw("\x03", 1), GDB_EV_INTERRUPT);
	t.out_len = 0;
	gdb_proto_stopped(&p, GDB_SIGINT, 2, false);
	CHECK(!strcmp(t.out, "$T02thread:2;#d5"));
	CHECK(!p.running);
	/* Stopped: Ctrl-C means nothing. */
	CHECK_EQ(feed_raw("\x03", 1), GDB_EV_NONE);
	/* s steps the thread that stopped, or Hc's; with an address, from it. */
	CHECK(!strcmp(send("s"), "<none>"));
	CHECK(t.resume_step && t.resume_thread == 2);
	gdb_proto_stopped(&p, GDB_SIGTRAP, 2, false);
	CHECK(!strcmp(send("Hc1"), "OK"));
	CHECK(!strcmp(send("s1234"), "<none>"));
	CHECK(t.resume_step && t.resume_thread == 1);
	CHECK_EQ(t.regs[1].r[GDB_RIP], 0x1234);
	gdb_proto_stopped(&p, GDB_SIGTRAP, 1, false);
	CHECK(!strcmp(send("cxyz"), "E01"));
	CHECK_EQ(t.resumes, 3);
	/* The target ends while running: W and its status, the session over. */
	CHECK(!strcmp(send("c"), "<none>"));
	t.out_len = 0;
	gdb_proto_exited(&p, 0x2a);
	CHECK(!strcmp(t.out, "$W2a#ea"));
	CHECK(!p.attached);
}

/* One vCont packet while stopped after thread `stopped`: its reply, and
 * what the target was asked. */
static const char *vcont(const char *pkt, unsigned stopped)
{
	const char *r;

	gdb_proto_stopped(&p, GDB_SIGTRAP, stopped, false);
	t.resumes = 0;
	t.resume_thread = 99;
	r = send(pkt);
	return r;
}

#define CHECK_RESUMED(thread, step, others)                                   \
	do {                                                                  \
		CHECK_EQ(t.resumes, 1);                                       \
		CHECK_EQ(t.resume_thread, thread);                            \
		CHECK(t.resume_step == (step) && t.resume_others == (others)); \
	} while (0)

static void check_vcont(void)
{
	reset();
	CHECK(!strcmp(send("vCont?"), "vCont;c;C;s;S"));
	/* What gdb sends in all-stop mode: continue all; step one, the others
	 * running meanwhile; with scheduler-locking, the others held. */
	CHECK(!strcmp(vcont("vCont;c", 2), "<none>"));
	CHECK_RESUMED(2, false, true);
	CHECK(p.running);
	CHECK(!strcmp(vcont("vCont;s:1;c", 2), "<none>"));
	CHECK_RESUMED(1, true, true);
	CHECK(!strcmp(vcont("vCont;s:2", 1), "<none>"));
	CHECK_RESUMED(2, true, false);
	CHECK(!strcmp(vcont("vCont;c:1", 2), "<none>"));
	CHECK_RESUMED(1, false, false);
	/* -1 is every thread, as no thread; 0 any: the one that stopped. */
	CHECK(!strcmp(vcont("vCont;c:-1", 1), "<none>"));
	CHECK_RESUMED(1, false, true);
	CHECK(!strcmp(vcont("vCont;s:0;c", 2), "<none>"));
	CHECK_RESUMED(2, true, true);
	/* Signals are dropped; the leftmost action for a thread wins, so
	 * nothing after the default counts. */
	CHECK(!strcmp(vcont("vCont;S05:2;C0b", 1), "<none>"));
	CHECK_RESUMED(2, true, true);
	CHECK(!strcmp(vcont("vCont;c;s:1", 2), "<none>"));
	CHECK_RESUMED(2, false, true);
	/* What the target cannot do or the packet does not say: refused,
	 * nothing resumed. */
	static const char *const bad[] = {
		"vCont", "vCont;", "vCont;s", "vCont;x", "vCont;c:3", "vCont;s:1;s:2;c",
		"vCont;c:1;c:2", "vCont;C", "vCont;C123", "vCont;c:", "vCont;c:1x", "vCont;cc",
		"vCont?x", "vCont;c:12345678901234567",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!strcmp(vcont(bad[i], 1), "E01"));
		CHECK_EQ(t.resumes, 0);
	}
	/* Other v packets are not supported: the empty reply. */
	CHECK(!strcmp(send("vMustReplyEmpty"), ""));
	CHECK(!strcmp(send("vKill;1"), ""));
	/* c and s resume the others too. */
	CHECK(!strcmp(vcont("s", 1), "<none>"));
	CHECK_RESUMED(1, true, true);
}

static void check_monitor_detach(void)
{
	const char *r;
	char hex[64] = { 0 };

	reset();
	/* "vm 1" hex-encoded; the answer comes back hex-encoded. */
	r = send("qRcmd,766d2031");
	CHECK(!strcmp(t.monitor_cmd, "vm 1"));
	gdb_hex_encode((const uint8_t *)"did vm 1\n", 9, hex);
	CHECK(!strcmp(r, hex));
	CHECK(!strcmp(send("qRcmd,7175696574"), "OK"));  /* "quiet": no output */
	CHECK(!strcmp(send("qRcmd,7"), "E01"));
	CHECK(!strcmp(send("qRcmd"), "E01"));
	/* D replies OK, detaches and ends the session: the next packet attaches. */
	CHECK(!strcmp(send("D"), "OK"));
	CHECK_EQ(t.detaches, 1);
	CHECK(!p.attached);
	send("?");
	CHECK_EQ(t.attaches, 2);
	/* k detaches without a reply. */
	CHECK(!strcmp(send("k"), "<none>"));
	CHECK_EQ(t.detaches, 2);
	/* A stop with no session sends nothing. */
	t.out_len = 0;
	t.out[0] = 0;
	gdb_proto_stopped(&p, GDB_SIGTRAP, 1, false);
	gdb_proto_exited(&p, 0);
	CHECK_EQ(t.out_len, 0);
}

int main(void)
{
	check_hex();
	check_framing();
	check_overflow();
	check_registers();
	check_target_xml();
	check_memory();
	check_threads();
	check_breakpoints();
	check_watch_stop();
	check_resume();
	check_vcont();
	check_monitor_detach();
	return unit_finish("test_gdb_proto");
}
