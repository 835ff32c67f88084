"""Mixed ANOVA and mixed model against a textbook, R (afex, lme4) and statsmodels.

References, all under ``tests/reference/anova/``:

* ``howell_king1986.csv``: Howell DC, Statistical Methods for Psychology
  (7th/8th ed.), Table 14.4, data of King (1986): activity of 24 rats in 3
  groups over 6 five-minute intervals (the book's data file Tab14-4.dat).
  Howell's summary table prints F = 7.80 (Group, df 2, 21), F = 29.85
  (Interval, df 5, 105) and F = 3.02 (Interval x Group, df 10, 105).
* ``afex_*.csv``: afex::aov_ez (type 3) output for the King data and for
  random unbalanced data sets (``random_*.csv``, generated once with numpy and
  stored), produced by ``afex_reference.R`` (R 4.2.2, afex 1.2-1, car 3.1-1).
* ``lmer_random_2groups_3times_missing.csv``: lme4::lmer REML fit and
  car::Anova type III Wald chi-square of the interaction, same script.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.anova import AnovaRM

from saatrial.stats.anova import mixed_anova, mixed_lm
from saatrial.stats.twogroup import student_t

REF = Path(__file__).resolve().parents[1] / "reference" / "anova"


def _king_long() -> pd.DataFrame:
    wide = pd.read_csv(REF / "howell_king1986.csv")
    wide["rat"] = np.arange(1, len(wide) + 1)
    return wide.melt(id_vars=["rat", "Group"], var_name="interval", value_name="activity")


def _afex(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"afex_{name}.csv").set_index("effect")


def _load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"{name}.csv")


def _r_mauchly_p(chi2: float, k: int, f_err: int) -> float:
    """R's stats:::mauchly.test.SSD p-value, with its 3 * k (not 3 * p) term."""
    p = k - 1
    rho = 1 - (2 * p**2 + p + 2) / (6 * p * f_err)
    w2 = (p + 2) * (p - 1) * (p - 2) * (2 * p**3 + 6 * p**2 + 3 * k + 2) / (
        288 * (f_err * p * rho) ** 2)
    df = p * (p + 1) / 2 - 1
    pr1, pr2 = stats.chi2.sf(chi2, df), stats.chi2.sf(chi2, df + 4)
    return float(pr1 + w2 * (pr2 - pr1))


# --------------------------------------------------------------------------- textbook


def test_howell_king_published_f_values() -> None:
    res = mixed_anova(_king_long(), dv="activity", within="interval", between="Group",
                      subject="rat")
    t = res.table
    assert round(t.loc["Group", "F"], 2) == 7.80
    assert round(t.loc["interval", "F"], 2) == 29.85
    assert round(t.loc["Group:interval", "F"], 2) == 3.02
    assert t.loc["Group", "df"] == 2 and t.loc["Error (between subjects)", "df"] == 21
    assert t.loc["interval", "df"] == 5 and t.loc["Group:interval", "df"] == 10
    assert t.loc["Error (within subjects)", "df"] == 105
    # partitions add up to the total sum of squares around the grand mean
    y = _king_long()["activity"].to_numpy(float)
    assert t["SS"].sum() == pytest.approx(((y - y.mean()) ** 2).sum(), rel=1e-12)
    assert res.n_subjects == 24 and res.dropped_subjects == ()


