"""Shared lark plumbing: loading grammars, positions, and syntax errors as diagnostics."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.tree import Meta

from pgroll_dsl.diagnostics import Diagnostic, codes
from pgroll_dsl.source import Span

_PACKAGE = Path(__file__).resolve().parent.parent


def grammar_dir() -> Path:
    """The ``.lark`` files: inside the package in a wheel, at the repository root in a checkout."""
    for candidate in (_PACKAGE / "grammar", _PACKAGE.parent / "grammar"):
        if (candidate / "migration.lark").is_file():
            return candidate
    raise FileNotFoundError("grammar files not found next to the pgroll_dsl package")


@cache
def load_parser(filename: str, *starts: str) -> Lark:
    """Build an LALR parser once per process; lark caches the tables on disk between runs."""
    directory = grammar_dir()
    return Lark(
        (directory / filename).read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        start=list(starts),
        import_paths=[str(directory)],
        cache=True,
    )


def span_of(path: str, node: Meta | Token) -> Span:
    """Span of a lark rule (needs ``propagate_positions``) or of a lexed token."""
    if isinstance(node, Meta) and node.empty:
        raise ValueError("rule matched no input, so it has no position")
    line, col = node.line, node.column
    end_line, end_col = node.end_line, node.end_column
    if line is None or col is None:
        raise ValueError("lark token without a position")
    return Span(path, line, col, end_line or line, end_col or col + 1)


def syntax_error(exc: UnexpectedInput, path: str, parser: Lark, text: str) -> Diagnostic:
    """Turn a lark exception into one positioned diagnostic with a readable message."""
    line, col = max(exc.line, 1), max(exc.column, 1)
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        span = Span(path, line, col, line, col + 1)
        if char in "`'\"" and parser.options.start != ["value"]:
            what = {"`": "SQL block", "'": "string", '"': "quoted identifier"}[char]
            return Diagnostic(
                codes.UNTERMINATED, f"unterminated {what}", span,
                (f"close it with a matching {char}",),
            )
        hints = ("JSON strings use double quotes",) if char == "'" else ()
        return Diagnostic(codes.INVALID_CHARACTER, f"unexpected character {char!r}", span, hints)
    if isinstance(exc, UnexpectedToken):
        return _unexpected_token(exc, path, parser, text)
    if isinstance(exc, UnexpectedEOF):  # pragma: no cover - LALR reports $END tokens instead
        return Diagnostic(codes.UNEXPECTED_END, "unexpected end of file", None)
    return Diagnostic(codes.SYNTAX_ERROR, str(exc), Span(path, line, col, line, col + 1))


def _unexpected_token(exc: UnexpectedToken, path: str, parser: Lark, text: str) -> Diagnostic:
    expected = sorted(exc.accepts or exc.expected)
    wanted = _describe(expected, parser)
    at_end = exc.token.type == "$END"
    position = len(text) if at_end else (exc.token.start_pos or 0)
    line, col = _end_of_previous_token(text, position)
    if "SEMICOLON" in expected and (at_end or line < (exc.token.line or 0)):
        return Diagnostic(
            codes.MISSING_SEMICOLON, "missing ';' after statement",
            Span(path, line, col, line, col + 1), ("end each statement with ';'",),
        )
    if at_end:
        span = Span(path, line, col, line, col + 1)
        return Diagnostic(codes.UNEXPECTED_END, f"unexpected end of file, expected {wanted}", span)
    token = exc.token
    hints: tuple[str, ...] = ()
    if str(token) in _EXPRESSION_PUNCTUATION:
        hints = ("embedded SQL other than a lone number, 'string' or name goes in backticks,"
                 " e.g. default `now()`",)
    return Diagnostic(
        codes.SYNTAX_ERROR, f"unexpected {_show(token)}, expected {wanted}", span_of(path, token),
        hints,
    )


_EXPRESSION_PUNCTUATION = frozenset({"(", ")", ".", "[", "]"})
_TRAILING_COMMENTS = re.compile(r"(?:\s|--[^\n]*\n|/\*.*?\*/)*\Z", re.S)


def _end_of_previous_token(text: str, position: int) -> tuple[int, int]:
    """Line and column just after the last token before ``position`` (comments skipped)."""
    before = text[:position]
    match = _TRAILING_COMMENTS.search(before)
    end = match.start() if match else len(before)
    line = before.count("\n", 0, end) + 1
    col = end - (before.rfind("\n", 0, end) + 1) + 1
    return line, col


def _show(token: Token) -> str:
    if token.type in ("IDENT", "QUOTED_IDENT"):
        return f"name {str(token)!r}"
    if token.type == "SQL":
        return "SQL block"
    return repr(str(token))


def _describe(names: list[str], parser: Lark) -> str:
    patterns = {t.name: t.pattern for t in parser.terminals}
    shown: list[str] = []
    for name in names:
        pattern = patterns.get(name)
        if name == "$END":
            label = "end of file"
        elif name in ("IDENT", "QUOTED_IDENT"):
            label = "a name"
        elif name == "SQL":
            label = "a `SQL` block"
        elif name == "STRING":
            label = "a 'string'"
        elif name == "INT":
            label = "a number"
        elif pattern is not None and pattern.type == "str":
            label = repr(pattern.value)
        else:
            label = name.lower()
        if label not in shown:
            shown.append(label)
    if len(shown) > 8:
        shown = [*shown[:8], "..."]
    return ", ".join(shown) if shown else "nothing more"
