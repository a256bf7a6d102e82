/*
 * The DSDT of every Linux VM (ACPI 6.4, 5.2.11.1), compiled by iasl at
 * build time into build/gen/dsdt.hex and copied out by acpi_build().
 *
 * It is the same for every VM: the vCPU count lives in the MADT. Ports,
 * IRQs and OEM strings come from the C header, so C and AML cannot
 * disagree. Revision 2: AML integers are 64-bit (5.2.11.1).
 */
#include "devices/acpi_tables.h"

DefinitionBlock ("", "DSDT", 2, ACPI_OEM_ID, ACPI_OEM_TABLE_ID, ACPI_OEM_REVISION)
{
    /*
     * Soft off (ACPI 6.4, 7.4.2): {SLP_TYPa, SLP_TYPb, reserved, reserved}.
     * A hardware-reduced platform has one sleep control register and
     * uses only SLP_TYPa (4.8.3.7); SLP_TYPb repeats it. No other \_Sx
     * exists, so S5 is the only sleep state the guest may enter.
     */
    Name (_S5, Package (0x04)
    {
        ACPI_S5_SLP_TYP,
        ACPI_S5_SLP_TYP,
        Zero,
        Zero
    })

    Scope (\_SB)
    {
        /* The 16550 the hypervisor emulates (devices/uart16550.c). */
        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501"))     /* 16550A-compatible UART */
            Name (_UID, One)
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, ACPI_UART_PORT, ACPI_UART_PORT, 0x01, ACPI_UART_PORT_LEN)
                IRQ (Edge, ActiveHigh, Exclusive) {ACPI_UART_IRQ}
            })
        }

        /*
         * The MC146818 CMOS clock (devices/rtc.c). Linux's rtc_cmos binds
         * to the PNP0B00 device and maps the IRQ of its _CRS through the
         * IOAPIC. Without the device it falls back to a platform device
         * with legacy IRQ 8, which a Linux on hardware-reduced ACPI (no
         * 8259 IRQs) cannot request: "probe of rtc_cmos failed with error
         * -22". acpi_build() patches RTCS to 0 for a VM without the clock.
         */
        Device (RTC)
        {
            Name (_HID, EisaId ("PNP0B00"))     /* AT real-time clock */
            Name (RTCS, 0x0F)                   /* present, enabled, shown, working */
            Method (_STA, 0, NotSerialized)
            {
                Return (RTCS)
            }
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, ACPI_RTC_PORT, ACPI_RTC_PORT, 0x01, ACPI_RTC_PORT_LEN)
                IRQ (Edge, ActiveHigh, Exclusive) {ACPI_RTC_IRQ}
            })
        }

        /*
         * The PCI host bridge (pci/pci_host.c): bus 0, configuration
         * mechanism #1 at 0xcf8 and ECAM (MCFG), BAR windows for I/O and
         * 32-bit memory. Plain PCI (PNP0A03), so no _OSC is needed for
         * MSI-X. _PRT: INTA of slot s on GSI 16 + s % 4, level and active
         * low as PCI interrupts are (GSI form, ACPI 6.4, 6.2.13).
         */
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A03"))
            Name (_UID, Zero)
            Name (_SEG, Zero)
            Name (_BBN, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x0000, 0x0000, 0x0001)
                IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, ACPI_PCI_IO_MIN, ACPI_PCI_IO_MAX, 0x0000, ACPI_PCI_IO_LEN)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
                    ReadWrite, 0x00000000, ACPI_PCI_MEM_MIN, ACPI_PCI_MEM_MAX, 0x00000000,
                    ACPI_PCI_MEM_LEN)
            })
            Name (_PRT, Package ()
            {
                Package (0x04) { 0x0001FFFF, Zero, Zero, 17 },
                Package (0x04) { 0x0002FFFF, Zero, Zero, 18 },
                Package (0x04) { 0x0003FFFF, Zero, Zero, 19 },
                Package (0x04) { 0x0004FFFF, Zero, Zero, 16 },
                Package (0x04) { 0x0005FFFF, Zero, Zero, 17 },
                Package (0x04) { 0x0006FFFF, Zero, Zero, 18 },
                Package (0x04) { 0x0007FFFF, Zero, Zero, 19 },
            })
        }

        /* Motherboard resources: the ECAM window, so Linux trusts the MCFG. */
        Device (MRES)
        {
            Name (_HID, EisaId ("PNP0C02"))
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadOnly, ACPI_PCI_ECAM_BASE, ACPI_PCI_ECAM_LEN)
            })
        }

        /*
         * virtio-mmio slots (virtio/virtio_mmio.c). Linux finds them only
         * through _HID "LNRO0005" (virtio_mmio.device= is compiled out).
         * Slot n at ACPI_VIRTIO_MMIO_BASE + n * 0x200 with GSI 20 + n, as
         * literals (iasl folds no arithmetic in resource descriptors).
         */
        Device (VR00)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 0)
            Name (VS00, 0x0F)                 /* acpi_build: 0 when slot 0 is unused */
            Method (_STA, 0, NotSerialized)
            {
                Return (VS00)
            }
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xFEB00000, ACPI_VIRTIO_MMIO_SIZE)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {20}
            })
        }

        Device (VR01)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 1)
            Name (VS01, 0x0F)                 /* acpi_build: 0 when slot 1 is unused */
            Method (_STA, 0, NotSerialized)
            {
                Return (VS01)
            }
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xFEB00200, ACPI_VIRTIO_MMIO_SIZE)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {21}
            })
        }

        Device (VR02)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 2)
            Name (VS02, 0x0F)                 /* acpi_build: 0 when slot 2 is unused */
            Method (_STA, 0, NotSerialized)
            {
                Return (VS02)
            }
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xFEB00400, ACPI_VIRTIO_MMIO_SIZE)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {22}
            })
        }

        Device (VR03)
        {
            Name (_HID, "LNRO0005")
            Name (_UID, 3)
            Name (VS03, 0x0F)                 /* acpi_build: 0 when slot 3 is unused */
            Method (_STA, 0, NotSerialized)
            {
                Return (VS03)
            }
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xFEB00600, ACPI_VIRTIO_MMIO_SIZE)
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {23}
            })
        }
    }
}
