"""Positioned documents: JSON (through ``grammar/json.lark``) and YAML, as one ``JNode`` tree.

``json.loads`` and ``yaml.safe_load`` forget where a value was; pgroll-dsl points every
diagnostic at the offending key or value, so both syntaxes are read into nodes with spans.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.frontend.parser import load_parser, span_of, syntax_error
from pgroll_dsl.source import Layout, Span

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class JNode:
    """A JSON value with its span; objects also keep the span of each key."""

    value: Scalar | list[JNode] | dict[str, JNode]
    span: Span
    key_spans: dict[str, Span] = field(default_factory=dict)
    layout: Layout | None = None  # a string's: where its characters are in the source

    @property
    def type_name(self) -> str:
        """The JSON name of this value's type, for messages."""
        value = self.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int | float):
            return "number"
        if isinstance(value, str):
            return "string"
        return "array" if isinstance(value, list) else "object"


def parse_json(text: str, path: str) -> JNode:
    """Parse strict JSON; duplicate keys are errors, as in pgroll's strict decoder."""
    parser = load_parser("json.lark", "value")
    try:
        tree = parser.parse(text, start="value")
    except UnexpectedInput as exc:
        diagnostic = syntax_error(exc, path, parser, text)
        raise CompileError([Diagnostic(codes.JSON_SYNTAX, diagnostic.message, diagnostic.span,
                                       diagnostic.hints)]) from None
    errors: list[Diagnostic] = []
    node = _json_node(tree, path, errors)
    if errors:
        raise CompileError(errors)
    return node


def _json_node(tree: Tree[Token] | Token, path: str, errors: list[Diagnostic]) -> JNode:
    assert isinstance(tree, Tree)
    span = span_of(path, tree.meta)
    kind = tree.data
    if kind == "string":
        token = tree.children[0]
        assert isinstance(token, Token)
        value = json.loads(token)
        inner = Span(path, span.line, span.col + 1, span.end_line, max(span.end_col - 1, 1))
        layout = Layout.at(inner.line, inner.col) if str(token)[1:-1] == value else None
        return JNode(value, inner, layout=layout)
    if kind == "number":
        return JNode(json.loads(str(tree.children[0])), span)
    if kind in ("true", "false", "null"):
        return JNode({"true": True, "false": False, "null": None}[kind], span)
    if kind == "array":
        return JNode([_json_node(c, path, errors) for c in tree.children if c is not None], span)
    members: dict[str, JNode] = {}
    key_spans: dict[str, Span] = {}
    for pair in tree.children:
        if pair is None:
            continue
        assert isinstance(pair, Tree)
        key_token, value_tree = pair.children
        assert isinstance(key_token, Token)
        key = json.loads(key_token)
        key_span = span_of(path, key_token)
        if key in members:
            errors.append(Diagnostic(codes.DUPLICATE_FIELD, f"key {key!r} is given twice",
                                     key_span))
        members[key] = _json_node(value_tree, path, errors)
        key_spans[key] = key_span
    return JNode(members, span, key_spans)


def parse_yaml(text: str, path: str) -> JNode:
    """Parse one YAML document into JNodes; tags are resolved as YAML 1.1 (PyYAML) does."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        if err.context_mark is not None and (mark is None or mark.index >= len(text)):
            mark = err.context_mark  # "end of stream": point at what was left open
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"{err.problem or 'invalid YAML'}" + (f" ({err.context})" if err.context else "")
        raise CompileError([Diagnostic(codes.YAML_SYNTAX, message,
                                       Span(path, line, col, line, col + 1))]) from None
    except yaml.YAMLError as err:
        raise CompileError(
            [Diagnostic(codes.YAML_SYNTAX, str(err), Span(path, 1, 1, 1, 2))]
        ) from None
    if root is None:
        return JNode(None, Span(path, 1, 1, 1, 1))
    errors: list[Diagnostic] = []
    node = _yaml_node(root, path, text, errors)
    if errors:
        raise CompileError(errors)
    return node


_CONSTRUCTOR = yaml.SafeLoader("")
# libyaml's parser when PyYAML was built with it (positions are the same, ten times faster).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_span(node: yaml.Node, path: str) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _construct(node: yaml.Node, path: str, errors: list[Diagnostic]) -> Any:
    """A scalar's value; tags PyYAML cannot build (``!foo``, ``=``) become diagnostics."""
    try:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err)
        errors.append(Diagnostic(codes.YAML_SYNTAX, problem, _yaml_span(node, path)))
        return str(node.value)


