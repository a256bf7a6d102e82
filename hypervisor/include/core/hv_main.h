/* Entry into the hypervisor core, called by the UEFI loader after
 * ExitBootServices with interrupts disabled, on the firmware's stack and
 * page tables. Never returns. */
#ifndef CORE_HV_MAIN_H
#define CORE_HV_MAIN_H

#include <hv/bootinfo.h>

__attribute__((noreturn)) void hv_main(struct hv_bootinfo *bi);

#endif