@pytest.mark.parametrize(
    ("name", "dv", "within", "between", "subject"),
    [
        ("howell_king1986", "activity", "interval", "Group", "rat"),
        ("random_3groups_4times", "y", "time", "group", "subject"),
        ("random_2groups_3times", "y", "time", "group", "subject"),
        ("random_2groups_2times", "y", "time", "group", "subject"),
    ],
)
def test_matches_afex(name: str, dv: str, within: str, between: str, subject: str) -> None:
    data = _king_long() if name == "howell_king1986" else _load(name)
    res = mixed_anova(data, dv=dv, within=within, between=between, subject=subject)
    ref = _afex(name)
    inter = f"{between}:{within}"
    rows = {"group": between, "time": within, "group:time": inter}
    for r_name, our in rows.items():
        row = ref.loc[r_name]
        assert res.table.loc[our, "SS"] == pytest.approx(row["SS"], rel=1e-10)
        assert res.table.loc[our, "df"] == row["df"]
        assert res.table.loc[our, "F"] == pytest.approx(row["F"], rel=1e-10)
        assert res.table.loc[our, "p"] == pytest.approx(row["p"], rel=1e-8)
        err = "Error (between subjects)" if our == between else "Error (within subjects)"
        assert res.table.loc[err, "SS"] == pytest.approx(row["SS_error"], rel=1e-10)
        assert res.table.loc[err, "df"] == row["df_error"]
        pes = row["SS"] / (row["SS"] + row["SS_error"])
        assert res.table.loc[our, "eta2_partial"] == pytest.approx(pes, rel=1e-10)
    assert res.n_subjects == ref["n_subjects"].iloc[0]
    k = len(res.within_levels)
    if k > 2:
        time_row = ref.loc["time"]
        assert res.epsilon_gg == pytest.approx(time_row["eps_GG"], rel=1e-10)
        assert res.epsilon_hf == pytest.approx(time_row["eps_HF"], rel=1e-10)
        for r_name, our in (("time", within), ("group:time", inter)):
            assert res.pvalue(our, "GG") == pytest.approx(ref.loc[r_name, "p_GG"], rel=1e-8)
            assert res.pvalue(our, "HF") == pytest.approx(ref.loc[r_name, "p_HF"], rel=1e-8)
            sph = res.sphericity.loc[our]
            assert sph["W"] == pytest.approx(ref.loc[r_name, "mauchly_W"], rel=1e-10)
            # R's p-value formula, fed our chi-square, gives R's p exactly ...
            f_err = res.n_subjects - len(res.between_levels)
            assert _r_mauchly_p(sph["chi2"], k, f_err) == pytest.approx(
                ref.loc[r_name, "mauchly_p"], rel=1e-9)
            # ... and ours (Anderson's w2 with 3p) differs from it only for k >= 4
            tol = 1e-12 if k == 3 else 1e-3
            assert sph["p"] == pytest.approx(ref.loc[r_name, "mauchly_p"], rel=tol)
            assert sph["df"] == (k - 1) * k / 2 - 1


def test_hf_epsilon_above_one_is_truncated_for_p_values() -> None:
    res = mixed_anova(_load("random_2groups_3times"), "y", "time", "group", "subject")
    assert res.epsilon_hf > 1  # afex prints 1.137
    assert res.pvalue("time", "HF") == res.pvalue("time")  # uses min(1, eps)


def test_missing_cells_drop_subjects_like_afex() -> None:
    data = _load("random_2groups_3times_missing")
    with pytest.warns(UserWarning, match=r"5 subject\(s\) dropped.*'S01', 'S02', 'S07', 'S13', "
                                         r"'S16'"):
        res = mixed_anova(data, "y", "time", "group", "subject")
    assert res.dropped_subjects == ("S01", "S02", "S07", "S13", "S16")
    ref = _afex("random_2groups_3times_missing")
    assert res.n_subjects == ref["n_subjects"].iloc[0] == 13
    assert res.n_per_group == {"G1": 6, "G2": 7}
    assert res.interaction_p == pytest.approx(ref.loc["group:time", "p"], rel=1e-8)
    assert res.pvalue("interaction", "GG") == pytest.approx(ref.loc["group:time", "p_GG"],
                                                            rel=1e-8)
    # a subject with no row at all for a level is dropped the same way
    short = data[~((data["subject"] == "S03") & (data["time"] == "T2"))].dropna()
    with pytest.warns(UserWarning, match="'S03'"):
        assert "S03" in mixed_anova(short, "y", "time", "group", "subject").dropped_subjects


# --------------------------------------------------------------------------- independent checks


def test_within_part_matches_statsmodels_anovarm_on_balanced_data() -> None:
    # A within-only analysis of the same (balanced) data pools the interaction
    # into the error: F_time = MS_time / ((SS_GxT + SS_error) / ((n - 1)(k - 1))).
    data = _king_long()
    res = mixed_anova(data, "activity", "interval", "Group", "rat")
    t = res.table
    pooled_ms = ((t.loc["Group:interval", "SS"] + t.loc["Error (within subjects)", "SS"])
                 / ((24 - 1) * 5))
    f_pooled = t.loc["interval", "MS"] / pooled_ms
    rm = AnovaRM(data, depvar="activity", subject="rat", within=["interval"]).fit()
    assert f_pooled == pytest.approx(rm.anova_table.loc["interval", "F Value"], rel=1e-10)
    assert rm.anova_table.loc["interval", "Den DF"] == 115


