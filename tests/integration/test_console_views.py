"""Console views of a guest (issue 11): `mem`, `walk` and `vcpu` on the minimal guest,
checked against its ELF symbols (the ELF the ESP boots) and against its own page
tables (paging.c: 0..4 GiB identity-mapped with 2 MiB pages, boot_pml4 -> boot_pdpt ->
boot_pd). One boot per backend for every check: Bochs boots are slow."""
import re
import subprocess

CMDLINE = "ticker period_ms=1000"
MEM = 16 << 20
CONFIG = f"""
[vm tick]
memory = 16M
kernel = guests/minimal.elf
cmdline = {CMDLINE}
"""

HEX_LINE = re.compile(r"^([0-9a-f]{16})  ([0-9a-f ]{47,48}) \|(.*)\|$", re.M)
GUEST_STEP = re.compile(r"^  L(\d) (PML5|PML4|PDPT|PD|PT) +at gpa 0x([0-9a-f]+): "
                        r"0x([0-9a-f]+)  P=(\d) RW=(\d) US=(\d) PS=(\d) NX=(\d)( +leaf)?$", re.M)
NESTED_STEP = re.compile(r"^  L(\d) at hpa 0x([0-9a-f]+): 0x([0-9a-f]+)  ([R-][W-][X-])"
                         r"(?: UC)?( +leaf)?$", re.M)


def symbols(elf):
    """name -> address of the minimal guest's symbols (nm)."""
    out = subprocess.run(["nm", str(elf)], check=True, capture_output=True, text=True).stdout
    return {f[2]: int(f[0], 16) for f in (l.split() for l in out.splitlines()) if len(f) == 3}


def dump_bytes(out):
    """The bytes of a `mem` hex dump, checking that addresses follow each other."""
    lines = HEX_LINE.findall(out)
    assert lines, out
    data = b"".join(bytes.fromhex(h.replace(" ", "")) for _, h, _ in lines)
    first = int(lines[0][0], 16)
    assert [int(a, 16) for a, _, _ in lines] == list(range(first, first + len(data), 16)), out
    return first, data


def check_vcpu(s, syms):
    out = s.command("vcpu tick 0")
    assert re.search(r"^vm 0 \(tick\) vcpu 0: (runnable|halted), 4-level paging, RIP ", out,
                     re.M), out
    cr0 = re.search(r"^  CR0  0x([0-9a-f]{16}) \[([A-Z ]*)\]$", out, re.M)
    assert cr0 and {"PE", "PG"} <= set(cr0.group(2).split()), out
    assert int(cr0.group(1), 16) & 0x80000001 == 0x80000001, out
    efer = re.search(r"^  EFER 0x([0-9a-f]{16}) \[([A-Z ]*)\]$", out, re.M)
    assert efer and {"LME", "LMA"} <= set(efer.group(2).split()), out
    cr3 = int(re.search(r"^  CR3  0x([0-9a-f]{16})$", out, re.M).group(1), 16)
    assert cr3 & ~0xfff == syms["boot_pml4"], (hex(cr3), out)   # entry.S loads our own
    assert re.search(r"^  CR4  0x[0-9a-f]{16} \[[A-Z ]*\bPAE\b", out, re.M), out
    regs_cs = re.search(r"CS ([0-9a-f]{4}) ", s.command("regs tick")).group(1)
    cs = re.search(r"^  CS   sel 0x([0-9a-f]{4}) base 0x0{16} limit 0x[0-9a-f]{8} "
                   r"attr 0x[0-9a-f]{3} type [0-9a-f] S DPL0 P L", out, re.M)
    assert cs and cs.group(1) == regs_cs, out
    for seg in ("SS", "DS", "ES", "FS", "GS", "TR", "LDTR"):
        assert re.search(rf"^  {seg} +sel 0x[0-9a-f]{{4}} base ", out, re.M), (seg, out)
    assert re.search(r"^  GDTR base 0x[0-9a-f]{16} limit 0x[0-9a-f]{4}$", out, re.M), out
    assert re.search(r"^  injecting: ", out, re.M), out
    assert re.search(r"^  interrupt shadow (yes|no), NMI blocked (yes|no), ", out, re.M), out
    assert re.search(r"^  LAPIC id 0 xAPIC[a-z -]*, TPR 0x[0-9a-f]{2} PPR ", out, re.M), out
    assert re.search(r"^  LAPIC timer (one-shot|periodic|TSC-deadline) vector \d+", out,
                     re.M), out
    return cr3


