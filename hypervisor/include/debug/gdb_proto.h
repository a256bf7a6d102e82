/*
 * The gdb remote serial protocol (gdb manual, appendix E "Remote Serial
 * Protocol"), as a pure core: packet framing with checksums and acks,
 * hex codecs and the command dispatcher, over an abstract target. It holds
 * no hypervisor state, so the host unit tests and the fuzzer drive it with
 * a fake target; debug/gdb_stub.c plugs in a VM.
 *
 * Everything here comes from the outside (the second serial port): a
 * packet longer than GDB_PKT_MAX is dropped whole and nacked, numbers that
 * do not fit are errors, and no reply can outgrow its buffer.
 */
#ifndef DEBUG_GDB_PROTO_H
#define DEBUG_GDB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest packet accepted, advertised as PacketSize (without "$#xx"). */
#define GDB_PKT_MAX 4096

/*
 * The registers of gdb's i386:x86-64 target, in the order of its default
 * layout (gdb's core then SSE feature), which the 'g' reply keeps: the 24
 * below, then st0-st7 (10 bytes each), the eight x87 control registers,
 * xmm0-15 and mxcsr. Only the 24 carry values; the FPU and SSE part reads
 * as zero and writes to it are ignored. The target description
 * (gdb_target_xml) adds the system registers after mxcsr, read with 'p'
 * only and read-only.
 */
enum gdb_reg {
	GDB_RAX, GDB_RBX, GDB_RCX, GDB_RDX, GDB_RSI, GDB_RDI, GDB_RBP, GDB_RSP,
	GDB_R8, GDB_R9, GDB_R10, GDB_R11, GDB_R12, GDB_R13, GDB_R14, GDB_R15,
	GDB_RIP, GDB_EFLAGS, GDB_CS, GDB_SS, GDB_DS, GDB_ES, GDB_FS, GDB_GS,
	GDB_NR_CORE_REGS,
};
#define GDB_NR_REGS      57      /* through mxcsr */
#define GDB_REGS_BYTES   536     /* their total size: the 'g' reply's */

/* Numbered from GDB_SYS_REG_FIRST on, 8 bytes each. */
enum gdb_sys_reg {
	GDB_FS_BASE, GDB_GS_BASE, GDB_CR0, GDB_CR2, GDB_CR3, GDB_CR4, GDB_CR8, GDB_EFER,
	GDB_NR_SYS_REGS,
};
#define GDB_SYS_REG_FIRST GDB_NR_REGS

struct gdb_regs {
	uint64_t r[GDB_NR_CORE_REGS];
	uint64_t sys[GDB_NR_SYS_REGS];
};

/* The target description (gdb manual, G "Target Descriptions") served as
 * qXfer:features:read:target.xml: the layout above with its names and
 * types, so gdb knows fs_base, gs_base (feature org.gnu.gdb.i386.segments)
 * and cr0, cr2, cr3, cr4, cr8, efer (org.kestrel.x86.sys). */
extern const char gdb_target_xml[];

enum gdb_bp_type { GDB_BP_SOFT, GDB_BP_HARD, GDB_WP_WRITE, GDB_WP_READ, GDB_WP_ACCESS };

/* What the protocol needs from the debugged machine. Threads are numbered
 * from 1 (gdb reserves 0 for "any" and -1 for "all"). */
struct gdb_target_ops {
	/* Sends bytes to gdb. */
	void (*put)(void *ctx, const char *buf, size_t len);
	/* A session starts (the first packet): the target stops. */
	void (*attach)(void *ctx);
	/* gdb leaves (D, k): breakpoints out, the target runs on. */
	void (*detach)(void *ctx);
	unsigned (*nr_threads)(void *ctx);
	int (*get_regs)(void *ctx, unsigned thread, struct gdb_regs *r);
	int (*set_regs)(void *ctx, unsigned thread, const struct gdb_regs *r);
	/* Guest-virtual memory through the thread's paging: how many bytes
	 * could be read or written, from the start. */
	size_t (*read_mem)(void *ctx, unsigned thread, uint64_t addr, uint8_t *buf, size_t len);
	size_t (*write_mem)(void *ctx, unsigned thread, uint64_t addr, const uint8_t *buf,
			    size_t len);
	/* Resumes `thread`, for one instruction with step; the other threads
	 * run too with others, and stay stopped without (vCont with no default
	 * action: gdb's scheduler-locking). The stop is reported later through
	 * gdb_proto_stopped. */
	void (*resume)(void *ctx, unsigned thread, bool step, bool others);
	/* Z/z: kind is the breakpoint's kind, a watchpoint's length in bytes.
	 * 0 done, -1 failed, 1 this type is not supported. */
	int (*breakpoint)(void *ctx, enum gdb_bp_type type, uint64_t addr, uint64_t kind,
			  bool insert);
	/* "monitor CMD": writes a NUL-terminated answer to out. */
	void (*monitor)(void *ctx, const char *cmd, char *out, size_t len);
};

