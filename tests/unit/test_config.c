// SPDX-License-Identifier: MIT
// Host unit tests for the hv.cfg parser (efi/config.c); format in docs/config.md.
// UNIT-SOURCES: efi/config.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "unit.h"

/* String checks that print what was found; got is evaluated once. */
#define CHECK_STR(got, want)                                                 \
	do {                                                                 \
		const char *got_ = (got), *want_ = (want);                   \
		CHECK_MSG(strcmp(got_, want_) == 0, "%s is \"%s\", expected \"%s\"", \
			  #got, got_, want_);                                \
	} while (0)

#define CHECK_HAS(got, part)                                                 \
	do {                                                                 \
		const char *got_ = (got), *part_ = (part);                   \
		CHECK_MSG(strstr(got_, part_) != NULL,                      \
			  "%s is \"%s\", expected it to contain \"%s\"", #got, got_, part_); \
	} while (0)

static struct cfg cfg;

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	return p;
}

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* Every string in the result is NUL-terminated and every count in range. */
static int cfg_sane(const struct cfg *c)
{
	if (c->nr_vms > HV_MAX_VMS || c->nr_errors > CFG_MAX_ERRORS)
		return 0;
	for (unsigned i = 0; i < CFG_MAX_ERRORS; i++)
		if (!terminated(c->errors[i], HV_ERROR_MAX))
			return 0;
	for (unsigned i = 0; i < HV_MAX_VMS; i++) {
		const struct cfg_vm *vm = &c->vms[i];

		if (!terminated(vm->name, sizeof(vm->name)) ||
		    !terminated(vm->kernel, sizeof(vm->kernel)) ||
		    !terminated(vm->initrd, sizeof(vm->initrd)) ||
		    !terminated(vm->disk, sizeof(vm->disk)) ||
		    !terminated(vm->cmdline, sizeof(vm->cmdline)) ||
		    !terminated(vm->error, sizeof(vm->error)))
			return 0;
		if (i < c->nr_vms && vm->valid != (vm->error[0] == '\0'))
			return 0;
		if (i < c->nr_vms && vm->valid != (vm->nr_errors == 0))
			return 0;
	}
	return 1;
}

/*
 * Parse exactly len bytes from a heap copy with nothing after it, so that
 * AddressSanitizer catches any read past the end. The result is pre-filled
 * with junk to check that the parser overwrites everything.
 */
static const struct cfg *parse_raw(const char *text, size_t len)
{
	char *copy = xmalloc(len ? len : 1);

	memcpy(copy, text, len);
	memset(&cfg, 0xa5, sizeof(cfg));
	config_parse(copy, len, "hv.cfg", &cfg);
	free(copy);
	return &cfg;
}

static const struct cfg *parse_n(const char *text, size_t len)
{
	parse_raw(text, len);
	CHECK(cfg_sane(&cfg));
	return &cfg;
}

static const struct cfg *parse(const char *text)
{
	return parse_n(text, strlen(text));
}

/* One VM with the two required keys, then extra lines from the caller. */
static const struct cfg *parse_vm(const char *extra)
{
	static char buf[1 << 18];

	snprintf(buf, sizeof(buf), "[vm a]\nmemory = 16M\nkernel = k.elf\n%s\n", extra);
	return parse(buf);
}

static const char *vm_error(const char *extra)
{
	const struct cfg *c = parse_vm(extra);

	CHECK(c->nr_vms == 1 && c->nr_errors == 0);
	return c->vms[0].error;
}

static char *repeat(char ch, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static void test_valid_multi_vm(void)
{
	const struct cfg *c = parse(
		"# Kestrel test configuration\n"
		"; another comment style\n"
		"\n"
		"[hypervisor]\n"
		"batch = on              # power off at the end\n"
		"\n"
		"[vm alpha]\n"
		"memory = 16M\n"
		"vcpus = 2\n"
		"kernel = guests/minimal.elf\n"
		"initrd = guests/initrd.img\n"
		"cmdline = \"selftest foo=bar # kept\"  # not kept\n"
		"boot = kestrel\n"
		"\n"
		"  [ vm   Beta_2.x-y ]   ; indented header\n"
		"\tMemory\t=\t1G\n"
		"KERNEL=guests/b.elf\n"
		"[vm gamma]\n"
		"memory = 2097152\n"
		"kernel = \"guests/my kernel.elf\"\n"
		"cmdline = console=ttyS0 quiet\n");

	CHECK(c->nr_errors == 0);
	CHECK(c->nr_errors_dropped == 0);
	CHECK(c->batch);
	CHECK(c->nr_vms == 3);
	CHECK_STR(c->vms[0].name, "alpha");
	CHECK(c->vms[0].valid);
	CHECK(c->vms[0].line == 7);
	CHECK(c->vms[0].mem_size == 16ull << 20);
	CHECK(c->vms[0].nr_vcpus == 2);
	CHECK(c->vms[0].boot_protocol == HV_BOOT_KESTREL);
	CHECK_STR(c->vms[0].kernel, "guests/minimal.elf");
	CHECK_STR(c->vms[0].initrd, "guests/initrd.img");
	CHECK_STR(c->vms[0].cmdline, "selftest foo=bar # kept");
	CHECK_STR(c->vms[0].error, "");
	CHECK_STR(c->vms[1].name, "Beta_2.x-y");
	CHECK(c->vms[1].valid);
	CHECK(c->vms[1].line == 15);
	CHECK(c->vms[1].mem_size == 1ull << 30);
	CHECK(c->vms[1].nr_vcpus == 1);
	CHECK_STR(c->vms[1].kernel, "guests/b.elf");
	CHECK_STR(c->vms[1].initrd, "");
	CHECK_STR(c->vms[1].cmdline, "");
	CHECK_STR(c->vms[2].name, "gamma");
	CHECK(c->vms[2].valid);
	CHECK(c->vms[2].mem_size == 2ull << 20);
	CHECK_STR(c->vms[2].kernel, "guests/my kernel.elf");
	CHECK_STR(c->vms[2].cmdline, "console=ttyS0 quiet");
}

static void test_one_of_three_broken(void)
{
	const struct cfg *c = parse(
		"[vm alpha]\nmemory = 16M\nkernel = a.elf\n"
		"[vm beta]\nmemory = 12Q\nkernel = b.elf\n"
		"[vm gamma]\nmemory = 32M\nkernel = c.elf\ncmdline = x\n");

	CHECK(c->nr_vms == 3);
	CHECK(c->nr_errors == 0);
	CHECK(c->vms[0].valid);
	CHECK(!c->vms[1].valid);
	CHECK(c->vms[2].valid);
	CHECK_STR(c->vms[1].error, "hv.cfg:5: vm \"beta\": memory \"12Q\": expected a size like 64M");
	CHECK(c->vms[1].nr_errors == 1);
	CHECK_STR(c->vms[2].kernel, "c.elf");
	CHECK(c->vms[2].mem_size == 32ull << 20);
	CHECK_STR(c->vms[2].cmdline, "x");
}

/* flight-recorder: on by default, off by the key; a bad value keeps it on. */
static void test_flight_recorder(void)
{
	const struct cfg *c;

	c = parse("[vm a]\nmemory=2M\nkernel=k\n");
	CHECK(!c->no_flight_recorder);
	c = parse("[hypervisor]\nflight-recorder = off\nbatch = on\n[vm a]\nmemory=2M\nkernel=k\n");
	CHECK(c->no_flight_recorder && c->batch && c->nr_errors == 0);
	c = parse("[hypervisor]\nflight-recorder = yes\n[vm a]\nmemory=2M\nkernel=k\n");
	CHECK(!c->no_flight_recorder && c->nr_errors == 0);
	c = parse("[hypervisor]\nflight-recorder = sometimes\n[vm a]\nmemory=2M\nkernel=k\n");
	CHECK(!c->no_flight_recorder && c->nr_errors == 1 && c->vms[0].valid);
	CHECK_STR(c->errors[0], "hv.cfg:2: flight-recorder \"sometimes\": expected on or off (or "
		  "yes/no, true/false, 1/0)");
}

static void test_batch(void)
{
	static const char *const on[] = { "on", "ON", "yes", "True", "1" };
	static const char *const off[] = { "off", "No", "false", "0" };
	char buf[128];
	const struct cfg *c;

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		snprintf(buf, sizeof(buf), "[hypervisor]\nbatch = %s\n[vm a]\nmemory=2M\nkernel=k\n", on[i]);
		c = parse(buf);
		CHECK(c->batch && c->nr_errors == 0);
	}
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		snprintf(buf, sizeof(buf), "[hypervisor]\nbatch = %s\n[vm a]\nmemory=2M\nkernel=k\n", off[i]);
		c = parse(buf);
		CHECK(!c->batch && c->nr_errors == 0);
	}
	c = parse("[vm a]\nmemory=2M\nkernel=k\n");
	CHECK(!c->batch);
	c = parse("[hypervisor]\nbatch = maybe\n[vm a]\nmemory=2M\nkernel=k\n");
	CHECK(!c->batch);
	CHECK(c->nr_errors == 1);
	CHECK_STR(c->errors[0], "hv.cfg:2: batch \"maybe\": expected on or off (or yes/no, true/false, 1/0)");
	CHECK(c->vms[0].valid);
	c = parse("[hypervisor]\nbatch = on\nbatch = off\n[vm a]\nmemory=2M\nkernel=k\n");
	CHECK(c->batch);
	CHECK_STR(c->errors[0], "hv.cfg:3: batch: set twice (first on line 2)");
	CHECK(c->vms[0].valid);
	c = parse("[hypervisor]\nfoo = 1\n[vm a]\nmemory=2M\nkernel=k\n");
	CHECK_STR(c->errors[0], "hv.cfg:2: unknown key \"foo\" (expected batch or flight-recorder)");
	CHECK(c->vms[0].valid);
	c = parse("[hypervisor]\nbatch=1\n[vm a]\nmemory=2M\nkernel=k\n[hypervisor]\nbatch=0\n");
	CHECK(c->batch);
	CHECK_STR(c->errors[0], "hv.cfg:7: batch: set twice (first on line 2)");
	CHECK(c->vms[0].valid);
	c = parse("[vm a]\nmemory=2M\nkernel=k\n[hypervisor]\n[hypervisor]\nbatch=true\n");
	CHECK(c->batch && c->nr_errors == 0);
	/* scripts/esp_image.py appends this stanza for batch runs. */
	c = parse("[vm one]\nmemory = 16M\nkernel = k" "\n[hypervisor]\nbatch = on\n");
	CHECK(c->batch && c->nr_errors == 0 && c->vms[0].valid);
}

