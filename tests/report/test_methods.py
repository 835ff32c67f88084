"""The statistical-methods text is written from what the analysis actually ran."""

from __future__ import annotations

import doctest
from dataclasses import replace

from saatrial.protocol import Visit
from saatrial.report import methods
from saatrial.report.analysis import analyze
from saatrial.report.methods import methods_text, software_versions

from ._r1_support import bundled, bundled_study, protocol, single_arm, two_missing_day40


def joined(paragraphs: list[str]) -> str:
    return "\n".join(paragraphs)


def test_bundled_methods_name_every_method_that_ran() -> None:
    _, a = bundled()
    text = joined(methods_text(a))
    for phrase in (
        "All 18 allocated patients",
        "Student's t-test", "Mann–Whitney U test", "Pearson's χ² test", "Fisher's exact",
        "criteria set cn-peds-2014 v1.0.0",
        "day 40 (± 7 days)", "day 90 (3 months) (± 14 days)",
        "Kaplan–Meier method with Greenwood standard errors",
        "log-rank (Mantel–Haenszel) test", "48,620 relabelings",
        "Median follow-up was 48.0 months (range 5.2–54.1)",
        "without sphericity correction", "Greenhouse–Geisser", "linear mixed model",
        "CTCAE v4.03", "(D17)",
        "the paper used SPSS 18",
    ):
        assert phrase in text, phrase
    assert "could not be computed" not in text  # no notices on the bundled study


def test_software_versions_are_in_the_text() -> None:
    _, a = bundled()
    versions = software_versions()
    text = methods_text(a)[-1]
    assert f"scipy {versions['scipy']}" in text and f"Python {versions['python']}" in text


def test_single_arm_methods_do_not_claim_tests_that_did_not_run() -> None:
    _, a = single_arm()
    text = joined(methods_text(a))
    assert "All 9 allocated patients" in text
    assert "No between-arm test of baseline characteristics could be computed." in text
    assert "log-rank" not in text and "Student's t-test" not in text
    assert "No repeated-measures ANOVA could be computed" in text
    assert "could not be computed in full" in text


def test_left_out_patients_are_reported() -> None:
    _, a = two_missing_day40()
    assert "Patients left out for a missing visit: Platelets 2" in joined(methods_text(a))


def test_text_follows_the_protocol_windows() -> None:
    ads, _ = bundled()
    p = protocol()
    visits = dict(p.visits)
    visits["D40"] = Visit("D40", 40, 10, "day 40")
    a = analyze(ads, replace(p, visits=visits), study=bundled_study())
    assert "day 40 (± 10 days)" in joined(methods_text(a))


def test_doctests() -> None:
    assert doctest.testmod(methods, raise_on_error=False).failed == 0