enum gdb_rx_state { GDB_RX_IDLE, GDB_RX_DATA, GDB_RX_ESCAPE, GDB_RX_SUM1, GDB_RX_SUM2 };

struct gdb_proto {
	const struct gdb_target_ops *ops;
	void *ctx;
	bool attached;            /* a session is on (first packet seen) */
	bool running;             /* resumed: a stop reply is owed */
	bool swbreak;             /* gdb takes "swbreak" stops (qSupported) */
	unsigned g_thread;        /* Hg: registers and memory */
	unsigned c_thread;        /* Hc: the thread s steps (0: the stopped one) */
	unsigned stop_thread;     /* the thread the last stop reported */
	uint8_t stop_signal;
	/* Receiving. */
	enum gdb_rx_state rx;
	bool rx_overflow;
	uint8_t rx_sum, rx_sum_given;
	size_t rx_len;
	char rx_buf[GDB_PKT_MAX + 1];
	/* The last packet sent, framed, for a retransmission on '-'. */
	size_t tx_len;
	char tx_buf[GDB_PKT_MAX + 4];
	/* Scratch for one reply: its text and the bytes behind it. */
	char reply[GDB_PKT_MAX];
	uint8_t data[GDB_PKT_MAX / 2];
	/* Counters (the console and the tests read them). */
	uint64_t packets, bad_checksums, overflows, interrupts;
};

enum gdb_rx_event { GDB_EV_NONE, GDB_EV_PACKET, GDB_EV_INTERRUPT };

void gdb_proto_init(struct gdb_proto *p, const struct gdb_target_ops *ops, void *ctx);
/* One byte from gdb. A complete packet is acked and handled at once; a
 * Ctrl-C (0x03) outside a packet while the target runs is reported as
 * GDB_EV_INTERRUPT: the caller stops the target and calls gdb_proto_stopped. */
enum gdb_rx_event gdb_proto_rx(struct gdb_proto *p, uint8_t c);
/* The target stopped (a breakpoint, a step, an interrupt): sends the stop
 * reply "T<signal>thread:<n>;" when a session is on. at_breakpoint: an
 * INT3 of a Z0 breakpoint, with PC at it (E.3 "swbreak"); gdb would else
 * take PC to be past it. */
void gdb_proto_stopped(struct gdb_proto *p, uint8_t signal, unsigned thread,
		       bool at_breakpoint);
/* The target stopped after an access to a watchpoint's range (the access
 * done, PC past the instruction): "T05watch:<addr>;thread:<n>;" (E.3) for
 * a Z2, rwatch for a Z3, awatch for a Z4 (type), addr the data address
 * accessed, within the watchpoint. */
void gdb_proto_watch_hit(struct gdb_proto *p, unsigned thread, uint64_t addr,
			 enum gdb_bp_type type);
/* The target ended (the VM stopped) while running: "W<status>", and the
 * session is over. */
void gdb_proto_exited(struct gdb_proto *p, uint8_t status);
/* Forgets the session (the stub drops it, e.g. when its VM goes away). */
void gdb_proto_reset(struct gdb_proto *p);

#define GDB_SIGINT  2
#define GDB_SIGTRAP 5

/* Hex codecs, shared with the glue. */
int gdb_hex_digit(char c);
/* Parses hex digits from *s (at most 16); 0 and *s moved past them, or -1
 * when there are none or too many. */
int gdb_parse_hex(const char **s, const char *end, uint64_t *val);
/* Decodes 2*len hex digits into buf; 0 or -1. */
int gdb_hex_decode(const char *s, size_t len, uint8_t *buf);
/* Encodes len bytes as 2*len hex digits (no NUL). */
void gdb_hex_encode(const uint8_t *buf, size_t len, char *out);

#endif
