"""``CompileError``: a flow that does not compile, with file:line:col and a caret."""
from __future__ import annotations

import ast


class CompileError(SyntaxError):
    """A flow source error. ``errors`` holds every error found in the same pass
    (this one first); ``str()`` renders ``path:LINE:COL: message``, the source
    line and a caret under the offending construct."""

    def __init__(self, msg: str, filename: str, lineno: int, offset: int, text: str | None,
                 end_lineno: int | None = None, end_offset: int | None = None) -> None:
        super().__init__(msg, (filename, lineno, offset, text, end_lineno, end_offset))
        self.errors: list[CompileError] = [self]

    def __str__(self) -> str:
        out = f"{self.filename}:{self.lineno}:{self.offset}: {self.msg}"
        if self.text:
            line = self.text.rstrip("\n")
            width = 1
            if self.end_lineno == self.lineno and self.end_offset and self.end_offset > self.offset:
                width = self.end_offset - self.offset
            out += f"\n    {line}\n    {' ' * (self.offset - 1)}{'^' * width}"
        if len(self.errors) > 1 and self.errors[0] is self:
            out += f"\n({len(self.errors) - 1} more error{'s' if len(self.errors) > 2 else ''} in this module)"
        return out

    def __reduce__(self):  # keep errors picklable (SyntaxError's default drops our fields)
        return (CompileError, (self.msg, self.filename, self.lineno, self.offset, self.text,
                               self.end_lineno, self.end_offset))


class Source:
    """Maps positions of a parsed (possibly dedented) snippet to the file."""

    def __init__(self, filename: str, lines: list[str], first_line: int, indent: int) -> None:
        self.filename = filename
        self.lines = lines            # the file's lines of this snippet, with original indentation
        self.first_line = first_line  # file line of the snippet's line 1
        self.indent = indent          # characters removed by dedenting

    def _char_col(self, lineno: int, byte_col: int) -> int:
        idx = lineno - 1
        text = self.lines[idx] if 0 <= idx < len(self.lines) else ""
        body = text[self.indent:].encode("utf-8")
        return len(body[:byte_col].decode("utf-8", "replace")) + self.indent + 1

    def position(self, node: ast.AST) -> tuple[int, int]:
        line = getattr(node, "lineno", 1)
        return line + self.first_line - 1, self._char_col(line, getattr(node, "col_offset", 0))

    def error(self, node: ast.AST, msg: str) -> CompileError:
        line = getattr(node, "lineno", 1)
        _, col = self.position(node)
        end_line = getattr(node, "end_lineno", None)
        end_col = None
        if end_line is not None and getattr(node, "end_col_offset", None) is not None:
            end_col = self._char_col(end_line, node.end_col_offset)  # type: ignore[attr-defined]
            end_line += self.first_line - 1
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return CompileError(msg, self.filename, line + self.first_line - 1, col, text, end_line, end_col)


def raise_all(errors: list[CompileError]) -> None:
    if errors:
        first = errors[0]
        first.errors = list(errors)
        raise first