static void test_comments(void)
{
	const struct cfg *c = parse_vm(
		"   # indented comment\n"
		"\t; tab-indented comment\n"
		"#[vm commented_out]\n"
		"initrd = i.img; not a comment, no blank before it\n");

	CHECK(c->vms[0].valid);
	CHECK_STR(c->vms[0].error, "");
	c = parse_vm("cmdline = a#b c;d # comment ; more");
	CHECK(c->vms[0].valid);
	CHECK_STR(c->vms[0].cmdline, "a#b c;d");
	c = parse_vm("cmdline = x=\"a # b\" y ;comment");
	CHECK_STR(c->vms[0].cmdline, "x=\"a # b\" y");
	c = parse_vm("cmdline = \"x=\"a b\"\"   # comment");
	CHECK_STR(c->vms[0].cmdline, "x=\"a b\"");
	c = parse_vm("cmdline = \"#1 ;2\"");
	CHECK_STR(c->vms[0].cmdline, "#1 ;2");
	c = parse("[vm a] # comment\nmemory = 16M ; comment\nkernel = k.elf # c\n");
	CHECK(c->vms[0].valid);
	CHECK_STR(c->vms[0].kernel, "k.elf");
}

static void test_cmdline(void)
{
	char *buf, *val;
	const struct cfg *c;

	c = parse_vm("cmdline = \"\"");
	CHECK(c->vms[0].valid);
	CHECK_STR(c->vms[0].cmdline, "");
	c = parse_vm("cmdline =");
	CHECK(c->vms[0].valid);
	CHECK_STR(c->vms[0].cmdline, "");
	c = parse_vm("cmdline = \"  padded  \"");
	CHECK_STR(c->vms[0].cmdline, "  padded  ");
	CHECK_STR(vm_error("cmdline = \"open"),
		  "hv.cfg:4: vm \"a\": \"cmdline = \"open\": missing closing '\"'");
	CHECK_HAS(vm_error("cmdline = \""), "missing closing");

	val = repeat('c', HV_CMDLINE_MAX - 1);
	buf = xmalloc(HV_CMDLINE_MAX + 32);
	snprintf(buf, HV_CMDLINE_MAX + 32, "cmdline = %s", val);
	c = parse_vm(buf);
	CHECK(c->vms[0].valid);
	CHECK(strcmp(c->vms[0].cmdline, val) == 0);
	snprintf(buf, HV_CMDLINE_MAX + 32, "cmdline = \"%s\"", val);
	c = parse_vm(buf);
	CHECK(c->vms[0].valid);
	snprintf(buf, HV_CMDLINE_MAX + 32, "cmdline = %sX", val);
	CHECK_STR(vm_error(buf), "hv.cfg:4: vm \"a\": cmdline \"ccccccccccccccccccccc...\": "
		  "too long (at most 2047 characters)");
	CHECK_STR(cfg.vms[0].cmdline, "");
	free(val);
	free(buf);
}

