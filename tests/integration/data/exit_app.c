/*
 * A tiny EFI application for testing scripts/run-qemu.py and run-bochs.py
 * without the hypervisor.  Built by tests/integration/test_runner.py with
 * gnu-efi and -DMODE=<n>:
 *   MODE_PASS    print "hello" and the hypervisor's batch-mode pass line on
 *                COM1, write 0x10 to port 0xf4 (QEMU exits 33), halt (Bochs)
 *   MODE_FAIL    the same with the failure line and 0x11 (QEMU exits 35)
 *   MODE_HANG    print "hello" on COM1, then halt forever (timeout test)
 *   MODE_RESET   print "hello" on COM1, then reset the machine (-no-reboot)
 *   MODE_CONSOLE a line-echo console with the prompt "kestrel> ": "quit"
 *                writes 0x10 to port 0xf4, anything else is echoed back.
 *   MODE_POWEROFF print "hello", then ResetSystem(EfiResetShutdown): an ACPI
 *                power-off, after which Bochs ends without a verdict line.
 */
#include <efi.h>
#include <efilib.h>

#define MODE_PASS    0
#define MODE_FAIL    1
#define MODE_HANG    2
#define MODE_RESET   3
#define MODE_CONSOLE 4
#define MODE_POWEROFF 5
#ifndef MODE
#define MODE MODE_PASS
#endif

#define COM1 0x3f8

static inline void outb(UINT16 port, UINT8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline UINT8 inb(UINT16 port)
{
	UINT8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc_com1(char c)
{
	while (!(inb(COM1 + 5) & 0x20)) /* LSR: transmitter holding register empty */
		;
	outb(COM1, (UINT8)c);
}

static void puts_com1(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_com1('\r');
		putc_com1(*s);
	}
}

static char getc_com1(void)
{
	while (!(inb(COM1 + 5) & 0x01)) /* LSR: data ready */
		;
	return (char)inb(COM1);
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void console(void)
{
	char line[80];
	unsigned n;

	/* No timer interrupts: OVMF's terminal driver would poll COM1 from its
	 * timer and eat typed characters before this loop sees them. */
	__asm__ volatile("cli");
	for (;;) {
		puts_com1("kestrel> ");
		n = 0;
		/* Echo what is typed, as Kestrel's console does. */
		for (char c = getc_com1(); c != '\r' && c != '\n'; c = getc_com1()) {
			char echo[2] = { c, 0 };

			if (n < sizeof(line) - 1)
				line[n++] = c;
			puts_com1(echo);
		}
		line[n] = 0;
		puts_com1("\n");
		if (streq(line, "quit"))
			outb(0xf4, 0x10);
		puts_com1("echo: ");
		puts_com1(line);
		puts_com1("\n");
	}
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	(void)image;
	puts_com1("hello\n");
	switch (MODE) {
	case MODE_PASS:
		puts_com1("kestrel: batch mode: every VM ended well; powering off\n");
		outb(0xf4, 0x10);
		break;
	case MODE_FAIL:
		puts_com1("kestrel: batch mode: some VMs did not end well; powering off\n");
		outb(0xf4, 0x11);
		break;
	case MODE_RESET:
	case MODE_POWEROFF:
		uefi_call_wrapper(st->RuntimeServices->ResetSystem, 4,
				  MODE == MODE_RESET ? EfiResetCold : EfiResetShutdown,
				  EFI_SUCCESS, 0, NULL);
		break;
	case MODE_CONSOLE:
		console();
		break;
	}
	for (;;)
		__asm__ volatile("cli; hlt");
	return EFI_SUCCESS;
}
