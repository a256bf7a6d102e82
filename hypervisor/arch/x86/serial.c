/*
 * Polling driver for the host's 16550 UARTs (115200 8N1): COM1 is the
 * console, COM2 the gdb stub's line (debug/gdb_stub.c).
 */
#include <x86/processor.h>
#include <x86/serial.h>

#define COM1      0x3f8
#define COM2      0x2f8
#define UART_THR  0     /* transmit holding (DLAB=0) */
#define UART_RBR  0     /* receive buffer (DLAB=0) */
#define UART_DLL  0     /* divisor latch low (DLAB=1) */
#define UART_IER  1
#define UART_DLM  1
#define UART_FCR  2
#define UART_LCR  3
#define UART_MCR  4
#define UART_LSR  5
#define UART_SCR  7     /* scratch: tells a UART from an empty port */
#define LSR_DR    0x01  /* data ready */
#define LSR_THRE  0x20  /* transmit holding register empty */

static void uart_init(uint16_t base)
{
	outb(base + UART_IER, 0x00);
	outb(base + UART_LCR, 0x80);     /* DLAB on */
	outb(base + UART_DLL, 0x01);     /* 115200 baud */
	outb(base + UART_DLM, 0x00);
	outb(base + UART_LCR, 0x03);     /* 8N1, DLAB off */
	outb(base + UART_FCR, 0x07);     /* enable and clear FIFOs */
	outb(base + UART_MCR, 0x03);     /* DTR, RTS */
}

static void uart_putc(uint16_t base, char c)
{
	/* Bounded wait: a missing UART must not hang the hypervisor. */
	for (int i = 0; i < 100000 && !(inb(base + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(base + UART_THR, (uint8_t)c);
}

static int uart_getc(uint16_t base)
{
	if (!(inb(base + UART_LSR) & LSR_DR))
		return -1;
	return inb(base + UART_RBR);
}

void serial_init(void)
{
	uart_init(COM1);
}

void serial_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			uart_putc(COM1, '\r');
		uart_putc(COM1, s[i]);
	}
}

int serial_getc(void)
{
	return uart_getc(COM1);
}

/* An absent port reads all-ones, which would look like endless input (LSR
 * "data ready"): a UART keeps what is written to its scratch register. */
bool serial_com2_init(void)
{
	static const uint8_t probes[] = { 0x5a, 0xa5 };

	for (unsigned i = 0; i < sizeof(probes); i++) {
		outb(COM2 + UART_SCR, probes[i]);
		if (inb(COM2 + UART_SCR) != probes[i])
			return false;
	}
	uart_init(COM2);
	return true;
}

void serial_com2_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		uart_putc(COM2, s[i]);
}

int serial_com2_getc(void)
{
	return uart_getc(COM2);
}