static void test_memory(void)
{
	static const struct { const char *text; uint64_t size; } ok[] = {
		{ "2M", 2ull << 20 }, { "2m", 2ull << 20 }, { "3G", 3ull << 30 },
		{ "4096K", 4ull << 20 }, { "4096k", 4ull << 20 }, { "6291456", 6ull << 20 },
		{ "0016M", 16ull << 20 }, { "\"16M\"", 16ull << 20 }, { "1g", 1ull << 30 },
	};
	static const char *const syntax[] = {
		"12Q", "", "M", "16 M", "-2M", "+2M", "0x200000", "2MB", "2MiB", "1.5G",
		"99999999999999999999", "18446744073709551615G", "18446744073709551616",
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(buf, sizeof(buf), "[vm a]\nmemory = %s\nkernel = k\n", ok[i].text);
		const struct cfg *c = parse(buf);

		CHECK(c->vms[0].valid);
		CHECK(c->vms[0].mem_size == ok[i].size);
	}
	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
		snprintf(buf, sizeof(buf), "[vm a]\nmemory = %s\nkernel = k\n", syntax[i]);
		const struct cfg *c = parse(buf);

		CHECK(!c->vms[0].valid);
		CHECK_HAS(c->vms[0].error, "expected a size like 64M");
	}
	CHECK_HAS(vm_error("memory = 0"), "set twice");
	CHECK_STR(parse("[vm a]\nmemory = 0\nkernel = k\n")->vms[0].error,
		  "hv.cfg:2: vm \"a\": memory \"0\": must be between 2M and 3G (guest RAM ends "
		  "below the device window at 0xc0000000)");
	CHECK_HAS(parse("[vm a]\nmemory = 1M\nkernel = k\n")->vms[0].error, "between 2M and 3G");
	CHECK_HAS(parse("[vm a]\nmemory = 66G\nkernel = k\n")->vms[0].error, "between 2M and 3G");
	/* RAM over the IOAPIC and local APIC windows (review R2). */
	CHECK_HAS(parse("[vm a]\nmemory = 4078M\nkernel = k\n")->vms[0].error, "device window");
	CHECK_HAS(parse("[vm a]\nmemory = 3074M\nkernel = k\n")->vms[0].error, "device window");
	CHECK_HAS(parse("[vm a]\nmemory = 16383P\nkernel = k\n")->vms[0].error, "expected a size");
	CHECK_STR(parse("[vm a]\nmemory = 3M\nkernel = k\n")->vms[0].error,
		  "hv.cfg:2: vm \"a\": memory \"3M\": must be a multiple of 2M");
	CHECK_HAS(parse("[vm a]\nmemory = 2097153\nkernel = k\n")->vms[0].error, "multiple of 2M");
	CHECK_STR(parse("[vm a]\nkernel = k\n")->vms[0].error,
		  "hv.cfg:1: vm \"a\": no memory line; it is required");
}

static void test_vcpus(void)
{
	static const char *const bad[] = { "0", "9", "x", "", "-1", "1.0", "99999999999999999999999" };
	char buf[128];

	CHECK(parse_vm("")->vms[0].nr_vcpus == 1);
	CHECK(parse_vm("vcpus = 8")->vms[0].nr_vcpus == 8);
	CHECK(parse_vm("vcpus = 1")->vms[0].valid);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "vcpus = %s", bad[i]);
		CHECK_HAS(vm_error(buf), "expected a number from 1 to 8");
	}
	CHECK_STR(vm_error("vcpus = 9"), "hv.cfg:4: vm \"a\": vcpus \"9\": expected a number from 1 to 8");
}

static void test_paths(void)
{
	static const struct { const char *line, *why; } bad[] = {
		{ "initrd = /guests/i.img", "drop the leading '/'" },
		{ "initrd = guests\\i.img", "not '\\'" },
		{ "initrd = guests//i.img", "empty directory name" },
		{ "initrd = guests/", "empty directory name" },
		{ "initrd = ../i.img", "'.' and '..'" },
		{ "initrd = a/./i.img", "'.' and '..'" },
		{ "initrd = a/..", "'.' and '..'" },
		{ "initrd = a:b", "FAT file names" },
		{ "initrd = a*b", "FAT file names" },
		{ "initrd = a\"b", "FAT file names" },
		{ "initrd = a\tb", "FAT file names cannot contain tabs" },
		{ "initrd =", "expected a path" },
		{ "initrd = \"\"", "expected a path" },
	};
	char *name = repeat('p', HV_PATH_MAX - 1), buf[256];
	const struct cfg *c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_HAS(vm_error(bad[i].line), bad[i].why);
	CHECK(parse_vm("initrd = .hidden/..x/a..b")->vms[0].valid);
	snprintf(buf, sizeof(buf), "initrd = %s", name);
	c = parse_vm(buf);
	CHECK(c->vms[0].valid);
	CHECK(strcmp(c->vms[0].initrd, name) == 0);
	snprintf(buf, sizeof(buf), "initrd = %sp", name);
	CHECK_HAS(vm_error(buf), "too long (at most 95 characters)");
	CHECK_STR(cfg.vms[0].initrd, "");

	c = parse("[vm a]\nmemory = 16M\n\n[vm b]\nmemory = 16M\nkernel = b\n");
	CHECK_STR(c->vms[0].error, "hv.cfg:1: vm \"a\": no kernel line; it is required");
	CHECK(c->vms[1].valid);
	c = parse("[vm a]\nmemory = 16M\nkernel = /k\n");
	CHECK_STR(c->vms[0].error, "hv.cfg:3: vm \"a\": kernel \"/k\": "
		  "paths are relative to the ESP root: drop the leading '/'");
	CHECK(c->vms[0].nr_errors == 1); /* a bad kernel line is not also "missing" */
	free(name);
}

