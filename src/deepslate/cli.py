"""The ``deepslate`` command."""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> "module:function"; each function adds its arguments and sets run=
COMMANDS = {
    "check": ("deepslate.compiler.cli:add_check", "compile a module's flows and print every error"),
    "dis": ("deepslate.compiler.cli:add_dis", "disassemble a flow (MODULE_OR_FILE:FLOW)"),
    "demo": ("deepslate.runtime.cli:add_demo", "run the README counter example on SQLite"),
    "ls": ("deepslate.runtime.cli:add_ls", "list the isolates in a store"),
    "show": ("deepslate.runtime.cli:add_show", "show one isolate of a store"),
    "cancel": ("deepslate.runtime.opscli:add_cancel", "cancel an isolate through the engine holding the store"),
    "retry": ("deepslate.runtime.opscli:add_retry", "retry a failed isolate through the engine holding the store"),
    "send": ("deepslate.runtime.opscli:add_send", "deliver an http_listen message through the engine holding "
                                                  "the store"),
    "purge": ("deepslate.runtime.opscli:add_purge", "delete finished isolates older than an age"),
    "inspector": ("deepslate.inspector.cli:add_inspector", "serve the web inspector for a store"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deepslate", description="durable execution for Python")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (target, help_text) in COMMANDS.items():
        mod_name, fn_name = target.split(":")
        add = getattr(importlib.import_module(mod_name), fn_name)
        add(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
