"""The study data layer: the data dictionary, StudyData, readers/writers, validation, template.

Examples
--------
>>> from saatrial.study import StudyData, load_dictionary
>>> "labs" in load_dictionary().tables
True
"""

from saatrial.study.data import StudyData, load_bundled_study
from saatrial.study.dictionary import load_dictionary
from saatrial.study.problems import Problem, Severity, StudyDataError
from saatrial.study.template import write_template
from saatrial.study.validation import ValidationReport, validate, validate_path

__all__ = [
    "Problem",
    "Severity",
    "StudyData",
    "StudyDataError",
    "ValidationReport",
    "load_bundled_study",
    "load_dictionary",
    "validate",
    "validate_path",
    "write_template",
]