static void test_boot(void)
{
	CHECK(parse_vm("boot = kestrel")->vms[0].valid);
	CHECK(parse_vm("boot = \"Kestrel\"")->vms[0].boot_protocol == HV_BOOT_KESTREL);
	CHECK(parse_vm("boot = linux")->vms[0].boot_protocol == HV_BOOT_LINUX);
	CHECK_STR(vm_error("boot = multiboot2"),
		  "hv.cfg:4: vm \"a\": boot \"multiboot2\": expected kestrel, linux, pvh or multiboot");
	CHECK(parse_vm("boot = multiboot")->vms[0].boot_protocol == HV_BOOT_MULTIBOOT);
	CHECK(parse_vm("boot = pvh")->vms[0].boot_protocol == HV_BOOT_PVH);
}

static void test_testdev(void)
{
	CHECK(parse_vm("boot = kestrel")->vms[0].devices == 0);
	CHECK(parse_vm("testdev = on")->vms[0].devices == HV_DEV_TESTDEV);
	CHECK(parse_vm("testdev = off")->vms[0].devices == 0);
	CHECK_STR(vm_error("testdev = maybe"),
		  "hv.cfg:4: vm \"a\": testdev \"maybe\": expected on or off (or yes/no, true/false, 1/0)");
}

static void test_disk(void)
{
	static const struct { const char *line, *why; } bad[] = {
		{ "disk = /images/data.img", "drop the leading '/'" },
		{ "disk = images\\data.img", "not '\\'" },
		{ "disk = images/../data.img", "'.' and '..'" },
		{ "disk = images//data.img", "empty directory name" },
		{ "disk = data?.img", "FAT file names" },
		{ "disk =", "expected a path" },
	};
	char *name = repeat('d', HV_PATH_MAX), buf[256];
	const struct cfg *c;

	c = parse_vm("");
	CHECK_STR(c->vms[0].disk, "");
	c = parse_vm("disk = images/data.img");
	CHECK(c->vms[0].valid);
	CHECK_STR(c->vms[0].disk, "images/data.img");
	CHECK(c->vms[0].devices == 0);
	c = parse_vm("Disk = \"images/my disk.img\"");
	CHECK_STR(c->vms[0].disk, "images/my disk.img");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_HAS(vm_error(bad[i].line), bad[i].why);
	CHECK_STR(vm_error("disk = /d.img"), "hv.cfg:4: vm \"a\": disk \"/d.img\": "
		  "paths are relative to the ESP root: drop the leading '/'");
	CHECK_STR(cfg.vms[0].disk, "");
	snprintf(buf, sizeof(buf), "disk = %s", name);
	CHECK_HAS(vm_error(buf), "disk \"ddddddddddddddddddddd...\": too long (at most 95 characters)");
	CHECK_STR(vm_error("disk = a.img\ndisk = b.img"),
		  "hv.cfg:5: vm \"a\": disk: set twice (first on line 4)");
	free(name);
}

static void test_disk_readonly(void)
{
	const struct cfg *c;

	c = parse_vm("disk = d.img\ndisk-readonly = on");
	CHECK(c->vms[0].valid);
	CHECK(c->vms[0].devices == HV_DEV_DISK_READONLY);
	c = parse_vm("disk-readonly = yes\ndisk = d.img");  /* any order */
	CHECK(c->vms[0].valid);
	CHECK(c->vms[0].devices == HV_DEV_DISK_READONLY);
	c = parse_vm("disk = d.img\nDISK-READONLY = off");
	CHECK(c->vms[0].valid && c->vms[0].devices == 0);
	CHECK_STR(vm_error("disk = d.img\ndisk-readonly = ro"), "hv.cfg:5: vm \"a\": disk-readonly "
		  "\"ro\": expected on or off (or yes/no, true/false, 1/0)");
	/* Without a disk, on or off: the line is a mistake either way. */
	CHECK_STR(vm_error("disk-readonly = on"),
		  "hv.cfg:4: vm \"a\": disk-readonly: there is no disk line to apply it to");
	CHECK(cfg.vms[0].nr_errors == 1);
	CHECK_HAS(vm_error("disk-readonly = off"), "there is no disk line");
	/* A bad disk line is the one problem reported, not also "no disk line". */
	c = parse_vm("disk = /d.img\ndisk-readonly = on");
	CHECK(!c->vms[0].valid && c->vms[0].nr_errors == 1);
	CHECK_HAS(c->vms[0].error, "drop the leading '/'");
	/* The check is per VM: the next VM's disk does not count. */
	c = parse("[vm a]\nmemory=2M\nkernel=k\ndisk-readonly=on\n"
		  "[vm b]\nmemory=2M\nkernel=k\ndisk=d.img\n");
	CHECK(!c->vms[0].valid && c->vms[1].valid);
	CHECK_STR(c->vms[0].error, "hv.cfg:4: vm \"a\": disk-readonly: there is no disk line to "
		  "apply it to");
}

static void test_transport(void)
{
	CHECK(!(parse_vm("")->vms[0].devices & HV_DEV_VIRTIO_MMIO));
	CHECK(parse_vm("transport = pci")->vms[0].devices == 0);
	CHECK(parse_vm("transport = mmio")->vms[0].devices == HV_DEV_VIRTIO_MMIO);
	CHECK(parse_vm("Transport = \"MMIO\"")->vms[0].devices == HV_DEV_VIRTIO_MMIO);
	CHECK(parse_vm("transport = PCI")->vms[0].valid);
	CHECK_STR(vm_error("transport = virtio-mmio"),
		  "hv.cfg:4: vm \"a\": transport \"virtio-mmio\": expected pci or mmio");
	CHECK_HAS(vm_error("transport ="), "expected pci or mmio");
	CHECK_HAS(vm_error("transport = mmio\ntransport = pci"), "set twice");
}

