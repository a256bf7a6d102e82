/*
 * Port I/O and MMIO exits, routed to the VM's buses. What no device claims
 * is counted and behaves like an empty bus: reads return all-ones, writes
 * are dropped. Guest-physical addresses without RAM never reach host memory
 * because nested paging maps nothing but the VM's RAM.
 */
#include <core/handlers.h>
#include <core/watch.h>
#include <devices/lapic.h>
#include <lib/printk.h>
#include <x86/guest_mem.h>
#include <x86/insn.h>
#include <x86/vendor.h>

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

void handle_io(struct vcpu *v, struct exit_info *e)
{
	const struct exit_io *io = &e->io;
	uint64_t *rax = &v->regs.gpr[GPR_RAX], mask = size_mask(io->size), val = mask;
	enum io_result r;

	hot_count(&v->vm->hot_ports, io->port | (io->in ? 0 : HOT_OUT));
	if (io->string) {
		exit_stop_vm(v, e, "string port I/O (INS/OUTS) on port 0x%x is not emulated",
			     io->port);
		return;
	}
	if (io->in) {
		r = iobus_read(&v->vm->pio.bus, io->port, io->size, &val);
		if (r == IO_UNHANDLED) {
			v->vm->unbacked.port_reads++;
			val = mask;
		}
		/* IN to EAX zero-extends into RAX; AL and AX merge (SDM 2, IN). */
		*rax = io->size == 4 ? (uint32_t)val : (*rax & ~mask) | (val & mask);
	} else {
		r = iobus_write(&v->vm->pio.bus, io->port, io->size, *rax & mask);
		if (r == IO_UNHANDLED)
			v->vm->unbacked.port_writes++;
	}
	if (r == IO_ERROR) {
		exit_stop_vm(v, e, "device error on port 0x%x", io->port);
		return;
	}
	exit_skip_insn(v, e);
}

static void mmio_access(struct vcpu *v, struct exit_info *e, const struct fetched_insn *f,
			const struct x86_mmio_op *op)
{
	struct io_bus *bus = &v->vm->mmio.bus;
	uint64_t gpa = e->npf.gpa, val = size_mask(op->size);
	enum io_result r;

	if (op->kind == X86_MMIO_STORE_REG || op->kind == X86_MMIO_STORE_IMM) {
		uint64_t store = x86_mmio_store_value(op, v->regs.gpr);

		r = lapic_mmio_write(v, gpa, op->size, store);
		if (r == IO_UNHANDLED)
			r = iobus_write(bus, gpa, op->size, store);
		if (r == IO_UNHANDLED)
			v->vm->unbacked.mem_writes++;
	} else {
		r = lapic_mmio_read(v, gpa, op->size, &val);
		if (r == IO_UNHANDLED)
			r = iobus_read(bus, gpa, op->size, &val);
		if (r == IO_UNHANDLED) {
			v->vm->unbacked.mem_reads++;
			val = size_mask(op->size);
		}
		x86_mmio_load_result(op, v->regs.gpr, val);
	}
	if (r == IO_ERROR) {
		exit_stop_vm(v, e, "device error at guest-physical 0x%lx", gpa);
		return;
	}
	exit_complete_insn(v, f->insn.len);
}

void handle_npf(struct vcpu *v, struct exit_info *e)
{
	struct fetched_insn f;
	struct x86_mmio_op op;
	char hex[48];
	int err;

	if (watch_npf(v, e))
		return;
	/* The access was the CPU's own, delivering an event through an IDT,
	 * stack or TSS outside RAM: there is no instruction to emulate, and
	 * the event would fault again forever (review R1). */
	if (e->npf.in_delivery) {
		exit_stop_vm(v, e, "event delivery through guest-physical 0x%lx, which is not RAM",
			     e->npf.gpa);
		return;
	}
	if (e->npf.fetch || e->npf.page_walk) {
		exit_stop_vm(v, e, "%s guest-physical 0x%lx, which is not RAM",
			     e->npf.fetch ? "instruction fetch from" : "page-table walk through",
			     e->npf.gpa);
		return;
	}
	err = guest_fetch_insn(v, &f);
	if (!err)
		err = x86_mmio_classify(&f.insn, &op);
	if (err) {
		fetched_insn_hex(&f, hex, sizeof(hex));
		exit_stop_vm(v, e, "cannot emulate the access to guest-physical 0x%lx: "
			     "instruction [%s] not supported (error %d)", e->npf.gpa, hex, err);
		return;
	}
	hot_count(&v->vm->hot_gpas, e->npf.gpa & ~0xfffull);
	mmio_access(v, e, &f, &op);
}
