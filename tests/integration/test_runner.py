"""Tests of scripts/run-qemu.py, scripts/run-bochs.py and scripts/esp_image.py that need
no hypervisor: the ESP holds data/exit_app.c, built here with gnu-efi. Each boot costs
about 4-6 s under QEMU ([svm]) and 15-25 s under Bochs ([vmx]), mostly OVMF."""
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import harness

sys.path.insert(0, str(harness.REPO / "scripts"))
import esp_image  # noqa: E402

DATA = Path(__file__).parent / "data"
MODES = {"pass": 0, "fail": 1, "hang": 2, "reset": 3, "console": 4, "poweroff": 5}
PASS_LINE = r"^kestrel: batch mode: every VM ended well; powering off$"
FAIL_LINE = r"^kestrel: batch mode: some VMs did not end well; powering off$"


def make_esp(root, boot_efi=b"not really an EFI app"):
    (root / "EFI" / "BOOT").mkdir(parents=True)
    (root / "guests").mkdir()
    if isinstance(boot_efi, Path):
        boot_efi = boot_efi.read_bytes()
    (root / "EFI" / "BOOT" / "BOOTX64.EFI").write_bytes(boot_efi)
    (root / "guests" / "minimal.elf").write_bytes(b"\x7fELF guest")
    (root / "hv.cfg").write_text("[vm one]\nmemory = 16M\n")
    (root / ".stamp").write_text("")
    return root


@pytest.fixture(scope="session")
def app_esp(tmp_path_factory):
    """app_esp(mode) -> an ESP directory whose BOOTX64.EFI is exit_app.c built for mode."""
    built = {}

    def get(mode):
        if mode not in built:
            d = tmp_path_factory.mktemp(f"app-{mode}")
            efi = harness.build_efi_app(DATA / "exit_app.c", d / "app.efi",
                                        [f"MODE={MODES[mode]}"])
            built[mode] = make_esp(d / "esp", efi)
        return built[mode]
    return get


def mtools(*cmd):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout


