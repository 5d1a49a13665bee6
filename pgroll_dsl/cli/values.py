"""Option values converted without pydantic, for a short start-up of every command.

typer (0.2x) converts each option's value, defaults included, through a pydantic
``TypeAdapter`` it builds when the command runs: importing pydantic and building the adapters
was about a third of the cold start of ``plan`` and ``validate`` (docs/benchmarks.md, "Front
end speed"). Our options take simple values, so the commands (built as ``LEAN_COMMAND``, the
app and its groups as ``LEAN_GROUP``) convert the ordinary cases themselves, to exactly the
value typer's conversion gives: a string as it is, a plain decimal number within its bounds,
a path typer's checks accept, an enum member named by its value, a list of paths. Anything
else (a number out of range or not in plain digits, an unknown choice, a path the checks
refuse) goes to typer's own conversion, which gives the value or the error message it always
gave. ``tests/test_cli_values.py`` holds both conversions to the same results.

This leans on typer internals (``typer._coercion``); on a typer without them the commands are
plain typer commands: slower to start, the same in every other way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer.core import TyperCommand, TyperGroup

_UNSET: Any = object()  # "not an ordinary case": typer converts it
_INTEGER = re.compile(r"0|[1-9][0-9]{0,17}")
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,14})(\.[0-9]{1,14})?")


def _number(value: Any, kind: type[Any], minimum: Any, maximum: Any) -> Any:
    """An int or float within its bounds, from itself or from plain digits."""
    if type(value) is kind:
        number = value
    elif isinstance(value, str) and (_INTEGER if kind is int else _DECIMAL).fullmatch(value):
        number = kind(value)
    else:
        return _UNSET
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        return _UNSET
    return number


def _choice(value: Any, kind: type[Enum], exact: bool) -> Any:
    """The member ``value`` is, or whose value it is spelled exactly as (``exact``).

    ``exact``: the choice folds no case and normalises no token, as typer's do by default.
    """
    if isinstance(value, kind):
        return value
    if exact and isinstance(value, str):
        return next((member for member in kind if str(member.value) == value), _UNSET)
    return _UNSET


try:
    from typer._click import Context, Parameter
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
    from typer.core import _TyperParameter
    from typer.models import ParameterInfo
except ImportError:  # a typer without these internals: its own conversion throughout
    LEAN_COMMAND: type[TyperCommand] = TyperCommand
    LEAN_GROUP: type[TyperGroup] = TyperGroup
else:
    def _path(value: Any, info: ParameterInfo, param: _TyperParameter, ctx: Context) -> Any:
        """A path from a non-empty string or a path, through typer's own checks."""
        if not isinstance(value, Path) and not (isinstance(value, str) and value):
            return _UNSET
        try:
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        except BadParameter:
            return _UNSET

    def _convert(value: Any, kind: Any, info: ParameterInfo, param: _TyperParameter,
                 ctx: Context) -> Any:
        """``value`` converted as typer would, or ``_UNSET`` when it is no ordinary case."""
        if kind is str:
            return value if isinstance(value, str) else _UNSET
        if kind is bool:
            return value if type(value) is bool else _UNSET
        if kind in (int, float):
            return _number(value, kind, info.min, info.max)
        if isinstance(kind, type) and issubclass(kind, Enum):
            exact = info.case_sensitive and ctx.token_normalize_func is None
            return _choice(value, kind, exact)
        if kind is Path and info.path_type is None and info.parser is None:
            return _path(value, info, param, ctx)
        if get_origin(kind) is list and get_args(kind) == (Path,) and isinstance(
                value, (list, tuple)):
            items = [_convert(item, Path, info, param, ctx) for item in value]
            return _UNSET if any(item is _UNSET for item in items) else items
        return _UNSET

    @dataclass(frozen=True)
    class _LeanValue(RuntimeParam):
        """Converts the ordinary cases itself, the rest through typer's pydantic adapter."""

        def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
            converted = _convert(value, self.annotation, self.parameter_info, param, ctx)
            if converted is _UNSET:
                typer_own = build_runtime_param(param.type_descriptor)
                return typer_own._coerce_value(value, param=param, ctx=ctx)
            return converted

    def _lean(params: list[Parameter]) -> list[Parameter]:
        """Give each typer parameter not converted yet the lean conversion."""
        for param in params:
            if isinstance(param, _TyperParameter) and param._runtime_param is None \
                    and param.type_descriptor.file_annotation is None:
                descriptor = param.type_descriptor
                param._runtime_param = _LeanValue(parameter_info=descriptor.parameter_info,
                                                  annotation=descriptor.annotation)
        return params

    class _LeanCommand(TyperCommand):
        """A typer command whose parameters convert ordinary values without pydantic."""

        def get_params(self, ctx: Context) -> list[Parameter]:
            """The parameters, ``--help`` included (which typer adds only here)."""
            return _lean(super().get_params(ctx))

    class _LeanGroup(TyperGroup):
        """A typer group (the app, ``catalog``) whose own options convert the same way."""

        def get_params(self, ctx: Context) -> list[Parameter]:
            """The parameters, ``--help`` included (which typer adds only here)."""
            return _lean(super().get_params(ctx))

    LEAN_COMMAND = _LeanCommand
    LEAN_GROUP = _LeanGroup
