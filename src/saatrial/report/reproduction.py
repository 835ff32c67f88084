"""Published numbers beside the reproduced ones: the reproduction check.

:func:`check_reproduction` walks every leaf of a published-results document
(``published_results.yaml``: nested mappings, lists, numbers, strings,
dates), looks the same dotted key up in the analysis ``results`` and
compares the two with the rule that fits the leaf:

============================ ==================================================
leaf                         rule
============================ ==================================================
``...est`` (KM estimate)     ``|reproduced - published| <= tolerances.km_estimate``
``...se`` (KM SE)            ``<= tolerances.km_se``
``..._p``, ANOVA p-values    ``<= tolerances.p_value``
medians, ranges, months,     "as printed": the reproduced value rounded (half
other non-integer numbers    away from zero) to the published number's decimals
                             equals it (``48`` vs ``48.0`` passes, ``0.07`` vs
                             ``0.0712`` passes, ``0.07`` vs ``0.075`` fails)
whole-number counts          exact equality (``tolerances.counts``)
dates                        same ISO date
version strings              same major version, the published minor a prefix
                             of the reproduced one (``4.0`` vs ``4.03``)
GVHD text                    same organs, grades and acute/chronic split
"well matched" text          the reproduced balance statement says so
other strings                same words after normalising case, spelling
                             (haemorrhage/hemorrhage) and punctuation, or the
                             published words contained in the reproduced text
============================ ==================================================

Lists compare element by element (``long_term.deaths.0.month``); when the
lengths differ every row of the list fails and says so. A leaf missing from
``results`` (or ``None``) fails with the reason recorded by the analysis in
``results["extra"]["not_computed"]``; no published leaf is ever dropped. The
``tolerances`` block itself is configuration, not a published number, and
gets no row.

Examples
--------
>>> rows = check_reproduction(
...     {"a": {"median": 4.0, "p": 0.1529}},
...     {"a": {"median": 4, "p": 0.153}, "tolerances": {"p_value": 0.001}})
>>> [(r.key, r.passed, r.tolerance) for r in rows]
[('a.median', True, 'as printed (0 decimals)'), ('a.p', True, '±0.001 (p_value)')]
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from saatrial.report.model import ReproductionRow
from saatrial.stats import format_number

__all__ = ["DEFAULT_TOLERANCES", "check_reproduction", "gvhd_meaning", "printed_decimals"]

#: Used when the published document has no ``tolerances`` block (or lacks a key).
DEFAULT_TOLERANCES: dict[str, Any] = {
    "km_estimate": 0.001,
    "km_se": 0.001,
    "p_value": 0.001,
    "medians_and_ranges": "exact",
    "counts": "exact",
}
_EPS = 1e-12  # float noise allowed on top of a numeric tolerance
_SPELLING = {
    "haemorrhage": "hemorrhage",
    "haemorrhages": "hemorrhages",
    "haematolog": "hematolog",
    "anaemia": "anemia",
    "leukaemia": "leukemia",
    "oesophag": "esophag",
}


@dataclass(frozen=True)
class _Rule:
    kind: str  # absolute | printed | count | date | version | gvhd | balance | text | exact
    label: str
    tolerance: float | None = None


# ---------------------------------------------------------------------------
# Walking the published document
# ---------------------------------------------------------------------------
def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, str(i)))
    else:
        yield path, node


def _lookup(results: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    node = results
    for part in path:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _list_lengths(
    results: Mapping[str, Any], published: Mapping[str, Any]
) -> dict[tuple[str, ...], str]:
    """Dotted list paths whose lengths differ -> message."""
    out: dict[tuple[str, ...], str] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, (*path, str(key)))
        elif isinstance(node, list):
            found, rep = _lookup(results, path)
            if found and isinstance(rep, list) and len(rep) != len(node):
                out[path] = (f"list length differs: published {len(node)}, "
                             f"reproduced {len(rep)}")
            for i, value in enumerate(node):
                walk(value, (*path, str(i)))

    walk(published, ())
    return out


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------
def printed_decimals(value: float | int) -> int:
    """Decimals a published number was printed with (``0.07`` -> 2, ``48`` -> 0).

    Examples
    --------
    >>> printed_decimals(0.07), printed_decimals(5.4), printed_decimals(48), printed_decimals(0.0)
    (2, 1, 0, 1)
    """
    if isinstance(value, int):
        return 0
    exponent = Decimal(repr(float(value))).as_tuple().exponent
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _rule(path: tuple[str, ...], value: Any, tol: Mapping[str, Any]) -> _Rule:
    leaf = path[-1] if path else ""
    names = [p for p in path if not p.isdigit()]
    last = names[-1] if names else ""
    if isinstance(value, (dt.date, dt.datetime)):
        return _Rule("date", "same date")
    if isinstance(value, str):
        if "version" in last:
            return _Rule("version", "same version (major; published minor a prefix)")
        if last == "gvhd":
            return _Rule("gvhd", "same meaning (organs, grades, acute/chronic)")
        if "well matched" in value.lower() or "well-matched" in value.lower():
            return _Rule("balance", "same meaning (baseline balance)")
        return _Rule("text", "same meaning (normalised text)")
    if isinstance(value, bool) or not _is_number(value):
        return _Rule("exact", "exact")
    for name, key in (("est", "km_estimate"), ("se", "km_se")):
        if leaf == name:
            return _numeric_rule(key, tol, value)
    if last.endswith("_p") or last == "p" or any(p.endswith("_p") for p in names):
        return _numeric_rule("p_value", tol, value)
    if "median" in last or "range" in last or "month" in last:
        return _numeric_rule("medians_and_ranges", tol, value)
    if isinstance(value, int):
        return _numeric_rule("counts", tol, value)
    return _numeric_rule("medians_and_ranges", tol, value)


def _numeric_rule(key: str, tol: Mapping[str, Any], value: Any) -> _Rule:
    spec = tol.get(key, DEFAULT_TOLERANCES.get(key, "exact"))
    if _is_number(spec):
        return _Rule("absolute", f"±{spec:g} ({key})", float(spec))
    if key == "counts":
        return _Rule("count", f"exact ({key})")
    d = printed_decimals(value)
    return _Rule("printed", f"as printed ({d} decimal{'s' if d != 1 else ''})")


# ---------------------------------------------------------------------------
# Text meaning
# ---------------------------------------------------------------------------
def _normalise(text: str) -> str:
    low = text.lower()
    for british, american in _SPELLING.items():
        low = low.replace(british, american)
    low = re.sub(r"[^a-z0-9+.]+", " ", low)
    return " ".join(low.split())


_GVHD_ORGANS = {
    "gut": "gut", "intestine": "gut", "intestinal": "gut", "gi": "gut", "skin": "skin",
    "eye": "eye", "ocular": "eye", "joint": "joint", "liver": "liver", "lung": "lung",
    "mouth": "mouth", "oral": "mouth",
}


def gvhd_meaning(text: str) -> tuple[dict[str, int | None], frozenset[str]]:
    """Organs and grades of acute GVHD and organs of chronic GVHD named in a sentence.

    Parameters
    ----------
    text : str
        E.g. ``"grade 3 gut aGVHD, grade 2 skin and eye aGVHD, then joint and eye cGVHD"``.

    Returns
    -------
    tuple
        ``({organ: grade or None}, frozenset of chronic organs)``.

    Examples
    --------
    >>> acute, chronic = gvhd_meaning(
    ...     "grade 3 gut aGVHD, grade 2 skin and eye aGVHD, then joint and eye cGVHD")
    >>> acute, sorted(chronic)
    ({'gut': 3, 'skin': 2, 'eye': 2}, ['eye', 'joint'])
    """
    acute: dict[str, int | None] = {}
    chronic: set[str] = set()
    for clause in re.split(r"[,;:]|\bthen\b", text.lower()):
        kind = "a" if "agvhd" in clause else "c" if "cgvhd" in clause else None
        if kind is None:
            continue
        grade_match = re.search(r"grade\s*(\d)", clause)
        organs = dict.fromkeys(  # ordered, without repeats
            _GVHD_ORGANS[w] for w in re.findall(r"[a-z]+", clause) if w in _GVHD_ORGANS)
        for organ in organs:
            if kind == "a":
                acute[organ] = int(grade_match.group(1)) if grade_match else None
            else:
                chronic.add(organ)
    return acute, frozenset(chronic)


def _compare_text(rule: _Rule, published: str, reproduced: Any) -> tuple[bool, str]:
    if not isinstance(reproduced, str):
        return False, f"reproduced value is not text: {reproduced!r}"
    if rule.kind == "version":
        pub = published.strip().lstrip("vV").split(".")
        rep = reproduced.strip().lstrip("vV").split(".")
        same_major = pub[0] == rep[0]
        minor_ok = len(pub) < 2 or (len(rep) >= 2 and rep[1].startswith(pub[1]))
        ok = same_major and minor_ok
        return ok, ("" if ok else "different version") + (
            f" (v{reproduced} is a revision of v{published})" if ok and published != reproduced
            else "")
    if rule.kind == "gvhd":
        pa, pc = gvhd_meaning(published)
        ra, rc = gvhd_meaning(reproduced)
        arm_words = [w for w in ("msc", "control") if f"{w}-arm" in published.lower()]
        arm_ok = all(f"{w}-arm" in reproduced.lower() for w in arm_words)
        count_ok = published.lower().split()[0] == reproduced.lower().split()[0]
        ok = pa == ra and pc == rc and arm_ok and count_ok
        note = (f"acute {pa} vs {ra}; chronic {sorted(pc)} vs {sorted(rc)}"
                + ("" if arm_ok else "; arm differs") + ("" if count_ok else "; count differs"))
        return ok, note
    if rule.kind == "balance":
        ok = reproduced.lower().startswith("well matched")
        return ok, reproduced
    pub_text, rep_text = _normalise(published), _normalise(reproduced)
    if pub_text == rep_text:
        return True, ""
    if pub_text and re.search(rf"(^| ){re.escape(pub_text)}( |$)", rep_text):
        return True, "published text contained in the reproduced text"
    return False, "different text"


# ---------------------------------------------------------------------------
# check_reproduction
# ---------------------------------------------------------------------------
def _as_date(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            return None
    return None


def _number(value: Any) -> float | None:
    if not _is_number(value):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _compare(rule: _Rule, published: Any, reproduced: Any) -> tuple[bool, float | None, str]:
    """(passed, difference, note) for one leaf."""
    if rule.kind == "date":
        pub_date, rep_date = _as_date(published), _as_date(reproduced)
        ok = rep_date is not None and pub_date == rep_date
        return ok, None, "" if ok else f"different date: {reproduced!r}"
    if rule.kind in {"text", "version", "gvhd", "balance"}:
        ok, note = _compare_text(rule, str(published), reproduced)
        return ok, None, note
    if rule.kind == "exact":
        return published == reproduced, None, ""
    rep = _number(reproduced)
    if rep is None:
        return False, None, f"reproduced value is not a number: {reproduced!r}"
    diff = rep - float(published)
    if rule.kind == "absolute":
        assert rule.tolerance is not None
        ok = abs(diff) <= rule.tolerance + _EPS
        return ok, diff, "" if ok else f"outside ±{rule.tolerance:g}"
    if rule.kind == "count":
        ok = float(rep).is_integer() and int(rep) == published
        return ok, diff, "" if ok else "different count"
    d = printed_decimals(published)
    shown = format_number(rep, d)
    ok = shown == format_number(float(published), d)
    return ok, diff, f"reproduced prints as {shown}"


def check_reproduction(
    results: Mapping[str, Any], published: Mapping[str, Any]
) -> list[ReproductionRow]:
    """Compare every published number with the reproduced one.

    Parameters
    ----------
    results : mapping
        ``Analysis.results`` (same keys as the published document; the
        reasons for numbers not computed in ``results["extra"]["not_computed"]``).
    published : mapping
        The published document, e.g. ``published_results.yaml`` loaded with
        :func:`yaml.safe_load`; its ``tolerances`` block (``km_estimate``,
        ``km_se``, ``p_value``: absolute tolerances; ``medians_and_ranges``,
        ``counts``: ``exact``) sets the rules.

    Returns
    -------
    list of ReproductionRow
        One row per published leaf, in document order: dotted key,
        published value (dates as ISO text), reproduced value, difference
        (numbers only), tolerance, pass mark and a note.

    Examples
    --------
    >>> pub = {"x": {"deaths": [{"month": 5}], "version": "4.0"},
    ...        "tolerances": {"counts": "exact"}}
    >>> res = {"x": {"deaths": [{"month": 5.19}], "version": "4.03"}}
    >>> [(r.key, r.passed) for r in check_reproduction(res, pub)]
    [('x.deaths.0.month', True), ('x.version', True)]
    >>> check_reproduction({}, {"a": 1})[0].note
    'not in the reproduced results'
    """
    tolerances = {**DEFAULT_TOLERANCES, **dict(published.get("tolerances") or {})}
    reasons = {}
    extra = results.get("extra")
    if isinstance(extra, Mapping) and isinstance(extra.get("not_computed"), Mapping):
        reasons = dict(extra["not_computed"])
    lengths = _list_lengths(results, published)
    rows: list[ReproductionRow] = []
    for path, value in _leaves({k: v for k, v in published.items() if k != "tolerances"}):
        key = ".".join(path)
        rule = _rule(path, value, tolerances)
        shown_published = _as_date(value) if rule.kind == "date" else value
        found, reproduced = _lookup(results, path)
        if not found or reproduced is None:
            note = reasons.get(key) or ("not computed" if found else
                                        "not in the reproduced results")
            rows.append(ReproductionRow(key, shown_published, None, None, rule.label, False,
                                        note))
            continue
        passed, diff, note = _compare(rule, value, reproduced)
        for list_path, message in lengths.items():
            if path[: len(list_path)] == list_path:
                passed = False
                note = f"{message}; {note}" if note else message
        rows.append(ReproductionRow(key, shown_published, reproduced, diff, rule.label,
                                    passed, note))
    return rows