/* event-idx: on by default, so the flag records off. */
static void test_event_idx(void)
{
	CHECK(parse_vm("event-idx = off")->vms[0].devices == HV_DEV_NO_EVENT_IDX);
	CHECK(parse_vm("event-idx = on")->vms[0].devices == 0);
	CHECK(parse_vm("rng = on")->vms[0].devices == HV_DEV_VIRTIO_RNG);
	CHECK_HAS(vm_error("event-idx = sometimes"), "expected on or off");
	CHECK_HAS(vm_error("event-idx = off\nevent-idx = on"), "set twice");
}

/* autostart: yes by default; a VM without it is still set up at boot. */
static void test_autostart(void)
{
	CHECK(parse_vm("")->vms[0].autostart);
	CHECK(!parse_vm("autostart = no")->vms[0].autostart);
	CHECK(cfg.vms[0].valid);
	CHECK(!parse_vm("AutoStart = OFF")->vms[0].autostart);
	CHECK(parse_vm("autostart = yes")->vms[0].autostart);
	CHECK(parse_vm("autostart = on")->vms[0].autostart);
	CHECK(!parse_vm("autostart = 0")->vms[0].autostart);
	CHECK(parse_vm("autostart = no")->vms[0].devices == 0);
	CHECK_STR(vm_error("autostart = later"),
		  "hv.cfg:4: vm \"a\": autostart \"later\": expected on or off "
		  "(or yes/no, true/false, 1/0)");
	CHECK_HAS(vm_error("autostart = no\nautostart = yes"), "set twice (first on line 4)");
	CHECK_HAS(vm_error("auto-start = no"), "unknown key \"auto-start\"");
	/* Only for VMs: the [hypervisor] section does not take it. */
	CHECK_HAS(parse("[hypervisor]\nautostart = no\n")->errors[0], "unknown key \"autostart\"");
}

static void test_switches(void)
{
	static const struct { const char *key; uint32_t flag; } keys[] = {
		{ "net", HV_DEV_VIRTIO_NET }, { "rng", HV_DEV_VIRTIO_RNG },
		{ "virtio-console", HV_DEV_VIRTIO_CONSOLE }, { "testdev", HV_DEV_TESTDEV },
	};
	char buf[128], want[160];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(buf, sizeof(buf), "%s = on", keys[i].key);
		CHECK(parse_vm(buf)->vms[0].devices == keys[i].flag);
		snprintf(buf, sizeof(buf), "%s = 0", keys[i].key);
		CHECK(parse_vm(buf)->vms[0].devices == 0);
		CHECK(cfg.vms[0].valid);
		snprintf(buf, sizeof(buf), "%s = maybe", keys[i].key);
		snprintf(want, sizeof(want), "hv.cfg:4: vm \"a\": %s \"maybe\": expected on or off "
			 "(or yes/no, true/false, 1/0)", keys[i].key);
		CHECK_STR(vm_error(buf), want);
		snprintf(buf, sizeof(buf), "%s = on\n%s = off", keys[i].key, keys[i].key);
		CHECK_HAS(vm_error(buf), "set twice (first on line 4)");
	}
	CHECK(parse_vm("Virtio-Console = ON")->vms[0].devices == HV_DEV_VIRTIO_CONSOLE);
	/* '_' is not '-': the key is spelt as in docs/config.md. */
	CHECK_HAS(vm_error("virtio_console = on"), "unknown key \"virtio_console\"");
	CHECK(parse_vm("disk = d.img\ndisk-readonly = on\ntransport = mmio\nnet = on\n"
		       "mac = 52:54:00:12:34:56\nrng = on\nvirtio-console = on\ntestdev = on")
		      ->vms[0].devices == (HV_DEV_TESTDEV | HV_DEV_VIRTIO_RNG | HV_DEV_VIRTIO_CONSOLE |
					   HV_DEV_VIRTIO_NET | HV_DEV_DISK_READONLY |
					   HV_DEV_VIRTIO_MMIO | HV_DEV_MAC_SET));
	CHECK(cfg.vms[0].valid);
}

static void test_mac(void)
{
	static const char *const syntax[] = {
		"52:54:00:12:34", "52:54:00:12:34:56:78", "52-54-00-12-34-56", "525400123456",
		"52:54:0:12:34:56", "52:54:00:12:34:5", "g2:54:00:12:34:56", "52:54:00:12:34:5g",
		"52:54:00:12:34:56:", ":52:54:00:12:34:56", "52::54:00:12:34:56", "", "\"\"",
		"52:54:00:12:34 :56", "0x52:54:00:12:34:56", "52.54.00.12.34.56",
	};
	static const char *const multicast[] = {
		"01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "53:54:00:12:34:56", "33:33:00:00:00:01",
	};
	char buf[128];
	const struct cfg *c;

	c = parse_vm("net = on");
	CHECK(c->vms[0].devices == HV_DEV_VIRTIO_NET);  /* no mac: the hypervisor picks one */
	c = parse_vm("net = on\nmac = 52:54:00:12:34:56");
	CHECK(c->vms[0].valid);
	CHECK(c->vms[0].devices == (HV_DEV_VIRTIO_NET | HV_DEV_MAC_SET));
	CHECK(memcmp(c->vms[0].mac, "\x52\x54\x00\x12\x34\x56", 6) == 0);
	c = parse_vm("mac = 02:AB:cd:Ef:00:FF\nnet = yes");  /* any order, any case */
	CHECK(c->vms[0].valid);
	CHECK(memcmp(c->vms[0].mac, "\x02\xab\xcd\xef\x00\xff", 6) == 0);
	c = parse_vm("net = on\nmac = \"fe:00:00:00:00:00\"  # locally administered");
	CHECK(c->vms[0].valid && c->vms[0].mac[0] == 0xfe);
	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
		snprintf(buf, sizeof(buf), "net = on\nmac = %s", syntax[i]);
		CHECK_HAS(vm_error(buf), "expected six hex bytes like 52:54:00:12:34:56");
		CHECK(!(cfg.vms[0].devices & HV_DEV_MAC_SET));
	}
	CHECK_STR(vm_error("net = on\nmac = 52:54:00:12:34"),
		  "hv.cfg:5: vm \"a\": mac \"52:54:00:12:34\": expected six hex bytes like "
		  "52:54:00:12:34:56");
	for (size_t i = 0; i < sizeof(multicast) / sizeof(multicast[0]); i++) {
		snprintf(buf, sizeof(buf), "net = on\nmac = %s", multicast[i]);
		CHECK_HAS(vm_error(buf), "multicast (bit 0 of the first byte is set)");
		CHECK(!(cfg.vms[0].devices & HV_DEV_MAC_SET));
	}
	CHECK_STR(vm_error("net = on\nmac = 01:00:5e:00:00:01"),
		  "hv.cfg:5: vm \"a\": mac \"01:00:5e:00:00:01\": multicast (bit 0 of the first "
		  "byte is set); a NIC needs a unicast address");
	CHECK_STR(vm_error("net = on\nmac = 00:00:00:00:00:00"),
		  "hv.cfg:5: vm \"a\": mac \"00:00:00:00:00:00\": the all-zero address is not a "
		  "valid MAC");
	CHECK(parse_vm("net = on\nmac = 00:00:00:00:00:01")->vms[0].valid);
	/* mac needs net = on: missing, off, or set in another VM. */
	CHECK_STR(vm_error("mac = 52:54:00:12:34:56"),
		  "hv.cfg:4: vm \"a\": mac: needs net = on; without it the VM has no NIC");
	CHECK(cfg.vms[0].nr_errors == 1);
	CHECK_HAS(vm_error("net = off\nmac = 52:54:00:12:34:56"), "hv.cfg:5: vm \"a\": mac: needs net = on");
	c = parse("[vm a]\nmemory=2M\nkernel=k\nmac=52:54:00:12:34:56\n"
		  "[vm b]\nmemory=2M\nkernel=k\nnet=on\n");
	CHECK(!c->vms[0].valid && c->vms[1].valid);
	CHECK_HAS(c->vms[0].error, "mac: needs net = on");
	CHECK_HAS(vm_error("net = on\nmac = 52:54:00:12:34:56\nmac = 52:54:00:12:34:57"),
		  "hv.cfg:6: vm \"a\": mac: set twice (first on line 5)");
}

