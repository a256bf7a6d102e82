"""pytest fixtures for booting Kestrel (see harness.py for the details).

Every test that uses boot_batch or interactive_session (or asks for `backend` itself)
runs once per backend: test_x[svm] under QEMU (AMD SVM), test_x[vmx] under Bochs (Intel
VMX). `--backend svm|vmx|all` (default: $KESTREL_BACKENDS, else all) selects; the other
variants are reported as skipped. `@pytest.mark.backends("svm")` limits a test to the
backends it applies to; a test can also `pytest.skip(...)` for one backend at run time.
With pytest-xdist, `-n 2` runs two boots at a time (one core each), test by test: the
variants carry no xdist_group mark, so `--dist loadgroup` (which `make test` uses for the
kvm-unit-tests' boots, see tests/kut) still spreads them over both workers.

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
    try:
        add_options(parser)
    except ValueError:      # tests/kut is in the same run: its conftest added them
        pass


def add_options(parser):
    parser.addoption("--esp", default=None,
                     help="ESP directory to boot (default: $KESTREL_ESP or build/esp)")
    parser.addoption("--backend", default=None, choices=[*harness.BACKENDS, "all"],
                     help="svm (QEMU), vmx (Bochs) or all (default: $KESTREL_BACKENDS, "
                     "e.g. 'svm,vmx', else all)")


def pytest_configure(config):
    config.addinivalue_line("markers", "backends(*names): run only on these backends")


def selected_backends(config):
    choice = config.getoption("backend") or os.environ.get("KESTREL_BACKENDS") or "all"
    names = choice.replace(",", " ").split()
    if "all" in names:
        return list(harness.BACKENDS)
    unknown = set(names) - set(harness.BACKENDS)
    if unknown:
        raise pytest.UsageError(f"unknown backend(s) {sorted(unknown)}: expected svm, vmx, all")
    return names


def backend_param(name, selected):
    """The [svm] / [vmx] variant, skipped when not selected."""
    marks = []
    if name not in selected:
        marks.append(pytest.mark.skip(
            reason=f"backend {name} not selected (--backend / KESTREL_BACKENDS)"))
    return pytest.param(name, marks=marks)


def pytest_generate_tests(metafunc):
    """Parametrise every test that (directly or through a fixture) uses `backend`."""
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = [n for n in harness.BACKENDS if marker is None or n in marker.args]
    selected = selected_backends(metafunc.config)
    metafunc.parametrize("backend", [backend_param(n, selected) for n in names],
                         indirect=True)


@pytest.fixture
def backend(request):
    """"svm" (QEMU, run-qemu.py) or "vmx" (Bochs, run-bochs.py); parametrised by
    pytest_generate_tests."""
    return request.param


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
def boot_batch(request, tmp_path, backend):
    """boot_batch(config_text_or_path=None, timeout=..., esp=None, smp=1, memory="2G",
    qemu_args=(), bochsrc_lines=()) -> harness.Result, on the test's backend; timeout is
    for QEMU (scaled for Bochs). esp=None means the esp_dir fixture."""
    def boot(config=None, timeout=harness.BATCH_TIMEOUT, esp=None, **kw):
        esp = esp or request.getfixturevalue("esp_dir")
        return harness.boot_batch(config, backend=backend, esp=esp,
                                  workdir=_new_run(request, tmp_path), timeout=timeout, **kw)
    return boot


@pytest.fixture
def interactive_session(request, tmp_path, backend):
    """interactive_session(config=None, esp=None, **kw) -> harness.InteractiveSession on
    the test's backend, to use in a with statement."""
    def session(config=None, esp=None, **kw):
        esp = esp or request.getfixturevalue("esp_dir")
        return harness.InteractiveSession(config, backend=backend, esp=esp,
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
