"""Exit recordings (issue 11, item 3): `trace start|stop|dump` on the minimal guest's
ticker, the dump turned into a Chrome/Perfetto trace and PNG plots by
scripts/kestrel-trace, the JSON checked against the trace-event format, and the
workload's own exits found in it: the ticker's port writes to COM1 from its code, its
timer hypercalls and HLTs, and the boot milestone (port 0x440) its restart writes."""
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KESTREL_TRACE = REPO / "scripts" / "kestrel-trace"
PERIOD_MS = 200
CONFIG = f"""
[vm tick]
memory = 16M
kernel = guests/minimal.elf
cmdline = ticker period_ms={PERIOD_MS}
"""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A whole tick number: pexpect matches what has arrived so far, and `tick (\d+)` alone
# took "tick 4" of a "tick 41" still arriving (a CI run then waited for "tick 5"). The
# line's end is not the same on both backends' consoles, hence [\r\n].
TICK_LINE = r"\[tick\] tick (\d+)[\r\n]"


def text_range(elf):
    """[lowest, highest] address of the guest's code symbols (nm: t/T)."""
    out = subprocess.run(["nm", str(elf)], check=True, capture_output=True, text=True).stdout
    addrs = [int(f[0], 16) for f in (l.split() for l in out.splitlines())
             if len(f) == 3 and f[1] in "tT"]
    return min(addrs), max(addrs) + 4096


def check_trace_events(doc):
    """The trace-event format's rules for what kestrel-trace emits (M, X and i events);
    returns the events by track, in order."""
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list), doc.keys()
    tracks = {}
    for ev in doc["traceEvents"]:
        assert isinstance(ev["name"], str) and ev["name"], ev
        assert isinstance(ev["pid"], int) and isinstance(ev["tid"], int), ev
        if ev["ph"] == "M":
            assert ev["name"] in ("process_name", "thread_name"), ev
            assert isinstance(ev["args"]["name"], str), ev
            continue
        assert ev["ph"] in ("X", "i"), ev
        assert isinstance(ev["ts"], (int, float)) and ev["ts"] >= 0, ev
        if ev["ph"] == "X":
            assert isinstance(ev["dur"], (int, float)) and ev["dur"] >= 0, ev
        else:
            assert ev["s"] in ("g", "p", "t"), ev
        tracks.setdefault((ev["pid"], ev["tid"]), []).append(ev)
    for track in tracks.values():
        slices = [e for e in track if e["ph"] == "X"]
        for a, b in zip(slices, slices[1:]):     # one level: slices follow each other
            assert a["ts"] + a["dur"] <= b["ts"] + 1e-6, (a, b)
    return tracks


def dump_to_trace(s, tmp_path, name):
    out = s.command("trace dump", timeout=60)
    dump = tmp_path / f"{name}.dump"
    dump.write_text(out)
    res = subprocess.run([sys.executable, str(KESTREL_TRACE), str(dump), "-o",
                          str(tmp_path / f"{name}.json"), "--png", str(tmp_path / name)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr + out[-2000:]
    doc = json.loads((tmp_path / f"{name}.json").read_text())
    return out, res.stdout, check_trace_events(doc)


def record_ticks(s, tmp_path, name, reasons):
    """A recording of the tick VM's exits of `reasons` over two ticks: the names of the
    exits in it, and kestrel-trace's summary."""
    s.command(f"trace start tick {reasons}")
    s.expect(r"\[tick\] tick \d+")
    s.expect(r"\[tick\] tick \d+")
    s.command("trace stop")
    _, summary, tracks = dump_to_trace(s, tmp_path, name)
    return {e["name"] for e in tracks[(1, 0)] if e["ph"] == "X" and e["cat"] == "exit"}, summary


def test_trace_recording(interactive_session, esp_dir, tmp_path):
    lo, hi = text_range(esp_dir / "guests" / "minimal.elf")
    with interactive_session(CONFIG) as s:
        s.expect(r"\[tick\] tick 2")
        assert 'error: nothing recorded (`trace start`)' in s.command("trace dump")
        assert "error: no recording is running" in s.command("trace stop")
        out = s.command("trace start tick bogus")
        assert 'error: "bogus" is neither a VM nor an exit reason (none cpuid io' in out, out

        # Everything the ticker does for a few ticks, and a restart in the middle.
        out = s.command("trace start tick")
        assert re.search(r"^trace: recording vm tick, 1 vCPUs, 2048 records each$", out,
                         re.M), out
        first = int(s.expect(TICK_LINE).group(1))
        last = int(s.expect(TICK_LINE).group(1))
        while last < first + 4:
            last = int(s.expect(TICK_LINE).group(1))
        out = s.command("trace dump")
        assert re.search(r"^kestrel-trace 1 .* rings=1 running$", out, re.M), out[:500]
        s.command("reboot tick")
        s.expect(r"\[tick\] tick 1\b")
        assert "trace: stopped" in s.command("trace stop")
        out, summary, tracks = dump_to_trace(s, tmp_path, "all")
        assert re.search(r"^kestrel-trace 1 tsc_khz=\d+ start=[0-9a-f]+ stop=[0-9a-f]+ "
                         r"rings=1$", out, re.M), out[:500]
        assert list(tracks) == [(1, 0)], tracks.keys()
        events = tracks[(1, 0)]
        exits = [e for e in events if e["ph"] == "X" and e["cat"] == "exit"]
        com1 = [e for e in exits if e["name"] == "io" and e["args"]["port"] == "0x3f8"
                and e["args"]["write"]]
        # "tick N\n" at least, a byte an exit, for every tick seen while recording.
        assert len(com1) >= (last - first) * len("tick 1\n"), summary
        assert all(lo <= int(e["args"]["rip"], 16) < hi for e in com1), \
            (hex(lo), hex(hi), com1[:3])
        assert sum(e["name"] == "hypercall" for e in exits) >= last - first, summary
        assert sum(e["name"] == "hlt" for e in exits) >= 1, summary
        assert any(e["name"] == "guest" for e in events), summary
        marks = [e for e in events if e["ph"] == "i"]
        assert [m["name"] for m in marks] == ["milestone 0x40"], marks   # the restart's
        for png in ("exits_over_time", "handler_latency", "top_ports_msrs_gpas"):
            assert (tmp_path / "all" / f"{png}.png").read_bytes()[:8] == PNG_MAGIC

        # Only the reasons named: no port I/O in a recording of HLTs and hypercalls.
        names, summary = record_ticks(s, tmp_path, "some", "hlt hypercall")
        assert names == {"hlt", "hypercall"}, summary


def test_flight_recorder_off(interactive_session, tmp_path):
    """`flight-recorder = off` ([hypervisor] in hv.cfg): `trace [vm]` says so instead of
    listing the last exits (the exit path then pays one test, make bench "trace"), and a
    recording still records."""
    with interactive_session("[hypervisor]\nflight-recorder = off\n" + CONFIG) as s:
        s.expect(r"\[tick\] tick 2")
        out = s.command("trace tick")
        assert "error: the flight recorder is off (flight-recorder = off in hv.cfg)" in out, out
        names, summary = record_ticks(s, tmp_path, "quiet", "hypercall")
        assert names == {"hypercall"}, summary
    # On by default, the same command lists the exits: test_console.py.
