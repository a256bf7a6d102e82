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
