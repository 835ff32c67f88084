"""Exceptions of :mod:`saatrial.cytometry`.

Every error names what went wrong and where (the file, the channel or the
marker), so that a lab coordinator can act on it without reading code.
"""

from __future__ import annotations


class CytometryError(ValueError):
    """A cytometry input or analysis problem (bad matrix, missing marker, no beads, ...)."""


class FcsError(CytometryError):
    """An FCS file cannot be read: the message starts with the file and names the problem."""


class GatingError(CytometryError):
    """An automatic gate or threshold cannot be set on the given events."""
