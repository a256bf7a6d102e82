# Kestrel hypervisor: one Makefile for the whole build.
#   make          build/hv.efi, the guest images, the test disk and build/esp/
#   make run      boot the default configuration under QEMU + OVMF, console on the terminal
#   make test     every test (unit, fuzz smoke, integration, kvm-unit-tests)
#   make check    the fast host-side subset
#   make bench    exit-cost benchmark
.DEFAULT_GOAL := all

B        := build
CONFIG   ?= configs/default.cfg
PYTHON   := /usr/bin/python3
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

CC       := gcc
HOSTCC   := gcc
OBJCOPY  := objcopy

WARN     := -Wall -Wextra -Werror -Wmissing-prototypes -Wshadow -Wstrict-prototypes
FREESTANDING := -ffreestanding -fno-stack-protector -fno-builtin -mno-red-zone \
                -mgeneral-regs-only -fno-strict-aliasing -std=gnu11 -O2 -g

# ---------------------------------------------------------------- hv.efi
# The UEFI loader (efi/) and the hypervisor core are one PE image built with
# GNU-EFI: the loader calls hv_main() after ExitBootServices.
EFI_INC  := /usr/include/efi
EFI_LIB  := /usr/lib
TRACE    ?= 1
HV_CFLAGS := -DCONFIG_TRACE=$(TRACE) $(WARN) $(FREESTANDING) -fpic -fshort-wchar -mcmodel=small \
             -isystem $(EFI_INC) -isystem $(EFI_INC)/x86_64 -Iinclude -Ihypervisor/include -I$(B)/gen -DGNU_EFI_USE_MS_ABI \
             -maccumulate-outgoing-args

HV_C_SRCS := $(wildcard efi/*.c hypervisor/core/*.c hypervisor/lib/*.c \
               hypervisor/arch/x86/*.c hypervisor/arch/x86/svm/*.c hypervisor/arch/x86/vmx/*.c \
               hypervisor/devices/*.c hypervisor/pci/*.c hypervisor/virtio/*.c hypervisor/net/*.c \
               hypervisor/debug/*.c)
HV_C_SRCS := $(filter-out hypervisor/arch/x86/asm-offsets.c,$(HV_C_SRCS))
HV_S_SRCS := $(wildcard hypervisor/arch/x86/*.S hypervisor/arch/x86/svm/*.S hypervisor/arch/x86/vmx/*.S)
HV_OBJS   := $(patsubst %.c,$(B)/obj/%.o,$(HV_C_SRCS)) $(patsubst %.S,$(B)/obj/%.o,$(HV_S_SRCS))

# Offsets used by assembly are generated from the C structs (never typed by hand).
$(B)/gen/asm-offsets.h: hypervisor/arch/x86/asm-offsets.c $(wildcard hypervisor/include/*/*.h)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(CC) $(HV_CFLAGS) -S -o $(B)/gen/asm-offsets.s $<
	$(Q)(echo '/* generated from asm-offsets.c */'; \
	  sed -n 's/.*@@OFFSET \([A-Z_0-9]*\) \$$\?\([0-9-]*\).*/#define \1 \2/p' \
	  $(B)/gen/asm-offsets.s) > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; touch $@; else mv $@.tmp $@; fi

# The guests' DSDT: iasl compiles the ASL (which shares its constants with
# devices/acpi_tables.h) into $(B)/gen/dsdt.hex, a C array dsdt_aml_code
# that acpi_tables.c includes. -we: warnings fail the build; iasl leaves a
# partial .hex behind on errors, hence the rm.
$(B)/gen/dsdt.hex: hypervisor/devices/dsdt.asl hypervisor/include/devices/acpi_tables.h | $(B)/.setup-stamp
	@mkdir -p $(dir $@)
	@echo "  IASL    $<"
	$(Q)iasl -vs -we -Ihypervisor/include -tc -p $(B)/gen/dsdt $< >$(B)/gen/dsdt.log 2>&1 || \
	  { cat $(B)/gen/dsdt.log; rm -f $@; exit 1; }
$(B)/obj/hypervisor/devices/acpi_tables.o $(B)/unit/test_acpi_tables: $(B)/gen/dsdt.hex

$(B)/obj/%.o: %.c $(B)/gen/asm-offsets.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/obj/%.o: %.S $(B)/gen/asm-offsets.h
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -D__ASSEMBLY__ -c -o $@ $<