static void test_vm_section_errors(void)
{
	const struct cfg *c;

	CHECK_STR(vm_error("colour = blue"), "hv.cfg:4: vm \"a\": unknown key \"colour\" "
		  "(docs/config.md lists the keys)");
	CHECK_STR(vm_error("memory = 32M"), "hv.cfg:4: vm \"a\": memory: set twice (first on line 2)");
	CHECK(cfg.vms[0].mem_size == 16ull << 20);
	CHECK_STR(vm_error("just some words"),
		  "hv.cfg:4: vm \"a\": \"just some words\": expected \"key = value\" or a [section] header");
	CHECK_HAS(vm_error("= 5"), "expected \"key = value\"");
	CHECK_HAS(vm_error("mem ory = 5"), "expected \"key = value\"");
	CHECK_HAS(vm_error("memory: 5"), "expected \"key = value\"");

	/* Only the first error is kept; the count says how many there were. */
	c = parse("[vm a]\nfoo = 1\nmemory = x\nvcpus = 0\n");
	CHECK(c->vms[0].nr_errors == 4);
	CHECK_HAS(c->vms[0].error, "hv.cfg:2: vm \"a\": unknown key \"foo\"");
	CHECK(c->nr_errors == 0);

	/* Duplicate names: the later VM is invalid, names compare ignoring case. */
	c = parse("[vm a]\nmemory=2M\nkernel=k\n[vm b]\nmemory=2M\nkernel=k\n"
		  "[vm A]\nmemory=2M\nkernel=k\n");
	CHECK(c->nr_vms == 3);
	CHECK(c->vms[0].valid && c->vms[1].valid && !c->vms[2].valid);
	CHECK_STR(c->vms[2].error, "hv.cfg:7: vm \"A\": name already used by the VM on line 1");
	CHECK(c->nr_errors == 0);
	c = parse("[vm a]\nmemory=2M\nkernel=k\n[vm b]\nmemory=2M\nkernel=k\n"
		  "[vm b]\nmemory=2M\nkernel=k\n");
	CHECK(c->vms[0].valid && c->vms[1].valid && !c->vms[2].valid);
	CHECK_STR(c->vms[2].error, "hv.cfg:7: vm \"b\": name already used by the VM on line 4");
}

static void test_vm_names(void)
{
	char *name = repeat('n', HV_VM_NAME_MAX - 1), buf[256];
	const struct cfg *c;

	snprintf(buf, sizeof(buf), "[vm %s]\nmemory=2M\nkernel=k\n", name);
	c = parse(buf);
	CHECK(c->vms[0].valid);
	CHECK(strcmp(c->vms[0].name, name) == 0);

	snprintf(buf, sizeof(buf), "[vm %sn]\nmemory=2M\nkernel=k\n[vm ok]\nmemory=2M\nkernel=k\n", name);
	c = parse(buf);
	CHECK(c->nr_vms == 1);
	CHECK_STR(c->vms[0].name, "ok");
	CHECK(c->vms[0].valid);
	CHECK(c->nr_errors == 1);
	CHECK_STR(c->errors[0], "hv.cfg:1: \"[vm nnnnnnnnnnnnnnnnn...\": a VM name is 1 to 31 "
		  "characters from A-Z a-z 0-9 _ . -; lines up to the next section are ignored");

	c = parse("[vm]\nmemory=2M\n[vm a b]\nx\n[vm a/b]\n[vm x]\nmemory=2M\nkernel=k\n");
	CHECK(c->nr_vms == 1 && c->vms[0].valid);
	CHECK(c->nr_errors == 3);
	CHECK_HAS(c->errors[0], "hv.cfg:1: \"[vm]\": a VM name is");
	CHECK_HAS(c->errors[1], "hv.cfg:3: \"[vm a b]\": a VM name is");
	CHECK_HAS(c->errors[2], "hv.cfg:5: \"[vm a/b]\": a VM name is");
	free(name);
}

