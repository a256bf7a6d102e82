/*
 * The ACPI tables each Linux VM boots with (ACPI 6.4): RSDP, XSDT, a
 * hardware-reduced FADT, the MADT, the MCFG and the DSDT (compiled by iasl from
 * hypervisor/devices/dsdt.asl).
 *
 * The virtual platform they describe:
 *   - one local APIC per vCPU at 0xfee00000, APIC IDs 0..n-1;
 *   - one IOAPIC at 0xfec00000, ID ACPI_IOAPIC_ID, GSIs from 0; ISA IRQs
 *     on the pins of their number, except IRQ 0 (the PIT) on GSI 2;
 *   - the two 8259s and the 8254 of a PC (MADT PCAT_COMPAT, and the
 *     interrupt source override of IRQ 0);
 *   - the COM1 16550 at 0x3f8..0x3ff, ISA IRQ 4 (edge, active high);
 *   - the CMOS RTC at 0x70..0x71, ISA IRQ 8, as a PNP0B00 device;
 *   - the ACPI PM timer at ACPI_PM_TIMER_PORT;
 *   - a PCI host bridge (\_SB.PCI0, MCFG) and up to four virtio-mmio
 *     devices (\_SB.VR00-VR03);
 *   - power-off through the FADT sleep control register and reset
 *     through the FADT reset register (both 8-bit I/O ports below).
 *
 * This header is also the preprocessor include of dsdt.asl, so the two
 * agree on ports and IRQs. iasl defines __IASL__ and its preprocessor knows
 * only object-like macros: the first section holds plain numbers and
 * strings, everything else sits below the __IASL__ guard.
 */
#ifndef DEVICES_ACPI_TABLES_H
#define DEVICES_ACPI_TABLES_H

/* ---------------------------------------------- shared with dsdt.asl */

/* Header identity of every table (ACPI 6.4, 5.2.6). The OEM table ID of
 * the FADT must match the XSDT's (5.2.8, 5.2.9). */
#define ACPI_OEM_ID             "KSTREL"
#define ACPI_OEM_TABLE_ID       "KESTREL "
#define ACPI_OEM_REVISION       1

/*
 * Sleep control register (ACPI 6.4, 4.8.3.7), one byte written by the
 * guest: bits 4:2 SLP_TYP, bit 5 SLP_EN. Linux powers off by writing
 * ACPI_S5_SLP_TYP << 2 | SLP_EN (0x34).
 * Sleep status register, one byte: bit 7 WAK_STS. Linux writes 0x80 (to
 * clear it) just before the control write and then polls it; reads can
 * return 0.
 */
#define ACPI_SLEEP_CONTROL_PORT 0x600
#define ACPI_SLEEP_STATUS_PORT  0x601
/* The SLP_TYP of S5 (soft off) in the DSDT's \_S5 package (7.4.2). The
 * DSDT declares no other sleep state, so no other value is ever used
 * with SLP_EN. */
#define ACPI_S5_SLP_TYP         5

/* Reset register (ACPI 6.4, 4.8.3.6): writing ACPI_RESET_VALUE (SYS_RST
 * | RST_CPU of the PC reset control port) to this byte port resets. */
#define ACPI_RESET_PORT         0xcf9
#define ACPI_RESET_VALUE        0x06

/* \_SB.COM1 in the DSDT. */
#define ACPI_UART_PORT          0x3f8
#define ACPI_UART_PORT_LEN      8
#define ACPI_UART_IRQ           4

/* \_SB.RTC in the DSDT (devices/rtc.h): what Linux's rtc_cmos binds to. */
#define ACPI_RTC_PORT           0x70
#define ACPI_RTC_PORT_LEN       2
#define ACPI_RTC_IRQ            8

/* The PIT's ISA IRQ and the IOAPIC input it is wired to (MADT interrupt
 * source override, as on every PC with an IOAPIC). */
#define ACPI_PIT_IRQ            0
#define ACPI_PIT_GSI            2

