"""The `m99kg` command line. Thin: parse arguments, call the library, print, choose the exit code.

One module per command, `server/cli/<name>_cmd.py`, found by name; each has `register(subparsers)`,
which adds its parser and sets `func`. Adding a command is adding a module.
Exit codes: 0 success, 1 a finding (reserved for validation), 2 bad input or a failed build.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

# the order in which `m99kg --help` lists the commands; commands not named here follow, by name
ORDER = ("build", "code", "query", "validate", "load", "generate", "demo", "rules", "serve")


def command_modules() -> list[str]:
    found = [m.name for m in pkgutil.iter_modules(__path__) if m.name.endswith("_cmd")]
    rank = {f"{name}_cmd": i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda m: (rank.get(m, len(rank)), m))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="m99kg", description="ICD-10-CM M99 knowledge graph")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in command_modules():
        importlib.import_module(f"{__name__}.{module}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