$(B)/hv.so: $(HV_OBJS)
	ld -nostdlib -znocombreloc -shared -Bsymbolic -T $(EFI_LIB)/elf_x86_64_efi.lds \
	   $(EFI_LIB)/crt0-efi-x86_64.o $(HV_OBJS) -o $@ -L$(EFI_LIB) -lgnuefi \
	   $$($(CC) -print-libgcc-file-name)

$(B)/hv.efi: $(B)/hv.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela \
	   -j .rel.* -j .rela.* -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@

# ---------------------------------------------------------------- guests
GUEST_CFLAGS := $(WARN) $(FREESTANDING) -fno-pic -fno-pie -mcmodel=small -Iinclude \
                -mno-sse -mno-mmx -fno-asynchronous-unwind-tables
GUEST_MIN_SRCS := $(wildcard guest-tools/minimal/*.c guest-tools/minimal/*.S)
GUEST_MIN_OBJS := $(patsubst %,$(B)/guest/%.o,$(GUEST_MIN_SRCS))

$(B)/guest/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<
$(B)/guest/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -D__ASSEMBLY__ -c -o $@ $<

$(B)/guests/minimal.elf: $(GUEST_MIN_OBJS) guest-tools/minimal/kernel.ld
	@mkdir -p $(dir $@)
	ld -nostdlib -static -z max-page-size=4096 -T guest-tools/minimal/kernel.ld -o $@ $(GUEST_MIN_OBJS)

# A Multiboot ELF32 test kernel, the kind built for QEMU's -kernel.
$(B)/guests/multiboot-hello.elf: guest-tools/multiboot/hello.S guest-tools/multiboot/hello.ld
	@mkdir -p $(dir $@)
	@echo "  AS32    $<"
	$(Q)$(CC) -m32 -c -o $(B)/guest/multiboot-hello.o $<
	$(Q)ld -m elf_i386 -z max-page-size=4096 --no-warn-rwx-segments -T guest-tools/multiboot/hello.ld \
	   -o $@ $(B)/guest/multiboot-hello.o

GUESTS := $(B)/guests/minimal.elf $(B)/guests/multiboot-hello.elf

# The chaos guest (guest-tools/chaos/): seeded random ops against the hypervisor, and
# the victim that runs beside it (tests/integration/test_chaos.py, `make soak`).
GUEST_CHAOS_SRCS := $(wildcard guest-tools/chaos/*.c guest-tools/chaos/*.S)
GUEST_CHAOS_OBJS := $(patsubst %,$(B)/guest/%.o,$(GUEST_CHAOS_SRCS))
$(B)/guests/chaos.elf: $(GUEST_CHAOS_OBJS) guest-tools/chaos/kernel.ld
	@mkdir -p $(dir $@)
	ld -nostdlib -static -z max-page-size=4096 -T guest-tools/chaos/kernel.ld -o $@ $(GUEST_CHAOS_OBJS)
GUESTS += $(B)/guests/chaos.elf

# ---------------------------------------------------------------- Linux guest
# Debian's kernel (bzImage, and the vmlinux inside it) and a busybox
# initramfs, built from Debian packages by the script (never committed).
# The script keeps its own stamps (~0.1 s when up to date), so it always runs.
LINUX_OUT := $(B)/linux
# bzImage-cloud: a second flavour (linux-image-cloud-amd64) for side-by-side tests.
LINUX_GUEST := $(LINUX_OUT)/bzImage $(LINUX_OUT)/vmlinux $(LINUX_OUT)/initramfs.cpio.gz \
               $(LINUX_OUT)/bzImage-cloud
.PHONY: linux-guest linux-direct
linux-guest: $(B)/.setup-stamp
	@bash scripts/build-linux-guest.sh $(LINUX_OUT)
	@bash scripts/build-cloud-kernel.sh $(LINUX_OUT)
$(LINUX_GUEST): linux-guest
	@true
# The same kernel and initramfs booted directly by QEMU (the reference).
linux-direct: linux-guest
	$(PYTHON) scripts/run-linux-direct.py --batch --commands "uname -a;cat /proc/interrupts" \
	    --json $(B)/linux-direct.json --log $(B)/linux-direct.log

# ---------------------------------------------------------------- disk image
# A 16 MiB ext4 test disk for virtio-blk guests, with files of known content and their
# checksums (build/disk/data.sha256); deterministic. On the ESP as images/data.img,
# so a VM takes it with `disk = images/data.img`. The script keeps its own stamp, hence
# the touch when it finds the image up to date.
DISK_IMG := $(B)/disk/data.img
$(DISK_IMG): scripts/build-disk-image.sh | $(B)/.setup-stamp
	@bash scripts/build-disk-image.sh $(dir $@)
	@touch $@

# ---------------------------------------------------------------- ESP
# build/esp: EFI/BOOT/BOOTX64.EFI, the active configuration (hv.cfg), the guests and
# the disk images (images/).
.PHONY: esp
esp: $(B)/esp/.stamp
$(B)/esp/.stamp: $(B)/hv.efi $(GUESTS) $(LINUX_GUEST) $(DISK_IMG) $(CONFIG)
	rm -rf $(B)/esp && mkdir -p $(B)/esp/EFI/BOOT $(B)/esp/guests $(B)/esp/images
	cp $(B)/hv.efi $(B)/esp/EFI/BOOT/BOOTX64.EFI
	cp $(GUESTS) $(LINUX_GUEST) $(B)/esp/guests/
	cp $(DISK_IMG) $(B)/esp/images/
	cp $(CONFIG) $(B)/esp/hv.cfg
	touch $@

# ---------------------------------------------------------------- host tests
HOST_CFLAGS := $(WARN) -std=gnu11 -O1 -g -Iinclude -Ihypervisor/include -I$(B)/gen \
               -Iefi -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))
# Each unit test names the sources it links in a line: "// UNIT-SOURCES: a.c b.c"
$(B)/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(HV_C_SRCS)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_CFLAGS) -o $@ $< $$(sed -n 's|^// UNIT-SOURCES: ||p' $<) $$(sed -n 's|^// UNIT-LIBS: ||p' $<)

.PHONY: all run test check unit integration bench clean setup fuzz fuzz-smoke
all: $(B)/.setup-stamp $(B)/hv.efi $(GUESTS) $(DISK_IMG) esp

# The Debian packages the build and the tests need, installed once per machine.
setup $(B)/.setup-stamp: scripts/setup.sh
	bash scripts/setup.sh
	@mkdir -p $(B) && touch $(B)/.setup-stamp

run: all
	$(PYTHON) scripts/run-qemu.py --config $(CONFIG) --interactive

unit: $(B)/.setup-stamp $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

# libFuzzer targets for the parsers of untrusted input (ASan + UBSan). `make fuzz`
# runs each for FUZZ_RUNS executions (or FUZZ_SECONDS when set) and writes the
# figures to FUZZ_FIGURES (build/fuzz/figures.md); `make check` runs a short
# smoke round of each (4 s). Seeds, and inputs that once failed, are kept in
# tests/fuzz/corpus_<name>/.
FUZZ_RUNS ?= 10000000
FUZZ_SECONDS ?=
FUZZ_LIMIT = $(if $(FUZZ_SECONDS),-max_total_time=$(FUZZ_SECONDS),-runs=$(FUZZ_RUNS))
FUZZ_FIGURES ?= $(B)/fuzz/figures.md
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -Iinclude -Ihypervisor/include -Iefi
FUZZERS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
$(B)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c efi/config.c efi/config.h
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_config.c efi/config.c
$(B)/fuzz/fuzz_elf: tests/fuzz/fuzz_elf.c hypervisor/core/elf.c hypervisor/include/core/elf.h
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_elf.c hypervisor/core/elf.c
# The others name what they link in "// FUZZ-SOURCES: a.c b.c" (and "// FUZZ-LIBS:",
# "// FUZZ-CFLAGS:" for the compiler, "// FUZZ-OPTIONS:" for libFuzzer). hypervisor/lib/printk.c comes in renamed, so the
# hypervisor's own vsnprintf is the one tested and libc's stays libFuzzer's, and
# without coverage feedback (tests/fuzz/coverage-ignore.txt).
FUZZ_HV_FLAGS := -Dsnprintf=hv_snprintf -Dvsnprintf=hv_vsnprintf \
                 -fsanitize-coverage-ignorelist=tests/fuzz/coverage-ignore.txt
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/coverage-ignore.txt $(HV_C_SRCS) \
                  $(wildcard include/hv/*.h hypervisor/include/*/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) $(FUZZ_HV_FLAGS) $$(sed -n 's|^// FUZZ-CFLAGS: ||p' $<) -o $@ $< \
	   $$(sed -n 's|^// FUZZ-SOURCES: ||p' $<) $$(sed -n 's|^// FUZZ-LIBS: ||p' $<)
