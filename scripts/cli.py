"""Command-line plumbing shared by the emulator runners."""
import argparse


def parser_and_extra(doc, argv):
    """An ArgumentParser built from a script's docstring (first paragraph: description;
    after the usage paragraph: epilog), and argv split at "--": what follows it is
    passed to the emulator. Returns (parser, own argv, extra argv)."""
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    parts = doc.split("\n\n")
    parser = argparse.ArgumentParser(description=parts[0], epilog="\n\n".join(parts[2:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser, argv, extra


def add_serial_socket_args(p):
    """--console-socket PATH (COM1) and --gdb-socket PATH | --gdb PORT (COM2), alike in
    both runners (scripts/console_relay.py serves them)."""
    p.add_argument("--console-socket", metavar="PATH",
                   help="COM1 on a Unix socket instead of the terminal")
    gdb = p.add_mutually_exclusive_group()
    gdb.add_argument("--gdb-socket", metavar="PATH",
                     help="COM2 on a Unix socket (default: no COM2)")
    gdb.add_argument("--gdb", type=int, metavar="PORT",
                     help="COM2 on 127.0.0.1:PORT, for gdb's `target remote :PORT`")