static void test_too_many_vms(void)
{
	char buf[8192], want[160];
	size_t len = 0;
	const struct cfg *c;

	for (int i = 0; i < HV_MAX_VMS + 2; i++)
		len += snprintf(buf + len, sizeof(buf) - len,
				"[vm v%d]\nmemory = 2M\nkernel = k%d\n", i, i);
	c = parse(buf);
	CHECK(c->nr_vms == HV_MAX_VMS);
	for (unsigned i = 0; i < c->nr_vms; i++)
		CHECK(c->vms[i].valid);
	snprintf(want, sizeof(want), "k%d", HV_MAX_VMS - 1);
	CHECK_STR(c->vms[HV_MAX_VMS - 1].kernel, want);
	CHECK(c->nr_errors == 2);
	snprintf(want, sizeof(want), "hv.cfg:%d: \"[vm v%d]\": too many VMs (at most %d); "
		 "lines up to the next section are ignored", 3 * HV_MAX_VMS + 1, HV_MAX_VMS,
		 HV_MAX_VMS);
	CHECK_STR(c->errors[0], want);
	snprintf(want, sizeof(want), "hv.cfg:%d: \"[vm v%d]\": too many VMs",
		 3 * HV_MAX_VMS + 4, HV_MAX_VMS + 1);
	CHECK_HAS(c->errors[1], want);
}

static void test_global_errors(void)
{
	const struct cfg *c = parse(
		"hello world\n"                       /* 1 */
		"memory = 16M\n"                      /* 2 */
		"[network]\n"                         /* 3 */
		"anything = goes; ignored\n"          /* 4 */
		"[vm a]\nmemory = 2M\nkernel = k\n"   /* 5-7 */
		"[hypervisor extra]\n"                /* 8 */
		"[vm b\n"                             /* 9 */
		"memory = 4M\n"                       /* 10 */
		"[vm c]\nmemory = 2M\nkernel = k\n"); /* 11-13 */

	CHECK(c->nr_vms == 2);
	CHECK(c->vms[0].valid && c->vms[1].valid);
	CHECK_STR(c->vms[1].name, "c");
	CHECK(c->nr_errors == 5);
	CHECK_STR(c->errors[0], "hv.cfg:1: \"hello world\": expected \"key = value\" or a [section] header");
	CHECK_STR(c->errors[1], "hv.cfg:2: \"memory = 16M\": setting outside any section");
	CHECK_STR(c->errors[2], "hv.cfg:3: \"[network]\": unknown section (expected [hypervisor] "
		  "or [vm NAME]); lines up to the next section are ignored");
	CHECK_HAS(c->errors[3], "hv.cfg:8: \"[hypervisor extra]\": [hypervisor] takes no name");
	CHECK_HAS(c->errors[4], "hv.cfg:9: \"[vm b\": a section header ends with ']'");
}

static void test_error_overflow(void)
{
	char buf[4096] = "";
	const struct cfg *c;

	for (int i = 0; i < CFG_MAX_ERRORS + 5; i++)
		strcat(buf, "garbage\n");
	strcat(buf, "[vm a]\nmemory = 2M\nkernel = k\n");
	c = parse(buf);
	CHECK(c->nr_errors == CFG_MAX_ERRORS);
	CHECK(c->nr_errors_dropped == 5);
	CHECK_HAS(c->errors[CFG_MAX_ERRORS - 1], "hv.cfg:8:");
	CHECK(c->vms[0].valid);
}

static void test_empty(void)
{
	const struct cfg *c = parse("");

	CHECK(c->nr_vms == 0);
	CHECK(c->nr_errors == 1);
	CHECK_STR(c->errors[0], "hv.cfg: no [vm NAME] section, so there is nothing to run");
	c = parse("# nothing\n\n\n[hypervisor]\nbatch = on\n");
	CHECK(c->nr_vms == 0 && c->nr_errors == 1 && c->batch);
	memset(&cfg, 0xa5, sizeof(cfg));
	config_parse(NULL, 100, NULL, &cfg);
	CHECK(cfg_sane(&cfg));
	CHECK_STR(cfg.errors[0], "config: no [vm NAME] section, so there is nothing to run");
}

static void test_line_endings(void)
{
	const struct cfg *c = parse("[hypervisor]\r\nbatch = yes\r\n[vm a]\r\nmemory = 4M\r\n"
				    "kernel = k.elf\r\ncmdline = \"q\"\r\n\r\n[vm b]\r\nmemory = 2M\r\nkernel = x");

	CHECK(c->nr_errors == 0);
	CHECK(c->batch);
	CHECK(c->nr_vms == 2 && c->vms[0].valid && c->vms[1].valid);
	CHECK_STR(c->vms[0].kernel, "k.elf");
	CHECK_STR(c->vms[0].cmdline, "q");
	CHECK_STR(c->vms[1].kernel, "x");  /* no final newline */
	c = parse("[vm a]\nmemory = 2M\nkernel = k\r");
	CHECK(c->vms[0].valid);
	CHECK_STR(c->vms[0].kernel, "k");
	CHECK_STR(vm_error("cmdline = a\rb"), "hv.cfg:4: vm \"a\": control byte 0x0D at column 12");
	c = parse("[vm a]\rmemory = 2M\rkernel = k\r");
	CHECK(c->nr_vms == 0 && c->nr_errors == 2);
	CHECK_HAS(c->errors[0], "hv.cfg:1: control byte 0x0D at column 7");
}

static void test_bad_bytes(void)
{
	static const char nul_vm[] = "[vm a]\nmemory = 2M\nkernel = k\0x\n[vm b]\nmemory=2M\nkernel=k\n";
	static const char nul_global[] = "\0\n[vm a]\nmemory = 2M\nkernel = k\n";
	static const char nul_comment[] = "[vm a]\nmemory = 2M\nkernel = k # \0\n";
	static const char nul_header[] = "[vm \0a]\nmemory = 2M\nkernel = k\n[vm b]\nmemory=2M\nkernel=k\n";
	const struct cfg *c;

	c = parse_n(nul_vm, sizeof(nul_vm) - 1);
	CHECK(c->nr_vms == 2 && !c->vms[0].valid && c->vms[1].valid);
	CHECK_STR(c->vms[0].error, "hv.cfg:3: vm \"a\": NUL byte at column 11");
	CHECK(c->nr_errors == 0);
	c = parse_n(nul_global, sizeof(nul_global) - 1);
	CHECK(c->vms[0].valid);
	CHECK_STR(c->errors[0], "hv.cfg:1: NUL byte at column 1");
	c = parse_n(nul_comment, sizeof(nul_comment) - 1);
	CHECK_STR(c->vms[0].error, "hv.cfg:3: vm \"a\": NUL byte at column 14");
	c = parse_n(nul_header, sizeof(nul_header) - 1);
	CHECK(c->nr_vms == 1 && c->vms[0].valid);
	CHECK_STR(c->vms[0].name, "b");
	CHECK_STR(c->errors[0], "hv.cfg:1: NUL byte at column 5");
	CHECK(c->nr_errors == 1); /* the rest of that section is skipped silently */

	/* UTF-8 is fine in comments, nowhere else. */
	c = parse_vm("# caf\xc3\xa9 \xe2\x9c\x93\ncmdline = x # \xff\xfe");
	CHECK(c->vms[0].valid);
	CHECK_STR(c->vms[0].cmdline, "x");
	CHECK_STR(vm_error("cmdline = caf\xc3\xa9"),
		  "hv.cfg:4: vm \"a\": byte 0xC3 at column 14: only comments may hold non-ASCII text");
	CHECK_HAS(vm_error("cmdline = \"caf\xc3\xa9 # x\""), "byte 0xC3 at column 15");
	c = parse("[vm caf\xc3\xa9]\nmemory = 2M\nkernel = k\n");
	CHECK(c->nr_vms == 0);
	CHECK_STR(c->errors[0], "hv.cfg:1: byte 0xC3 at column 8: only comments may hold non-ASCII text");
	CHECK(c->nr_errors == 2);
	CHECK_HAS(c->errors[1], "nothing to run");
	CHECK_HAS(vm_error("cmdline = a\tb\x7f"), "control byte 0x7F at column 14");
	c = parse_vm("cmdline = a\tb");
	CHECK_STR(c->vms[0].cmdline, "a\tb");
}

