/* SPDX-License-Identifier: MIT */
/*
 * virtio-hostile mode: this guest plays a malicious driver of its own
 * virtio-rng (virtio-pci modern transport; section numbers are those of
 * virtio 1.2). It finds the device on PCI bus 0 through configuration
 * mechanism #1, locates the common, notify and ISR regions in BAR 0 by the
 * vendor capabilities (4.1.4), and for each case brings the device up
 * (3.1.1), breaks one rule of the split virtqueue (2.7) and checks that the
 * device answered only with DEVICE_NEEDS_RESET (2.1.2): a configuration
 * interrupt, no used element, no byte of guest RAM written, no service on a
 * second notification. Each case ends with a reset and a well-formed
 * request (16 random bytes, used length 16). One result line per case, the
 * selftest summary, and the number of failures as the power-off status.
 *
 * BAR 0 lies in the PCI window at 0xc0000000, inside paging.c's identity
 * map of 0..4 GiB. That map is write-back, which is harmless: no RAM backs
 * the window in the nested page tables, so every access exits and is
 * emulated. Each access is a single MOV in inline asm, a form the
 * hypervisor's MMIO decoder takes.
 */
#include "cpu.h"

#define PAGE_SIZE            4096u

/* Configuration mechanism #1 (PCI 3.0, 3.2.2.3.2) and the header (6.1). */
#define PCI_CFG_ADDR         0xcf8
#define PCI_CFG_DATA         0xcfc
#define PCI_CFG_ENABLE       (1u << 31)
#define PCI_SLOTS            32
#define PCI_ID               0x00
#define PCI_COMMAND          0x04
#define  PCI_COMMAND_IO      (1u << 0)
#define  PCI_COMMAND_MEMORY  (1u << 1)
#define  PCI_COMMAND_MASTER  (1u << 2)
#define PCI_STATUS           0x06
#define  PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_BAR0             0x10
#define  PCI_BAR_IO          (1u << 0)
#define  PCI_BAR_MEM_TYPE    (3u << 1)   /* 0: 32-bit memory BAR (6.2.5.1) */
#define PCI_CAP_PTR          0x34
#define PCI_CAP_ID_VNDR      0x09
#define PCI_CAPS_MAX         48          /* 192 bytes hold no more than this */

#define VIRTIO_VENDOR        0x1af4
#define VIRTIO_RNG_DEVICE    0x1044      /* 0x1040 + device ID 4 (4.1.2.1) */

/* struct virtio_pci_cap (4.1.4): field offsets and cfg_type values. */
#define VCAP_CFG_TYPE        3
#define VCAP_BAR             4
#define VCAP_OFFSET          8
#define VCAP_LENGTH          12
#define VCAP_NOTIFY_MULT     16          /* struct virtio_pci_notify_cap */
enum { VCAP_COMMON = 1, VCAP_NOTIFY, VCAP_ISR, VCAP_DEVICE, VCAP_TYPES };

/* Common configuration (4.1.4.3). */
#define CC_DEVICE_FEATURE_SELECT 0x00
#define CC_DEVICE_FEATURE    0x04
#define CC_DRIVER_FEATURE_SELECT 0x08
#define CC_DRIVER_FEATURE    0x0c
#define CC_DEVICE_STATUS     0x14
#define CC_QUEUE_SELECT      0x16
#define CC_QUEUE_SIZE        0x18
#define CC_QUEUE_ENABLE      0x1c
#define CC_QUEUE_NOTIFY_OFF  0x1e
#define CC_QUEUE_DESC        0x20
#define CC_QUEUE_DRIVER      0x28
#define CC_QUEUE_DEVICE      0x30
#define CC_SIZE              0x38

/* Device status (2.1), ISR bits (4.1.4.5), features (6). */
#define ST_ACKNOWLEDGE       0x01
#define ST_DRIVER            0x02
#define ST_DRIVER_OK         0x04
#define ST_FEATURES_OK       0x08
#define ST_NEEDS_RESET       0x40
#define ST_UP                (ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK)
#define ISR_CONFIG           0x02
#define F_INDIRECT_DESC      (1ull << 28)
#define F_VERSION_1          (1ull << 32)
#define F_NORMAL             (F_VERSION_1 | F_INDIRECT_DESC)

/* Split virtqueue (2.7.5-2.7.8). */
#define DESC_F_NEXT          1u
#define DESC_F_WRITE         2u
#define DESC_F_INDIRECT      4u
#define AVAIL_F_NO_INTERRUPT 1u
#define RING_MAX             256         /* our rings' room; the device offers 64 */
#define TABLE_MAX            256         /* indirect table room */
#define DEVICE_SEGS_MAX      128         /* buffers per chain Kestrel serves */
#define REQ_OFF              64          /* the well-formed request's buffer... */
#define REQ_LEN              16          /* ...inside buf_page */
#define PATTERN_MUL          0x9e3779b97f4a7c15ull

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
_Static_assert(sizeof(struct vdesc) == 16, "virtio 1.2, 2.7.5");