fuzz: $(B)/.setup-stamp $(FUZZERS)
	@echo "| harness | executions | seconds | exec/s | edges | features | corpus |" > $(FUZZ_FIGURES)
	@echo "|---|---:|---:|---:|---:|---:|---:|" >> $(FUZZ_FIGURES)
	@for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p $$f-corpus; \
	  seeds=tests/fuzz/corpus_$${n#fuzz_}; [ -d $$seeds ] || seeds=; \
	  $$f $(FUZZ_LIMIT) $$(sed -n 's|^// FUZZ-OPTIONS: ||p' tests/fuzz/$$n.c) -print_final_stats=1 \
	    -artifact_prefix=$$f- $$f-corpus $$seeds > $$f.log 2>&1 || \
	    { tail -30 $$f.log; echo "$$f: FAILED (log: $$f.log)"; exit 1; }; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$f.log); \
	  rate=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$f.log); \
	  secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $$f.log); \
	  set -- $$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' $$f.log | tail -1 | tr -dc '0-9 '); \
	  echo "$$n: $$runs runs in $$secs s ($$rate/s), $$1 edges, $$2 features, corpus $$3, no failure"; \
	  echo "| $$n | $$runs | $$secs | $$rate | $$1 | $$2 | $$3 |" >> $(FUZZ_FIGURES); done