/* PM timer block (ACPI 6.4, 4.8.3.3): a 32-bit register, 24 bits used. */
#define ACPI_PM_TIMER_PORT      0x608
#define ACPI_PM_TIMER_LEN       4

/* MADT (ACPI 6.4, 5.2.12). */
#define ACPI_LAPIC_ADDR         0xfee00000
#define ACPI_IOAPIC_ADDR        0xfec00000
#define ACPI_IOAPIC_ID          0
#define ACPI_IOAPIC_GSI_BASE    0

/* \_SB.PCI0 (pci/pci.h has the same as PCI_*; checked in pci_host.c):
 * bus 0 only, configuration ports, an I/O and a 32-bit memory window for
 * BARs, ECAM in MCFG and reserved by \_SB.MRES. PCI INTA of slot s goes
 * to GSI ACPI_PCI_GSI0 + s % 4 (_PRT). */
#define ACPI_PCI_IO_MIN         0xc000
#define ACPI_PCI_IO_MAX         0xcfff
#define ACPI_PCI_IO_LEN         0x1000
#define ACPI_PCI_MEM_MIN        0xc0000000
#define ACPI_PCI_MEM_MAX        0xcfffffff
#define ACPI_PCI_MEM_LEN        0x10000000
#define ACPI_PCI_ECAM_BASE      0xe0000000
#define ACPI_PCI_ECAM_LEN       0x100000
#define ACPI_PCI_GSI0           16

/* \_SB.VR00-VR03: virtio-mmio slots (virtio/virtio_mmio.h), each present
 * only when the VM has a device there (_STA patched by acpi_build). */
#define ACPI_VIRTIO_MMIO_BASE   0xfeb00000
#define ACPI_VIRTIO_MMIO_SIZE   0x200
#define ACPI_VIRTIO_MMIO_GSI0   20

#ifndef __IASL__
// C only from here. The iasl 20200925 preprocessor garbles multi-line
// block comments in the lines it skips, so comments below are // or fit
// on one line (a violation fails the DSDT build with a syntax error).

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sleep control / status register bits (ACPI 6.4, 4.8.3.7). */
#define ACPI_SLP_TYP_SHIFT      2
#define ACPI_SLP_TYP_MASK       (7u << ACPI_SLP_TYP_SHIFT)
#define ACPI_SLP_EN             (1u << 5)
#define ACPI_WAK_STS            (1u << 7)

/* xAPIC IDs are 8 bits and 0xff is the broadcast ID. */
#define ACPI_MAX_VCPUS          255
// acpi_build() never needs more, whatever nr_vcpus (checked at build
// time in acpi_tables.c).
#define ACPI_TABLES_MAX_SIZE    4096

/* The VM as the tables describe it. */
struct acpi_platform {
	unsigned nr_vcpus;      /* 1..ACPI_MAX_VCPUS; local APIC IDs 0..n-1 */
	bool cmos_rtc;          /* an MC146818 RTC answers at ports 0x70/0x71 */
	bool pic_pit;           /* 8259 pair and 8254, IRQ 0 on GSI ACPI_PIT_GSI */
	bool pm_timer;          /* the PM timer answers at ACPI_PM_TIMER_PORT */
	unsigned virtio_mmio;   /* virtio-mmio slots in use, 0..4 (from slot 0) */
};

// With cmos_rtc, the FADT CENTURY field names this CMOS byte (the PC/AT
// century byte, RTC_REG_CENTURY of devices/rtc.h); Linux reads it at boot.
#define ACPI_RTC_CENTURY_INDEX  0x32

// Writes all tables into buf, which the guest sees at guest-physical gpa:
// the RSDP at gpa (give it to Linux in boot_params.acpi_rsdp_addr or PVH
// start_info.rsdp_paddr), then XSDT, FADT, DSDT and MADT, each 16-byte
// aligned, padding zeroed. gpa must be 16-byte aligned (5.2.5.1), so a
// guest scanning 0xe0000..0xfffff finds the RSDP too.
// Returns the bytes used (at most ACPI_TABLES_MAX_SIZE), or -1 when size
// is too small or the platform is out of range; buf is untouched then.
long acpi_build(const struct acpi_platform *p, void *buf, size_t size, uint64_t gpa);

