"""The exceptions of the public API: one base, each failure kind a class, diagnostics as data.

A caller branches on the class (what to do next differs: fix the migration, fix the
connection, run the phase again) and reads ``diagnostics`` for the details, the same data the
CLI prints. No database driver is imported here, so ``except pgroll_dsl.MigrationRefused``
costs nothing to a program that never runs a migration.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pgroll_dsl.diagnostics import CompileError, Diagnostic, Severity, codes


class PgrollDslError(Exception):
    """Base of every error the API raises; ``diagnostics`` holds what went wrong as data."""

    diagnostics: Sequence[Diagnostic]

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics = tuple(diagnostics)


class InvalidMigration(PgrollDslError, CompileError):
    """A migration, or the catalog it is checked against, has errors (nothing ran).

    Also a ``CompileError``, so code written against the compiler's exception keeps working;
    every diagnostic (errors and the warnings found before them) is in ``diagnostics``.
    """

    diagnostics: list[Diagnostic]

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        CompileError.__init__(self, list(diagnostics))

    @classmethod
    def of(cls, err: CompileError) -> InvalidMigration:
        """The API's exception for a compiler error (the same diagnostics)."""
        return err if isinstance(err, InvalidMigration) else cls(err.diagnostics)

    @property
    def environment(self) -> bool:
        """Only problems of the environment (an unreadable file, PGD9xx), not of a migration."""
        return only_environment(self.diagnostics)


class DatabaseUnreachable(PgrollDslError):
    """The database cannot be reached, or the role lacks a right; nothing was changed."""


class MigrationRefused(PgrollDslError):
    """A live command cannot proceed as things are; nothing was changed.

    For example: no migration is active (complete, rollback), another one is active or the
    same migration was applied already (start), the history is not initialised, the files of
    a directory do not match the history (migrate), another run holds the schema, or a start
    failed and was rolled back.
    """


class InvalidSavedPlan(PgrollDslError):
    """A file that is not a saved plan, or one changed since it was written (nothing ran)."""


class PhaseIncomplete(PgrollDslError):
    """A phase stopped part-way (a lost connection, a failed step of complete or rollback).

    ``phase`` is "start", "complete" or "rollback": running that phase again finishes it (a
    start can also be rolled back). ``file``: the migration file a start was given, if any.
    """

    def __init__(self, message: str, phase: str, file: Path | None = None) -> None:
        super().__init__(message)
        self.phase = phase
        self.file = file


def only_environment(diagnostics: Sequence[Diagnostic]) -> bool:
    """Whether the errors among ``diagnostics`` are all the environment's (PGD012, PGD9xx)."""
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    return all(d.code.id.startswith("PGD9") or d.code is codes.UNREADABLE_FILE for d in errors)


def single(code: codes.Code, message: str) -> tuple[Diagnostic, ...]:
    """One diagnostic with no position: the data of a live error."""
    return (Diagnostic(code, message, None, (), code.severity),)


__all__ = ["DatabaseUnreachable", "InvalidMigration", "InvalidSavedPlan", "MigrationRefused",
           "PgrollDslError", "PhaseIncomplete"]
