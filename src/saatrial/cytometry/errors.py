"""Exceptions of :mod:`saatrial.cytometry`.

Every error names what went wrong and where (the file, the channel or the
marker), so that a lab coordinator can act on it without reading code.
"""

from __future__ import annotations

from collections.abc import Iterable


class CytometryError(ValueError):
    """A cytometry input or analysis problem (bad matrix, missing marker, no beads, ...)."""


class ProblemsError(CytometryError):
    """An input file refused as a whole; one ``file:row: field: rule: value`` line per problem.

    Attributes
    ----------
    problems : tuple of str
        Every problem found; the message is these lines joined by newlines.

    Examples
    --------
    >>> err = ProblemsError(["m.csv:2: a: required: ", "m.csv:3: b: date: x"])
    >>> err.problems[1], str(err).count("\\n")
    ('m.csv:3: b: date: x', 1)
    """

    def __init__(self, problems: Iterable[str]):
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class FcsError(CytometryError):
    """An FCS file cannot be read: the message starts with the file and names the problem."""


class GatingError(CytometryError):
    """An automatic gate or threshold cannot be set on the given events."""
