"""Watches (issue 11, item 4): `watch` on the minimal guest's ticker, whose tick
count lives in memory (ticker_count, written by one MOV and read back by another once a
tick). Exactly the writes made while a write-watch is on are logged, with the values the
guest then prints and the RIP of that MOV, and in an exit recording (`trace start`,
scripts/kestrel-trace) as instants with the same values; the guest's own output is
unchanged. A read-watch (`r`, the page loses every right) logs exactly the reads, with
the value read, which the emulated load hands the guest (it prints it); `rw` logs
both, each write before its read. An execute watch (`x`) on the store logs each time it
runs, and the rest of its page runs on, one stepped instruction at a time. A watch on the stack page, which
the CPU writes delivering the timer interrupt and PUSH and CALL write (neither is
emulated), ends with a note and the guest runs on: the interrupt is delivered again
(QEMU reports its cut delivery as an exception, which the SVM backend corrects). The page
tables split for the watches belong to the VM: `destroy` gives them back."""
import re
import subprocess

from test_trace import TICK_LINE, dump_to_trace

CONFIG = """
[vm tick]
memory = 16M
kernel = guests/minimal.elf
cmdline = ticker period_ms=200
"""
WROTE = re.compile(r"^watch: vm 0 \(tick\) vcpu 0 rip 0x([0-9a-f]+) wrote 0x([0-9a-f]+) "
                   r"\(8 bytes\) at gpa 0x([0-9a-f]+)$", re.M)
ACCESS = re.compile(r"^watch: vm 0 \(tick\) vcpu 0 rip 0x([0-9a-f]+) (read|wrote) "
                    r"0x([0-9a-f]+) \(8 bytes\) at gpa 0x([0-9a-f]+)$", re.M)
EXECUTED = re.compile(r"^watch: vm 0 \(tick\) vcpu 0 rip 0x([0-9a-f]+) executed at gpa "
                      r"0x([0-9a-f]+)$", re.M)
DESTROYED = r"kestrel: vm 0 \(tick\) destroyed: (\d+) KiB back to the pool"
TICK = re.compile(r"^\[tick\] tick (\d+)$", re.M)


def symbols(elf):
    out = subprocess.run(["nm", "-n", str(elf)], check=True, capture_output=True,
                         text=True).stdout
    return [(int(a, 16), n) for a, t, n in (l.split() for l in out.splitlines()
                                             if len(l.split()) == 3)]


def function_range(syms, name):
    addrs = [a for a, _ in syms]
    start = dict((n, a) for a, n in syms)[name]
    return start, min(a for a in addrs if a > start)


def watch_ticks(s, count, mode, noun, ticks, length=8):
    """`watch` on the count (mode "" is the default, writes) while `ticks` ticks pass,
    listed as such, then `unwatch`: how many hits unwatch counted, and the serial
    output from the watch to the unwatch."""
    start = len(s.output.getvalue())
    out = s.command(f"watch tick {count:#x} {length} {mode}".rstrip())
    end = count + length - 1
    assert f"watch: vm 0 (tick) gpa {count:#x}-{end:#x}, {noun} logged" in out, out
    assert re.search(rf"^vm 0 \(tick\) gpa {count:#x}-{end:#x}: \d+ {noun}$",
                     s.command("watch"), re.M)
    first = int(s.expect(TICK_LINE).group(1))
    while int(s.expect(TICK_LINE).group(1)) < first + ticks:
        pass
    out = s.command(f"unwatch tick {count:#x}")
    n = int(re.search(rf"^unwatch: vm 0 \(tick\) gpa {count:#x}: (\d+) {noun}$", out,
                      re.M).group(1))
    return n, s.output.getvalue()[start:].replace("\r", "")


