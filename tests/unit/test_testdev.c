/* The test device's scratch register: any width at any offset reads back
 * the lanes it covers, as kvm-unit-tests' port-I/O tests expect. */
// UNIT-SOURCES: hypervisor/devices/testdev_core.c
#include <devices/testdev.h>
#include "unit.h"

int main(void)
{
	uint32_t r = 0;

	r = testdev_reg_write(r, 0, 4, 0x12345678);
	CHECK_EQ(testdev_reg_read(r, 0, 4), 0x12345678);
	CHECK_EQ(testdev_reg_read(r, 0, 1), 0x78);
	CHECK_EQ(testdev_reg_read(r, 1, 1), 0x56);
	CHECK_EQ(testdev_reg_read(r, 3, 1), 0x12);
	CHECK_EQ(testdev_reg_read(r, 2, 2), 0x1234);
	CHECK_EQ(testdev_reg_read(r, 1, 2), 0x3456);
	CHECK_EQ(testdev_reg_read(r, 2, 4), 0x1234);         /* lanes past byte 3: none */
	r = testdev_reg_write(r, 1, 1, 0xab);
	CHECK_EQ(r, 0x1234ab78);
	r = testdev_reg_write(r, 2, 2, 0xcdef);
	CHECK_EQ(r, 0xcdefab78);
	r = testdev_reg_write(r, 3, 2, 0xffff);                /* only byte 3 exists */
	CHECK_EQ(r, 0xffefab78);
	r = testdev_reg_write(r, 0, 2, 0xffff0000u);           /* value bits past the width */
	CHECK_EQ(r, 0xffef0000);
	return unit_finish("test_testdev");
}
