"""Two-way mixed (split-plot) ANOVA and its linear-mixed-model alternative.

:func:`mixed_anova` analyses one between-subjects factor (e.g. arm) crossed
with one within-subjects factor (e.g. visit) on complete cases: the full
table (SS, df, MS, F, p, partial eta squared), Mauchly's test of sphericity,
and the Greenhouse–Geisser and Huynh–Feldt corrections. It is computed the
multivariate way (as R's ``car::Anova`` for an ``mlm`` and ``afex::aov_ez``
do, and as SPSS GLM Repeated Measures does): the subjects x levels matrix
``Y`` is regressed on the between-subjects design with sum-to-zero
contrasts, and the sums of squares are Type III (unweighted means), which
equal the classical textbook split-plot sums of squares when group sizes
are equal.

:func:`mixed_lm` fits a linear mixed model with a random intercept per
subject (statsmodels ``MixedLM``, REML) and tests the between x within
interaction with a joint Wald chi-square; it uses every observed value, so
subjects with missing visits stay in.

No clinical words here: ``between`` may be an arm, ``within`` a visit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MixedAnovaResult", "MixedLmResult", "mixed_anova", "mixed_lm"]

TABLE_COLUMNS = ["SS", "df", "MS", "F", "p", "eta2_partial", "p_GG", "p_HF"]
ERROR_BETWEEN = "Error (between subjects)"
ERROR_WITHIN = "Error (within subjects)"


def _cell(table: pd.DataFrame, row: str, col: str) -> float:
    return float(cast(float, table.loc[row, col]))


@dataclass(frozen=True)
class MixedAnovaResult:
    """Result of :func:`mixed_anova`.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``[between, "Error (between subjects)", within,
        "<between>:<within>", "Error (within subjects)"]``; columns ``SS``,
        ``df``, ``MS``, ``F``, ``p`` (uncorrected), ``eta2_partial``
        (SS_effect / (SS_effect + SS_error of its stratum)), ``p_GG`` and
        ``p_HF`` (within-subject effects only; NaN elsewhere).
    sphericity : pandas.DataFrame
        Mauchly's test per within-subject effect (index ``[within,
        "<between>:<within>"]``, identical rows since both effects share one
        error matrix); columns ``W``, ``chi2``, ``df``, ``p``. With two
        within levels sphericity holds trivially: ``W = 1``, ``chi2 = 0``,
        ``df = 0``, ``p`` NaN (as SPSS prints it).
    epsilon_gg : float
        Greenhouse–Geisser epsilon (1 with two within levels).
    epsilon_hf : float
        Huynh–Feldt epsilon in Lecoutre's corrected form (see
        :func:`mixed_anova`), as computed, i.e. it may exceed 1; corrected
        p-values use ``min(1, epsilon_hf)``.
    dropped_subjects : tuple
        Subjects left out because a cell was missing.
    n_subjects : int
        Subjects analysed.
    n_per_group : dict
        Subjects analysed per between level.
    between, within, dv : str
        Column names used.
    between_levels, within_levels : tuple
        Level order used.
    """

    table: pd.DataFrame
    sphericity: pd.DataFrame
    epsilon_gg: float
    epsilon_hf: float
    dropped_subjects: tuple[Any, ...]
    n_subjects: int
    n_per_group: dict[Any, int]
    between: str
    within: str
    dv: str
    between_levels: tuple[Any, ...]
    within_levels: tuple[Any, ...]

    @property
    def interaction(self) -> str:
        """Name of the interaction row, ``"<between>:<within>"``."""
        return f"{self.between}:{self.within}"

    @property
    def interaction_p(self) -> float:
        """Uncorrected p-value of the between x within interaction."""
        return _cell(self.table, self.interaction, "p")

    def _effect_row(self, effect: str) -> str:
        aliases = {"between": self.between, "within": self.within, "interaction": self.interaction}
        name = aliases.get(effect, effect)
        if name not in (self.between, self.within, self.interaction):
            raise KeyError(
                f"unknown effect {effect!r}; use {self.between!r}, {self.within!r}, "
                f"{self.interaction!r} or between/within/interaction"
            )
        return name

    def pvalue(self, effect: str, correction: str | None = None) -> float:
        """P-value of an effect, optionally sphericity-corrected.

        Parameters
        ----------
        effect : str
            ``between``, ``within``, ``interaction`` or the row name.
        correction : {None, "GG", "HF"}
            Greenhouse–Geisser or Huynh–Feldt correction of the degrees of
            freedom; only for within-subject effects (the between effect has
            no sphericity assumption, asking for a correction is an error).

        Returns
        -------
        float
        """
        name = self._effect_row(effect)
        if correction is None:
            return _cell(self.table, name, "p")
        if correction not in ("GG", "HF"):
            raise ValueError(f"correction must be None, 'GG' or 'HF': {correction!r}")
        if name == self.between:
            raise ValueError(
                f"{name!r} is a between-subjects effect: no sphericity correction applies"
            )
        return _cell(self.table, name, f"p_{correction}")


@dataclass(frozen=True)
class MixedLmResult:
    """Result of :func:`mixed_lm`.

    Attributes
    ----------
    method : str
        Description of the model and test.
    interaction_chi2 : float
        Joint Wald chi-square of all between x within interaction
        coefficients.
    interaction_df : int
        Its degrees of freedom, (levels_between - 1) x (levels_within - 1).
    interaction_p : float
        Upper-tail chi-square p-value.
    fe_params : pandas.Series
        Fixed-effect estimates (treatment coding, first level = reference).
    fe_bse : pandas.Series
        Their standard errors.
    random_intercept_var : float
        Variance of the subject random intercept.
    residual_var : float
        Residual variance.
    n_subjects, n_observations : int
        Subjects and observations used (rows with a missing value dropped).
    converged : bool
        Whether the optimiser reported convergence.
    notes : tuple of str
        Warnings and failures of the optimisers tried (BFGS, then L-BFGS,
        Powell, Nelder-Mead until one converges); empty when the first
        converged silently.
    """

    method: str
    interaction_chi2: float
    interaction_df: int
    interaction_p: float
    fe_params: pd.Series
    fe_bse: pd.Series
    random_intercept_var: float
    residual_var: float
    n_subjects: int
    n_observations: int
    converged: bool
    notes: tuple[str, ...] = field(default=())


# ----------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------
def _check_columns(data: pd.DataFrame, cols: dict[str, str], func: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{func}: data must be a pandas DataFrame, got {type(data).__name__}")
    for role, col in cols.items():
        if col not in data.columns:
            raise ValueError(
                f"{func}: {role} column {col!r} not in data columns {list(data.columns)}"
            )
    names = list(cols.values())
    if len(set(names)) != len(names):
        raise ValueError(f"{func}: dv, within, between and subject must be distinct: {cols}")
    for role in ("within", "between", "subject"):
        col = cols[role]
        if data[col].isna().any():
            row = data.index[data[col].isna().to_numpy()][0]
            raise ValueError(f"{func}: {role} column {col!r} is missing at row {row}")


def _levels(series: pd.Series) -> list[Any]:
    present = pd.unique(series)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [c for c in series.cat.categories if c in set(present)]
    try:
        return sorted(present.tolist())
    except TypeError:
        return sorted(present.tolist(), key=str)


def _numeric_dv(data: pd.DataFrame, dv: str, func: str) -> np.ndarray:
    try:
        y = pd.to_numeric(data[dv], errors="raise")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{func}: dv column {dv!r} is not numeric: {exc}") from exc
    arr = y.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(arr).any():
        raise ValueError(f"{func}: dv column {dv!r} has an infinite value")
    return arr


def _subject_groups(data: pd.DataFrame, between: str, subject: str, func: str) -> pd.Series:
    per_subject = data.groupby(subject, sort=False, observed=True)[between].nunique()
    bad = per_subject[per_subject > 1]
    if len(bad):
        raise ValueError(
            f"{func}: subject(s) in more than one {between!r} group: {list(bad.index)[:10]}"
        )
    return data.groupby(subject, sort=False, observed=True)[between].first()


def _orthonormal_contrasts(k: int) -> np.ndarray:
    """k x (k-1) orthonormal basis of the complement of the constant vector."""
    helmert = np.zeros((k, k - 1))
    for j in range(1, k):
        helmert[:j, j - 1] = 1.0
        helmert[j, j - 1] = -float(j)
        helmert[:, j - 1] /= np.sqrt(j * (j + 1))
    return helmert


# ----------------------------------------------------------------------------
# mixed ANOVA
# ----------------------------------------------------------------------------
def mixed_anova(
    data: pd.DataFrame, dv: str, within: str, between: str, subject: str
) -> MixedAnovaResult:
    """Two-way mixed ANOVA: one between- and one within-subjects factor.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per subject x within level.
    dv : str
        Numeric outcome column.
    within : str
        Within-subjects factor column (e.g. time), at least 2 levels.
    between : str
        Between-subjects factor column (e.g. group), at least 2 levels,
        constant within a subject.
    subject : str
        Subject identifier column.

    Returns
    -------
    MixedAnovaResult
        ``table``, ``sphericity``, ``epsilon_gg``, ``epsilon_hf``,
        ``dropped_subjects``, ``n_subjects``, ``interaction_p`` and
        ``pvalue(effect, correction)``.

    Raises
    ------
    ValueError
        Missing columns, a missing factor or subject label, a non-numeric
        outcome, a subject in two groups, a duplicated subject x level row,
        fewer than 2 levels of a factor, a group left without complete
        subjects, or no error degrees of freedom (subjects <= groups).

    Warns
    -----
    UserWarning
        When subjects are dropped for a missing cell (missing outcome, or no
        row for a within level); the message names them.

    Notes
    -----
    *Sums of squares.* Type III with sum-to-zero contrasts for the between
    factor (the default of SPSS GLM and of ``afex``); with equal group sizes
    they equal the classical split-plot partition (Winer; Howell ch. 14).
    With unequal sizes only the within main effect differs from Type I/II.

    *Mauchly's test.* ``W = det(S) / (tr(S)/p)^p`` on the error SSCP of
    ``p = k - 1`` orthonormal within contrasts, ``chi2 = -(f - (2p^2 + p +
    2)/(6p)) ln W`` with ``f = N - g`` error df and ``p(p+1)/2 - 1`` df.
    ``W`` and ``chi2`` equal R's (``car``/``afex``) and SPSS's. The p-value
    adds Anderson's second-order term ``w2 = (p+2)(p-1)(p-2)(2p^3 + 6p^2 +
    3p + 2) / (288 (f p rho)^2)``. R's ``mauchly.test`` (copied by ``car``,
    hence ``afex``) writes ``3k`` instead of ``3p`` in that term, so for
    ``k >= 4`` levels its p-value differs from ours in the 4th decimal;
    for ``k = 3`` (``p = 2``) ``w2 = 0`` and all three (ours, R, SPSS's
    plain chi-square p) coincide.

    *Epsilons.* Greenhouse–Geisser ``tr(S)^2 / (p tr(S^2))``. Huynh–Feldt in
    Lecoutre's (1991) corrected form ``((f + 1) p eps_GG - 2) / (p (f - p
    eps_GG))`` with ``f = N - g``, exactly as ``car``/``afex`` (tested). The
    original Huynh–Feldt (1976) formula has ``N`` where Lecoutre has
    ``f + 1 = N - g + 1``; the two agree when ``g = 1`` and the original
    overestimates epsilon when ``g > 1``. Which form a given SPSS release
    prints was not verified here. The corrected p-values use ``min(1, eps)``
    times both degrees of freedom.

    References
    ----------
    Howell DC. Statistical Methods for Psychology, 7th ed., ch. 14 (mixed
    designs). Mauchly JW. Significance test for sphericity of a normal
    n-variate distribution. Ann Math Stat. 1940;11:204-209.
    Greenhouse SW, Geisser S. On methods in the analysis of profile data.
    Psychometrika. 1959;24:95-112. Huynh H, Feldt LS. Estimation of the Box
    correction for degrees of freedom from sample data in randomized block
    and split-plot designs. J Educ Stat. 1976;1:69-82. Lecoutre B. A
    correction for the epsilon approximate test in repeated measures designs
    with two or more independent groups. J Educ Stat. 1991;16:371-372.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [(s, g, t, y) for s, g, ys in [
    ...     (1, "A", [3, 4, 6]), (2, "A", [2, 4, 5]), (3, "A", [4, 5, 8]),
    ...     (4, "B", [3, 3, 4]), (5, "B", [4, 4, 4]), (6, "B", [2, 3, 5])]
    ...     for t, y in zip(["t0", "t1", "t2"], ys)]
    >>> df = pd.DataFrame(rows, columns=["id", "arm", "time", "y"])
    >>> res = mixed_anova(df, dv="y", within="time", between="arm", subject="id")
    >>> res.table.loc["arm:time", ["df", "F"]].round(3).tolist()
    [2.0, 3.375]
    >>> round(res.interaction_p, 4), round(res.epsilon_gg, 4)
    (0.0865, 0.6957)
    """
    func = "mixed_anova"
    _check_columns(data, {"dv": dv, "within": within, "between": between, "subject": subject}, func)
    y_all = _numeric_dv(data, dv, func)
    frame = pd.DataFrame(
        {
            "s": data[subject].to_numpy(),
            "b": data[between].to_numpy(),
            "w": data[within].to_numpy(),
            "y": y_all,
        }
    )
    dup = frame.duplicated(["s", "w"], keep=False)
    if dup.any():
        pairs = frame.loc[dup, ["s", "w"]].drop_duplicates().head(5).to_numpy().tolist()
        raise ValueError(f"{func}: duplicated {subject!r} x {within!r} rows: {pairs}")
    group_of = _subject_groups(
        frame.rename(columns={"b": between, "s": subject}), between, subject, func
    )
    within_levels = _levels(data[within])
    between_levels = _levels(data[between])
    if len(within_levels) < 2:
        raise ValueError(f"{func}: within factor {within!r} needs >= 2 levels: {within_levels}")
    if len(between_levels) < 2:
        raise ValueError(f"{func}: between factor {between!r} needs >= 2 levels: {between_levels}")

    wide = frame.pivot(index="s", columns="w", values="y").reindex(columns=within_levels)
    incomplete = wide.isna().any(axis=1).to_numpy()
    dropped = tuple(wide.index[incomplete].tolist())
    if dropped:
        warnings.warn(
            f"{func}: {len(dropped)} subject(s) dropped for a missing {dv!r} value or "
            f"{within!r} level: {list(dropped)}",
            UserWarning,
            stacklevel=2,
        )
    wide = wide.loc[~incomplete]
    groups = group_of.reindex(wide.index).to_numpy()
    n_per_group = {lvl: int((groups == lvl).sum()) for lvl in between_levels}
    empty = [lvl for lvl, n in n_per_group.items() if n == 0]
    if empty:
        raise ValueError(f"{func}: {between!r} level(s) without a complete subject: {empty}")

    y = wide.to_numpy(dtype=float)  # subjects x within levels
    n, k = y.shape
    g = len(between_levels)
    f_err = n - g
    if f_err < 1:
        raise ValueError(f"{func}: no error degrees of freedom: {n} subjects in {g} groups")

    # Between design: intercept + sum-to-zero (deviation) contrasts.
    codes = np.array([between_levels.index(v) for v in groups])
    x = np.zeros((n, g))
    x[:, 0] = 1.0
    for lvl in range(g - 1):
        x[codes == lvl, lvl + 1] = 1.0
    x[codes == g - 1, 1:] = -1.0
    xtx_inv = np.linalg.inv(x.T @ x)
    coef = xtx_inv @ x.T @ y  # g x k
    resid = y - x @ coef
    sscp_err = resid.T @ resid  # k x k

    t0 = np.full(k, 1.0 / np.sqrt(k))
    contrasts = _orthonormal_contrasts(k)
    lb = np.zeros((g - 1, g))
    lb[:, 1:] = np.eye(g - 1)
    mid_inv = np.linalg.inv(lb @ xtx_inv @ lb.T)

    # Between-subjects stratum (subject totals / sqrt(k)).
    b0 = coef @ t0
    ss_b = float((lb @ b0) @ mid_inv @ (lb @ b0))
    ss_eb = float(t0 @ sscp_err @ t0)
    # Within-subjects stratum on the orthonormal contrasts.
    bz = coef @ contrasts  # g x p
    ez = contrasts.T @ sscp_err @ contrasts  # p x p
    p = k - 1
    ss_w = float(bz[0] @ bz[0] / xtx_inv[0, 0])
    lbz = lb @ bz
    ss_i = float(np.trace(lbz.T @ mid_inv @ lbz))
    ss_ew = float(np.trace(ez))

    eps_gg, eps_hf, sph = _sphericity(ez, p, f_err)

    inter = f"{between}:{within}"
    rows: dict[str, list[float]] = {}
    nan = float("nan")

    def effect(ss: float, df: float, ss_err: float, df_err: float, corrected: bool) -> list[float]:
        ms, ms_err = ss / df, ss_err / df_err
        f_val = ms / ms_err if ms_err > 0 else nan
        p_val = float(stats.f.sf(f_val, df, df_err)) if ms_err > 0 else nan
        eta = ss / (ss + ss_err) if ss + ss_err > 0 else nan
        p_gg = p_hf = nan
        if corrected and ms_err > 0:
            p_gg = float(stats.f.sf(f_val, df * eps_gg, df_err * eps_gg))
            e_hf = min(1.0, eps_hf) if np.isfinite(eps_hf) else nan
            p_hf = float(stats.f.sf(f_val, df * e_hf, df_err * e_hf)) if np.isfinite(e_hf) else nan
        return [ss, df, ms, f_val, p_val, eta, p_gg, p_hf]

    rows[between] = effect(ss_b, g - 1, ss_eb, f_err, False)
    rows[ERROR_BETWEEN] = [ss_eb, f_err, ss_eb / f_err, nan, nan, nan, nan, nan]
    rows[within] = effect(ss_w, p, ss_ew, f_err * p, True)
    rows[inter] = effect(ss_i, (g - 1) * p, ss_ew, f_err * p, True)
    rows[ERROR_WITHIN] = [ss_ew, f_err * p, ss_ew / (f_err * p), nan, nan, nan, nan, nan]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=TABLE_COLUMNS)
    table["df"] = table["df"].astype(float)
    sphericity = pd.DataFrame([sph, sph], index=[within, inter], columns=["W", "chi2", "df", "p"])

    return MixedAnovaResult(
        table=table,
        sphericity=sphericity,
        epsilon_gg=eps_gg,
        epsilon_hf=eps_hf,
        dropped_subjects=dropped,
        n_subjects=n,
        n_per_group=n_per_group,
        between=between,
        within=within,
        dv=dv,
        between_levels=tuple(between_levels),
        within_levels=tuple(within_levels),
    )


def _sphericity(ez: np.ndarray, p: int, f_err: int) -> tuple[float, float, list[float]]:
    """Greenhouse–Geisser, Huynh–Feldt (Lecoutre) and Mauchly's test."""
    nan = float("nan")
    if p == 1:
        # Two within levels: a single contrast, sphericity holds trivially.
        return 1.0, 1.0, [1.0, 0.0, 0.0, nan]
    tr = float(np.trace(ez))
    if tr <= 0:
        return nan, nan, [nan, nan, float(p * (p + 1) // 2 - 1), nan]
    eps_gg = tr**2 / (p * float(np.trace(ez @ ez)))
    denom = p * (f_err - p * eps_gg)
    eps_hf = ((f_err + 1) * p * eps_gg - 2) / denom if denom > 0 else nan
    df = p * (p + 1) / 2 - 1
    sign, logdet = np.linalg.slogdet(ez)
    if f_err < p or sign <= 0:
        # Singular error matrix (fewer error df than contrasts): W = 0, no test.
        return eps_gg, eps_hf, [0.0, nan, df, nan]
    log_w = logdet - p * np.log(tr / p)
    rho = 1.0 - (2 * p**2 + p + 2) / (6.0 * p * f_err)
    chi2 = -f_err * rho * log_w
    w2 = (
        (p + 2)
        * (p - 1)
        * (p - 2)
        * (2 * p**3 + 6 * p**2 + 3 * p + 2)
        / (288.0 * (f_err * p * rho) ** 2)
    )
    pr1 = stats.chi2.sf(chi2, df)
    pr2 = stats.chi2.sf(chi2, df + 4)
    pval = float(min(1.0, max(0.0, pr1 + w2 * (pr2 - pr1))))
    return float(eps_gg), float(eps_hf), [float(np.exp(log_w)), float(chi2), float(df), pval]


# ----------------------------------------------------------------------------
# linear mixed model
# ----------------------------------------------------------------------------
def mixed_lm(data: pd.DataFrame, dv: str, within: str, between: str, subject: str) -> MixedLmResult:
    """Linear mixed model with a random subject intercept; Wald test of the interaction.

    Fits ``dv ~ between * within + (1 | subject)`` by REML (statsmodels
    ``MixedLM``, treatment coding with the first level of each factor as
    reference) and tests all between x within interaction coefficients
    jointly: ``chi2 = b' C^-1 b`` with ``C`` their block of the model-based
    covariance ``(X' V^-1 X)^-1`` (as ``car::Anova`` on an ``lme4`` fit),
    df = (g - 1)(k - 1). The hypothesis "no interaction" does not depend on
    the coding of the main effects. Rows with a missing outcome are dropped;
    subjects with missing visits stay in (the reason to use it).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per subject x within level.
    dv, within, between, subject : str
        Column names as in :func:`mixed_anova`.

    Returns
    -------
    MixedLmResult

    Raises
    ------
    ValueError
        Missing columns or labels, non-numeric outcome, a subject in two
        groups, duplicated subject x level rows, fewer than two levels, or a
        between x within cell with no observation (the interaction is then
        not estimable).

    References
    ----------
    Laird NM, Ware JH. Random-effects models for longitudinal data.
    Biometrics. 1982;38:963-974.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [(s, g, t, y) for s, g, ys in [
    ...     (1, "A", [3, 4, 6]), (2, "A", [2, 4, None]), (3, "A", [4, 5, 8]),
    ...     (4, "B", [3, 3, 4]), (5, "B", [4, 4, 4]), (6, "B", [2, 3, 5])]
    ...     for t, y in zip(["t0", "t1", "t2"], ys)]
    >>> df = pd.DataFrame(rows, columns=["id", "arm", "time", "y"])
    >>> res = mixed_lm(df, dv="y", within="time", between="arm", subject="id")
    >>> res.interaction_df, res.n_observations, res.n_subjects
    (2, 17, 6)
    >>> round(res.interaction_chi2, 2)
    8.9
    """
    from statsmodels.regression.mixed_linear_model import MixedLM

    func = "mixed_lm"
    _check_columns(data, {"dv": dv, "within": within, "between": between, "subject": subject}, func)
    y_all = _numeric_dv(data, dv, func)
    frame = pd.DataFrame(
        {
            "s": data[subject].to_numpy(),
            "b": data[between].to_numpy(),
            "w": data[within].to_numpy(),
            "y": y_all,
        }
    )
    dup = frame.duplicated(["s", "w"], keep=False)
    if dup.any():
        pairs = frame.loc[dup, ["s", "w"]].drop_duplicates().head(5).to_numpy().tolist()
        raise ValueError(f"{func}: duplicated {subject!r} x {within!r} rows: {pairs}")
    _subject_groups(frame.rename(columns={"b": between, "s": subject}), between, subject, func)
    frame = frame.loc[~np.isnan(frame["y"].to_numpy())].reset_index(drop=True)
    b_levels = _levels(data[between])
    w_levels = _levels(data[within])
    if len(b_levels) < 2 or len(w_levels) < 2:
        raise ValueError(
            f"{func}: both factors need >= 2 levels: {between}={b_levels}, {within}={w_levels}"
        )
    cells = frame.groupby(["b", "w"]).size()
    missing_cells = [(bl, wl) for bl in b_levels for wl in w_levels if (bl, wl) not in cells]
    if missing_cells:
        raise ValueError(f"{func}: no observation in {between} x {within} cell(s): {missing_cells}")

    b_code = frame["b"].map({v: i for i, v in enumerate(b_levels)}).to_numpy()
    w_code = frame["w"].map({v: i for i, v in enumerate(w_levels)}).to_numpy()
    cols: dict[str, np.ndarray] = {"Intercept": np.ones(len(frame))}
    b_dummies = {
        f"{between}[{b_levels[i]}]": (b_code == i).astype(float) for i in range(1, len(b_levels))
    }
    w_dummies = {
        f"{within}[{w_levels[j]}]": (w_code == j).astype(float) for j in range(1, len(w_levels))
    }
    cols.update(b_dummies)
    cols.update(w_dummies)
    inter_names = []
    for bn, bv in b_dummies.items():
        for wn, wv in w_dummies.items():
            name = f"{bn}:{wn}"
            cols[name] = bv * wv
            inter_names.append(name)
    exog = pd.DataFrame(cols)
    groups = frame["s"].astype(str).to_numpy()

    model = MixedLM(frame["y"].to_numpy(dtype=float), exog, groups=groups)
    # Optimisers in turn until one converges: L-BFGS can step into a singular
    # X'V^-1 X on tiny data sets where BFGS, Powell or Nelder-Mead succeed.
    fit = None
    notes_list: list[str] = []
    for optimizer in ("bfgs", "lbfgs", "powell", "nm"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                candidate = model.fit(reml=True, method=optimizer)
            except (np.linalg.LinAlgError, ValueError) as exc:
                notes_list.append(f"{optimizer}: {type(exc).__name__}: {exc}")
                continue
        notes_list.extend(f"{optimizer}: {w.message}" for w in caught)
        fit = candidate
        if candidate.converged:
            break
    if fit is None:
        raise ValueError(f"{func}: no optimiser could fit the model: {notes_list}")
    notes = tuple(dict.fromkeys(notes_list))

    fe = pd.Series(np.asarray(fit.fe_params), index=exog.columns)
    tau2 = float(np.asarray(fit.cov_re)[0, 0])
    sigma2 = float(fit.scale)
    # Model-based covariance of the fixed effects, (X' V^-1 X)^-1 with
    # V_i = sigma2 I + tau2 J, as lme4/nlme/SAS report it. (statsmodels'
    # cov_params() inverts the observed Hessian of all parameters instead,
    # which differs in the 3rd-4th digit for small samples.)
    x_mat = exog.to_numpy()
    codes, uniq = pd.factorize(groups)
    n_i = np.bincount(codes).astype(float)
    col_sums = np.zeros((uniq.size, x_mat.shape[1]))
    np.add.at(col_sums, codes, x_mat)
    shrink = tau2 / (sigma2 + n_i * tau2)
    info = (x_mat.T @ x_mat - (col_sums * shrink[:, None]).T @ col_sums) / sigma2
    cov = pd.DataFrame(np.linalg.inv(info), index=exog.columns, columns=exog.columns)
    bse = pd.Series(np.sqrt(np.diag(cov.to_numpy())), index=exog.columns)
    b_int = fe[inter_names].to_numpy()
    v_int = cov.loc[inter_names, inter_names].to_numpy()
    chi2 = float(b_int @ np.linalg.solve(v_int, b_int))
    df = len(inter_names)
    return MixedLmResult(
        method=(
            "Linear mixed model, random intercept per subject (REML, statsmodels "
            "MixedLM); joint Wald chi-square test of the interaction"
        ),
        interaction_chi2=chi2,
        interaction_df=df,
        interaction_p=float(stats.chi2.sf(chi2, df)),
        fe_params=fe,
        fe_bse=bse,
        random_intercept_var=tau2,
        residual_var=sigma2,
        n_subjects=int(frame["s"].nunique()),
        n_observations=len(frame),
        converged=bool(fit.converged),
        notes=notes,
    )
