/*
 * The PCI bus of a VM: one host bridge (bus 0 only), configuration space
 * through ports 0xCF8/0xCFC (PCI Local Bus 3.0, 3.2.2.3.2) and through an
 * ECAM window (PCI Express Base 4.0, 7.2.2; described by the ACPI MCFG),
 * 32-bit memory and I/O BARs placed by the hypervisor as firmware would,
 * INTx through the IOAPIC (GSIs in the DSDT's _PRT) and MSI-X (PCI 3.0,
 * 6.8.2) delivered to the local APICs.
 *
 * Two halves: a pure core (pci/pci_core.c: configuration-space rules, BAR
 * decoding, the MSI-X table; host-tested by tests/unit/test_pci.c) and
 * the glue (pci/pci_host.c) that registers the windows on the VM's buses.
 */
#ifndef PCI_PCI_H
#define PCI_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <core/iobus.h>

struct vm;

/* ------------------------------------------------ the platform's windows
 * Shared with the DSDT (_CRS of \_SB.PCI0) and the MCFG: see
 * devices/acpi_tables.h, which repeats them as plain numbers for iasl. */
#define PCI_MMIO_WINDOW_BASE   0xc0000000ull   /* 32-bit memory BARs */
#define PCI_MMIO_WINDOW_SIZE   0x10000000ull
#define PCI_IO_WINDOW_BASE     0xc000u         /* I/O BARs */
#define PCI_IO_WINDOW_SIZE     0x1000u
#define PCI_ECAM_BASE          0xe0000000ull   /* bus 0 only: 32 x 8 x 4 KiB */
#define PCI_ECAM_SIZE          0x100000ull
#define PCI_CONFIG_ADDRESS     0xcf8
#define PCI_CONFIG_DATA        0xcfc
/* INTx: slot s, pin INTA..INTD (0..3) -> GSI 16 + (s + pin) % 4, the
 * usual swizzle; the DSDT's _PRT lists the same for INTA. Level-triggered,
 * active low (PCI 3.0, 2.2.6). */
#define PCI_INTX_GSI_BASE      16
#define PCI_MAX_SLOTS          32

/* ------------------------------------------------ configuration space
 * Type 0 header (PCI 3.0, 6.1). */
#define PCI_CFG_SIZE           256
#define PCI_VENDOR_ID          0x00
#define PCI_DEVICE_ID          0x02
#define PCI_COMMAND            0x04
#define  PCI_COMMAND_IO        (1u << 0)
#define  PCI_COMMAND_MEMORY    (1u << 1)
#define  PCI_COMMAND_MASTER    (1u << 2)
#define  PCI_COMMAND_INTX_DISABLE (1u << 10)
#define PCI_STATUS             0x06
#define  PCI_STATUS_INTERRUPT  (1u << 3)
#define  PCI_STATUS_CAP_LIST   (1u << 4)
#define PCI_REVISION_ID        0x08
#define PCI_CLASS_PROG         0x09
#define PCI_CLASS_DEVICE       0x0a
#define PCI_CACHE_LINE_SIZE    0x0c
#define PCI_LATENCY_TIMER      0x0d
#define PCI_HEADER_TYPE        0x0e
#define PCI_BAR0               0x10
#define  PCI_BAR_IO            (1u << 0)
#define PCI_NR_BARS            6
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID       0x2e
#define PCI_CAPABILITY_LIST    0x34
#define PCI_INTERRUPT_LINE     0x3c
#define PCI_INTERRUPT_PIN      0x3d
#define PCI_CAP_START          0x40            /* capabilities from here */

#define PCI_CAP_ID_VNDR        0x09
#define PCI_CAP_ID_MSIX        0x11

/* MSI-X capability (PCI 3.0, 6.8.2.1-6.8.2.5). */
#define PCI_MSIX_FLAGS         2               /* message control */
#define  PCI_MSIX_FLAGS_QSIZE  0x7ffu          /* table size - 1 */
#define  PCI_MSIX_FLAGS_MASKALL (1u << 14)
#define  PCI_MSIX_FLAGS_ENABLE (1u << 15)
#define PCI_MSIX_TABLE         4               /* BIR in 2:0, offset */
#define PCI_MSIX_PBA           8
#define PCI_MSIX_CAP_SIZE      12
#define PCI_MSIX_ENTRY_SIZE    16
#define  PCI_MSIX_ENTRY_CTRL_MASKBIT 1u
#define PCI_MSIX_MAX_VECTORS   8

/* The MSI address and data a vector carries (SDM vol. 3, 11.11.1-11.11.2). */
#define MSI_ADDR_BASE          0xfee00000u
#define MSI_ADDR_BASE_MASK     0xfff00000u
#define MSI_ADDR_DEST_SHIFT    12
#define MSI_ADDR_DEST_LOGICAL  (1u << 2)
#define MSI_DATA_VECTOR        0xffu
#define MSI_DATA_DELMODE_SHIFT 8
#define MSI_DATA_LEVEL         (1u << 15)

struct pci_dev;

/* What a function's model provides. BAR offsets are relative to the BAR;
 * accesses inside the MSI-X table or PBA never reach it. */