def _yaml_node(node: yaml.Node, path: str, text: str, errors: list[Diagnostic]) -> JNode:
    span = _yaml_span(node, path)
    if isinstance(node, yaml.ScalarNode):
        value: Any = _construct(node, path, errors)
        if not isinstance(value, str | int | float | bool | type(None)):
            errors.append(Diagnostic(codes.WRONG_TYPE,
                                     f"unsupported YAML value of type {type(value).__name__}",
                                     span, ("quote it to make it a string",)))
            value = str(node.value)
        layout = _scalar_layout(node, value, text) if isinstance(value, str) else None
        return JNode(value, span, layout=layout)
    if isinstance(node, yaml.SequenceNode):
        return JNode([_yaml_node(c, path, text, errors) for c in node.value], span)
    assert isinstance(node, yaml.MappingNode)
    members: dict[str, JNode] = {}
    key_spans: dict[str, Span] = {}
    for key_node, value_node in node.value:
        key_span = _yaml_span(key_node, path)
        key = _construct(key_node, path, errors)
        if not isinstance(key, str):
            errors.append(Diagnostic(codes.WRONG_TYPE, f"object keys must be strings, not {key!r}",
                                     key_span))
            key = str(key)
        if key in members:
            errors.append(Diagnostic(codes.DUPLICATE_FIELD, f"key {key!r} is given twice",
                                     key_span))
        members[key] = _yaml_node(value_node, path, text, errors)
        key_spans[key] = key_span
    return JNode(members, span, key_spans)


def _scalar_layout(node: yaml.ScalarNode, value: str, text: str) -> Layout | None:
    """Where a string scalar's characters are, for the styles that keep them findable.

    A plain scalar, and a quoted one without escapes or folded line breaks, is its text as
    written; a block scalar (``|``, ``>``) is matched line by line (``_block_layout``).
    """
    start, end = node.start_mark, node.end_mark
    if not node.style:
        written = text[start.index:end.index] == value
        return Layout.at(start.line + 1, start.column + 1) if written else None
    if node.style in ("'", '"'):
        written = text[start.index + 1:end.index - 1] == value
        return Layout.at(start.line + 1, start.column + 2) if written else None
    if node.style in ("|", ">"):
        return _block_layout(node, value, text)
    return None


# Line breaks as YAML counts them (``Mark.line``): str.splitlines knows more.
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


@lru_cache(maxsize=4)
def _lines(text: str) -> tuple[str, ...]:
    """The file's lines, split once for all its block scalars."""
    return tuple(_BREAK.split(text))


def _block_layout(node: yaml.ScalarNode, value: str, text: str) -> Layout | None:
    """Where the lines of a block scalar (``|``, ``>``) are: one piece per line of content.

    YAML strips each line's indentation, and folding (``>``) turns a line break between two
    lines into a space (or drops it before empty lines), so the value's offsets are not the
    file's: each line of the file below the indicator is found in the value instead, in
    order. The indentation is the first line's, or less when an indentation indicator
    (``|2``) says so: the largest that lets every line be found is taken. A folded scalar is
    mapped as exactly as a literal one, since one space or the line breaks are all that may
    stand between two of its lines. If no indentation fits (a case not seen with YAML that
    PyYAML or libyaml accept), or the block is empty, None: diagnostics then point at the
    whole scalar, from its indicator.
    """
    lines = _lines(text)
    top = node.start_mark.line + 1  # the block's first line (0-based), below the indicator
    first = next((lines[row] for row in range(top, len(lines)) if lines[row].strip(" ")), "")
    for indent in range(len(first) - len(first.lstrip(" ")), -1, -1):
        pieces = _match_lines(lines, top, indent, value, node.style == ">")
        if pieces:
            return Layout(tuple((at, row + 1, indent + 1) for at, row in pieces))
    return None


def _match_lines(lines: tuple[str, ...], top: int, indent: int, value: str, folded: bool
                 ) -> list[tuple[int, int]] | None:
    """(offset in ``value``, index in ``lines``) of each line of content, if ``indent`` fits.

    Every line must be found where the previous one ended, after nothing (the first), one or
    more line breaks, or (folded) one space; the block ends when the value is used up.
    """
    found: list[tuple[int, int]] = []
    cursor, end = 0, len(value.rstrip("\n"))
    for row in range(top, len(lines)):
        line = lines[row]
        if cursor >= end:
            break
        if not line.strip(" ") and len(line) <= indent:
            continue  # an empty line: a line break of the value, or none (folded)
        if line[:indent].strip(" "):
            return None  # less indented: the block ended before the value did
        at = _next(value, cursor, line[indent:], folded and bool(found))
        if at is None:
            return None
        found.append((at, row))
        cursor = at + len(line) - indent
    return found if cursor >= end else None


def _next(value: str, cursor: int, content: str, folded: bool) -> int | None:
    """Where ``content`` starts in ``value`` after ``cursor``: past line breaks, or a space."""
    after = cursor
    while after < len(value) and value[after] == "\n":
        after += 1
    if value.startswith(content, after) and (after > cursor or cursor == 0):
        return after
    if folded and value.startswith(" " + content, cursor):
        return cursor + 1
    return None
