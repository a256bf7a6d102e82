/*
 * The start-up protocol of a multiprocessor PC (SDM 3, 9.4 and 10.6.1):
 * INIT puts a vCPU in wait-for-SIPI, a start-up IPI starts it in real
 * mode at vector * 4 KiB. The local APIC model calls these when a guest
 * sends the IPIs; the boot protocols that start only the first vCPU
 * (linux, pvh, multiboot) leave the others waiting for SIPI, as firmware
 * leaves a real machine's application processors.
 */
#ifndef CORE_SMP_H
#define CORE_SMP_H

#include <stdint.h>

struct vcpu;

/* What a vCPU had pending (NMIs, interrupts past the APIC, the PV timer,
 * a benchmark floor) and an exit not yet handled: gone at INIT and at a
 * reset or power-on (core/vm.c). The caller holds the vCPU (vcpu_claim). */
void vcpu_drop_events(struct vcpu *v);
/* INIT: the vCPU stops wherever it was and waits for a start-up IPI. */
void vcpu_init_signal(struct vcpu *v);
/* Start-up IPI: a waiting vCPU starts at CS:IP = (vector << 8):0 in real
 * mode; any other vCPU ignores it (SDM 3, 10.4.4). */
void vcpu_sipi(struct vcpu *v, uint8_t vector);
/* An NMI for v: delivered at its next entry, waking it from HLT. */
void vcpu_nmi(struct vcpu *v);
/* The backend found v's NMI handler still running: of the NMIs that came
 * meanwhile, one stays latched (SDM 3, 6.7.1). */
void vcpu_nmi_blocked(struct vcpu *v);
/* v's NMI handler ends (the backend saw its IRET). */
void vcpu_nmi_done(struct vcpu *v);

#endif