def test_two_within_levels_reduce_to_t_tests() -> None:
    # With 2 levels, interaction F = t^2 of the change scores between groups and
    # between F = t^2 of the subject means; sphericity holds trivially.
    data = _load("random_2groups_2times")
    res = mixed_anova(data, "y", "time", "group", "subject")
    wide = data.pivot(index="subject", columns="time", values="y")
    grp = data.groupby("subject")["group"].first()
    change = wide["T2"] - wide["T1"]
    mean = wide.mean(axis=1)
    t_change = student_t(change[grp == "G1"], change[grp == "G2"])
    t_mean = student_t(mean[grp == "G1"], mean[grp == "G2"])
    assert res.table.loc["group:time", "F"] == pytest.approx(t_change.statistic**2, rel=1e-10)
    assert res.interaction_p == pytest.approx(t_change.pvalue, rel=1e-9)
    assert res.table.loc["group", "F"] == pytest.approx(t_mean.statistic**2, rel=1e-10)
    assert res.epsilon_gg == res.epsilon_hf == 1.0
    sph = res.sphericity.loc["time"]
    assert (sph["W"], sph["chi2"], sph["df"]) == (1.0, 0.0, 0.0) and math.isnan(sph["p"])
    assert res.pvalue("interaction", "GG") == res.interaction_p


def test_level_order_and_labels_do_not_change_the_result() -> None:
    data = _load("random_3groups_4times")
    base = mixed_anova(data, "y", "time", "group", "subject")
    shuffled = data.sample(frac=1.0, random_state=3).copy()
    shuffled["time"] = pd.Categorical(shuffled["time"], categories=["T4", "T2", "T1", "T3"])
    res = mixed_anova(shuffled, "y", "time", "group", "subject")
    assert res.within_levels == ("T4", "T2", "T1", "T3")
    pd.testing.assert_frame_equal(res.table, base.table, rtol=1e-10)
    assert res.sphericity.loc["time", "W"] == pytest.approx(base.sphericity.loc["time", "W"])


# --------------------------------------------------------------------------- API and errors


def test_pvalue_accessor() -> None:
    res = mixed_anova(_king_long(), "activity", "interval", "Group", "rat")
    assert res.pvalue("between") == res.table.loc["Group", "p"]
    assert res.pvalue("within", "GG") == res.table.loc["interval", "p_GG"]
    assert res.pvalue("Group:interval", "HF") == res.table.loc["Group:interval", "p_HF"]
    assert res.interaction_p == res.pvalue("interaction")
    with pytest.raises(ValueError, match="between-subjects effect"):
        res.pvalue("Group", "GG")
    with pytest.raises(ValueError, match="correction must be"):
        res.pvalue("within", "LB")
    with pytest.raises(KeyError, match="unknown effect"):
        res.pvalue("Time")
    assert list(res.table.columns) == ["SS", "df", "MS", "F", "p", "eta2_partial", "p_GG", "p_HF"]


def _tiny() -> pd.DataFrame:
    rows = [(s, g, t, y) for s, g, ys in [
        (1, "A", [3, 4, 6]), (2, "A", [2, 4, 5]), (3, "A", [4, 5, 8]),
        (4, "B", [3, 3, 4]), (5, "B", [4, 4, 4]), (6, "B", [2, 3, 5])]
        for t, y in zip(["t0", "t1", "t2"], ys, strict=True)]
    return pd.DataFrame(rows, columns=["id", "arm", "time", "y"])


