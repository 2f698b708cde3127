"""Pilot assignment: blocked randomisation within strata, balance checks, and the permanent record.

An assignment is the record of a decision. It is drawn once from a seed, written
to ``<data>/pilots/<pilot_id>.csv`` (the only file this project ever creates under
the raw data folder) with a JSON note of how it was drawn, and never re-drawn: a
second assignment of the same pilot is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from insights.data.output_files import write_atomic
from insights.data.raw_files import PILOTS_FOLDER
from insights.errors import ParameterError

ARMS = ("control", "treatment")
#: Columns of an assignment record, in the order ``record`` writes them.
RECORD_COLUMNS = ("pilot_id", "account_id", "arm", "stratum", "assigned_at", "seed")
#: How a retrospective (back-dated, non-randomised) comparison is labelled wherever it shows.
RETROSPECTIVE_LABEL = "RETROSPECTIVE, NON-RANDOMISED comparison (not a pilot)"
_PILOT_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{1,63}$")


class PilotExistsError(ParameterError):
    """The pilot already has an assignment record; it is never re-drawn."""


@dataclass(frozen=True)
class PilotPlan:
    """What a pilot tests and how it is read out (stored next to the assignment).

    Attributes
    ----------
    pilot_id : str
        Lower-case letters, digits, ``_`` and ``-``.
    description : str
        The playbook being piloted.
    assigned_at : str
        Assignment date (ISO).
    window : tuple of str
        First and last day of the renewals that make the pilot's outcome.
    arms : tuple of str
        Arm names (by convention the control first).
    shares : tuple of float
        Share of accounts per arm.
    control : str
        The control arm, one of ``arms`` (default: the first arm); every other arm is a
        treatment compared with it.
    looks : int
        Planned number of looks (interim + final) for group-sequential monitoring.
    alpha : float
        Two-sided significance level.
    min_worthwhile : float
        Smallest change in renewal rate worth shipping (absolute).
    seed : int
        Seed of the draw; draw ``k`` uses ``SeedSequence([seed, k])``.
    stratify_by : str
        Column of the eligible accounts that defines the randomisation strata.
    max_abs_smd : float
        Re-randomisation threshold on the covariates' |SMD| (0 or less: off).
    attempts : int
        Draws made by re-randomisation.
    balance : dict
        Balance table stored by covariate.
    draw : int or None
        Index ``k`` of the draw kept, so that the readout can re-derive the assignment from the
        seed; None when the record was not drawn by ``draw`` (then only its digest is checked).
    assignment_sha256 : str
        SHA-256 of the record's canonical CSV text (``canonical_record``: the file's bytes as
        ``record`` writes it); empty when not recorded.
    retrospective : bool
        Assigned with a start before the data's end: a retrospective, non-randomised comparison.
    """

    pilot_id: str
    description: str
    assigned_at: str
    window: tuple[str, str]
    arms: tuple[str, ...] = ARMS
    shares: tuple[float, ...] = (0.5, 0.5)
    looks: int = 3
    alpha: float = 0.05
    min_worthwhile: float = 0.02
    seed: int = 0
    stratify_by: str = "segment"
    max_abs_smd: float = 0.1
    attempts: int = 1
    balance: dict = field(default_factory=dict)
    control: str = ""
    draw: int | None = None
    assignment_sha256: str = ""
    retrospective: bool = False

    def __post_init__(self) -> None:
        """Default the control to the first arm."""
        if not self.control and self.arms:
            object.__setattr__(self, "control", self.arms[0])

    @property
    def treatments(self) -> tuple[str, ...]:
        """The treatment arms: every arm but the control, in plan order.

        Returns
        -------
        tuple of str
        """
        return tuple(a for a in self.arms if a != self.control)

    def validate(self) -> None:
        """Raise ParameterError for an unusable plan.

        Raises
        ------
        ParameterError
            Listing every problem at once: a malformed pilot id, fewer than two distinct arms, shares
            that are not positive or do not sum to 1, a window that is not ISO dates or ends before it
            starts or before the assignment date, fewer than one look, a smallest worthwhile change
            outside 0-1, a negative (or NaN) balance bound, or a negative seed.
        """
        problems = []
        if not _PILOT_ID.match(self.pilot_id):
            problems.append(f"pilot id {self.pilot_id!r} must be 2-64 lower-case letters, digits, _ or -")
        if len(self.arms) < 2 or len(set(self.arms)) != len(self.arms):
            problems.append("a pilot needs at least two distinct arms")
        if self.control not in self.arms:
            problems.append(f"the control {self.control!r} must be one of the arms {list(self.arms)}")
        if len(self.shares) != len(self.arms) or any(s <= 0 for s in self.shares) or abs(sum(self.shares) - 1) > 1e-9:
            problems.append("shares must be positive, one per arm, summing to 1")
        try:
            lo, hi = (pd.Timestamp(d) for d in self.window)
            if hi < lo or pd.Timestamp(self.assigned_at) > hi:
                problems.append("the window must end after it starts and after the assignment date")
        except (ValueError, TypeError):
            problems.append(f"window {self.window} and assigned_at {self.assigned_at} must be ISO dates")
        if self.looks < 1:
            problems.append("looks must be at least 1")
        if not 0 <= self.min_worthwhile <= 1:  # also refuses NaN
            problems.append(f"min_worthwhile must be a renewal-rate change from 0 to 1, got {self.min_worthwhile}")
        if not self.max_abs_smd >= 0:  # also refuses NaN; 0 turns re-randomisation off
            problems.append(f"max_abs_smd must be at least 0 (0 = off), got {self.max_abs_smd}")
        if self.seed < 0:
            problems.append(f"seed must be at least 0, got {self.seed}")
        if problems:
            raise ParameterError("Pilot plan is invalid: " + "; ".join(problems) + ".")


def _block(arms, shares) -> np.ndarray:
    weights = np.asarray(shares, dtype=float)
    unit = weights / weights.min()
    if not np.allclose(unit, np.round(unit)):
        raise ParameterError(f"shares {shares} need whole-number ratios (such as 1:1 or 1:2) for blocking.")
    return np.repeat(np.arange(len(arms)), np.round(unit).astype(int))


def _draw_codes(groups: list[np.ndarray], n: int, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    codes = np.empty(n, dtype=int)
    for members in groups:
        ids = members[rng.permutation(len(members))]
        n_blocks = -(-len(ids) // len(block))
        codes[ids] = np.concatenate([rng.permutation(block) for _ in range(n_blocks)])[: len(ids)]
    return codes


def blocked_assignment(
    strata: pd.Series, arms=ARMS, shares=(0.5, 0.5), rng: np.random.Generator | None = None
) -> pd.Series:
    """Randomise within each stratum in permuted blocks.

    Each block holds the arms in the proportions of ``shares`` (e.g. one control and one
    treatment for 50/50, one and two for 1:2) in random order, so every stratum is
    balanced up to one incomplete block.

    Parameters
    ----------
    strata : pandas.Series
        Stratum of each account, indexed by account_id.
    rng : numpy.random.Generator
        Source of randomness (seeded by the caller).

    Returns
    -------
    pandas.Series
        Arm per account, indexed by account_id in sorted order.
    """
    rng = rng or np.random.default_rng()
    strata = strata.sort_index()
    values = strata.to_numpy()
    groups = [np.flatnonzero(values == v) for v in sorted(set(values))]
    codes = _draw_codes(groups, len(strata), _block(arms, shares), rng)
    return pd.Series(np.asarray(arms, dtype=object)[codes], index=strata.index, dtype="str")


def _smd_matrix(x: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """SMD of every column of ``x`` (NaN left out per column), treated vs not."""
    t, c = x[treated], x[~treated]
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.sqrt((np.nanvar(t, axis=0, ddof=1) + np.nanvar(c, axis=0, ddof=1)) / 2)
        d = (np.nanmean(t, axis=0) - np.nanmean(c, axis=0)) / pooled
    same = np.isclose(np.nanmean(t, axis=0), np.nanmean(c, axis=0))
    # no variation in either arm: balanced only if the means agree, else completely imbalanced
    return np.where(pooled == 0, np.where(same, 0.0, np.inf), d)


def standardized_differences(covariates: pd.DataFrame, arm: pd.Series, control: str, treatment: str) -> pd.Series:
    """Standardised mean difference per covariate: (mean_t - mean_c) / sqrt((var_t + var_c) / 2).

    Missing values are left out per covariate; a covariate that does not vary gets 0 and
    one with fewer than two values in an arm gets NaN.

    Parameters
    ----------
    covariates : pandas.DataFrame
        One column per covariate, rows aligned with ``arm``.
    arm : pandas.Series
        Arm of each row; rows in other arms than the two compared are left out.
    control, treatment : str
        The two arms compared.

    Returns
    -------
    pandas.Series
        Named ``smd``, indexed by covariate.
    """
    keep = (arm == control) | (arm == treatment)
    x = covariates[keep.to_numpy()].to_numpy(dtype=float)
    treated = (arm[keep] == treatment).to_numpy()
    counts = np.stack([np.sum(~np.isnan(x[treated]), axis=0), np.sum(~np.isnan(x[~treated]), axis=0)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        smd = _smd_matrix(x, treated)
    smd = np.where(counts.min(axis=0) < 2, np.nan, smd)
    return pd.Series(smd, index=covariates.columns, name="smd")


@dataclass
class Assignment:
    """A drawn assignment and its balance.

    Attributes
    ----------
    plan : PilotPlan
        The plan the assignment was drawn for.
    record : pandas.DataFrame
        One row per account: pilot_id, account_id, arm, stratum, assigned_at, seed.
    balance : pandas.DataFrame
        Output of ``balance_table`` (empty without covariates).
    attempts : int
        Draws made by re-randomisation (1 when the first draw was balanced or no check was made).
    """

    plan: PilotPlan
    record: pd.DataFrame  # pilot_id, account_id, arm, stratum, assigned_at, seed
    balance: pd.DataFrame  # covariate x (smd, within-stratum max |smd|)
    attempts: int


def draw(
    plan: PilotPlan, accounts: pd.DataFrame, covariates: pd.DataFrame | None = None, max_attempts: int = 1000
) -> Assignment:
    """Draw a stratified assignment, re-randomising while covariates are out of balance.

    Parameters
    ----------
    plan : PilotPlan
        Pilot id, arms, shares, seed and ``max_abs_smd`` (the balance threshold; 0 or
        less turns re-randomisation off).
    accounts : pandas.DataFrame
        account_id and ``plan.stratify_by`` columns.
    covariates : pandas.DataFrame, optional
        Pre-period metrics indexed by account_id for the balance check.
    max_attempts : int
        Re-randomisation gives up after this many draws and keeps the best one.

    Returns
    -------
    Assignment
        The record (one row per account) and balance table; ``attempts`` says how
        many draws were made. Draw ``k`` uses the random stream ``SeedSequence([seed, k])``,
        so the result is reproducible from the seed; the plan of the result records the kept
        ``k`` as ``draw``.

    Raises
    ------
    ParameterError
        If the plan is invalid, ``accounts`` lacks account_id or the stratification column, an
        account appears twice, or there are fewer than two accounts per arm.
    """
    plan.validate()
    if plan.stratify_by not in accounts.columns or "account_id" not in accounts.columns:
        raise ParameterError(f"accounts need columns account_id and {plan.stratify_by}.")
    if accounts["account_id"].duplicated().any():
        dup = accounts.loc[accounts["account_id"].duplicated(), "account_id"].head(5).tolist()
        raise ParameterError(f"an account can be assigned only once; duplicated: {dup}.")
    if len(accounts) < 2 * len(plan.arms):
        raise ParameterError(f"only {len(accounts)} eligible accounts: too few for a pilot with {len(plan.arms)} arms.")
    strata = accounts.set_index("account_id")[plan.stratify_by].astype(str).sort_index()
    x = covariates.reindex(strata.index).to_numpy(dtype=float) if covariates is not None else None
    control = plan.arms.index(plan.control)
    best: np.ndarray | None = None
    best_score, attempts, kept = np.inf, 0, 0
    for k in range(max(1, max_attempts)):
        attempts = k + 1
        codes = _codes_of_draw(strata, plan, k)
        if x is None or not plan.max_abs_smd > 0:  # no balance check: the first draw stands
            best = codes
            break
        # the worst |SMD| of any treatment arm against the control
        score = 0.0
        for t in range(len(plan.arms)):
            if t == control:
                continue
            pair = (codes == control) | (codes == t)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing covariate in an arm
                smd = _smd_matrix(x[pair], codes[pair] == t)
            score = max(score, float(np.nanmax(np.abs(smd))) if np.isfinite(smd).any() else 0.0)
        if score < best_score:
            best, best_score, kept = codes, score, k
        if score <= plan.max_abs_smd:
            break
    if best is None:  # cannot happen: the first draw always scores below infinity
        raise RuntimeError("re-randomisation kept no draw; report this as a bug.")
    plan = replace(plan, draw=kept)
    arm = pd.Series(np.asarray(plan.arms, dtype=object)[best], index=strata.index, dtype="str")
    record = pd.DataFrame(
        {
            "pilot_id": plan.pilot_id,
            "account_id": arm.index,
            "arm": arm.to_numpy(),
            "stratum": strata.reindex(arm.index).to_numpy(),
            "assigned_at": plan.assigned_at,
            "seed": plan.seed,
        }
    )
    balance = (
        balance_table(record, covariates, plan.control, plan.treatments[0])
        if covariates is not None
        else pd.DataFrame()
    )
    return Assignment(plan=plan, record=record, balance=balance, attempts=attempts)


def _codes_of_draw(strata: pd.Series, plan: PilotPlan, k: int) -> np.ndarray:
    """Arm codes (positions in ``plan.arms``) of draw ``k`` for accounts with these strata (sorted by id)."""
    values = strata.to_numpy()
    groups = [np.flatnonzero(values == v) for v in sorted(set(values))]
    rng = np.random.default_rng(np.random.SeedSequence([plan.seed, k]))
    return _draw_codes(groups, len(strata), _block(plan.arms, plan.shares), rng)


def rederive(plan: PilotPlan, record: pd.DataFrame) -> pd.Series:
    """The arms the plan's seed gives the record's accounts (the draw ``plan.draw`` re-made).

    Parameters
    ----------
    plan : PilotPlan
        The stored plan, with ``seed``, ``arms``, ``shares`` and ``draw``.
    record : pandas.DataFrame
        The assignment record: account_id and stratum.

    Returns
    -------
    pandas.Series
        Arm per account_id (sorted), as ``draw`` made it.

    Raises
    ------
    ParameterError
        If the plan does not record which draw was kept (``draw`` is None), or the shares have
        no whole-number ratio.
    """
    if plan.draw is None:
        raise ParameterError(f"the plan of pilot {plan.pilot_id!r} does not record its draw; it cannot be re-derived.")
    strata = record.set_index("account_id")["stratum"].astype(str).sort_index()
    codes = _codes_of_draw(strata, plan, int(plan.draw))
    return pd.Series(np.asarray(plan.arms, dtype=object)[codes], index=strata.index, name="arm")


def canonical_record(record: pd.DataFrame) -> tuple[str, str]:
    """The canonical CSV text of an assignment record and its SHA-256, the digest a plan stores.

    The text is what ``record`` writes, byte for byte: rows sorted by account_id, columns
    ``RECORD_COLUMNS``, dates as ``YYYY-MM-DD``, newline line ends. It is the same whether the
    record was just drawn or read back from CSV or Parquet, so the digest of a loaded record
    equals the SHA-256 of the file ``pilot assign`` wrote.

    Parameters
    ----------
    record : pandas.DataFrame
        An assignment record with the columns ``RECORD_COLUMNS``.

    Returns
    -------
    (str, str)
        The text and the hex SHA-256 (64 digits) of its UTF-8 bytes.

    Raises
    ------
    ParameterError
        If a column of ``RECORD_COLUMNS`` is missing.
    """
    missing = [c for c in RECORD_COLUMNS if c not in record.columns]
    if missing:
        raise ParameterError(f"an assignment record needs the columns {list(RECORD_COLUMNS)}; missing {missing}.")
    out = record[list(RECORD_COLUMNS)].copy()
    for col in ("pilot_id", "account_id", "arm", "stratum"):
        out[col] = out[col].astype(str)
    out["assigned_at"] = pd.to_datetime(out["assigned_at"]).dt.strftime("%Y-%m-%d")
    out["seed"] = out["seed"].astype("int64")
    text = out.sort_values("account_id", kind="stable").to_csv(index=False, lineterminator="\n")
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def balance_table(
    record: pd.DataFrame, covariates: pd.DataFrame, control: str = ARMS[0], treatment: str = ARMS[1]
) -> pd.DataFrame:
    """Per covariate: arm means, overall SMD and the largest |SMD| within a stratum.

    Parameters
    ----------
    record : pandas.DataFrame
        Assignment record: account_id, arm, stratum.
    covariates : pandas.DataFrame
        Pre-period metrics indexed by account_id.
    control, treatment : str
        The two arms compared.

    Returns
    -------
    pandas.DataFrame
        Indexed by covariate: ``mean_<control>``, ``mean_<treatment>``, smd and
        max_abs_smd_within_strata.
    """
    arm = record.set_index("account_id")["arm"]
    cov = covariates.reindex(arm.index)
    rows = pd.DataFrame(
        {
            f"mean_{control}": cov[arm == control].mean(),
            f"mean_{treatment}": cov[arm == treatment].mean(),
            "smd": standardized_differences(cov, arm, control, treatment),
        }
    )
    within = []
    strata = record.set_index("account_id")["stratum"]
    for _, ids in strata.groupby(strata):
        within.append(standardized_differences(cov.loc[ids.index], arm[ids.index], control, treatment).abs())
    rows["max_abs_smd_within_strata"] = pd.concat(within, axis=1).max(axis=1) if within else np.nan
    rows.index.name = "covariate"
    return rows


def pilot_files(data_dir: Path, pilot_id: str) -> tuple[Path, Path]:
    """Paths of a pilot's assignment record and its plan.

    Parameters
    ----------
    data_dir : pathlib.Path
        The raw data folder.
    pilot_id : str
        The pilot.

    Returns
    -------
    tuple of (pathlib.Path, pathlib.Path)
        ``<data_dir>/pilots/<pilot_id>.csv`` and ``.json``; neither need exist.
    """
    folder = Path(data_dir) / PILOTS_FOLDER
    return folder / f"{pilot_id}.csv", folder / f"{pilot_id}.json"


def existing_pilots(data_dir: Path) -> list[str]:
    """Pilot ids that already have an assignment record.

    Parameters
    ----------
    data_dir : pathlib.Path
        The raw data folder.

    Returns
    -------
    list of str
        Sorted ids of the CSV or Parquet records under ``<data_dir>/pilots/`` (empty if the
        folder does not exist).
    """
    folder = Path(data_dir) / PILOTS_FOLDER
    return sorted({p.stem for p in folder.glob("*") if p.suffix in (".csv", ".parquet")}) if folder.is_dir() else []


def plan_document(plan: PilotPlan, attempts: int, balance: pd.DataFrame) -> str:
    """The JSON stored next to an assignment record: the plan, draws made and balance.

    Parameters
    ----------
    plan : PilotPlan
        The plan.
    attempts : int
        Draws made by re-randomisation.
    balance : pandas.DataFrame
        Output of ``balance_table``, stored by covariate.

    Returns
    -------
    str
        Indented JSON with sorted keys, ending in a newline; a retrospective plan also carries
        ``"label": RETROSPECTIVE_LABEL``.
    """
    doc = asdict(plan) | {
        "attempts": attempts,
        "balance": json.loads(balance.to_json(orient="index")) if not balance.empty else {},
    }
    if plan.retrospective:
        doc["label"] = RETROSPECTIVE_LABEL
    return json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n"


def record(assignment: Assignment, data_dir: Path) -> Path:
    """Write the assignment record (CSV) and its plan (JSON) under ``<data_dir>/pilots/``.

    Parameters
    ----------
    assignment : Assignment
        Output of ``draw``.
    data_dir : pathlib.Path
        The raw data folder; ``pilots/`` is created in it if needed.

    Returns
    -------
    pathlib.Path
        The CSV record written.

    Raises
    ------
    PilotExistsError
        If the pilot already has a record (the existing one is left untouched).
    """
    text, digest = canonical_record(assignment.record)
    plan = replace(assignment.plan, assignment_sha256=digest)
    csv, meta = pilot_files(data_dir, plan.pilot_id)
    if plan.pilot_id in existing_pilots(data_dir) or meta.exists():
        raise PilotExistsError(
            f"pilot {plan.pilot_id!r} is already assigned ({csv}); an assignment is never "
            "re-drawn or overwritten. Read it out, or choose a new pilot id."
        )
    csv.parent.mkdir(parents=True, exist_ok=True)
    try:
        # a data record the loader reads back as it is: no spreadsheet prefixes (the ids are the data's own);
        # the text is the canonical record whose SHA-256 the plan keeps
        write_atomic(csv, text, overwrite=False)
    except FileExistsError:
        raise PilotExistsError(f"pilot {plan.pilot_id!r} was assigned meanwhile ({csv}); nothing written.") from None
    write_atomic(meta, plan_document(plan, assignment.attempts, assignment.balance), overwrite=False)
    return csv


def load_plan(data_dir: Path, pilot_id: str) -> PilotPlan | None:
    """The stored plan of a pilot, or ``None`` when only the assignment record exists.

    Parameters
    ----------
    data_dir : pathlib.Path
        The raw data folder.
    pilot_id : str
        The pilot.

    Returns
    -------
    PilotPlan or None
        The plan read from ``<data_dir>/pilots/<pilot_id>.json``.
    """
    _, meta = pilot_files(data_dir, pilot_id)
    if not meta.exists():
        return None
    doc = json.loads(meta.read_text())
    fields = set(PilotPlan.__dataclass_fields__)
    doc = {k: (tuple(v) if k in ("window", "arms", "shares") else v) for k, v in doc.items() if k in fields}
    return PilotPlan(**doc)


def eligible_accounts(contracts: pd.DataFrame, start, window_end, segments_wanted=None) -> pd.DataFrame:
    """Accounts under contract on ``start`` whose running term ends by ``window_end``.

    Only these can show a renewal outcome inside the pilot window.

    Parameters
    ----------
    contracts : pandas.DataFrame
        The contracts table.
    start, window_end : date-like
        First and last day of the pilot window.
    segments_wanted : sequence of str, optional
        Contract-value tiers to keep; default all.

    Returns
    -------
    pandas.DataFrame
        account_id, contract_id, arr, end_date, segment (contract-value tier on ``start``).

    Raises
    ------
    ParameterError
        If the window does not end after it starts or a wanted segment is not a tier.
    """
    from insights.analyses.segments import rules as segments

    start, window_end = pd.Timestamp(start), pd.Timestamp(window_end)
    if window_end <= start:
        raise ParameterError(f"the pilot window must end after it starts ({start.date()} to {window_end.date()}).")
    running = segments.value_segments(contracts, start)
    out = running[(running["end_date"] >= start) & (running["end_date"] <= window_end)]
    if segments_wanted:
        known = segments.tier_names()
        unknown = set(segments_wanted) - set(known)
        if unknown:
            raise ParameterError(f"unknown segment(s) {sorted(unknown)}; known: {known}.")
        out = out[out["segment"].isin(segments_wanted)]
    return out.reset_index(drop=True)