fuzz-smoke: FUZZ_SECONDS := 2
fuzz-smoke: fuzz

check: unit fuzz-smoke

integration: all
	$(PYTHON) -m pytest -v -n 2 tests/integration

# One pytest run on two workers: kvm-unit-tests first, each backend's boots one xdist
# group (Bochs' is the longest single unit, about 10 minutes, so it starts first), then
# the integration tests one by one on whichever worker is free. Two runs in a row left
# one worker idle for 8 minutes while Bochs finished kvm-unit-tests.
test: check all kut
	$(PYTHON) -m pytest -v -n 2 --dist loadgroup --durations=15 tests/kut tests/integration

bench: all
	$(PYTHON) scripts/bench.py

# Long chaos runs (tests/integration/test_chaos.py): 10^6 ops of the chaos guest next
# to the victim on each backend, more resets, and the known hypervisor bugs' reproducers.
# Also gdb on Linux under Bochs (5 minutes; test_gdb.py) and the two Linux VMs over
# the switch under Bochs (9 minutes; test_virtio_net.py), and two 2-vCPU Linux VMs
# spread over 4 host CPUs (QEMU) or 2 (Bochs), which need the machine's cores to
# themselves (test_linux.py -k spread_over, one emulator at a time). SOAK_JOBS=1
# runs one emulator at a time.
SOAK_JOBS ?= 2
.PHONY: soak
soak: all
	KESTREL_CHAOS_SOAK=1 KESTREL_SOAK=1 $(PYTHON) -m pytest -v -rP -n $(SOAK_JOBS) \
	  tests/integration/test_chaos.py tests/integration/test_gdb.py \
	  tests/integration/test_virtio_net.py
	KESTREL_SOAK=1 $(PYTHON) -m pytest -v -rP tests/integration/test_linux.py -k spread_over

# ---------------------------------------------------------------- kvm-unit-tests
# The standard x86 hypervisor test suite, built from a tarball kept outside the
# repository (GPL: never copied in) and booted under Kestrel by tests/kut/ (one VM per
# test, up to 8 per boot). Expected verdicts: tests/kut/expectations.txt.
#   make kut          unpack and build it into build/kvm-unit-tests (once: stamp)
#   make kut-test     the pytest suite alone (make test runs it too), QEMU (svm) and
#                     Bochs (vmx) side by side; KUT_SLOW=1 adds the tests flagged slow
#   make kut-record   boot every test on both backends and rewrite the verdicts
KUT_TARBALL ?= ../shared/third_party/kvm-unit-tests-1da1819e.tar.gz
KUT_DIR     := $(B)/kvm-unit-tests
KUT_STAMP   := $(B)/.kut-stamp
.PHONY: kut kut-test kut-record
kut: $(KUT_STAMP)
$(KUT_STAMP): $(wildcard $(KUT_TARBALL))
	@test -f "$(KUT_TARBALL)" || { echo "kvm-unit-tests: no tarball at $(KUT_TARBALL) (set KUT_TARBALL=...)"; exit 1; }
	rm -rf $(KUT_DIR) && mkdir -p $(B)
	tar -xzf $(KUT_TARBALL) -C $(B)/
	cd $(KUT_DIR) && ./configure --arch=x86_64 && MAKEFLAGS= make -j2
	touch $@

kut-test: all kut
	$(PYTHON) -m pytest -v -n 2 --dist loadgroup tests/kut

kut-record: all kut
	$(PYTHON) tests/kut/kut.py record --parallel

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj $(B)/guest -name '*.d' -type f 2>/dev/null)
