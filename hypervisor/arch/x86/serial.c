/* Polling driver for the host's COM1 16550 UART (115200 8N1). */
#include <x86/processor.h>
#include <x86/serial.h>

#define COM1      0x3f8
#define UART_THR  0     /* transmit holding (DLAB=0) */
#define UART_RBR  0     /* receive buffer (DLAB=0) */
#define UART_DLL  0     /* divisor latch low (DLAB=1) */
#define UART_IER  1
#define UART_DLM  1
#define UART_FCR  2
#define UART_LCR  3
#define UART_MCR  4
#define UART_LSR  5
#define LSR_DR    0x01  /* data ready */
#define LSR_THRE  0x20  /* transmit holding register empty */

void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80);     /* DLAB on */
	outb(COM1 + UART_DLL, 0x01);     /* 115200 baud */
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03);     /* 8N1, DLAB off */
	outb(COM1 + UART_FCR, 0x07);     /* enable and clear FIFOs */
	outb(COM1 + UART_MCR, 0x03);     /* DTR, RTS */
}

static void serial_putc(char c)
{
	/* Bounded wait: a missing UART must not hang the hypervisor. */
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

int serial_getc(void)
{
	if (!(inb(COM1 + UART_LSR) & LSR_DR))
		return -1;
	return inb(COM1 + UART_RBR);
}
