"""build_figures on the bundled study: every figure renders, is byte-stable and is tidy.

Tidy = no text outside the canvas and no two texts overlapping (the checks a
reader would make by eye: clipped labels, legends over labels).
"""

from __future__ import annotations

import pytest

from saatrial.report.figures import FIGURE_KEYS, build_figures, build_figures_detailed
from saatrial.report.figures import blood_counts as bc
from saatrial.report.figures import consort as co
from saatrial.report.figures import survival as sv
from saatrial.report.figures import swimmer as sw
from saatrial.report.figures import tcells as tc
from saatrial.report.figures.style import arm_order, arm_styles, format_p, render

from ._figure_checks import bundled, check_png, check_svg, text_problems

ANOVA_P = {
    "PLT": 0.192,
    "ANC": 0.532,
    "HGB": 0.450,
    "ARC": 0.313,
    "CD3CD4_pct": 0.190,
    "CD3CD8_pct": 0.875,
    "TREG_pct": 0.165,
}
LOGRANK_P = {"FFS": 0.153, "OS": 0.98}


@pytest.fixture(scope="module")
def built():
    study, ads = bundled()
    return build_figures(ads, ANOVA_P, LOGRANK_P, study=study)


def test_every_figure_in_order_without_notices(built):
    figures, notices = built
    assert [f.key for f in figures] == list(FIGURE_KEYS)
    assert notices == []
    for figure in figures:
        assert figure.title and figure.caption and figure.alt, figure.key


@pytest.mark.parametrize("key", FIGURE_KEYS)
def test_png_and_svg_are_valid(built, key):
    figure = next(f for f in built[0] if f.key == key)
    width, height = check_png(figure.png)
    root = check_svg(figure.svg)
    # the SVG has the figure's aspect ratio (same drawing, two formats)
    svg_w = float(root.attrib["width"].removesuffix("pt"))
    svg_h = float(root.attrib["height"].removesuffix("pt"))
    assert svg_w / svg_h == pytest.approx(width / height, rel=0.01)


def test_byte_stable_across_runs(built):
    study, ads = bundled()
    again, _ = build_figures(ads, ANOVA_P, LOGRANK_P, study=study)
    for first, second in zip(built[0], again, strict=True):
        assert first.png == second.png, first.key
        assert first.svg == second.svg, first.key


def test_captions_carry_the_supplied_p_values(built):
    captions = {f.key: f.caption for f in built[0]}
    assert "platelets p = 0.192" in captions["figure1_blood_counts"]
    assert "neutrophils p = 0.532" in captions["figure1_blood_counts"]
    assert "p = 0.875" in captions["figure2_tcells"]
    assert "Log-rank test p = 0.153" in captions["figure3_ffs"]


def _drawn_figures():
    study, ads = bundled()
    return {
        "figure1_blood_counts": bc.draw_blood_counts(
            bc.blood_counts_facts(ads.adlb, ads.adsl, ANOVA_P)
        ),
        "figure2_tcells": tc.draw_tcells(tc.tcells_facts(ads.adlb, ads.adsl, ANOVA_P)),
        "figure3_ffs": sv.draw_km(sv.km_facts(ads.adtte, "FFS", 0.153)),
        "figure3_os": sv.draw_km(sv.km_facts(ads.adtte, "OS", 0.98)),
        "swimmer": sw.draw_swimmer(
            sw.swimmer_facts(ads.adsl, ads.adtte, ads.adrs, study["exposures"])
        ),
        "consort": co.draw_consort(
            co.consort_facts(ads.adsl, ads.adtte, ads.adrs, study["screening"])
        ),
    }


def test_no_clipped_or_overlapping_text():
    for key, fig in _drawn_figures().items():
        assert text_problems(fig) == [], key


def test_a_failing_builder_becomes_a_notice(monkeypatch, built):
    """A figure that cannot be drawn is reported, and the others are still drawn."""
    import saatrial.report.figures as figures_pkg
    from saatrial.report.figures.common import BuiltFigure

    by_key = {f.key: f for f in built[0]}

    def boom(*args, **kwargs):
        raise ValueError("broken on purpose")

    # the other builders return their bundled figure (fast); only consort fails
    for name, key in [
        ("blood_counts_figure", "figure1_blood_counts"),
        ("tcells_figure", "figure2_tcells"),
        ("swimmer_figure", "swimmer"),
    ]:
        monkeypatch.setattr(
            figures_pkg, name, lambda *a, _k=key, **kw: BuiltFigure(by_key[_k], None)
        )
    monkeypatch.setattr(
        figures_pkg,
        "km_figure",
        lambda adtte, paramcd, p=None: BuiltFigure(by_key[f"figure3_{paramcd.lower()}"], None),
    )
    monkeypatch.setattr(figures_pkg, "consort_figure", boom)
    study, ads = bundled()
    detailed = build_figures_detailed(ads, study=study)
    assert detailed["consort"].message == "figure not drawn: ValueError: broken on purpose"
    figures, notices = build_figures(ads, study=study)
    assert [f.key for f in figures] == [k for k in FIGURE_KEYS if k != "consort"]
    assert [n.where for n in notices] == ["consort"]


def test_render_is_deterministic_for_a_fresh_figure():
    _study, ads = bundled()
    facts = sv.km_facts(ads.adtte, "OS", 0.5)
    assert render(sv.draw_km(facts)) == render(sv.draw_km(facts))


def test_arm_colour_follows_the_arm_code_not_its_position():
    both = arm_styles({"MSC": "UC-MSC + IST", "CONTROL": "IST alone"})
    only_control = arm_styles({"CONTROL": "IST alone"})
    assert only_control["CONTROL"].colour == both["CONTROL"].colour
    assert both["MSC"].colour != both["CONTROL"].colour
    three = arm_styles({"A": "a", "B": "b", "CONTROL": "c"})
    assert len({s.colour for s in three.values()}) == 3
    assert arm_order(["CONTROL", "B", "A"]) == ["A", "B", "CONTROL"]


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.153, "p = 0.153"),
        (0.0015, "p = 0.002"),
        (0.001, "p = 0.001"),
        (0.00099, "p < 0.001"),
        (None, None),
        (float("nan"), None),
    ],
)
def test_format_p(p, text):
    assert format_p(p) == text


def test_format_p_refuses_impossible_values():
    with pytest.raises(ValueError, match=r"p-value: must be in \[0, 1\]: 1.2"):
        format_p(1.2)