def run_runner(*args, runner=harness.RUNNER):
    return subprocess.run([harness.PYTHON, str(runner), *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


# ------------------------------------------------------------------ the disk image
def test_image_holds_the_esp_and_the_batch_stanza(tmp_path):
    esp = make_esp(tmp_path / "esp")
    img = esp_image.make_disk_image(str(esp), None, True, str(tmp_path / "disk.img"))
    target = esp_image.mtools_target(img)
    listing = mtools("mdir", "-/", "-b", "-i", target, "::/")
    assert "::/EFI/BOOT/BOOTX64.EFI" in listing and "::/guests/minimal.elf" in listing
    assert ".stamp" not in listing
    assert mtools("mtype", "-i", target, "::/EFI/BOOT/BOOTX64.EFI") == "not really an EFI app"
    assert mtools("mtype", "-i", target, "::/hv.cfg") == (
        "[vm one]\nmemory = 16M\n\n[hypervisor]\nbatch = on\n")


def test_image_is_mbr_partitioned_and_big_enough(tmp_path):
    esp = make_esp(tmp_path / "esp")
    img = Path(esp_image.make_disk_image(str(esp), None, False, str(tmp_path / "disk.img")))
    with open(img, "rb") as f:
        data = f.read(512)
    assert data[510:] == b"\x55\xaa"
    ptype, start, count = data[446 + 4], *struct.unpack("<II", data[446 + 8:446 + 16])
    assert (ptype, start) == (0xEF, 2048)
    cylinder = 16 * 63 * 512                  # whole cylinders, for Bochs's geometry
    assert img.stat().st_size == (start + count) * 512 == 131 * cylinder >= 64 << 20
    # a big ESP gets its size + 16 MiB slack (+ the 1 MiB before the partition), rounded
    with open(esp / "guests" / "big.elf", "wb") as f:
        f.truncate(100 << 20)
    need = (100 << 20) + (17 << 20)
    size = esp_image.image_size(str(esp))
    assert size % cylinder == 0 and need < size < need + cylinder


def test_config_replaces_hv_cfg_and_interactive_has_no_stanza(tmp_path):
    esp = make_esp(tmp_path / "esp")
    cfg = tmp_path / "other.cfg"
    cfg.write_text("[vm two]\n")
    img = esp_image.make_disk_image(str(esp), str(cfg), False, str(tmp_path / "disk.img"))
    assert mtools("mtype", "-i", esp_image.mtools_target(img), "::/hv.cfg") == "[vm two]\n"


def test_print_cmd_shows_the_qemu_command(tmp_path):
    esp = make_esp(tmp_path / "esp")
    res = run_runner("--esp", str(esp), "--batch", "--dry-run", "--accel", "tcg",
                     "--smp", "2", "--memory", "1G", "--log", str(tmp_path / "s.log"),
                     "--", "-d", "guest_errors")
    assert res.returncode == 0, res.stderr
    for part in ["qemu-system-x86_64 -machine pc -m 1G -smp 2 -bios /usr/share/ovmf/OVMF.fd",
                 "-nodefaults -vga none -display none -net none -no-reboot",
                 "-device isa-debug-exit,iobase=0xf4,iosize=0x04", "-accel tcg -cpu max",
                 f"-chardev stdio,id=con0,logfile={tmp_path}/s.log -serial chardev:con0",
                 "-d guest_errors"]:
        assert part in res.stderr
    assert "accelerator: TCG" in res.stderr


def test_print_cmd_shows_the_bochsrc(tmp_path):
    esp = make_esp(tmp_path / "esp")
    res = run_runner("--esp", str(esp), "--batch", "--dry-run", "--cpu", "tigerlake",
                     "--smp", "2", "--memory", "1G", "--log", str(tmp_path / "s.log"),
                     "--", "cpuid: x2apic=1", runner=harness.BOCHS_RUNNER)
    assert res.returncode == 0, res.stderr
    for part in ["romimage: file=/usr/share/ovmf/OVMF.fd\n", "pci: enabled=1, chipset=i440fx\n",
                 "cpu: model=tigerlake, count=2, ips=", "memory: guest=1024, host=1024\n",
                 "ata0-master: type=disk, mode=flat, path=", "boot: disk\n",
                 'display_library: rfb, options="timeout=0"\n', "sound: waveoutdrv=dummy",
                 f'com1: enabled=1, mode=file, dev="{tmp_path}/s.log"\n',
                 f'log: "{tmp_path}/s.bochs.log"\n', "cpuid: x2apic=1\n", "bochs -q -f "]:
        assert part in res.stderr
    assert "Bochs CPU model tigerlake" in res.stderr


@pytest.mark.parametrize("runner", [harness.RUNNER, harness.BOCHS_RUNNER], ids=["qemu", "bochs"])
def test_missing_esp_is_a_clear_error(tmp_path, runner):
    res = run_runner("--esp", str(tmp_path / "nope"), "--batch", "--log", str(tmp_path / "l"),
                     runner=runner)
    assert res.returncode == 2
    assert "BOOTX64.EFI" in res.stderr and "make" in res.stderr


# ------------------------------------------------------------------ booting exit_app
def test_pass_maps_to_0(boot_batch, app_esp):
    r = boot_batch(None, esp=app_esp("pass"), timeout=60)
    r.assert_ok()
    r.search(r"^hello$")
    r.search(PASS_LINE)


def test_fail_maps_to_1(boot_batch, app_esp):
    r = boot_batch(None, esp=app_esp("fail"), timeout=60)
    r.assert_rc(1)
    r.search(r"^hello$")
    r.search(FAIL_LINE)


@pytest.mark.backends("svm")
def test_reset_maps_to_2_and_quotes_qemu_status(boot_batch, app_esp):
    r = boot_batch(None, esp=app_esp("reset"), timeout=60)
    r.assert_rc(2)
    assert "QEMU exited with status 0" in r.stderr, r.describe()


@pytest.mark.backends("vmx")
def test_bochs_ending_without_verdict_maps_to_2_with_its_log(boot_batch, app_esp):
    r = boot_batch(None, esp=app_esp("poweroff"), timeout=60)
    r.assert_rc(2)
    r.search(r"^hello$")
    assert "without a verdict line" in r.stderr, r.describe()
    assert "ACPI control: soft power off" in r.stderr, r.describe()     # the log's tail
    assert (r.log_path.parent / "serial.bochs.log").exists()


def test_timeout_kills_the_emulator_and_returns_124(boot_batch, app_esp, backend):
    # QEMU seconds (scaled for Bochs): under Bochs, stop before OVMF has booted the app
    timeout = (10 if backend == "svm" else 3) * harness.TIMEOUT_SCALE
    r = boot_batch(None, esp=app_esp("hang"), timeout=timeout)
    r.assert_rc(124)
    assert "TIMEOUT" in r.stderr and f"{r.timeout:g} s" in r.stderr, r.describe()
    assert r.elapsed < r.timeout + 10
    if backend == "svm":            # too short for OVMF under Bochs
        r.search(r"^hello$")


TICKERS = """
[vm tick]
memory = 8M
kernel = guests/minimal.elf
cmdline = ticker

[vm pair]
memory = 8M
vcpus = 2
kernel = guests/minimal.elf
cmdline = ticker
"""


def test_timeout_asks_kestrel_for_each_vms_state(boot_batch, backend):
    """Tickers never end: on the timeout run-qemu.py types vms, regs, vcpu and trace for
    each VM into the console before it kills QEMU, and describe() shows the answers."""
    if backend != "svm":
        pytest.skip("run-bochs.py cannot type into the console: Bochs's COM1 is a file")
    r = boot_batch(TICKERS, timeout=30)
    r.assert_rc(124)
    assert "asking Kestrel's console" in r.stderr, r.describe()
    report = r.hang_report()
    for vm in ("tick", "pair"):
        for cmd in (f"regs {vm}", f"vcpu {vm} 0", f"trace {vm}"):
            assert f"kestrel> {cmd}\n" in report, r.describe()
    assert re.search(r"^1\s+pair\s+running\s+2\s", report, re.MULTILINE), r.describe()
    assert re.search(r"RIP\s*[0-9a-f]{16}", report), r.describe()
    # halted between ticks, the ticker's paravirtual timer armed (vcpu view)
    assert re.search(r"^  PV timer vector 0x40, deadline \d+ \(guest TSC\), (in|passed) \d+ us$",
                     report, re.MULTILINE), r.describe()
    assert re.search(r"^[0-9a-f]{16} 1\s+[01]\s+hlt\s", report, re.MULTILINE), r.describe()
    assert "--- state report after the timeout ---" in r.describe()


def test_interactive_console_and_ctrl_a_x(interactive_session, app_esp):
    with interactive_session(None, esp=app_esp("console")) as s:
        s.read_until_prompt()
        assert s.command("hello there") == "echo: hello there\n"
        assert s.command("second line") == "echo: second line\n"
        assert s.quit() == 0
    assert "echo: second line" in s.log_path.read_text()
