/*
 * The virtual Ethernet switch that joins the VMs' virtio-net NICs: a
 * learning bridge in the manner of IEEE 802.1D (7.7-7.9: learning from
 * source addresses, forwarding to the learned port, flooding the rest),
 * pure and freestanding, with fixed-size tables, host-tested
 * (tests/unit/test_vswitch.c) and fuzzed (tests/fuzz/fuzz_vswitch.c).
 *
 * The caller owns the struct and serialises every call. A port hands a
 * frame to vswitch_send; the switch calls the deliver callback of each
 * port the frame goes to, before vswitch_send returns. The callback copies
 * the frame out (into the receiver's virtqueue) and must not call back
 * into the switch.
 *
 * Frames are Ethernet frames without the FCS and without the virtio-net
 * header, 14 bytes (VSWITCH_FRAME_MIN) and up. No padding to the 802.3
 * minimum of 60 is required: virtio-net neither pads nor checks. What
 * lies beyond the Ethernet header is the ports' business: the sender may
 * hand a description of the frame (meta: virtio-net passes its offload
 * header, so a TCP segmentation offload frame of up to VSWITCH_FRAME_MAX
 * bytes reaches each receiver whole or cut in segments, as the receiver
 * can take it), which every deliver call gets unchanged.
 */
#ifndef NET_VSWITCH_H
#define NET_VSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSWITCH_MAX_PORTS   16
#define VSWITCH_MAC_ENTRIES 256
#define VSWITCH_NAME_MAX    32      /* with the NUL; the VM name (HV_VM_NAME_MAX) */
#define VSWITCH_LINE_MAX    256     /* a vswitch_format line, any counter values */

#define VSWITCH_FRAME_MIN   14      /* the header: destination, source, EtherType */
/* The largest frame without segmentation offload: a 1500-byte MTU, the
 * header and one 802.1Q tag, the receive buffer Linux's virtio-net driver
 * posts when no offload is negotiated. */
#define VSWITCH_MTU_FRAME_MAX (VSWITCH_FRAME_MIN + 4 + 1500)
/* The largest frame: a whole IP packet (64 KiB less a byte) of a
 * segmentation offload, the header and one 802.1Q tag. */
#define VSWITCH_FRAME_MAX   (VSWITCH_FRAME_MIN + 4 + 65535)

typedef bool (*vswitch_deliver_fn)(void *opaque, const void *frame, size_t len,
				   const void *meta);

/* Counters of one port, from the switch's side of the link. */
struct vswitch_counters {
	uint64_t from_port_frames;  /* handed to the switch by the port, refused ones too */
	uint64_t from_port_bytes;
	uint64_t to_port_frames;    /* delivered to the port */
	uint64_t to_port_bytes;
	uint64_t drops;             /* meant for the port, not delivered: down, or no buffer */
	uint64_t errors;            /* from the port, refused: length, source MAC, port down */
	uint64_t local;             /* from the port, to a MAC learned on the port itself */
};

struct vswitch_port {
	bool in_use;
	bool up;                    /* link up: the VM runs and its driver is ready */
	char name[VSWITCH_NAME_MAX];
	uint8_t mac[6];             /* the NIC's own address, for display only */
	vswitch_deliver_fn deliver;
	void *opaque;
	struct vswitch_counters c;
};

struct vswitch {
	struct vswitch_port port[VSWITCH_MAX_PORTS];
	/* The learned source addresses, by column: a lookup scans 2 KiB. */
	uint64_t mac[VSWITCH_MAC_ENTRIES];       /* 6 bytes, the first in bits 0-7; 0: free */
	uint64_t mac_seen[VSWITCH_MAC_ENTRIES];  /* clock when last seen as a source */
	uint8_t mac_port[VSWITCH_MAC_ENTRIES];
	uint64_t clock;             /* logical: one tick per frame learned from */
};

/* What vswitch_send did with a frame. */
enum vswitch_verdict {
	VSWITCH_UNICAST,            /* to the one port its destination was learned on */
	VSWITCH_FLOODED,            /* to every port but the source: unknown or group address */
	VSWITCH_LOCAL,              /* dropped: the destination is on the source port */
	VSWITCH_REFUSED,            /* dropped: bad length or source MAC, source port down */
	VSWITCH_BAD_PORT,           /* no such port: nothing counted */
};

/* An empty switch: no ports, nothing learned. */
void vswitch_init(struct vswitch *sw);

/* Adds a port in the first free slot, down, with zeroed counters; name
 * (truncated to fit) and mac are copied. Returns the port number, or -1
 * when all VSWITCH_MAX_PORTS are in use or deliver is NULL. */
int vswitch_port_add(struct vswitch *sw, const char *name, const uint8_t mac[6],
		     vswitch_deliver_fn deliver, void *opaque);
/* Frees the port's slot and forgets the addresses learned on it. */
void vswitch_port_remove(struct vswitch *sw, unsigned port);
/* Link up (driver ready) or down (VM stopped, driver reset). Both forget
 * the addresses learned on the port: behind it may now be another guest.
 * A down port sends nothing, learns nothing, and counts as drops the
 * frames that would have gone to it. Counters survive both. */
void vswitch_port_up(struct vswitch *sw, unsigned port);
void vswitch_port_down(struct vswitch *sw, unsigned port);

/* A frame from `port`: learns its source, then forwards it (see enum
 * vswitch_verdict), handing meta to each deliver call. The frame is only
 * read, and only during the call. */
enum vswitch_verdict vswitch_send(struct vswitch *sw, unsigned port, const void *frame,
				  size_t len, const void *meta);

/* The port `mac` was learned on, or -1. */
int vswitch_lookup(const struct vswitch *sw, const uint8_t mac[6]);

/* The console's `net` listing, a line at a time (no newline): a header,
 * then one line per port in use. Start with *pos = 0; each call writes the
 * next line into buf (truncated to len, NUL-terminated) and returns true,
 * or returns false when there are no more. */
bool vswitch_format(const struct vswitch *sw, unsigned *pos, char *buf, size_t len);

#endif
