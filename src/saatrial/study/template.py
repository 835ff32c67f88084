"""An empty study to fill in: one header-only CSV per table and a field guide.

``FIELD_GUIDE.md`` is generated from the data dictionary, table by table:
field, type, unit, required, hard and soft range, codes, reference and
meaning, then the lab tests with their units and ranges.
"""

from __future__ import annotations

from pathlib import Path

from saatrial.atomic import write_folder_atomic
from saatrial.study.csvio import csv_bytes
from saatrial.study.dictionary import Dictionary, FieldSpec, load_dictionary
from saatrial.study.frames import empty_frame
from saatrial.study.values import format_number

__all__ = ["FIELD_GUIDE", "field_guide", "write_template"]

FIELD_GUIDE = "FIELD_GUIDE.md"

_TYPE_TEXT = {
    "string": "text",
    "integer": "integer",
    "number": "number",
    "date": "date YYYY-MM-DD",
    "boolean": "Y/N",
    "code": "code",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _bounds(bounds: tuple[float, float] | None) -> str:
    return "" if bounds is None else f"{format_number(bounds[0])} to {format_number(bounds[1])}"


def _codes(f: FieldSpec) -> str:
    if f.codes_from is not None:
        return f"see {f.codes_from} below"
    if f.codes is None:
        return ""
    return "; ".join(f"`{code}` {meaning}" for code, meaning in f.codes.items())


def field_guide(dictionary: Dictionary | None = None) -> str:
    """The field guide (Markdown) of a dictionary.

    Examples
    --------
    >>> text = field_guide()
    >>> "| weight_kg | number | kg | yes | 1 to 200 | 3 to 120 |" in text
    True
    """
    d = dictionary or load_dictionary()
    out = [
        f"# Field guide - {d.name} {d.version}",
        "",
        "Fill one CSV file per table (or one XLSX workbook with a sheet per table,",
        "named like the file without `.csv`). The first line is the header; keep every",
        "column, in any order. Dates are `YYYY-MM-DD`, booleans `Y`/`N`, numbers use a",
        "decimal point and no thousands separator, an empty cell means missing. Values",
        "outside the hard range are refused; values outside the soft range are warnings.",
        "Check the folder with `saatrial validate <folder>`.",
        "",
        f"Generated from the data dictionary {d.source} (version {d.version}).",
        "",
    ]
    for name, t in d.tables.items():
        out += [f"## {name} (`{t.csv_name}`)", "", t.meaning, ""]
        notes = [f"Key: {', '.join(t.key)}."]
        if t.required:
            notes.append("Required file.")
        if t.date_fields:
            notes.append(f"Dated by: {', '.join(t.date_fields)}.")
        if "subject_id" in t.fields and t.date_fields:
            notes.append(
                "Rows may be dated before consent."
                if t.pre_consent_allowed
                else "Rows may not be dated before the subject's consent."
            )
        out += [" ".join(notes), ""]
        out.append(
            "| field | type | unit | required | hard range | soft range | codes "
            "| references | meaning |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|")
        for f in t.fields.values():
            ref = "" if f.references is None else ".".join(f.references)
            cells = [
                f.name,
                _TYPE_TEXT[f.type],
                f.unit or "",
                "yes" if f.required else "no",
                _bounds(f.hard_range),
                _bounds(f.soft_range),
                _codes(f),
                ref,
                f.meaning,
            ]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    if d.lab_tests:
        out += [
            "## lab_tests",
            "",
            "Codes of `labs.test`; `labs.unit` must equal the unit, `labs.value` is checked "
            "against the ranges.",
            "",
            "| test | name | unit | hard range | soft range |",
            "|---|---|---|---|---|",
        ]
        for lab in d.lab_tests.values():
            cells = [lab.code, lab.name, lab.unit, _bounds(lab.hard_range), _bounds(lab.soft_range)]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def write_template(
    folder: str | Path, overwrite: bool = False, dictionary: Dictionary | None = None
) -> Path:
    """Write an empty study: a header-only CSV per table and ``FIELD_GUIDE.md``.

    Parameters
    ----------
    folder : str or Path
        Target folder; created (with parents) if absent.
    overwrite : bool
        Replace the template files in a non-empty folder (CLI ``--force``);
        other files in it are kept. Without it a non-empty folder is refused.
    dictionary : Dictionary, optional

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    FileExistsError
        ``folder`` is not empty and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = write_template(pathlib.Path(tempfile.mkdtemp()) / "new_study")
    >>> (out / "subjects.csv").read_text().startswith("subject_id,site_id,arm_id")
    True
    """
    d = dictionary or load_dictionary()
    files = {t.csv_name: csv_bytes(empty_frame(t), t) for t in d.tables.values()}
    files[FIELD_GUIDE] = field_guide(d).encode("utf-8")
    return write_folder_atomic(Path(folder), files, overwrite=overwrite)
