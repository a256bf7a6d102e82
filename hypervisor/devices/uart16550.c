/*
 * A 16550A UART as the guest sees it (register map: TI/National PC16550D
 * data sheet). Transmit only for now: what the guest writes is collected
 * per line and printed on the host serial line behind "[<vm name>] ".
 * Receive is always empty; there are no interrupts.
 */
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/uart16550.h>
#include <lib/printk.h>

#define REG_THR_RBR_DLL 0
#define REG_IER_DLM     1
#define REG_IIR_FCR     2
#define REG_LCR         3
#define REG_MCR         4
#define REG_LSR         5
#define REG_MSR         6
#define REG_SCR         7

#define LCR_DLAB        0x80
#define LSR_THRE        0x20
#define LSR_TEMT        0x40
#define IIR_NO_INT      0x01
#define IIR_FIFO_ON     0xc0
#define MSR_CTS_DSR_DCD 0xb0
#define LINE_MAX        256

struct uart16550 {
	struct vm *vm;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	unsigned len;
	char line[LINE_MAX];
};

static void uart_emit_line(struct uart16550 *u)
{
	printk("[%s] %.*s\n", u->vm->name, (int)u->len, u->line);
	u->len = 0;
}

static void uart_tx(struct uart16550 *u, uint8_t c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		uart_emit_line(u);
		return;
	}
	/* Control characters could drive the operator's terminal: show them. */
	u->line[u->len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
	if (u->len == LINE_MAX)
		uart_emit_line(u);
}

static enum io_result uart_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct uart16550 *u = opaque;
	bool dlab = u->lcr & LCR_DLAB;

	if (size != 1)
		return IO_UNHANDLED;
	switch (off) {
	case REG_THR_RBR_DLL: *val = dlab ? u->dll : 0; break;
	case REG_IER_DLM:     *val = dlab ? u->dlm : u->ier; break;
	case REG_IIR_FCR:     *val = IIR_NO_INT | ((u->fcr & 1) ? IIR_FIFO_ON : 0); break;
	case REG_LCR:         *val = u->lcr; break;
	case REG_MCR:         *val = u->mcr; break;
	case REG_LSR:         *val = LSR_THRE | LSR_TEMT; break;
	case REG_MSR:         *val = MSR_CTS_DSR_DCD; break;
	default:              *val = u->scr; break;
	}
	return IO_HANDLED;
}

static enum io_result uart_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct uart16550 *u = opaque;
	bool dlab = u->lcr & LCR_DLAB;

	if (size != 1)
		return IO_UNHANDLED;
	switch (off) {
	case REG_THR_RBR_DLL:
		if (dlab)
			u->dll = (uint8_t)val;
		else
			uart_tx(u, (uint8_t)val);
		break;
	case REG_IER_DLM:
		if (dlab)
			u->dlm = (uint8_t)val;
		else
			u->ier = val & 0x0f;
		break;
	case REG_IIR_FCR: u->fcr = (uint8_t)val; break;
	case REG_LCR:     u->lcr = (uint8_t)val; break;
	case REG_MCR:     u->mcr = val & 0x1f; break;
	case REG_LSR:
	case REG_MSR:     break;   /* read-only */
	default:          u->scr = (uint8_t)val; break;
	}
	return IO_HANDLED;
}

static const struct io_ops uart_ops = { .read = uart_read, .write = uart_write };

int uart16550_create(struct vm *vm, uint16_t base)
{
	struct uart16550 *u = page_alloc_ptr(1);

	_Static_assert(sizeof(*u) <= PAGE_SIZE, "one page");
	if (!u)
		return -1;
	u->vm = vm;
	vm->uart = u;
	return iobus_register(&vm->pio.bus, base, 8, &uart_ops, u, "uart16550");
}

void uart16550_flush(struct vm *vm)
{
	struct uart16550 *u = vm->uart;

	if (u && u->len)
		uart_emit_line(u);
}