/* ---------------------------------------------------- table layouts */



/* Generic Address Structure (ACPI 6.4, 5.2.3.2). */
struct acpi_gas {
	uint8_t space_id;               /* 0x00 */
	uint8_t bit_width;              /* 0x01 */
	uint8_t bit_offset;             /* 0x02 */
	uint8_t access_size;            /* 0x03 */
	uint64_t address;               /* 0x04 */
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_IO      1
#define ACPI_GAS_ACCESS_BYTE    1
#define ACPI_GAS_ACCESS_DWORD   3

/* Root System Description Pointer, revision 2 (ACPI 6.4, 5.2.5.3). */
struct acpi_rsdp {
	char signature[8];              /* 0x00 "RSD PTR " */
	uint8_t checksum;               /* 0x08 over bytes 0..19 */
	char oem_id[6];                 /* 0x09 */
	uint8_t revision;               /* 0x0f */
	uint32_t rsdt_address;          /* 0x10 */
	uint32_t length;                /* 0x14 */
	uint64_t xsdt_address;          /* 0x18 */
	uint8_t extended_checksum;      /* 0x20 over all 36 bytes */
	uint8_t reserved_0x21[3];       /* 0x21 */
} __attribute__((packed));

/* System description table header (ACPI 6.4, 5.2.6). */
struct acpi_sdt_header {
	char signature[4];              /* 0x00 */
	uint32_t length;                /* 0x04 whole table */
	uint8_t revision;               /* 0x08 */
	uint8_t checksum;               /* 0x09 whole table sums to 0 */
	char oem_id[6];                 /* 0x0a */
	char oem_table_id[8];           /* 0x10 */
	uint32_t oem_revision;          /* 0x18 */
	char creator_id[4];             /* 0x1c */
	uint32_t creator_revision;      /* 0x20 */
} __attribute__((packed));

// Extended System Description Table (ACPI 6.4, 5.2.8): 64-bit entries at
// offset 36, so unaligned.
struct acpi_xsdt {
	struct acpi_sdt_header header;  /* 0x00 */
	uint64_t entry[];               /* 0x24 */
} __attribute__((packed));

// Fixed ACPI Description Table, revision 6 (ACPI 6.4, 5.2.9). Under
// HW_REDUCED_ACPI the legacy fixed-hardware fields stay zero, but for the
// PM timer block (see acpi_tables.c).
struct acpi_fadt {
	struct acpi_sdt_header header;  /* 0x00 */
	uint32_t firmware_ctrl;         /* 0x24 FACS */
	uint32_t dsdt;                  /* 0x28 */
	uint8_t reserved_0x2c;          /* 0x2c ACPI 1.0 INT_MODEL */
	uint8_t preferred_pm_profile;   /* 0x2d */
	uint16_t sci_int;               /* 0x2e */
	uint32_t smi_cmd;               /* 0x30 */
	uint8_t acpi_enable;            /* 0x34 */
	uint8_t acpi_disable;           /* 0x35 */
	uint8_t s4bios_req;             /* 0x36 */
	uint8_t pstate_cnt;             /* 0x37 */
	uint32_t pm1a_evt_blk;          /* 0x38 */
	uint32_t pm1b_evt_blk;          /* 0x3c */
	uint32_t pm1a_cnt_blk;          /* 0x40 */
	uint32_t pm1b_cnt_blk;          /* 0x44 */
	uint32_t pm2_cnt_blk;           /* 0x48 */
	uint32_t pm_tmr_blk;            /* 0x4c */
	uint32_t gpe0_blk;              /* 0x50 */
	uint32_t gpe1_blk;              /* 0x54 */
	uint8_t pm1_evt_len;            /* 0x58 */
	uint8_t pm1_cnt_len;            /* 0x59 */
	uint8_t pm2_cnt_len;            /* 0x5a */
	uint8_t pm_tmr_len;             /* 0x5b */
	uint8_t gpe0_blk_len;           /* 0x5c */
	uint8_t gpe1_blk_len;           /* 0x5d */
	uint8_t gpe1_base;              /* 0x5e */
	uint8_t cst_cnt;                /* 0x5f */
	uint16_t p_lvl2_lat;            /* 0x60 */
	uint16_t p_lvl3_lat;            /* 0x62 */
	uint16_t flush_size;            /* 0x64 */
	uint16_t flush_stride;          /* 0x66 */
	uint8_t duty_offset;            /* 0x68 */
	uint8_t duty_width;             /* 0x69 */
	uint8_t day_alrm;               /* 0x6a */
	uint8_t mon_alrm;               /* 0x6b */
	uint8_t century;                /* 0x6c */
	uint16_t iapc_boot_arch;        /* 0x6d ACPI_IAPC_* */
	uint8_t reserved_0x6f;          /* 0x6f */
	uint32_t flags;                 /* 0x70 ACPI_FADT_* */
	struct acpi_gas reset_reg;      /* 0x74 */
	uint8_t reset_value;            /* 0x80 */
	uint16_t arm_boot_arch;         /* 0x81 */
	uint8_t minor_version;          /* 0x83 */
	uint64_t x_firmware_ctrl;       /* 0x84 */
	uint64_t x_dsdt;                /* 0x8c */
	struct acpi_gas x_pm1a_evt_blk; /* 0x94 */
	struct acpi_gas x_pm1b_evt_blk; /* 0xa0 */
	struct acpi_gas x_pm1a_cnt_blk; /* 0xac */
	struct acpi_gas x_pm1b_cnt_blk; /* 0xb8 */
	struct acpi_gas x_pm2_cnt_blk;  /* 0xc4 */
	struct acpi_gas x_pm_tmr_blk;   /* 0xd0 */
	struct acpi_gas x_gpe0_blk;     /* 0xdc */
	struct acpi_gas x_gpe1_blk;     /* 0xe8 */
	struct acpi_gas sleep_control_reg; /* 0xf4 */
	struct acpi_gas sleep_status_reg;  /* 0x100 */
	uint64_t hypervisor_vendor_id;  /* 0x10c */
} __attribute__((packed));

// FADT flags (ACPI 6.4, 5.2.9, "Fixed ACPI Description Table Fixed
// Feature Flags").
#define ACPI_FADT_PWR_BUTTON            (1u << 4)   /* no fixed power button */
#define ACPI_FADT_SLP_BUTTON            (1u << 5)   /* no fixed sleep button */
#define ACPI_FADT_RESET_REG_SUP         (1u << 10)
#define ACPI_FADT_HW_REDUCED_ACPI       (1u << 20)

/* IA-PC boot architecture flags (ACPI 6.4, 5.2.9.3). */
#define ACPI_IAPC_LEGACY_DEVICES        (1u << 0)
#define ACPI_IAPC_8042                  (1u << 1)
#define ACPI_IAPC_VGA_NOT_PRESENT       (1u << 2)
#define ACPI_IAPC_MSI_NOT_SUPPORTED     (1u << 3)
#define ACPI_IAPC_PCIE_ASPM_CONTROLS    (1u << 4)
#define ACPI_IAPC_CMOS_RTC_NOT_PRESENT  (1u << 5)

/* Multiple APIC Description Table (ACPI 6.4, 5.2.12). */
struct acpi_madt {
	struct acpi_sdt_header header;  /* 0x00 */
	uint32_t lapic_address;         /* 0x24 */
	uint32_t flags;                 /* 0x28 ACPI_MADT_PCAT_COMPAT */
} __attribute__((packed));          /* structures follow at 0x2c */

#define ACPI_MADT_PCAT_COMPAT           (1u << 0)

#define ACPI_MADT_TYPE_LAPIC            0
#define ACPI_MADT_TYPE_IOAPIC           1
#define ACPI_MADT_TYPE_ISO              2

/* Processor Local APIC structure (ACPI 6.4, 5.2.12.2). */
struct acpi_madt_lapic {
	uint8_t type;                   /* 0x00 ACPI_MADT_TYPE_LAPIC */
	uint8_t length;                 /* 0x01 8 */
	uint8_t processor_uid;          /* 0x02 */
	uint8_t apic_id;                /* 0x03 */
	uint32_t flags;                 /* 0x04 ACPI_MADT_LAPIC_ENABLED */
} __attribute__((packed));

#define ACPI_MADT_LAPIC_ENABLED         (1u << 0)

/* I/O APIC structure (ACPI 6.4, 5.2.12.3). */
struct acpi_madt_ioapic {
	uint8_t type;                   /* 0x00 ACPI_MADT_TYPE_IOAPIC */
	uint8_t length;                 /* 0x01 12 */
	uint8_t ioapic_id;              /* 0x02 */
	uint8_t reserved_0x03;          /* 0x03 */
	uint32_t address;               /* 0x04 */
	uint32_t gsi_base;              /* 0x08 */
} __attribute__((packed));

// Interrupt Source Override structure (ACPI 6.4, 5.2.12.5); flags are the
// MPS INTI flags (0: as the bus defines, for ISA edge and active high).
struct acpi_madt_iso {
	uint8_t type;                   /* 0x00 ACPI_MADT_TYPE_ISO */
	uint8_t length;                 /* 0x01 10 */
	uint8_t bus;                    /* 0x02 0: ISA */
	uint8_t source;                 /* 0x03 ISA IRQ */
	uint32_t gsi;                   /* 0x04 */
	uint16_t flags;                 /* 0x08 */
} __attribute__((packed));

// PCI Firmware Specification 3.0, 4.1.2: MCFG and its allocation entries.
struct acpi_mcfg {
	struct acpi_sdt_header header;  /* 0x00 */
	uint64_t reserved;              /* 0x24 */
} __attribute__((packed));          /* entries follow at 0x2c */

struct acpi_mcfg_alloc {
	uint64_t base;                  /* 0x00 ECAM base of segment/bus range */
	uint16_t segment;               /* 0x08 */
	uint8_t start_bus;              /* 0x0a */
	uint8_t end_bus;                /* 0x0b */
	uint32_t reserved;              /* 0x0c */
} __attribute__((packed));

/* The layouts above, pinned to the spec's offsets and sizes. */
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(offsetof(struct acpi_rsdp, xsdt_address) == 24, "RSDP");
_Static_assert(offsetof(struct acpi_rsdp, extended_checksum) == 32, "RSDP");
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "table header");
_Static_assert(offsetof(struct acpi_sdt_header, creator_id) == 28, "table header");
_Static_assert(offsetof(struct acpi_xsdt, entry) == 36, "XSDT");
_Static_assert(offsetof(struct acpi_fadt, preferred_pm_profile) == 45, "FADT");
_Static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT");
_Static_assert(offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT");
_Static_assert(offsetof(struct acpi_fadt, p_lvl2_lat) == 96, "FADT");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT");
_Static_assert(offsetof(struct acpi_fadt, reset_value) == 128, "FADT");
_Static_assert(offsetof(struct acpi_fadt, minor_version) == 131, "FADT");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT");
_Static_assert(offsetof(struct acpi_fadt, sleep_status_reg) == 256, "FADT");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_vendor_id) == 268, "FADT");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT local APIC");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT I/O APIC");
_Static_assert(offsetof(struct acpi_madt_ioapic, gsi_base) == 8, "MADT I/O APIC");
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT override");
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG");
_Static_assert(sizeof(struct acpi_mcfg_alloc) == 16, "MCFG allocation");

#endif /* !__IASL__ */
#endif /* DEVICES_ACPI_TABLES_H */