struct pci_dev_ops {
	enum io_result (*bar_read)(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size,
				   uint64_t *val);
	enum io_result (*bar_write)(struct pci_dev *d, unsigned bar, uint64_t off, unsigned size,
				    uint64_t val);
	/* Before a well-formed configuration read (optional): a register the
	 * model fills on demand, e.g. virtio's window into its BAR. */
	void (*cfg_reading)(struct pci_dev *d, unsigned off, unsigned size);
	/* After a well-formed configuration write (optional): e.g. bus
	 * mastering turned off. */
	void (*cfg_written)(struct pci_dev *d, unsigned off, unsigned size);
};

struct pci_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];       /* bits the driver may write */
	uint8_t cfg_reset[PCI_CFG_SIZE];   /* cfg at power-on (pci_plug takes it) */
	uint32_t bar_size[PCI_NR_BARS];    /* 0: no BAR; powers of 2 */
	const struct pci_dev_ops *ops;
	void *opaque;                      /* the model's state */
	const char *name;
	struct vm *vm;
	uint8_t slot;
	uint16_t next_cap;                 /* where pci_add_cap puts the next one */

	/* MSI-X, when msix_vectors != 0: table and PBA in BAR msix_bar. */
	uint16_t msix_vectors;
	uint8_t msix_cap, msix_bar;
	uint32_t msix_table_off, msix_pba_off;
	struct pci_msix_entry msix[PCI_MSIX_MAX_VECTORS];
	uint32_t msix_pending;             /* bit n: vector n fired while masked */

	bool intx_level;                   /* the function asserts INTx */
};

/* One MSI message: what the interrupt controller model receives. */
struct pci_msi_msg {
	uint32_t dest;
	bool logical;
	uint8_t vector;
	uint8_t delivery_mode;
};

/* ---- pure core (pci_core.c) */

/* A type-0 function with these identities; no BARs, no capabilities. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint8_t revision,
		  uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id);
/* BAR `bar` of `size` bytes (a power of 2, at least 16 for memory and 4
 * for I/O) at `addr`, naturally aligned, as firmware leaves it. */
void pci_dev_set_bar(struct pci_dev *d, unsigned bar, bool io, uint32_t size, uint32_t addr);
/* Appends a capability of `len` bytes (ID and next pointer included, the
 * rest from body + 2); returns its offset, 0 when full. Read-only. */
uint8_t pci_add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned len);
/* Adds an MSI-X capability with `vectors` entries (every one masked at
 * reset) whose table and PBA sit in BAR `bar` at those offsets. */
int pci_add_msix(struct pci_dev *d, unsigned vectors, unsigned bar, uint32_t table_off,
		 uint32_t pba_off);

/* Configuration reads and writes of 1, 2 or 4 bytes at `off` (aligned to
 * the size; anything else reads all-ones and is dropped). */
bool pci_cfg_access_ok(unsigned off, unsigned size);
uint32_t pci_cfg_read(const struct pci_dev *d, unsigned off, unsigned size);
void pci_cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t val);

/* Where BAR `bar` decodes now: false when it is absent, its decoding is
 * off in the command register, or the driver left it unplaced (sizing). */
bool pci_bar_decodes(const struct pci_dev *d, unsigned bar, uint64_t *base);
/* Which BAR decodes `addr` (`io`: port space); -1 when none. */
int pci_bar_at(const struct pci_dev *d, bool io, uint64_t addr, unsigned size, uint64_t *off);

/* MSI-X table and PBA accesses (BAR `msix_bar`, `off` relative to the
 * BAR): true when the access fell inside them and was served. A vector
 * whose mask was cleared while pending is returned in *fire. */
bool pci_msix_access(struct pci_dev *d, uint64_t off, unsigned size, bool write,
		     uint64_t *val, uint32_t *fire);
bool pci_msix_enabled(const struct pci_dev *d);
/* Vector n: true and *msg when it may be sent now; false marks it pending
 * (masked) or drops it (out of range, or MSI-X off). */
bool pci_msix_message(struct pci_dev *d, unsigned n, struct pci_msi_msg *msg);
/* The message control register's function mask was cleared: the pending
 * vectors that may fire now (bits), cleared from the PBA. */
uint32_t pci_msix_unmasked(struct pci_dev *d);

/* ---- glue (pci_host.c) */

/* The VM's host bridge at 00:00.0 and its windows on the VM's buses. */
int pci_host_create(struct vm *vm);
/* Every function back to its power-on configuration, for a VM restart. */
void pci_host_reset(struct vm *vm);
/* Plugs d into the next free slot, placing its BARs; -1 when full. */
int pci_plug(struct vm *vm, struct pci_dev *d);
/* The function's interrupt: MSI-X vector `vector` when MSI-X is on (the
 * INTx line is then never used), else INTx asserted or not (`level`). */
void pci_msix_notify(struct pci_dev *d, unsigned vector);
void pci_intx_set(struct pci_dev *d, bool level);
/* The functions of the VM's bus, for the console's `devices` (NULL past
 * the last). */
struct pci_dev *pci_dev_at(struct vm *vm, unsigned slot);
/* Prints the functions (console `devices`). */
void pci_print(struct vm *vm);

#endif