struct vavail {
	uint16_t flags, idx;
	uint16_t ring[RING_MAX + 1];          /* + used_event */
};

struct vused {
	uint16_t flags, idx;
	struct { uint32_t id, len; } ring[RING_MAX];
	uint16_t avail_event;
};

/* Queue 0's rings as the driver hands them to the device. */
struct layout {
	uint64_t desc, avail, used;
	uint16_t size;
};

struct vdev {
	unsigned slot;
	uint32_t bar, bar_size;
	uint64_t region[VCAP_TYPES];          /* guest-physical, by cfg_type; 0: none */
	uint32_t notify_mult;
	uint16_t notify_off;                  /* queue 0's queue_notify_off */
	uint64_t features;                    /* offered */
	uint16_t qmax;                        /* queue 0's maximum size */
};

/* One hostile case: a chain (with the features the driver takes) or a
 * queue layout. */
struct vcase {
	const char *name;
	uint16_t (*chain)(void);
	uint64_t features;
	void (*layout)(struct layout *l);
};

static struct vdesc desc_table[RING_MAX] __attribute__((aligned(PAGE_SIZE)));
static struct vavail avail_ring __attribute__((aligned(PAGE_SIZE)));
static struct vused used_ring __attribute__((aligned(PAGE_SIZE)));
static struct vdesc ind_table[TABLE_MAX] __attribute__((aligned(PAGE_SIZE)));
static struct vdesc nested_table[4] __attribute__((aligned(PAGE_SIZE)));
static uint8_t buf_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct vdev dev;
static char reason[128];

static const char *why(const char *fmt, ...) PRINTF_LIKE(1, 2);
static const char *why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return reason;
}

/* ---- PCI configuration space, mechanism #1 ---- */

static void pci_select(unsigned reg)
{
	uint32_t a = PCI_CFG_ENABLE | dev.slot << 11 | (reg & 0xfc);

	asm volatile("outl %0, %w1" : : "a"(a), "Nd"((uint16_t)PCI_CFG_ADDR));
}

static uint32_t pci_read32(unsigned reg)
{
	pci_select(reg);
	return inl(PCI_CFG_DATA);
}

static uint8_t pci_read8(unsigned reg)
{
	pci_select(reg);
	return inb((uint16_t)(PCI_CFG_DATA + (reg & 3)));
}

static uint16_t pci_read16(unsigned reg)
{
	pci_select(reg);
	return inw((uint16_t)(PCI_CFG_DATA + (reg & 2)));
}

static void pci_write32(unsigned reg, uint32_t v)
{
	pci_select(reg);
	asm volatile("outl %0, %w1" : : "a"(v), "Nd"((uint16_t)PCI_CFG_DATA));
}

static void pci_write16(unsigned reg, uint16_t v)
{
	pci_select(reg);
	asm volatile("outw %0, %w1" : : "a"(v), "Nd"((uint16_t)(PCI_CFG_DATA + (reg & 2))));
}

/* ---- MMIO: one MOV each ---- */

static uint8_t mmio_read8(uint64_t a)
{
	uint8_t v;

	asm volatile("movb (%1), %0" : "=q"(v) : "r"(a) : "memory");
	return v;
}

