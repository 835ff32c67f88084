"""ADaM-shaped analysis datasets (ADSL, ADLB, ADRS, ADTTE, ADAE) from StudyData + protocol.

Each dataset has its own module whose docstring documents every column with
its derivation and the TRIAL.md decision it implements; :func:`derive_all`
derives them all and lists what could not be derived in ``notes``.

Examples
--------
>>> from saatrial.study import load_bundled_study
>>> from saatrial.derive import derive_all
>>> ds = derive_all(load_bundled_study())
>>> ds.adsl.groupby("ARMCD")["USUBJID"].count().to_dict()
{'CONTROL': 9, 'MSC': 9}
"""

from saatrial.derive.build import (
    DATASETS,
    NOTES_FILE,
    AnalysisDatasets,
    dataset_columns,
    derive_all,
    write_csv,
)
from saatrial.derive.common import Column, Note

__all__ = [
    "DATASETS",
    "NOTES_FILE",
    "AnalysisDatasets",
    "Column",
    "Note",
    "dataset_columns",
    "derive_all",
    "write_csv",
]
