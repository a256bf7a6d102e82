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
         * virtio-mmio devices go here, one Device per transport. Linux
         * finds them only through _HID "LNRO0005" (virtio_mmio.device= is
         * compiled out). A device would read:
         *
         *   Device (VR00)
         *   {
         *       Name (_HID, "LNRO0005")
         *       Name (_UID, Zero)
         *       Name (_CRS, ResourceTemplate ()
         *       {
         *           Memory32Fixed (ReadWrite, <base>, 0x200)
         *           Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {<gsi>}
         *       })
         *   }
         *
         * with a GSI of 16 or more, so the IOAPIC pin needs no MADT
         * interrupt source override. If the set of devices differs between
         * VMs, this part stops being static: declare fixed slots here with
         * an _STA each, or have acpi_build() append an SSDT.
         */
    }
}
