/*
 * A 16550A UART as the guest sees it (TI/National PC16550D data sheet):
 * 16-byte receive FIFO fed from the console, transmit straight to the host
 * serial line, the interrupt identification logic, loopback (Linux's 8250
 * driver tests it), and the interrupt line to IOAPIC pin 4, gated by
 * MCR.OUT2 as on a PC.
 *
 * Output goes to the console a line at a time (core/guest_line.c).
 */
#include <core/guest_line.h>
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/ioapic.h>
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

#define IER_RDI         0x01    /* received data available */
#define IER_THRI        0x02    /* transmitter holding register empty */
#define IIR_NO_INT      0x01
#define IIR_THRI        0x02
#define IIR_RDI         0x04
#define IIR_FIFO_ON     0xc0
#define FCR_ENABLE      0x01
#define FCR_CLEAR_RX    0x02
#define LCR_DLAB        0x80
#define MCR_DTR         0x01
#define MCR_RTS         0x02
#define MCR_OUT1        0x04
#define MCR_OUT2        0x08
#define MCR_LOOP        0x10
#define LSR_DR          0x01
#define LSR_THRE        0x20
#define LSR_TEMT        0x40
#define MSR_CTS_DSR_DCD 0xb0
#define UART_IRQ        4
#define RX_FIFO         16

struct uart16550 {
	struct vm *vm;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thre_pending, irq_level;
	uint8_t rx[RX_FIFO];
	unsigned rx_head, rx_count;
	struct guest_line out;
};

static void uart_tx(struct uart16550 *u, uint8_t c)
{
	guest_line_putc(&u->out, c);
}

/* IIR in priority order (PC16550D, table 4). */
static uint8_t uart_iir(const struct uart16550 *u)
{
	uint8_t fifo = u->fcr & FCR_ENABLE ? IIR_FIFO_ON : 0;

	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI | fifo;
	if ((u->ier & IER_THRI) && u->thre_pending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

static void uart_update_irq(struct uart16550 *u)
{
	bool level = !(uart_iir(u) & IIR_NO_INT) && (u->mcr & MCR_OUT2);

	if (level != u->irq_level) {
		u->irq_level = level;
		ioapic_set_irq(u->vm, UART_IRQ, level);
	}
}

static void uart_rx_push(struct uart16550 *u, uint8_t c)
{
	if (u->rx_count == RX_FIFO)
		return;   /* overrun: the byte is lost, as on the chip */
	u->rx[(u->rx_head + u->rx_count++) % RX_FIFO] = c;
	uart_update_irq(u);
}

static uint8_t uart_rx_pop(struct uart16550 *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % RX_FIFO;
	u->rx_count--;
	return c;
}

/* In loopback the modem outputs come back as inputs (PC16550D, MCR bit 4). */
static uint8_t uart_msr(const struct uart16550 *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_CTS_DSR_DCD;
	return (uint8_t)(((u->mcr & MCR_RTS) ? 0x10 : 0) | ((u->mcr & MCR_DTR) ? 0x20 : 0) |
			 ((u->mcr & MCR_OUT1) ? 0x40 : 0) | ((u->mcr & MCR_OUT2) ? 0x80 : 0));
}

static uint8_t uart_read_reg(struct uart16550 *u, uint64_t off)
{
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t iir;

	switch (off) {
	case REG_THR_RBR_DLL: return dlab ? u->dll : uart_rx_pop(u);
	case REG_IER_DLM:     return dlab ? u->dlm : u->ier;
	case REG_IIR_FCR:
		iir = uart_iir(u);
		if ((iir & 0xf) == IIR_THRI)
			u->thre_pending = false;   /* reading IIR acknowledges THRE */
		return iir;
	case REG_LCR:         return u->lcr;
	case REG_MCR:         return u->mcr;
	case REG_LSR:         return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
	case REG_MSR:         return uart_msr(u);
	default:              return u->scr;
	}
}

static void uart_write_reg(struct uart16550 *u, uint64_t off, uint8_t val)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (off) {
	case REG_THR_RBR_DLL:
		if (dlab) {
			u->dll = val;
			break;
		}
		if (u->mcr & MCR_LOOP)
			uart_rx_push(u, val);
		else
			uart_tx(u, val);
		u->thre_pending = true;    /* sent at once: empty again */
		break;
	case REG_IER_DLM:
		if (dlab) {
			u->dlm = val;
			break;
		}
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thre_pending = true;
		u->ier = val & 0x0f;
		break;
	case REG_IIR_FCR:
		u->fcr = val;
		if (val & FCR_CLEAR_RX)
			u->rx_count = 0;
		break;
	case REG_LCR: u->lcr = val; break;
	case REG_MCR: u->mcr = val & 0x1f; break;
	case REG_LSR:
	case REG_MSR: break;   /* read-only */
	default:      u->scr = val; break;
	}
}

static enum io_result uart_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct uart16550 *u = opaque;

	if (size != 1)
		return IO_UNHANDLED;
	*val = uart_read_reg(u, off);
	uart_update_irq(u);
	return IO_HANDLED;
}

static enum io_result uart_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct uart16550 *u = opaque;

	if (size != 1)
		return IO_UNHANDLED;
	uart_write_reg(u, off, (uint8_t)val);
	uart_update_irq(u);
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
	u->out.vm = vm;
	vm->uart = u;
	return iobus_register(&vm->pio.bus, base, 8, &uart_ops, u, "uart16550");
}

bool uart16550_can_accept(const struct vm *vm)
{
	const struct uart16550 *u = vm->uart;

	return u && u->rx_count < RX_FIFO;
}

void uart16550_input(struct vm *vm, uint8_t c)
{
	struct uart16550 *u = vm->uart;

	if (u && !(u->mcr & MCR_LOOP))
		uart_rx_push(u, c);
}

void uart16550_show_partial(struct vm *vm)
{
	struct uart16550 *u = vm->uart;

	if (u)
		guest_line_show_partial(&u->out);
}

void uart16550_reset(struct vm *vm)
{
	struct uart16550 *u = vm->uart;

	uart16550_flush(vm);
	*u = (struct uart16550){ .vm = vm, .out.vm = vm };
}

void uart16550_flush(struct vm *vm)
{
	struct uart16550 *u = vm->uart;

	if (u)
		guest_line_flush(&u->out);
}
