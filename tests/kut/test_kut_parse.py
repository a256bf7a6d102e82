"""Offline checks of tests/kut/kut.py (no emulator): verdicts from synthetic serial
logs, boot grouping, the expectations file round trip and the generated config."""
import kut


def T(name, smp=1, args="", file=None):
    return kut.KutTest(name=name, file=file or f"{name}.flat", smp=smp, args=args)


def verdicts(tests, text, rc=0, crashed=False):
    b = kut.Boot("svm", tests, esp="/nonexistent", workdir="/nonexistent", timeout=100)
    b.text, b.rc, b.crashed = text, rc, crashed
    return b.verdicts()


def test_verdicts_from_stop_lines():
    tests = [T("a"), T("b"), T("c"), T("d"), T("e"), T("f")]
    log = """kestrel: vm 0 (a): 1 vCPU(s), 128 MiB, kernel kut/a.flat
kestrel: vm 4 (e) not started: kernel "kut/e.flat": segment at 0x8000 does not fit in guest RAM
[a] PASS: one
[b] FAIL: two
[a] SUMMARY: 1 tests
kestrel: vm 0 (a) stopped: debug-exit port: status 0
[b] SUMMARY: 2 tests, 1 unexpected failures
kestrel: vm 1 (b) stopped: debug-exit port: status 1
[c] SKIP: no such feature
[c] SUMMARY: 1 tests, 1 skipped
kestrel: vm 2 (c) stopped: debug-exit port: status 38
kestrel: vm 3 (d) stopped: triple fault (shutdown)
kestrel: batch mode: some VMs did not end well; powering off
"""
    v = verdicts(tests, log, rc=1)
    assert {n: x.verdict for n, x in v.items()} == {
        "a": "pass", "b": "fail", "c": "skip", "d": "error", "e": "error", "f": "error"}
    assert "FAIL: two" in v["b"].detail and "SUMMARY: 2 tests" in v["b"].detail
    assert v["b"].lines == ["FAIL: two", "SUMMARY: 2 tests, 1 unexpected failures"]
    assert "triple fault" in v["d"].detail
    assert "does not fit" in v["e"].detail


def test_timeout_and_crash():
    tests = [T("a"), T("b")]
    log = "kestrel: vm 0 (a) stopped: debug-exit port: status 0\n[b] still going\n"
    assert [x.verdict for x in verdicts(tests, log, rc=124).values()] == ["pass", "timeout"]
    crash = log + "\n*** hypervisor exception 13 (#GP general protection), error 0x0 ***\n" \
        "kestrel: halted\n"
    v = verdicts(tests, crash, rc=130, crashed=True)
    assert v["a"].verdict == "pass" and v["b"].verdict == "crash"
    assert "hypervisor exception 13" in v["b"].detail


def test_vm_names_are_valid_and_unique():
    long = "vmx_pf_exception_test_reduced_maxphyaddr"
    names = kut.vm_names([T(long), T(long[:31] + "_other"), T("x2apic")])
    assert all(1 <= len(n) <= 31 for n in names.values())
    assert len({n.lower() for n in names.values()}) == 3


def test_config_passes_the_kernel_name_first():
    t = T("vmexit_cpuid", args="cpuid", file="vmexit.flat")
    cfg = kut.config_text([t], kut.vm_names([t]))
    assert 'cmdline = "kut/vmexit.flat cpuid"' in cfg
    assert "boot = multiboot" in cfg and "initrd = kut/env-1cpu-" in cfg


