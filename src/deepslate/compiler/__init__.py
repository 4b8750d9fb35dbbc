"""The flow compiler: Python ``ast`` -> checked types -> register bytecode.

Passes, per ``@flow`` function (at decoration time):

1. Source: ``inspect`` gives the function's text; it is dedented and parsed
   with ``ast``; ``errors.Source`` maps node positions back to the file
   (1-based character columns, converted from ast's UTF-8 byte offsets).
2. Names (``env``): every name that is not a local resolves against the
   module's globals, or, for flows, pure/impure functions and dataclasses
   defined later in the module, against the module's top-level AST.
   Annotations become ``_types`` types.
3. Check and emit (``codegen``, with ``calls`` for everything a call can
   name and ``ir`` for the shared vocabulary): one walk over the function
   that infers and checks each expression's type, tracks definite assignment
   and ``isinstance`` narrowing, and emits register code with target-directed
   register allocation. Errors are collected per statement; the first is
   raised as ``CompileError`` with ``.errors`` holding all. Every finished
   code object is verified (operands inside their register files, jumps and
   constants in range); a failure there is a compiler bug.
4. Program (``flow``): a ``Flow``'s program is the closure of the flows it
   calls or starts; flow references become code indices, dataclass types are
   gathered, callables are bound (``deepslate.program.link``) and the
   canonical bytes are hashed (``deepslate.program.serial``).

What a program is, its bytes, its linking and its disassembly live in
``deepslate.program``, which does not import the compiler. ``cli`` is
``deepslate check`` and ``deepslate dis``.
"""
from .errors import CompileError
from .flow import Flow, collect_errors, flow, impure, pure

__all__ = ["CompileError", "Flow", "flow", "pure", "impure", "collect_errors"]
