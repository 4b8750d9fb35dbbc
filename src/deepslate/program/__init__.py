"""Compiled programs: what reading, storing and running one needs, without the compiler.

- ``model``: ``Program``, ``Code`` and the constant descriptors the VM executes;
- ``serial``: a program as canonical bytes (what the store keeps, what its hash is of);
- ``link``: binding a read program to the functions and classes it names, to run it;
- ``names``: a stored program naming a snapshot's registers and lines, for display;
- ``dis``: the disassembler (public as ``deepslate.dis``).

The compiler builds programs with this package; nothing here imports the compiler, so the
runtime and the inspector read and run stored programs without it. Only the model is
imported here: the VM imports it, and ``names`` imports the VM.
"""
from .model import CallTarget, Code, EffectSpec, Fault, LocalVar, Program, TypeTest

__all__ = ["Program", "Code", "CallTarget", "EffectSpec", "TypeTest", "LocalVar", "Fault"]