def test_input_errors_are_clear() -> None:
    df = _tiny()
    with pytest.raises(ValueError, match="dv column 'value' not in data columns"):
        mixed_anova(df, "value", "time", "arm", "id")
    bad = df.copy()
    bad.loc[bad["id"] == 2, "arm"] = ["A", "B", "A"]
    with pytest.raises(ValueError, match=r"subject\(s\) in more than one 'arm' group: \[2\]"):
        mixed_anova(bad, "y", "time", "arm", "id")
    dup = pd.concat([df, df.iloc[[0]]])
    with pytest.raises(ValueError, match=r"duplicated 'id' x 'time' rows: \[\[1, 't0'\]\]"):
        mixed_anova(dup, "y", "time", "arm", "id")
    with pytest.raises(ValueError, match="within factor 'time' needs >= 2 levels"):
        mixed_anova(df[df["time"] == "t0"], "y", "time", "arm", "id")
    with pytest.raises(ValueError, match="between factor 'arm' needs >= 2 levels"):
        mixed_anova(df[df["arm"] == "A"], "y", "time", "arm", "id")
    text = df.astype({"y": object})
    text.loc[0, "y"] = "high"
    with pytest.raises(ValueError, match="dv column 'y' is not numeric"):
        mixed_anova(text, "y", "time", "arm", "id")
    nolabel = df.copy()
    nolabel.loc[4, "arm"] = None
    with pytest.raises(ValueError, match="between column 'arm' is missing at row 4"):
        mixed_anova(nolabel, "y", "time", "arm", "id")
    gone = df.astype({"y": float})
    gone.loc[gone["arm"] == "B", "y"] = [np.nan, 1, 1, 1, np.nan, 1, 1, 1, np.nan]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=r"'arm' level\(s\) without a complete subject: "
                                             r"\['B'\]"):
            mixed_anova(gone, "y", "time", "arm", "id")
    with pytest.raises(ValueError, match="no error degrees of freedom"):
        mixed_anova(df[df["id"].isin([1, 4])], "y", "time", "arm", "id")


# --------------------------------------------------------------------------- mixed model


def test_mixed_lm_matches_lme4_with_missing_visits() -> None:
    ref = pd.read_csv(REF / "lmer_random_2groups_3times_missing.csv").set_index("quantity")[
        "value"]
    res = mixed_lm(_load("random_2groups_3times_missing"), "y", "time", "group", "subject")
    assert res.n_observations == 48 and res.n_subjects == 18  # no subject dropped
    assert res.interaction_df == ref["interaction_df"] == 2
    assert res.interaction_chi2 == pytest.approx(ref["interaction_chi2"], rel=1e-4)
    assert res.interaction_p == pytest.approx(ref["interaction_p"], rel=1e-4)
    assert res.random_intercept_var == pytest.approx(ref["random_intercept_var"], rel=1e-3)
    assert res.residual_var == pytest.approx(ref["residual_var"], rel=1e-3)
    names = {"(Intercept)": "Intercept", "groupG2": "group[G2]", "timeT2": "time[T2]",
             "timeT3": "time[T3]", "groupG2:timeT2": "group[G2]:time[T2]",
             "groupG2:timeT3": "group[G2]:time[T3]"}
    for r_name, our in names.items():
        assert res.fe_params[our] == pytest.approx(ref[f"fixef:{r_name}"], rel=1e-4, abs=1e-5)
        assert res.fe_bse[our] == pytest.approx(ref[f"se:{r_name}"], rel=1e-4)
    assert res.converged


def test_mixed_lm_equals_mixed_anova_on_complete_data() -> None:
    # Complete data, random intercept: the REML residual variance is the
    # within-subject error mean square, so Wald chi2 = df x F(interaction).
    data = _load("random_2groups_3times")
    lm = mixed_lm(data, "y", "time", "group", "subject")
    aov = mixed_anova(data, "y", "time", "group", "subject")
    f_int = aov.table.loc["group:time", "F"]
    assert lm.interaction_chi2 == pytest.approx(2 * f_int, rel=1e-4)
    assert lm.residual_var == pytest.approx(aov.table.loc["Error (within subjects)", "MS"],
                                            rel=1e-4)


def test_mixed_lm_tiny_data_falls_back_to_a_working_optimiser() -> None:
    # R lme4 on the same data: group:time Wald chi-square 8.8996 (df 2).
    df = _tiny()
    df.loc[5, "y"] = np.nan
    res = mixed_lm(df, "y", "time", "arm", "id")
    assert res.interaction_chi2 == pytest.approx(8.8996, rel=1e-3)
    assert res.n_observations == 17


def test_mixed_lm_rejects_empty_cell() -> None:
    df = _tiny()
    df.loc[(df["arm"] == "B") & (df["time"] == "t2"), "y"] = np.nan
    with pytest.raises(ValueError, match=r"no observation in arm x time cell\(s\): "
                                         r"\[\('B', 't2'\)\]"):
        mixed_lm(df, "y", "time", "arm", "id")