def check_walk(s, syms, cr3, gva):
    """The guest levels are the guest's own tables; returns the final GPA."""
    out = s.command(f"walk tick {gva:#x}")
    assert re.search(rf"^guest 4-level paging, CR3 {cr3:#x}, gva {gva:#x}:$", out, re.M), out
    steps = GUEST_STEP.findall(out)
    assert [(l, n) for l, n, *_ in steps] == [("4", "PML4"), ("3", "PDPT"), ("2", "PD")], out
    tables = [cr3 & ~0xfff, syms["boot_pdpt"], syms["boot_pd"] + (gva >> 30) * 4096]
    for (level, _, at, entry, p, rw, us, ps, nx, leaf), table in zip(steps, tables):
        shift = 12 + 9 * (int(level) - 1)
        assert int(at, 16) == table + ((gva >> shift) & 511) * 8, (level, out)
        assert (p, rw, ps, nx) == ("1", "1", "1" if level == "2" else "0", "0"), (level, out)
        assert bool(leaf) == (level == "2"), out
    assert int(steps[0][3], 16) & ~0xfff == syms["boot_pdpt"], out
    assert int(steps[2][3], 16) & ~0x1fffff == gva & ~0x1fffff, out   # identity map
    m = re.search(r"^  guest: gpa 0x([0-9a-f]+) \(2048 KiB page, writable, supervisor, "
                  r"executable\)$", out, re.M)
    assert m and int(m.group(1), 16) == gva, out
    nested = NESTED_STEP.findall(out)
    assert nested and nested[-1][4] and len(nested) <= 4, out
    assert all(rights != "---" for *_, rights, _ in nested), out
    assert re.search(r"^  nested: hpa 0x[0-9a-f]+ \(\d+ KiB page\)$", out, re.M), out
    return gva


def check_mem(s, syms, cr3):
    gva = syms["boot_info"]
    out = s.command(f"mem tick {gva:#x} 512")
    assert re.search(rf"^vm 0 \(tick\) guest-virtual {gva:#x}, 512 bytes:$", out, re.M), out
    first, virt = dump_bytes(out)
    assert first == gva and len(virt) == 512, out
    assert CMDLINE.encode() + b"\0" in virt, out     # boot_info.cmdline, copied by main.c
    assert CMDLINE in "".join(ascii for *_, ascii in HEX_LINE.findall(out)), out
    # The same bytes by the physical address the walk reports.
    gpa = check_walk(s, syms, cr3, gva + virt.index(CMDLINE.encode()))
    out = s.command(f"mem tick p:{gpa:#x} {len(CMDLINE)}")
    assert re.search(rf"^vm 0 \(tick\) guest-physical {gpa:#x}, {len(CMDLINE)} bytes:$", out,
                     re.M), out
    assert dump_bytes(out) == (gpa, CMDLINE.encode()), out
    # A read across a page boundary, in decimal.
    _, cross = dump_bytes(s.command(f"mem tick {syms['boot_pml4'] - 8} 16"))
    assert int.from_bytes(cross[8:], "little") & ~0xfff == syms["boot_pdpt"], cross


def check_errors(s):
    out = s.command("mem tick 0x100000000")      # PDPT entry 4: the guest maps 4 GiB
    assert re.search(r"^error: 0x100000000 is not mapped: PDPT entry at gpa 0x[0-9a-f]+ "
                     r"not present \(see `walk`\)$", out, re.M), out
    out = s.command("walk tick 0x100000000")
    assert re.search(r"^  guest: stopped at L3 \(PDPT\): not present$", out, re.M), out
    assert "nested" not in out, out
    out = s.command("mem tick 0x80000000 16")    # mapped by the guest, not RAM
    assert "error: 0x80000000 maps to gpa 0x80000000, not guest RAM" in out, out
    out = s.command("walk tick 0x80000000")
    assert f"  nested: not mapped: gpa 0x80000000 is not guest RAM (0..{MEM - 1:#x})" in out, out
    out = s.command(f"mem tick p:{MEM:#x}")
    assert f"error: gpa {MEM:#x} is outside guest RAM (0..{MEM - 1:#x})" in out, out
    assert not HEX_LINE.search(out), out
    out = s.command(f"mem tick p:{MEM - 16:#x} 32")   # the part inside is shown
    assert f"error: gpa {MEM:#x} is outside guest RAM" in out, out
    assert len(dump_bytes(out)[1]) == 16, out
    out = s.command("mem tick 0x800000000000")
    assert "error: 0x800000000000 is not canonical (4-level paging)" in out, out
    out = s.command("mem tick 0x100000 99999")
    assert "note: length capped at 4096 bytes" in out, out
    assert len(dump_bytes(out)[1]) == 4096, out
    assert 'error: no VM "nosuch" (see `vms`)' in s.command("mem nosuch 0x1000")
    assert 'error: no VM "nosuch" (see `vms`)' in s.command("vcpu nosuch 0")
    assert "error: vm 0 (tick) has 1 vCPU(s): no vCPU 5" in s.command("vcpu tick 5")
    assert 'error: bad address "0x12g"' in s.command("walk tick 0x12g")
    assert 'error: bad length "-1"' in s.command("mem tick 0x1000 -1")
    assert "error: usage: mem <vm> <addr> [len]" in s.command("mem tick")
    assert "error: usage: vcpu <vm> <n>" in s.command("vcpu tick 0 1")


def test_console_views(interactive_session, esp_dir):
    syms = symbols(esp_dir / "guests" / "minimal.elf")
    with interactive_session(CONFIG) as s:
        s.expect(r"\[tick\] tick 1")
        out = s.command("help")
        for name in ("mem", "walk", "vcpu"):
            assert re.search(rf"^  {name} +<vm> ", out, re.M), out
        cr3 = check_vcpu(s, syms)
        check_mem(s, syms, cr3)
        check_errors(s)
