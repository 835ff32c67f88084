"""Which channel reads which marker: by ``$PnS`` marker name or by a panel YAML.

A panel file (versioned, with its source) maps markers to detectors
(``$PnN``) and names the scatter and bead channels; the Treg panel of the
trial ships as ``panels/treg-facscanto-ii.yaml``. Without a panel file the
markers are found in ``$PnS`` (``"CD4 PerCP-Cy5.5"`` names CD4) and scatter
is ``FSC-A``/``SSC-A``.

A marker matches a ``$PnS`` when it appears there as a whole word, case
ignored: ``CD4`` matches ``"CD4 PerCP-Cy5.5"`` and ``"CD4-PerCP"`` but not
``"CD45RO"``. When several channels match, the area (``-A``) channel wins;
more than one left is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from saatrial.cytometry.errors import CytometryError
from saatrial.cytometry.fcs import Channel, FcsSample

#: Markers of the Treg panel (TRIAL.md section 8).
TREG_MARKERS = ("CD4", "CD25", "CD127")
BUNDLED_PANELS = ("treg-facscanto-ii",)


@dataclass(frozen=True)
class Panel:
    """Marker -> channel mapping plus scatter and bead channels.

    Parameters
    ----------
    name : str
        Panel name.
    version, source : str
        Version and provenance of the panel table.
    markers : Mapping[str, str | None]
        Marker -> ``$PnN``; ``None`` = find the marker in ``$PnS``.
    fsc, ssc : str
        Scatter channels (``$PnN``).
    bead_channel : str or None
        Detector for TruCount beads; None = an unstained fluorescence channel
        (``FITC-A`` if present, else the first ``-A`` channel no marker uses).
    fluorochromes : Mapping[str, str]
        Marker -> fluorochrome, for reports.
    """

    name: str
    version: str
    source: str
    markers: Mapping[str, str | None]
    fsc: str = "FSC-A"
    ssc: str = "SSC-A"
    bead_channel: str | None = None
    fluorochromes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def by_marker_name(cls, markers: Sequence[str] = TREG_MARKERS) -> Panel:
        """A panel that finds every marker in ``$PnS`` (the default).

        Examples
        --------
        >>> Panel.by_marker_name().markers
        mappingproxy({'CD4': None, 'CD25': None, 'CD127': None})
        """
        return cls(
            name="by-marker-name",
            version="1.0",
            source="markers found by $PnS; scatter FSC-A/SSC-A",
            markers=MappingProxyType({m: None for m in markers}),
        )


@dataclass(frozen=True)
class ChannelMap:
    """Channels resolved in one sample.

    Parameters
    ----------
    fsc, ssc, bead : str
        ``$PnN`` of forward scatter, side scatter and the bead detector.
    markers : Mapping[str, str]
        Marker -> ``$PnN``.
    how : Mapping[str, str]
        Marker (and ``"beads"``) -> how it was found, for the log.
    """

    fsc: str
    ssc: str
    bead: str
    markers: Mapping[str, str]
    how: Mapping[str, str]


def load_panel(source: str | Path) -> Panel:
    """Load a panel YAML (a path, or the name of a bundled panel).

    Raises
    ------
    CytometryError
        Naming the file and the missing or malformed entry.

    Examples
    --------
    >>> p = load_panel("treg-facscanto-ii")
    >>> p.markers["CD25"], p.bead_channel, p.version
    ('PE-A', 'FITC-A', '1.0')
    """
    if isinstance(source, str) and source in BUNDLED_PANELS:
        ref = resources.files("saatrial.cytometry") / "panels" / f"{source}.yaml"
        where, text = f"panels/{source}.yaml", ref.read_text(encoding="utf-8")
    else:
        path = Path(source)
        if not path.is_file():
            raise CytometryError(
                f"{path}: panel file not found (bundled panels: {', '.join(BUNDLED_PANELS)})"
            )
        where, text = str(path), path.read_text(encoding="utf-8")
    try:
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CytometryError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise CytometryError(f"{where}: a panel is a mapping with version, source, markers")
    for key in ("version", "source", "markers"):
        if key not in doc:
            raise CytometryError(f"{where}: {key}: required: missing")
    markers_doc = doc["markers"]
    if not isinstance(markers_doc, dict) or not markers_doc:
        raise CytometryError(f"{where}: markers: must map marker names to channels")
    markers: dict[str, str | None] = {}
    fluor: dict[str, str] = {}
    for marker, entry in markers_doc.items():
        if entry is None or isinstance(entry, str):
            markers[str(marker)] = entry
        elif isinstance(entry, dict):
            ch = entry.get("channel")
            markers[str(marker)] = None if ch is None else str(ch)
            if "fluorochrome" in entry:
                fluor[str(marker)] = str(entry["fluorochrome"])
        else:
            raise CytometryError(f"{where}: markers: {marker}: expected a channel or a mapping")
    scatter = doc.get("scatter") or {}
    beads = doc.get("beads") or {}
    return Panel(
        name=str(doc.get("name", Path(where).stem)),
        version=str(doc["version"]),
        source=" ".join(str(doc["source"]).split()),
        markers=MappingProxyType(markers),
        fsc=str(scatter.get("fsc", "FSC-A")),
        ssc=str(scatter.get("ssc", "SSC-A")),
        bead_channel=None if beads.get("channel") is None else str(beads["channel"]),
        fluorochromes=MappingProxyType(fluor),
    )


def _marker_regex(marker: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(marker)}(?![A-Za-z0-9])", re.IGNORECASE)


def names_marker(pns: str, marker: str) -> bool:
    """True if ``$PnS`` names ``marker`` as a whole word (any case).

    Examples
    --------
    >>> names_marker("CD4 PerCP-Cy5.5", "CD4"), names_marker("CD45RO", "CD4")
    (True, False)
    """
    return bool(_marker_regex(marker).search(pns))


def find_marker_channel(sample: FcsSample, marker: str) -> Channel:
    """The channel whose ``$PnS`` names ``marker`` (whole word, any case; ``-A`` preferred).

    Raises
    ------
    CytometryError
        If no channel or several channels name the marker; the message lists
        the file's channels as ``PnN (PnS)``.
    """
    hits = [c for c in sample.channels if c.pns and names_marker(c.pns, marker)]
    if len(hits) > 1:
        area = [c for c in hits if c.pnn.upper().endswith("-A")]
        hits = area if area else hits
    found = ", ".join(c.label for c in sample.channels)
    if not hits:
        raise CytometryError(
            f"{sample.path}: marker {marker!r} not found in $PnS; channels are: {found}"
        )
    if len(hits) > 1:
        raise CytometryError(
            f"{sample.path}: marker {marker!r} named by several channels "
            f"({', '.join(c.label for c in hits)}); give a panel file"
        )
    return hits[0]


def _require(sample: FcsSample, pnn: str, what: str) -> str:
    if pnn not in sample.pnn:
        found = ", ".join(c.label for c in sample.channels)
        raise CytometryError(
            f"{sample.path}: {what} channel {pnn!r} not found; channels are: {found}"
        )
    return pnn


def resolve_channels(sample: FcsSample, panel: Panel | None = None) -> ChannelMap:
    """Resolve the panel's markers, scatter and bead channels in ``sample``.

    Parameters
    ----------
    sample : FcsSample
        The stained tube (its ``$PnS`` names the markers).
    panel : Panel, optional
        Default :meth:`Panel.by_marker_name` for the Treg markers.

    Returns
    -------
    ChannelMap

    Raises
    ------
    CytometryError
        A marker or channel is missing (the message names it and lists the
        channels found), or two markers resolve to the same channel.
    """
    pnl = panel if panel is not None else Panel.by_marker_name()
    fsc = _require(sample, pnl.fsc, "forward scatter")
    ssc = _require(sample, pnl.ssc, "side scatter")
    markers: dict[str, str] = {}
    how: dict[str, str] = {}
    for marker, channel in pnl.markers.items():
        if channel is None:
            ch = find_marker_channel(sample, marker)
            markers[marker] = ch.pnn
            how[marker] = f"$PnS {ch.pns!r} of {ch.pnn}"
        else:
            markers[marker] = _require(sample, channel, f"marker {marker!r}")
            how[marker] = f"panel {pnl.name} v{pnl.version}: {channel}"
    used = list(markers.values())
    dup = {c for c in used if used.count(c) > 1}
    if dup:
        raise CytometryError(f"{sample.path}: several markers resolve to channel(s) {sorted(dup)}")
    if pnl.bead_channel is not None:
        bead = _require(sample, pnl.bead_channel, "bead")
        how["beads"] = f"panel {pnl.name} v{pnl.version}: {bead}"
    else:
        free = [
            c for c in sample.channels
            if c.kind == "fluorescence" and c.pnn not in used and c.pnn.upper().endswith("-A")
        ]
        if not free:
            raise CytometryError(
                f"{sample.path}: no unstained fluorescence (-A) channel left for the TruCount "
                "beads; give a panel file with beads: channel"
            )
        pick = next((c for c in free if c.pnn.upper() == "FITC-A"), free[0])
        bead = pick.pnn
        how["beads"] = f"unstained detector {bead} (no panel marker uses it)"
    return ChannelMap(fsc, ssc, bead, MappingProxyType(markers), MappingProxyType(how))
