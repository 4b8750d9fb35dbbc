# cython: language_level=3
"""deepslate's interpreter core (placeholder until the VM lands)."""
from deepslate._opcodes cimport *

OPCODES = {"NOP": OP_NOP, "RETURN": OP_RETURN}