def test_plan_groups():
    tests = [T(f"t{i}") for i in range(10)] + [T("hang"), T("long"), T("boom")]
    e = {"hang": kut.Expectation("hang", {"svm": "fail/timeout", "vmx": "?"}),
         "long": kut.Expectation("long", {"svm": "fail", "vmx": "?"}, ["long-svm"]),
         "boom": kut.Expectation("boom", {"svm": "crash", "vmx": "?"})}
    hang_budget = kut.HANG_TIMEOUT + kut.HANG_TIMEOUT_PER_TEST
    groups = kut.plan(tests, "svm", e)
    assert [([t.name for t in g], h) for g, h in groups] == [
        ([f"t{i}" for i in range(8)], None), (["t8", "t9"], None), (["hang"], hang_budget),
        (["long"], kut.LONG_TIMEOUT), (["boom"], None)]
    # A backend never recorded follows the other backend's verdicts, not its flags.
    assert [([t.name for t in g], h) for g, h in kut.plan(tests, "vmx", e)] == [
        ([f"t{i}" for i in range(8)], None), (["t8", "t9", "long"], None),
        (["hang"], hang_budget), (["boom"], None)]


def test_expectations_round_trip(tmp_path):
    path = tmp_path / "e.txt"
    e = {"a": kut.Expectation("a", {"svm": "pass", "vmx": "fail/timeout"}, ["slow-vmx"],
                              "vmx: hangs # here"),
         "b": kut.Expectation("b", {"svm": "pass", "vmx": "pass"})}
    kut.write_expectations(e, path)
    back = kut.load_expectations(path)
    assert back["a"].verdicts == e["a"].verdicts and back["a"].flags == ["slow-vmx"]
    assert back["a"].reason == "vmx: hangs # here"
    assert back["a"].allowed("vmx") == ["fail", "timeout"]
    assert back["a"].slow_on("vmx") and not back["a"].slow_on("svm")
    assert back["b"].reason == ""


FAKE_RUNNER = r'''
import sys, time
args = sys.argv[1:]
log = args[args.index("--log") + 1]
with open(log, "w") as f:
    f.write("kestrel: vm 0 (a) stopped: debug-exit port: status 0\n[b] running\n")
    f.flush()
    time.sleep(1)
    f.write("\n*** hypervisor exception 13 (#GP general protection), error 0x0 ***\n"
            "RIP 0\nkestrel: halted\n")
    f.flush()
time.sleep(600)
'''


def test_crash_ends_the_boot_at_once(tmp_path, monkeypatch):
    """A hypervisor crash stops the emulator (its runner) within seconds, not at the
    timeout; the finished VM keeps its verdict, the other gets `crash`."""
    runner = tmp_path / "fake-runner.py"
    runner.write_text(FAKE_RUNNER)
    be = kut.harness.BACKENDS["svm"]
    monkeypatch.setitem(kut.harness.BACKENDS, "svm", be._replace(runner=runner))
    b = kut.Boot("svm", [T("a"), T("b")], esp=tmp_path, workdir=tmp_path / "w", timeout=300)
    b.run()
    assert b.crashed and b.elapsed < 30
    v = b.verdicts()
    assert v["a"].verdict == "pass" and v["b"].verdict == "crash"


def test_crash_suspects_boot_again_alone(monkeypatch, tmp_path):
    """After a crash with several tests unfinished, each boots alone: only the one that
    crashes alone is `crash`."""
    tests = {n: T(n) for n in ("a", "b", "c")}
    monkeypatch.setattr(kut, "load_tests", lambda: tests)
    monkeypatch.setattr(kut, "build_esp", lambda *a, **k: tmp_path)
    monkeypatch.setattr(kut, "save_results", lambda *a: None)
    monkeypatch.setattr(kut.KutTest, "built", property(lambda self: True))
    boots = []

    class FakeBoot:
        def __init__(self, backend, group, esp, workdir, timeout=None):
            self.group, self.elapsed, self.ready_at = group, 1.0, None
            self.crashed = any(t.name == "b" for t in group)
            boots.append([t.name for t in group])

        def run(self):
            return self

        def verdicts(self):
            return {t.name: kut.Verdict("crash" if self.crashed and t.name != "a" else "pass")
                    for t in self.group}
    monkeypatch.setattr(kut, "Boot", FakeBoot)
    res = kut.run_suite("svm", expectations={}, workdir=tmp_path / "w", log=lambda m: None)
    assert boots == [["a", "b", "c"], ["b"], ["c"]]
    assert {n: v.verdict for n, v in res.items()} == {"a": "pass", "b": "crash", "c": "pass"}