static void test_long_lines(void)
{
	size_t big = 1 << 17;
	char *junk = repeat('x', big), *buf = xmalloc(big + 64);
	const struct cfg *c;

	snprintf(buf, big + 64, "# %s", junk);
	CHECK(parse_vm(buf)->vms[0].valid);
	snprintf(buf, big + 64, "%s", junk);
	c = parse_vm(buf);
	CHECK_STR(c->vms[0].error, "hv.cfg:4: vm \"a\": \"xxxxxxxxxxxxxxxxxxxxx...\": "
		  "expected \"key = value\" or a [section] header");
	snprintf(buf, HV_CMDLINE_MAX + 32, "cmdline = %s", junk);
	CHECK_HAS(vm_error(buf), "too long");
	snprintf(buf, big + 64, "%s = 1", junk);
	CHECK_HAS(vm_error(buf), "unknown key \"xxxxxxxxxxxxxxxxxxxxx...\"");
	snprintf(buf, big + 64, "[vm %s]", junk);
	c = parse(buf);
	CHECK_HAS(c->errors[0], "a VM name is");

	/* Messages are cut, not overflowed, when the file name is long. */
	memset(&cfg, 0xa5, sizeof(cfg));
	config_parse("[vm a]\nbad\n", 11, junk, &cfg);
	CHECK(cfg_sane(&cfg));
	CHECK(strlen(cfg.vms[0].error) == HV_ERROR_MAX - 1);
	free(junk);
	free(buf);
}

/* Random byte soup built from config fragments: no crash, result sane. */
static void test_random(void)
{
	static const char *const bits[] = {
		"[vm ", "]", "[hypervisor]", "\n", "\r\n", "\r", "=", " ", "\t", "\"", "#", ";",
		"memory", "vcpus", "kernel", "initrd", "cmdline", "boot", "batch", "16M", "2",
		"a/b", "/", "..", "x", "\xc3\xa9", "\0", "999999999999999999999G", "[", "kestrel",
		"disk", "disk-readonly", "mac", "net", "rng", "transport", "on", "mmio",
		"52:54:00:12:34:56", "virtio-console",
	};
	static char buf[4096];
	unsigned seed = 12345, insane = 0;

	for (int round = 0; round < 3000; round++) {
		size_t len = 0;

		for (int i = 0; i < 80; i++) {
			const char *b;
			size_t n;

			seed = seed * 1103515245 + 12345;
			b = bits[(seed >> 16) % (sizeof(bits) / sizeof(bits[0]))];
			n = b[0] ? strlen(b) : 1;
			memcpy(buf + len, b, n);
			len += n;
		}
		insane += !cfg_sane(parse_raw(buf, len));
	}
	CHECK(insane == 0);
}

/* cpus: host CPUs by number, single or as ranges; none set means any. */
static void test_cpus(void)
{
	static const char *const bad[] = {
		"", "x", "-1", "1-", "-", "3-1", "0,", ",0", "0,,1", "64", "0-64", "1 2", "0x1",
		"99999999999999999999999",
	};
	char buf[128];

	CHECK_EQ(parse_vm("")->vms[0].cpu_mask, 0);
	CHECK_EQ(parse_vm("cpus = 0")->vms[0].cpu_mask, 1);
	CHECK(cfg.vms[0].valid);
	CHECK_EQ(parse_vm("cpus = 0,2-3")->vms[0].cpu_mask, 0xd);
	CHECK_EQ(parse_vm("cpus = 3-3,1")->vms[0].cpu_mask, 0xa);
	CHECK_EQ(parse_vm("cpus = 2,2")->vms[0].cpu_mask, 4);
	CHECK_EQ(parse_vm("cpus = 63")->vms[0].cpu_mask, 1ull << 63);
	CHECK_EQ(parse_vm("cpus = 0-63")->vms[0].cpu_mask, ~0ull);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "cpus = %s", bad[i]);
		CHECK_HAS(vm_error(buf), "expected host CPU numbers from 0 to 63, like 1 or 0,2-3");
	}
	CHECK_STR(vm_error("cpus = 64"), "hv.cfg:4: vm \"a\": cpus \"64\": expected host CPU "
		  "numbers from 0 to 63, like 1 or 0,2-3");
	CHECK_HAS(vm_error("cpus = 1\ncpus = 2"), "set twice (first on line 4)");
}

int main(void)
{
	test_valid_multi_vm();
	test_one_of_three_broken();
	test_batch();
	test_flight_recorder();
	test_comments();
	test_cmdline();
	test_memory();
	test_vcpus();
	test_paths();
	test_boot();
	test_testdev();
	test_disk();
	test_disk_readonly();
	test_transport();
	test_switches();
	test_event_idx();
	test_autostart();
	test_cpus();
	test_mac();
	test_vm_section_errors();
	test_vm_names();
	test_too_many_vms();
	test_global_errors();
	test_error_overflow();
	test_empty();
	test_line_endings();
	test_bad_bytes();
	test_long_lines();
	test_random();
	return unit_finish("test_config");
}
