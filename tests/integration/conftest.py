"""pytest fixtures for booting Kestrel under QEMU (see harness.py for the details).

    def test_x(boot_batch):
        r = boot_batch(CONFIG_TEXT, timeout=60)   # or a Path, or None for the ESP's hv.cfg
        r.assert_ok()                             # AssertionError with the log's tail
        r.search(r"^some line$")                  # regex over the serial log

    def test_y(interactive_session):
        with interactive_session(cfg) as s:
            s.read_until_prompt()
            assert "vm" in s.command("list")

The ESP is --esp DIR, else $KESTREL_ESP, else build/esp. A test that fails after a boot
gets the serial log's tail added to its report.
"""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--esp", default=None,
                     help="ESP directory to boot (default: $KESTREL_ESP or build/esp)")


@pytest.fixture(scope="session")
def esp_dir(pytestconfig):
    """The ESP built by `make`; skips (fails under CI) when it is missing."""
    esp = Path(pytestconfig.getoption("esp") or os.environ.get("KESTREL_ESP")
               or harness.DEFAULT_ESP)
    if not (esp / "EFI" / "BOOT" / "BOOTX64.EFI").is_file():
        msg = (f"no ESP at {esp} (EFI/BOOT/BOOTX64.EFI missing): run `make` first, "
               f"or point --esp / KESTREL_ESP at one")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return esp


def _new_run(request, tmp_path):
    """A fresh work dir (boot-1, boot-2, ... under the test's tmp dir) for one run; its
    serial log is remembered for the failure report."""
    logs = request.node.__dict__.setdefault("kestrel_logs", [])
    workdir = tmp_path / f"boot-{len(logs) + 1}"
    logs.append(workdir / "serial.log")
    return workdir


@pytest.fixture
def boot_batch(request, tmp_path):
    """boot_batch(config_text_or_path=None, timeout=..., esp=None, smp=1, memory="2G",
    qemu_args=()) -> harness.Result. esp=None means the esp_dir fixture."""
    def boot(config=None, timeout=harness.BATCH_TIMEOUT, esp=None, **kw):
        esp = esp or request.getfixturevalue("esp_dir")
        return harness.boot_batch(config, esp=esp, workdir=_new_run(request, tmp_path),
                                  timeout=timeout, **kw)
    return boot


@pytest.fixture
def interactive_session(request, tmp_path):
    """interactive_session(config=None, esp=None, **kw) -> harness.InteractiveSession,
    to use in a with statement."""
    def session(config=None, esp=None, **kw):
        esp = esp or request.getfixturevalue("esp_dir")
        return harness.InteractiveSession(config, esp=esp,
                                          workdir=_new_run(request, tmp_path), **kw)
    return session


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, add the tail of each serial log the test produced to its report."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for path in getattr(item, "kestrel_logs", []):
        if path.exists():
            text = harness.clean_serial(path.read_text(errors="replace"))
            report.sections.append((f"serial log tail: {path}", harness.tail(text)))
