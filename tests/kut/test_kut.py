"""kvm-unit-tests under Kestrel: one item per (test, backend), test_kut[sieve-svm] and
test_kut[sieve-vmx], each asserting that the verdict observed under Kestrel is the one
tests/kut/expectations.txt gives, so a test that starts passing fails too, asking for
the file to be updated (`make kut-record`).

The boots are shared: the first item of a backend boots every selected test of that
backend, up to 8 VMs per boot (tests/kut/kut.py), and the verdicts are cached for the
session. With pytest-xdist, `-n 2 --dist loadgroup` keeps each backend's items on one
worker (groups kut-svm and kut-vmx). Options are those of
tests/integration/conftest.py (--backend, --esp) plus --kut-slow (or KUT_SLOW=1): the
tests flagged `slow` are skipped otherwise. Logs: build/kut-results/<backend>/.
"""
import os
import time

import pytest

import kestrel_integration_conftest as integration
import kut

EXPECTATIONS = kut.load_expectations()
UPDATE_HINT = ("if this is the new normal, update tests/kut/expectations.txt: "
               "`make kut-record` rewrites its verdict columns and keeps the reasons")


def pytest_generate_tests(metafunc):
    """test_kut[<test>-<backend>] for every test in expectations.txt and both backends,
    in the backend's xdist group; unselected backends and slow tests are skipped."""
    if "kut_case" not in metafunc.fixturenames:
        return
    selected = integration.selected_backends(metafunc.config)
    slow_ok = metafunc.config.getoption("kut_slow")
    params = []
    for backend in kut.BACKENDS:
        # One group a backend: its tests share that backend's boots (--dist loadgroup).
        marks = [pytest.mark.xdist_group(f"kut-{backend}"),
                 *integration.backend_param(backend, selected).marks]
        for name, exp in EXPECTATIONS.items():
            m = list(marks)
            if exp.slow_on(backend) and not slow_ok:
                m.append(pytest.mark.skip(reason=f"slow ({exp.reason or 'times out'}); "
                                          f"--kut-slow or KUT_SLOW=1 runs it"))
            params.append(pytest.param((name, backend), marks=m, id=f"{name}-{backend}"))
    metafunc.parametrize("kut_case", params)


def _wanted(session, backend):
    """The test names of this session's items for a backend that will really run."""
    names = []
    for item in session.items:
        case = getattr(item, "callspec", None) and item.callspec.params.get("kut_case")
        if case and case[1] == backend and not item.get_closest_marker("skip"):
            names.append(case[0])
    return names


@pytest.fixture(scope="session")
def kut_built():
    try:
        return kut.load_tests()
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            pytest.fail(str(e))
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def kut_verdicts(request, esp_dir, kut_built):
    """kut_verdicts(backend) -> {name: kut.Verdict}: every wanted test of the backend,
    booted once per session (an error is kept and raised again for each item)."""
    cache = {}

    def get(backend):
        if backend not in cache:
            progress = kut.RESULTS_DIR / f"{backend}.progress"
            progress.parent.mkdir(parents=True, exist_ok=True)

            def log(msg):
                with open(progress, "a") as f:
                    f.write(f"{time.strftime('%H:%M:%S')} {msg}\n")
            progress.write_text("")
            try:
                cache[backend] = kut.run_suite(backend, _wanted(request.session, backend),
                                               expectations=EXPECTATIONS, esp=esp_dir,
                                               log=log)
            except Exception as e:     # noqa: BLE001 - every item of the backend reports it
                cache[backend] = e
        if isinstance(cache[backend], Exception):
            raise cache[backend]
        return cache[backend]
    return get


def test_kut(kut_case, kut_verdicts):
    name, backend = kut_case
    exp = EXPECTATIONS[name]
    want = exp.verdicts[backend]
    got = kut_verdicts(backend)[name]
    if got.verdict == want == "skip":
        pytest.skip(f"{name}: {exp.reason or got.detail}")
    if got.verdict not in exp.allowed(backend):
        kind = ("unexpected pass" if got.verdict == "pass" else
                "regression" if want == "pass" else "different verdict")
        pytest.fail(f"{name} on {backend}: expected {want}, got {got.verdict} ({kind})\n"
                    f"expectations.txt says: {exp.reason or '-'}\n"
                    f"{got.describe()}\n{UPDATE_HINT}", pytrace=False)


def test_expectations_file(kut_built):
    """expectations.txt lists exactly the tests of unittests.cfg, every verdict is known
    and every non-pass has a reason (not the TODO that `make kut-record` leaves)."""
    problems = []
    missing = [n for n in kut_built if n not in EXPECTATIONS]
    extra = [n for n in EXPECTATIONS if n not in kut_built]
    if missing:
        problems.append(f"not listed: {', '.join(missing)}")
    if extra:
        problems.append(f"not in unittests.cfg: {', '.join(extra)}")
    for name, exp in EXPECTATIONS.items():
        if "?" in exp.verdicts.values():
            problems.append(f"{name}: verdict never recorded ({exp.verdicts})")
        if set(exp.verdicts.values()) != {"pass"} and (not exp.reason
                                                       or exp.reason.startswith("TODO")):
            problems.append(f"{name}: non-pass verdict without a reason")
    if problems:
        pytest.fail("tests/kut/expectations.txt:\n  " + "\n  ".join(problems) +
                    f"\n{UPDATE_HINT}, then write the reasons", pytrace=False)