def test_write_watch(interactive_session, esp_dir, tmp_path):
    syms = symbols(esp_dir / "guests" / "minimal.elf")
    count = dict((n, a) for a, n in syms)["ticker_count"]
    lo, hi = function_range(syms, "ticker_run")
    with interactive_session(CONFIG) as s:
        s.expect(r"\[tick\] tick 2\b")
        assert "no watches" in s.command("watch")
        assert "error: bad length \"0\"" in s.command(f"watch tick {count:#x} 0")
        assert "error: usage: watch <vm> <addr> <len> [r|w|x...]" in \
            s.command(f"watch tick {count:#x} 8 rr")
        assert "error: gpa 0x1000000-0x1000007 is not all guest RAM" in \
            s.command("watch tick p:0x1000000 8")
        assert "has no watch starting at gpa" in s.command(f"unwatch tick {count + 8:#x}")

        assert "recording" in s.command("trace start tick npf")
        start = len(s.output.getvalue())
        n, window = watch_ticks(s, count, "", "writes", 5)
        s.command("trace stop")
        _, _, tracks = dump_to_trace(s, tmp_path, "watch")
        wrote = WROTE.findall(window)
        assert len(wrote) == n >= 5, (n, wrote)
        values = [int(v, 16) for _, v, _ in wrote]
        assert values == list(range(values[0], values[0] + n)), values
        assert all(int(gpa, 16) == count for *_, gpa in wrote), wrote
        assert all(lo <= int(rip, 16) < hi for rip, *_ in wrote), (hex(lo), hex(hi), wrote)
        # Each logged write is the count the guest prints next, in order.
        ticks = [int(t) for t in TICK.findall(window)]
        assert set(values) <= set(ticks), (values, ticks)
        # The recording has them too: a `watch` record after each one's npf exit, which
        # kestrel-trace makes an instant with the value, size, address and RIP.
        marks = [e["args"] for t in tracks.values() for e in t if e["name"] == "watched write"]
        assert [int(a["value"], 16) for a in marks] == values, (marks, values)
        assert all(a["bytes"] == 8 and int(a["gpa"], 16) == count for a in marks), marks
        assert [int(a["rip"], 16) for a in marks] == [int(r, 16) for r, *_ in wrote], marks
        # Unwatched: the ticks go on, nothing more is logged.
        last = int(s.expect(TICK_LINE).group(1))
        s.expect(rf"\[tick\] tick {last + 2}\b")
        assert not WROTE.search(s.output.getvalue()[start + len(window):])
        assert "no watches" in s.command("watch")

        # Reads, then both.
        for mode, noun in (("r", "reads"), ("rw", "accesses")):
            n, window = watch_ticks(s, count, mode, noun, 4)
            hits = ACCESS.findall(window)
            assert len(hits) == n >= 4, (mode, n, hits)
            assert all(lo <= int(rip, 16) < hi and int(gpa, 16) == count
                       for rip, _, _, gpa in hits), (mode, hits)
            kinds = [k for _, k, _, _ in hits]
            values = [int(v, 16) for _, _, v, _ in hits]
            ticks = [int(t) for t in TICK.findall(window)]
            if mode == "r":
                assert set(kinds) == {"read"}, hits
                assert values == list(range(values[0], values[0] + n)), values
            else:
                # A write and the read of the value written, tick by tick (the watch
                # may start or end between them).
                if kinds[0] == "read":
                    kinds, values = kinds[1:], values[1:]
                if kinds[-1] == "wrote":
                    kinds, values = kinds[:-1], values[:-1]
                assert kinds == ["wrote", "read"] * (len(kinds) // 2), hits
                assert values[::2] == values[1::2] == \
                    list(range(values[0], values[0] + len(values) // 2)), values
            # What the guest printed is what it read through the emulated load.
            assert set(v for k, v in zip(kinds, values) if k == "read") <= set(ticks), \
                (values, ticks)
            assert "no watches" in s.command("watch")

        # Executions: the store's first byte. Its page loses execute; the store is
        # logged each time it runs, once a tick, and it and every other instruction
        # of the page run one step with the right back: no tick is lost or repeated.
        store = int(wrote[0][0], 16)
        assert "recording" in s.command("trace start tick npf")
        n, window = watch_ticks(s, store, "x", "executions", 4, length=1)
        s.command("trace stop")
        _, _, tracks = dump_to_trace(s, tmp_path, "exec")
        marks = [e["args"] for t in tracks.values() for e in t
                 if e["name"] == "watched execution"]
        # The ring keeps the newest 2,048 exits, most of them the page's steps.
        assert 1 <= len(marks) <= n, (len(marks), n)
        assert all(int(a["gpa"], 16) == int(a["rip"], 16) == store for a in marks), marks
        hits = EXECUTED.findall(window)
        assert len(hits) == n >= 4, (n, hits)
        assert all(int(rip, 16) == int(gpa, 16) == store for rip, gpa in hits), hits
        # Between the watch's start and the unwatch: ticks printed before it may still be
        # in the window, and the steps slow the guest, which catches up on its ticks after.
        during = window.split("executions logged", 1)[1].split(f"unwatch tick {store:#x}")[0]
        ticks = [int(t) for t in TICK.findall(during)]
        assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), ticks
        assert abs(len(ticks) - n) <= 1, (n, ticks)
        last = int(s.expect(TICK_LINE).group(1))
        s.expect(rf"\[tick\] tick {last + 1}\b")
        assert "no watches" in s.command("watch")

        # The stack page: CALL/PUSH are not emulated, so the watch ends.
        rsp = int(re.search(r"RSP ([0-9a-f]{16})", s.command("regs tick")).group(1), 16)
        page = rsp & ~0xfff
        s.command(f"watch tick p:{page:#x} 4096")
        s.expect(rf"watch: vm 0 \(tick\) vcpu 0: watch at gpa {page:#x} ends after \d+ "
                 r"writes: (an event delivery|instruction \[[0-9a-f ]+\]) at gpa 0x[0-9a-f]+ "
                 r"is not emulated")
        last = int(s.expect(TICK_LINE).group(1))
        s.expect(rf"\[tick\] tick {last + 1}\b")
        assert "no watches" in s.command("watch")

        # The tables split for the watches are the VM's: destroy frees them
        # too, so it frees more than the same VM destroyed without watches.
        freed = []
        for _ in range(2):
            s.command("stop tick")
            out = s.command("destroy tick")
            m = re.search(DESTROYED, out) or s.expect(DESTROYED)
            freed.append(int(m.group(1)))
            s.command("start tick")
            s.expect(r"\[tick\] tick 2\b")
        assert freed[0] > freed[1] > 16384, freed
