"""Write FCS 3.1 list-mode files (float32, little-endian).

Used by the synthetic sample generator and by anyone who needs to hand a
valid FCS file to another tool. The file is written to a temporary file in
the target folder and renamed into place, so a reader never sees half a file.

Layout: HEADER (58 bytes) | TEXT | DATA. HEADER offsets are 8-character
right-justified ASCII integers; when a segment ends past byte 99,999,999 the
HEADER holds ``0`` for both of its offsets and only the TEXT keywords
``$BEGINDATA``/``$ENDDATA`` give them (FCS 3.1, section 3.1).

References
----------
.. [1] Spidlen J, Moore W, Parks D, et al. Data File Standard for Flow Cytometry,
   version FCS 3.1. Cytometry A 2010;77A:97-100.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from saatrial.atomic import write_file_atomic
from saatrial.cytometry.compensation import Spillover
from saatrial.cytometry.errors import CytometryError

#: Largest offset the 8-digit HEADER fields can hold.
HEADER_OFFSET_MAX = 99_999_999
_TEXT_START = 58  # TEXT right after the 58-byte HEADER
_DELIM = "/"


def _escape(value: str) -> str:
    if value == "":
        raise CytometryError("FCS 3.1 does not allow empty keyword values")
    return value.replace(_DELIM, _DELIM * 2)


def _text_segment(keywords: Mapping[str, str]) -> bytes:
    body = "".join(f"{_escape(k)}{_DELIM}{_escape(v)}{_DELIM}" for k, v in keywords.items())
    return (_DELIM + body).encode("utf-8")


def build_header_and_text(
    keywords: Mapping[str, str], n_data_bytes: int
) -> tuple[bytes, bytes, int, int]:
    """HEADER and TEXT bytes for a file whose DATA segment has ``n_data_bytes`` bytes.

    The offset keywords (``$BEGINDATA``, ``$ENDDATA``, ``$BEGINANALYSIS``,
    ``$ENDANALYSIS``, ``$BEGINSTEXT``, ``$ENDSTEXT``) are added here; their
    values change the TEXT length, so they are iterated to a fixed point.

    Parameters
    ----------
    keywords : mapping of str to str
        All other TEXT keywords, spelt as in the file (``$PAR``, ``$P1N``, ...).
    n_data_bytes : int
        Size of the DATA segment (> 0).

    Returns
    -------
    header : bytes
        The 58-byte HEADER.
    text : bytes
        The TEXT segment.
    data_start, data_end : int
        Byte offsets of the first and last DATA byte (inclusive).

    Examples
    --------
    >>> h, t, start, end = build_header_and_text({"$PAR": "1"}, 400_000_000)
    >>> h[:6], h[26:42], end > 99_999_999
    (b'FCS3.1', b'       0       0', True)
    >>> f"$ENDDATA/{end}/".encode() in t
    True
    """
    if n_data_bytes <= 0:
        raise CytometryError("an FCS DATA segment needs at least one event")
    data_start = 0
    for _ in range(10):
        data_end = data_start + n_data_bytes - 1
        full = {
            **keywords,
            "$BEGINANALYSIS": "0",
            "$ENDANALYSIS": "0",
            "$BEGINSTEXT": "0",
            "$ENDSTEXT": "0",
            "$BEGINDATA": str(data_start),
            "$ENDDATA": str(data_end),
        }
        text = _text_segment(full)
        text_end = _TEXT_START + len(text) - 1
        new_start = text_end + 1
        if new_start == data_start:
            break
        data_start = new_start
    else:  # pragma: no cover - the lengths settle in two or three rounds
        raise CytometryError("FCS writer: TEXT offsets did not settle")
    if text_end > HEADER_OFFSET_MAX:
        raise CytometryError(f"FCS TEXT segment too long ({len(text)} bytes)")
    big = data_end > HEADER_OFFSET_MAX
    fields = [_TEXT_START, text_end, 0 if big else data_start, 0 if big else data_end, 0, 0]
    header = ("FCS3.1    " + "".join(f"{v:>8d}" for v in fields)).encode("ascii")
    return header, text, data_start, data_end


def write_fcs(
    path: str | os.PathLike[str],
    events: np.ndarray,
    pnn: Sequence[str],
    *,
    pns: Sequence[str] | None = None,
    pnr: Sequence[float] | float = 262144,
    spillover: Spillover | None = None,
    keywords: Mapping[str, str] | None = None,
) -> Path:
    """Write events as an FCS 3.1 file with ``$DATATYPE/F/`` and ``$BYTEORD/1,2,3,4/``.

    Parameters
    ----------
    path : str or path-like
        Target file; its folder must exist. Replaced atomically.
    events : numpy.ndarray
        ``(n_events, n_channels)``; stored as float32.
    pnn : sequence of str
        ``$PnN`` of each column (unique, non-empty).
    pns : sequence of str, optional
        ``$PnS`` of each column; empty strings are omitted (FCS 3.1 forbids empty values).
    pnr : float or sequence of float, default 262144
        ``$PnR`` of each column (one value for all).
    spillover : Spillover, optional
        Written as ``$SPILLOVER``; its labels must be among ``pnn``.
    keywords : mapping, optional
        Extra TEXT keywords (e.g. ``{"$CYT": "FACSCanto II", "$TIMESTEP": "0.01"}``).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> p = write_fcs(Path(tempfile.mkdtemp()) / "a.fcs", np.zeros((3, 2)), ["FSC-A", "SSC-A"])
    >>> p.stat().st_size > 58 + 3 * 2 * 4
    True
    """
    ev = np.ascontiguousarray(events, dtype="<f4")
    if ev.ndim != 2 or ev.shape[0] < 1:
        raise CytometryError(
            f"write_fcs: events must be (n_events >= 1, n_channels), got {ev.shape}"
        )
    n_par = ev.shape[1]
    names = [str(x) for x in pnn]
    if len(names) != n_par or len(set(names)) != n_par or any(not x for x in names):
        raise CytometryError(f"write_fcs: need {n_par} unique non-empty $PnN, got {names}")
    stains = [str(x) for x in pns] if pns is not None else [""] * n_par
    if isinstance(pnr, int | float):
        ranges = [float(pnr)] * n_par
    else:
        ranges = [float(x) for x in pnr]
    if len(stains) != n_par or len(ranges) != n_par:
        raise CytometryError("write_fcs: pns and pnr need one value per channel")
    kw: dict[str, str] = {
        "$BYTEORD": "1,2,3,4",
        "$DATATYPE": "F",
        "$MODE": "L",
        "$NEXTDATA": "0",
        "$PAR": str(n_par),
        "$TOT": str(ev.shape[0]),
    }
    for i in range(n_par):
        n = i + 1
        kw[f"$P{n}N"] = names[i]
        if stains[i].strip():
            kw[f"$P{n}S"] = stains[i]
        kw[f"$P{n}B"] = "32"
        kw[f"$P{n}E"] = "0,0"
        r = ranges[i]
        kw[f"$P{n}R"] = str(int(r)) if r.is_integer() else format(r, ".10g")
    if spillover is not None:
        missing = [x for x in spillover.labels if x not in names]
        if missing:
            raise CytometryError(f"write_fcs: spillover labels {missing} are not channels {names}")
        kw["$SPILLOVER"] = spillover.to_keyword()
    for k, v in (keywords or {}).items():
        if k.upper() in {x.upper() for x in kw}:
            raise CytometryError(f"write_fcs: keyword {k} is set by the writer")
        kw[k] = str(v)
    data = ev.tobytes()
    header, text, data_start, _ = build_header_and_text(kw, len(data))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(header)
            fh.write(text)
            if fh.tell() != data_start:  # pragma: no cover - guards the offset arithmetic
                raise CytometryError("write_fcs: TEXT length and $BEGINDATA disagree")
            fh.write(data)

    return write_file_atomic(Path(path), write, overwrite=True)