static uint16_t mmio_read16(uint64_t a)
{
	uint16_t v;

	asm volatile("movw (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static uint32_t mmio_read32(uint64_t a)
{
	uint32_t v;

	asm volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static void mmio_write8(uint64_t a, uint8_t v)
{
	asm volatile("movb %0, (%1)" : : "q"(v), "r"(a) : "memory");
}

static void mmio_write16(uint64_t a, uint16_t v)
{
	asm volatile("movw %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

static void mmio_write32(uint64_t a, uint32_t v)
{
	asm volatile("movl %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

static uint64_t cc(unsigned off)
{
	return dev.region[VCAP_COMMON] + off;
}

/* 4.1.3.1: 64-bit fields may be written as two 32-bit halves, low first. */
static void cc_write64(unsigned off, uint64_t v)
{
	mmio_write32(cc(off), (uint32_t)v);
	mmio_write32(cc(off + 4), (uint32_t)(v >> 32));
}

static uint8_t status(void)
{
	return mmio_read8(cc(CC_DEVICE_STATUS));
}

static void status_write(uint8_t s)
{
	mmio_write8(cc(CC_DEVICE_STATUS), s);
}

/* 4.1.4.4: queue 0's notification address; the value is the queue index. */
static void notify(void)
{
	mmio_write16(dev.region[VCAP_NOTIFY] + (uint64_t)dev.notify_off * dev.notify_mult, 0);
}

/* ---- finding and mapping the device ---- */

/* Lists the virtio functions on bus 0; dev.slot: the first virtio-rng. */
static bool rng_find(void)
{
	unsigned rng = PCI_SLOTS;

	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		uint32_t id;

		dev.slot = s;
		id = pci_read32(PCI_ID);
		if ((id & 0xffff) != VIRTIO_VENDOR)
			continue;
		kprintf("virtio-hostile: 00:%02x.0 %04x:%04x\n", s, id & 0xffff, id >> 16);
		if (rng == PCI_SLOTS && id >> 16 == VIRTIO_RNG_DEVICE)
			rng = s;
	}
	dev.slot = rng;
	return rng < PCI_SLOTS;
}

/* 6.2.5.1: size BAR 0 with decoding off, put it back, turn memory decode and
 * bus mastering on. It must be a 32-bit memory BAR inside our identity map
 * and above RAM. */
static const char *bar_map(void)
{
	uint16_t cmd = pci_read16(PCI_COMMAND);
	uint32_t raw, ones;

	pci_write16(PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	raw = pci_read32(PCI_BAR0);
	pci_write32(PCI_BAR0, ~0u);
	ones = pci_read32(PCI_BAR0);
	pci_write32(PCI_BAR0, raw);
	pci_write16(PCI_COMMAND, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (raw & (PCI_BAR_IO | PCI_BAR_MEM_TYPE))
		return why("BAR0 0x%x is not a 32-bit memory BAR", raw);
	dev.bar = raw & ~0xfu;
	dev.bar_size = ~(ones & ~0xfu) + 1;
	if (!dev.bar || !dev.bar_size || dev.bar < boot_info.si.mem_size ||
	    dev.bar + (uint64_t)dev.bar_size > IDENTITY_MAP_END)
		return why("BAR0 0x%x size 0x%x: not mapped above RAM", dev.bar, dev.bar_size);
	return NULL;
}

/* 4.1.4: the first vendor capability of each cfg_type, all in BAR 0. */
static const char *caps_walk(void)
{
	uint8_t at;

	if (!(pci_read16(PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return why("no capability list");
	at = pci_read8(PCI_CAP_PTR) & 0xfc;
	for (unsigned n = 0; at && n < PCI_CAPS_MAX; n++, at = pci_read8(at + 1u) & 0xfc) {
		uint8_t type = pci_read8(at + VCAP_CFG_TYPE);
		uint32_t off = pci_read32(at + VCAP_OFFSET), len = pci_read32(at + VCAP_LENGTH);

		if (pci_read8(at) != PCI_CAP_ID_VNDR || !type || type >= VCAP_TYPES ||
		    dev.region[type])
			continue;
		if (pci_read8(at + VCAP_BAR) != 0 || off > dev.bar_size || len > dev.bar_size - off)
			return why("cfg_type %u: BAR %u offset 0x%x length 0x%x", type,
				   pci_read8(at + VCAP_BAR), off, len);
		dev.region[type] = dev.bar + off;
		if (type == VCAP_NOTIFY)
			dev.notify_mult = pci_read32(at + VCAP_NOTIFY_MULT);
	}
	if (!dev.region[VCAP_COMMON] || !dev.region[VCAP_NOTIFY] || !dev.region[VCAP_ISR])
		return why("common 0x%lx notify 0x%lx ISR 0x%lx: one is missing",
			   dev.region[VCAP_COMMON], dev.region[VCAP_NOTIFY], dev.region[VCAP_ISR]);
	return NULL;
}

static const char *check_probe(void)
{
	const char *w;

	if (boot_info.si.mem_size > IDENTITY_MAP_END ||
	    boot_info.si.mem_size < (uintptr_t)_kernel_end + PAGE_SIZE)
		return why("RAM size 0x%lx", boot_info.si.mem_size);
	if (!rng_find())
		return why("no virtio-rng (%04x:%04x) on bus 0", VIRTIO_VENDOR, VIRTIO_RNG_DEVICE);
	if ((w = bar_map()) || (w = caps_walk()))
		return w;
	mmio_write32(cc(CC_DEVICE_FEATURE_SELECT), 0);
	dev.features = mmio_read32(cc(CC_DEVICE_FEATURE));
	mmio_write32(cc(CC_DEVICE_FEATURE_SELECT), 1);
	dev.features |= (uint64_t)mmio_read32(cc(CC_DEVICE_FEATURE)) << 32;
	mmio_write16(cc(CC_QUEUE_SELECT), 0);
	dev.qmax = mmio_read16(cc(CC_QUEUE_SIZE));
	dev.notify_off = mmio_read16(cc(CC_QUEUE_NOTIFY_OFF));
	kprintf("virtio-hostile: virtio-rng at 00:%02x.0, BAR0 0x%x (0x%x bytes), common +0x%lx, "
		"notify +0x%lx (x%u), ISR +0x%lx, device %s, features 0x%lx, queue 0 max %u\n",
		dev.slot, dev.bar, dev.bar_size, dev.region[VCAP_COMMON] - dev.bar,
		dev.region[VCAP_NOTIFY] - dev.bar, dev.notify_mult, dev.region[VCAP_ISR] - dev.bar,
		dev.region[VCAP_DEVICE] ? "config" : "no config", dev.features, dev.qmax);
	if ((dev.features & F_NORMAL) != F_NORMAL)
		return why("features 0x%lx lack VERSION_1 or INDIRECT_DESC", dev.features);
	if (!dev.qmax || dev.qmax > RING_MAX || (dev.qmax & (dev.qmax - 1)))
		return why("queue 0 size %u", dev.qmax);
	if (!dev.notify_mult && dev.notify_off)
		return why("notify_off_multiplier 0 with queue_notify_off %u", dev.notify_off);
	return NULL;
}

/* ---- guest RAM canaries ---- */

static uint64_t canary(uint64_t addr)
{
	return (addr * PATTERN_MUL) ^ 0xc0ffee00c0ffee00ull;
}

/* Hides a constant address (0, or a .bss array's) from the optimiser. */
static volatile uint64_t *qwords(uint64_t addr)
{
	asm("" : "+r"(addr));
	return (volatile uint64_t *)addr;
}

static void canary_fill(uint64_t start, uint64_t end)
{
	volatile uint64_t *p = qwords(start);

	for (uint64_t a = start; a < end; a += 8)
		*p++ = canary(a);
}

/* The first qword in [start, end) outside [hole, hole + hole_len) that lost
 * its canary, or 0. */
static uint64_t canary_broken(uint64_t start, uint64_t end, uint64_t hole, uint64_t hole_len)
{
	volatile uint64_t *p = qwords(start);

	for (uint64_t a = start; a < end; a += 8, p++)
		if ((a < hole || a >= hole + hole_len) && *p != canary(a))
			return a;
	return 0;
}

static uint64_t ram_last_page(void)
{
	return boot_info.si.mem_size - PAGE_SIZE;
}

/* The buffer page the chains point into and the last page of RAM. */
static void canaries_fill(void)
{
	canary_fill((uintptr_t)buf_page, (uintptr_t)buf_page + PAGE_SIZE);
	canary_fill(ram_last_page(), boot_info.si.mem_size);
}

static const char *canaries_check(uint64_t hole, uint64_t hole_len)
{
	uint64_t a = canary_broken((uintptr_t)buf_page, (uintptr_t)buf_page + PAGE_SIZE, hole,
				   hole_len);

	if (!a)
		a = canary_broken(ram_last_page(), boot_info.si.mem_size, 0, 0);
	return a ? why("guest RAM at 0x%lx written (0x%lx)", a, *qwords(a)) : NULL;
}

static bool used_untouched(void)
{
	const volatile uint8_t *p = (const volatile uint8_t *)&used_ring;

	for (size_t i = 0; i < sizeof(used_ring); i++)
		if (p[i])
			return false;
	return true;
}

/* ---- the driver's side of 3.1.1 ---- */

static const char *driver_init(uint64_t features)
{
	status_write(0);
	if (status() != 0)                    /* 4.1.4.3.2: reset is done at 0 */
		return why("status 0x%x after reset", status());
	status_write(ST_ACKNOWLEDGE);
	status_write(ST_ACKNOWLEDGE | ST_DRIVER);
	mmio_write32(cc(CC_DRIVER_FEATURE_SELECT), 0);
	mmio_write32(cc(CC_DRIVER_FEATURE), (uint32_t)features);
	mmio_write32(cc(CC_DRIVER_FEATURE_SELECT), 1);
	mmio_write32(cc(CC_DRIVER_FEATURE), (uint32_t)(features >> 32));
	status_write(ST_UP);
	if (!(status() & ST_FEATURES_OK))
		return why("FEATURES_OK refused for 0x%lx (status 0x%x)", features, status());
	return NULL;
}

static void rings_clear(void)
{
	memset(desc_table, 0, sizeof(desc_table));
	memset(&avail_ring, 0, sizeof(avail_ring));
	memset(&used_ring, 0, sizeof(used_ring));
	memset(ind_table, 0, sizeof(ind_table));
	memset(nested_table, 0, sizeof(nested_table));
	avail_ring.flags = AVAIL_F_NO_INTERRUPT;
}

static struct layout layout_normal(void)
{
	return (struct layout){ (uintptr_t)desc_table, (uintptr_t)&avail_ring,
				(uintptr_t)&used_ring, dev.qmax };
}

static void queue_program(const struct layout *l)
{
	mmio_write16(cc(CC_QUEUE_SELECT), 0);
	mmio_write16(cc(CC_QUEUE_SIZE), l->size);
	cc_write64(CC_QUEUE_DESC, l->desc);
	cc_write64(CC_QUEUE_DRIVER, l->avail);
	cc_write64(CC_QUEUE_DEVICE, l->used);
	mmio_write16(cc(CC_QUEUE_ENABLE), 1);
}

/* Reset, negotiate, queue 0 on our rings, DRIVER_OK; fresh canaries. */
static const char *device_up(uint64_t features)
{
	struct layout l = layout_normal();
	const char *w = driver_init(features);

	if (w)
		return w;
	rings_clear();
	canaries_fill();
	queue_program(&l);
	if (mmio_read16(cc(CC_QUEUE_ENABLE)) != 1)
		return why("queue 0 not enabled (status 0x%x)", status());
	status_write(ST_UP | ST_DRIVER_OK);
	return NULL;
}

/* 2.7.13: the head into the next ring slot, then the index; notify. */
static void post(uint16_t head)
{
	avail_ring.ring[avail_ring.idx % dev.qmax] = head;
	asm volatile("" ::: "memory");
	avail_ring.idx++;
	notify();
}

static struct vdesc wdesc(uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	return (struct vdesc){ addr, len, (uint16_t)(flags | DESC_F_WRITE), next };
}

static uint64_t buf(unsigned off)
{
	return (uintptr_t)buf_page + off;
}

/* A fresh device serves 16 random bytes into buf_page + REQ_OFF, and
 * writes nothing else. */
static const char *request_ok(void)
{
	const char *w = device_up(F_NORMAL);

	if (w)
		return w;
	desc_table[0] = wdesc(buf(REQ_OFF), REQ_LEN, 0, 0);
	post(0);
	if (status() & ST_NEEDS_RESET)
		return why("well-formed request: status 0x%x", status());
	if (used_ring.idx != 1 || used_ring.ring[0].id != 0 || used_ring.ring[0].len != REQ_LEN)
		return why("well-formed request: used idx %u, element {%u, %u}, want 1 {0, %u}",
			   used_ring.idx, used_ring.ring[0].id, used_ring.ring[0].len, REQ_LEN);
	if (!canary_broken(buf(REQ_OFF), buf(REQ_OFF + REQ_LEN), 0, 0))
		return why("well-formed request: its 16 bytes were not written");
	return canaries_check(buf(REQ_OFF), REQ_LEN);
}

/* After the hostile step: DEVICE_NEEDS_RESET with a configuration
 * interrupt (2.1.2), nothing used or written, nothing served on another
 * notification; then a reset brings the device back. */
static const char *expect_refused(void)
{
	uint8_t st = status(), isr;
	const char *w;

	if (!(st & ST_NEEDS_RESET))
		return why("status 0x%x: NEEDS_RESET clear", st);
	isr = mmio_read8(dev.region[VCAP_ISR]);
	if (!(isr & ISR_CONFIG))
		return why("ISR 0x%x: no configuration change", isr);
	if (!used_untouched())
		return why("used ring written: idx %u", used_ring.idx);
	if ((w = canaries_check(0, 0)))
		return w;
	desc_table[0] = wdesc(buf(REQ_OFF), REQ_LEN, 0, 0);
	avail_ring.ring[0] = 0;
	notify();
	if (!used_untouched() || !(status() & ST_NEEDS_RESET))
		return why("served after NEEDS_RESET: used idx %u, status 0x%x", used_ring.idx,
			   status());
	return request_ok();
}

/* ---- hostile chains: each fills the rings and returns the head to post ---- */

static uint16_t chain_desc_outside_ram(void)
{
	desc_table[0] = wdesc(boot_info.si.mem_size, REQ_LEN, 0, 0);
	return 0;
}

/* addr + len wraps around 2^64 to a small address, inside RAM. */
static uint16_t chain_desc_addr_wraps(void)
{
	desc_table[0] = wdesc(~0ull - PAGE_SIZE + 1, 2 * PAGE_SIZE, 0, 0);
	return 0;
}

static uint16_t chain_desc_past_ram_end(void)
{
	desc_table[0] = wdesc(boot_info.si.mem_size - 8, REQ_LEN, 0, 0);
	return 0;
}

/* The device's own common configuration as a buffer to fill. */
static uint16_t chain_desc_in_bar(void)
{
	desc_table[0] = wdesc(dev.region[VCAP_COMMON], CC_SIZE, 0, 0);
	return 0;
}

static uint16_t chain_loop(void)
{
	desc_table[0] = wdesc(buf(0), 8, DESC_F_NEXT, 1);
	desc_table[1] = wdesc(buf(8), 8, DESC_F_NEXT, 0);
	return 0;
}

/* Every descriptor of the table once, then back to the first: one link
 * more than the queue size. */
static uint16_t chain_longer_than_queue(void)
{
	for (unsigned i = 0; i < dev.qmax; i++)
		desc_table[i] = wdesc(buf(i), 1, DESC_F_NEXT, (uint16_t)((i + 1) % dev.qmax));
	return 0;
}

/* Descriptor qmax exists in our memory, not in the queue. */
static uint16_t chain_link_past_table(void)
{
	desc_table[0] = wdesc(buf(0), 8, DESC_F_NEXT, dev.qmax);
	desc_table[dev.qmax] = wdesc(buf(8), 8, 0, 0);
	return 0;
}

static uint16_t chain_head_past_table(void)
{
	desc_table[dev.qmax] = wdesc(buf(0), REQ_LEN, 0, 0);
	return dev.qmax;
}

/* 2.7.4.2: device-readable buffers come before the writable ones. */
static uint16_t chain_readable_after_writable(void)
{
	desc_table[0] = wdesc(buf(0), 8, DESC_F_NEXT, 1);
	desc_table[1] = (struct vdesc){ buf(8), 8, 0, 0 };
	return 0;
}

/* Descriptor 0 names the indirect table (descriptor 1 is there for the
 * case that sets NEXT). */
static uint16_t indirect_head(uint64_t table, uint32_t len, uint16_t flags)
{
	desc_table[0] = (struct vdesc){ table, len, (uint16_t)(DESC_F_INDIRECT | flags), 1 };
	desc_table[1] = wdesc(buf(32), 8, 0, 0);
	return 0;
}

/* An indirect chain of `n` one-byte buffers; returns the table's length. */
static uint32_t indirect_chain(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ind_table[i] = wdesc(buf(i), 1, i + 1 < n ? DESC_F_NEXT : 0, (uint16_t)(i + 1));
	return n * (uint32_t)sizeof(struct vdesc);
}

/* 2.7.5.3.1: no indirect descriptor inside an indirect table. */
static uint16_t chain_indirect_nested(void)
{
	ind_table[0] = (struct vdesc){ (uintptr_t)nested_table, sizeof(struct vdesc),
				       DESC_F_INDIRECT, 0 };
	nested_table[0] = wdesc(buf(0), REQ_LEN, 0, 0);
	return indirect_head((uintptr_t)ind_table, sizeof(struct vdesc), 0);
}

static uint16_t chain_indirect_len_partial(void)
{
	indirect_chain(2);
	return indirect_head((uintptr_t)ind_table, 24, 0);
}

static uint16_t chain_indirect_len_zero(void)
{
	indirect_chain(1);
	return indirect_head((uintptr_t)ind_table, 0, 0);
}

/* The table itself on the device's registers. */
static uint16_t chain_indirect_in_bar(void)
{
	return indirect_head(dev.bar, 4 * sizeof(struct vdesc), 0);
}

/* 2.7.5.3.1: INDIRECT and NEXT never together. */
static uint16_t chain_indirect_with_next(void)
{
	return indirect_head((uintptr_t)ind_table, indirect_chain(1), DESC_F_NEXT);
}

static uint16_t chain_indirect_loop(void)
{
	ind_table[0] = wdesc(buf(0), 8, DESC_F_NEXT, 1);
	ind_table[1] = wdesc(buf(8), 8, DESC_F_NEXT, 0);
	return indirect_head((uintptr_t)ind_table, 2 * sizeof(struct vdesc), 0);
}

/* Entry 2 exists in our memory, past the 2-entry table given. */
static uint16_t chain_indirect_link_past_table(void)
{
	ind_table[0] = wdesc(buf(0), 8, DESC_F_NEXT, 2);
	ind_table[2] = wdesc(buf(8), 8, 0, 0);
	return indirect_head((uintptr_t)ind_table, 2 * sizeof(struct vdesc), 0);
}

/* More buffers than the queue size, and than the device takes. */
static uint16_t chain_indirect_too_long(void)
{
	return indirect_head((uintptr_t)ind_table, indirect_chain(DEVICE_SEGS_MAX + 1), 0);
}

/* Well-formed, but run with VIRTIO_F_INDIRECT_DESC not negotiated. */
static uint16_t chain_indirect_plain(void)
{
	return indirect_head((uintptr_t)ind_table, indirect_chain(1), 0);
}

/* 2.7.13.3: never more than the queue size outstanding; post() makes
 * this qmax + 1 new entries. */
static uint16_t chain_avail_idx_jump(void)
{
	desc_table[0] = wdesc(buf(0), REQ_LEN, 0, 0);
	avail_ring.idx = dev.qmax;
	return 0;
}

/* ---- hostile layouts: each spoils the normal one ---- */

static void layout_desc_misaligned(struct layout *l)
{
	l->desc += 8;
}

static void layout_used_misaligned(struct layout *l)
{
	l->used += 2;
}

/* Each ring starts inside RAM, its second half lies past the end. */
static void layout_desc_past_ram_end(struct layout *l)
{
	l->desc = boot_info.si.mem_size - 8ull * dev.qmax;
}

static void layout_avail_past_ram_end(struct layout *l)
{
	l->avail = boot_info.si.mem_size - dev.qmax;
}

static void layout_used_past_ram_end(struct layout *l)
{
	l->used = boot_info.si.mem_size - 4ull * dev.qmax;
}

/* The descriptor table on the device's own registers. */
static void layout_desc_in_bar(struct layout *l)
{
	l->desc = dev.bar;
}

static void layout_size_not_pow2(struct layout *l)
{
	l->size = (uint16_t)(dev.qmax - dev.qmax / 4);
}

static void layout_size_above_max(struct layout *l)
{
	l->size = (uint16_t)(dev.qmax * 2);
}

/* A chain posted on a working queue; a layout given to queue_enable,
 * which must refuse it. */
static const char *case_run(const struct vcase *c)
{
	struct layout l = layout_normal();
	const char *w;
	uint16_t enabled;

	if (c->chain) {
		if ((w = device_up(c->features)))
			return w;
		post(c->chain());
		return expect_refused();
	}
	if ((w = driver_init(F_NORMAL)))
		return w;
	rings_clear();
	canaries_fill();
	c->layout(&l);
	queue_program(&l);
	enabled = mmio_read16(cc(CC_QUEUE_ENABLE));
	if (enabled)
		return why("queue_enable reads %u (status 0x%x)", enabled, status());
	return expect_refused();
}

/* ---- notes: behaviour worth knowing, not counted ---- */

static void note_result(const char *name, const char *what, uint32_t want)
{
	uint8_t st = status();

	if (st & ST_NEEDS_RESET)
		kprintf("virtio-hostile: note: %s (%s): refused, status 0x%x\n", name, what, st);
	else
		kprintf("virtio-hostile: note: %s (%s): served, used idx %u len %u (of %u)\n", name,
			what, used_ring.idx, used_ring.ring[0].len, want);
	status_write(0);
}

/* 2.7.5.3.2: the device MUST take direct descriptors followed by one
 * indirect descriptor: 16 random bytes across the two buffers. */
static const char *check_direct_then_indirect(void)
{
	const char *w = device_up(F_NORMAL);
	uint8_t st;

	if (w)
		return w;
	desc_table[0] = wdesc(buf(0), 8, DESC_F_NEXT, 1);
	desc_table[1] = (struct vdesc){ (uintptr_t)ind_table, sizeof(struct vdesc),
					DESC_F_INDIRECT, 0 };
	ind_table[0] = wdesc(buf(8), 8, 0, 0);
	post(0);
	st = status();
	status_write(0);
	if (st & ST_NEEDS_RESET)
		return why("refused, status 0x%x", st);
	if (used_ring.idx != 1 || used_ring.ring[0].len != 16)
		return why("used idx %u len %u, want 1 and 16", used_ring.idx,
			   used_ring.ring[0].len);
	return NULL;
}

/* 2.7.5.3.1 forbids the driver a chain longer than the queue size, but
 * sets the device no rule for an indirect one. */
static void note_indirect_longer_than_queue(void)
{
	uint32_t n = dev.qmax + 1u;

	if (device_up(F_NORMAL))
		return;
	desc_table[0] = (struct vdesc){ (uintptr_t)ind_table, indirect_chain(n),
					DESC_F_INDIRECT, 0 };
	post(0);
	note_result("indirect-longer-than-queue", "driver-forbidden, 2.7.5.3.1", n);
}

/* ---- all of guest RAM outside our image ---- */

struct ram_range {
	uint64_t start, end;
};

static unsigned ram_ranges(struct ram_range r[3])
{
	uint64_t image_end = ((uintptr_t)_kernel_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1ull);

	r[0] = (struct ram_range){ 0, HV_BOOT_DATA_START };
	r[1] = (struct ram_range){ HV_BOOT_DATA_END, (uintptr_t)_kernel_start };
	r[2] = (struct ram_range){ image_end, boot_info.si.mem_size };
	return 3;
}

static void ram_canary_fill(void)
{
	struct ram_range r[3];
	unsigned n = ram_ranges(r);

	for (unsigned i = 0; i < n; i++)
		canary_fill(r[i].start, r[i].end);
}

/* Every case put the same canary back in the last page it used. */
static const char *check_ram_canary(void)
{
	struct ram_range r[3];
	unsigned n = ram_ranges(r);

	for (unsigned i = 0; i < n; i++) {
		uint64_t a = canary_broken(r[i].start, r[i].end, 0, 0);

		if (a)
			return why("guest RAM at 0x%lx written (0x%lx)", a, *qwords(a));
	}
	return NULL;
}

#define CHAIN(name, fn)       { name, fn, F_NORMAL, NULL }
#define LAYOUT(name, fn)      { name, NULL, 0, fn }

static const struct vcase cases[] = {
	CHAIN("vq-desc-outside-ram",          chain_desc_outside_ram),
	CHAIN("vq-desc-addr-wraps",           chain_desc_addr_wraps),
	CHAIN("vq-desc-past-ram-end",         chain_desc_past_ram_end),
	CHAIN("vq-desc-in-bar",               chain_desc_in_bar),
	CHAIN("vq-chain-loop",                chain_loop),
	CHAIN("vq-chain-longer-than-queue",   chain_longer_than_queue),
	CHAIN("vq-chain-link-past-table",     chain_link_past_table),
	CHAIN("vq-head-past-table",           chain_head_past_table),
	CHAIN("vq-readable-after-writable",   chain_readable_after_writable),
	CHAIN("vq-indirect-nested",           chain_indirect_nested),
	CHAIN("vq-indirect-len-partial",      chain_indirect_len_partial),
	CHAIN("vq-indirect-len-zero",         chain_indirect_len_zero),
	CHAIN("vq-indirect-in-bar",           chain_indirect_in_bar),
	CHAIN("vq-indirect-with-next",        chain_indirect_with_next),
	CHAIN("vq-indirect-loop",             chain_indirect_loop),
	CHAIN("vq-indirect-link-past-table",  chain_indirect_link_past_table),
	CHAIN("vq-indirect-too-long",         chain_indirect_too_long),
	{ "vq-indirect-not-negotiated", chain_indirect_plain, F_VERSION_1, NULL },
	CHAIN("vq-avail-idx-jump",            chain_avail_idx_jump),
	LAYOUT("vq-desc-misaligned",          layout_desc_misaligned),
	LAYOUT("vq-used-misaligned",          layout_used_misaligned),
	LAYOUT("vq-desc-table-past-ram-end",  layout_desc_past_ram_end),
	LAYOUT("vq-avail-ring-past-ram-end",  layout_avail_past_ram_end),
	LAYOUT("vq-used-ring-past-ram-end",   layout_used_past_ram_end),
	LAYOUT("vq-desc-table-in-bar",        layout_desc_in_bar),
	LAYOUT("vq-size-not-pow2",            layout_size_not_pow2),
	LAYOUT("vq-size-above-max",           layout_size_above_max),
};

static bool result(const char *name, const char *w, unsigned *passed, unsigned *failed)
{
	if (w) {
		kprintf("FAIL: %s (%s)\n", name, w);
		++*failed;
		return false;
	}
	kprintf("PASS: %s\n", name);
	++*passed;
	return true;
}

unsigned virtio_hostile_run(void)
{
	unsigned passed = 0, failed = 0;

	if (!result("virtio-rng-probe", check_probe(), &passed, &failed) ||
	    !result("virtio-rng-request", request_ok(), &passed, &failed)) {
		kprintf("selftest: %u passed, %u failed\n", passed, failed);
		return failed;
	}
	ram_canary_fill();
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++)
		result(cases[i].name, case_run(&cases[i]), &passed, &failed);
	result("vq-direct-then-indirect", check_direct_then_indirect(), &passed, &failed);
	note_indirect_longer_than_queue();
	result("vq-ram-canary", check_ram_canary(), &passed, &failed);
	kprintf("selftest: %u passed, %u failed\n", passed, failed);
	return failed;
}
