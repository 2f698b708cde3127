"""The CSM worklist's next action from a pilot: which renewing accounts get the piloted play, and why.

A targeting analysis (``insights.analyses.pilots.targeting``) recommends a policy for the play a
pilot tested. ``recommend`` turns it into per-account recommendations for the accounts renewing in
the worklist's window, by three rules:

a. **Heterogeneity found** (the BLP test or the GATES most-minus-least interval rejects at the
   configured level, ``config/targeting.yaml``) and the recommended policy is a top-k% policy: only
   the k% of the eligible accounts with the highest predicted uplift get the play.
b. **No heterogeneity**, but the average effect is positive with its interval above 0 (and the play
   pays for its CSM time, the verdict's average decision "treat everyone"): every eligible account
   gets the play.
c. **Otherwise** (the average effect is not clear, or the play lowers renewal, or the pilot cannot
   be targeted, or ``config/targeting.yaml`` names no play for it): no recommendation; the worklist
   keeps the playbook rules (``insights.analyses.renewals.worklist.next_actions``).

Eligible accounts renew within the window, belong to a segment the pilot included (its evidence says
nothing about the others) and have not asked to cancel (they keep the executive save call). The play
is the one ``config/targeting.yaml`` names for the pilot under ``pilot_plays`` (a play of
``config/playbooks.yaml``). Each recommended account carries the evidence in words: what accounts
like it did in the pilot, with the interval and the heterogeneity test. A predicted uplift only
ranks accounts; it is an estimate for accounts like the one, never stated as a fact about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from insights.analyses.pilots import targeting
from insights.analyses.pilots.readout import latest_pilot
from insights.analyses.playbooks import Play, Playbooks, load_playbooks
from insights.analyses.risk.exposure import WINDOW_DAYS, in_window
from insights.data import paths
from insights.data.config_files import read_mapping
from insights.data.loading import Tables
from insights.display import points
from insights.errors import ConfigError
from insights.stats.policy_value import top_share_policy
from insights.stats.table_checks import require_columns

#: Rule names of ``PilotPlays.rule``.
TARGETED, AVERAGE, NONE = "targeted", "average", "none"
#: Columns of ``PilotPlays.accounts``.
COLUMNS = ("account_id", "arr", "play", "action_source", "policy", "evidence")


@dataclass(frozen=True)
class PilotPlays:
    """The accounts a pilot's recommended policy gives its play, and why (``recommend``).

    Attributes
    ----------
    pilot_id : str or None
        The pilot (None: the data hold none).
    rule : str
        ``"targeted"`` (rule a), ``"average"`` (rule b) or ``"none"`` (rule c).
    reason : str
        Why, as the end of a sentence starting "because" (no final full stop).
    window_days : int
        The worklist's window.
    play : Play or None
        The piloted play (None when no play is named for the pilot).
    policy : str
        The targeting policy the accounts come from ("" under rule c).
    accounts : pandas.DataFrame
        One row per recommended account (none under rule c): ``COLUMNS``, where ``action_source`` is
        ``"pilot <id>"`` and ``evidence`` the sentence a CSM reads.
    """

    pilot_id: str | None
    rule: str
    reason: str
    window_days: int = WINDOW_DAYS
    play: Play | None = None
    policy: str = ""
    accounts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(COLUMNS)))

    def sentence(self) -> str:
        """What the worklist does with the pilot, in one plain sentence (page 08 and the worklist page).

        Returns
        -------
        str
            "The worklist gives <play> to N accounts (ARR $X) because ..." or "The worklist keeps the
            playbook rules because ...".
        """
        from insights.display import money

        if self.accounts.empty or self.play is None:
            return f"The worklist keeps the playbook rules because {self.reason}."
        n = len(self.accounts)
        return (
            f"The worklist (accounts renewing in the next {self.window_days} days) gives the play "
            f"{self.play.name} to {n:,} account{'s' if n != 1 else ''} (ARR {money(self.accounts['arr'].sum())}) "
            f"because {self.reason}."
        )


def play_of_pilot(pilot_id: str, playbooks: Playbooks, path: Path | None = None) -> Play | None:
    """The play a pilot tested, as ``config/targeting.yaml`` names it under ``pilot_plays``.

    Parameters
    ----------
    pilot_id : str
        The pilot.
    playbooks : Playbooks
        ``insights.analyses.playbooks.load_playbooks()``.
    path : pathlib.Path, optional
        Default ``<config>/targeting.yaml``.

    Returns
    -------
    Play or None
        None when the file names no play for the pilot.

    Raises
    ------
    ConfigError
        If ``pilot_plays`` is not a mapping or names a play that ``config/playbooks.yaml`` lacks.
    """
    path = Path(path) if path is not None else paths.config_dir() / "targeting.yaml"
    section = read_mapping(path, required=False, purpose="the playbook-targeting settings").get("pilot_plays") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: 'pilot_plays' must map pilot ids to plays of config/playbooks.yaml.")
    key = section.get(pilot_id)
    if key is None:
        return None
    if str(key) not in playbooks.plays:
        raise ConfigError(
            f"{path}: pilot_plays names play {key!r} for pilot {pilot_id!r}, which config/playbooks.yaml does not "
            f"define; use one of {sorted(playbooks.plays)}."
        )
    return playbooks.plays[str(key)]


def _renewed(share: float) -> str:
    """E.g. 'renewed 12.3 points more often' ('less often' for a negative difference)."""
    return f"renewed {abs(100 * share):.1f} points {'more' if share >= 0 else 'less'} often"


def _test(result: targeting.Targeting) -> str:
    return f"heterogeneity test p = {result.blp.test.p_value:.2g} ({result.blp.test.method})"


def _no_recommendation(result: targeting.Targeting) -> str:
    """Why rule c applies to an analysed pilot, as the end of a "because" sentence."""
    a = result.average
    effect = f"{points(a.estimate)} ({points(a.low)} to {points(a.high)}, {a.method})"
    pilot = f"pilot {result.pilot_id}"
    if result.heterogeneous:
        return f"{pilot} found heterogeneity but recommends {result.policy or 'no policy'}, not a top-k% policy"
    if result.policy == "treat no one":
        return f"{pilot} lowered renewal on average: {effect}"
    if a.low > 0:
        return f"{pilot} raised renewal on average, {effect}, but the plays cost more than the ARR they keep"
    return (
        f"{pilot} shows no heterogeneity (BLP test p = {result.blp.test.p_value:.2g}) and its average effect on "
        f"renewal, {effect}, is not clearly above zero"
    )


def recommend(
    result: targeting.Targeting,
    accounts: pd.DataFrame,
    window_days: int = WINDOW_DAYS,
    playbooks: Playbooks | None = None,
    path: Path | None = None,
) -> PilotPlays:
    """Which accounts renewing in the window get the pilot's play, by rules a, b and c (module docstring).

    Parameters
    ----------
    result : Targeting
        From ``insights.analyses.pilots.targeting.analyse``.
    accounts : pandas.DataFrame
        One row per account under contract on the worklist's date (the snapshot rows, e.g.
        ``insights.analyses.renewals.worklist.score_accounts``): account_id, arr, segment,
        days_to_renewal, cancellation_requested and the ``targeting.COVARIATES`` (missing allowed).
    window_days : int, default ``WINDOW_DAYS``
        The worklist's window: accounts renewing 0 to this many days ahead.
    playbooks : Playbooks, optional
        Default ``load_playbooks()``.
    path : pathlib.Path, optional
        ``config/targeting.yaml`` (its ``pilot_plays``), default the project's.

    Returns
    -------
    PilotPlays
        Under rule a, the top ``result.policy_share`` of the eligible accounts by predicted uplift
        (``targeting.predicted_uplift``; ties by row order), each with the effect of its GATES group in
        the pilot as evidence; under rule b, every eligible account, with the average effect as
        evidence; under rule c, none, with the reason.

    Raises
    ------
    ParameterError
        If a column is missing.
    ConfigError
        As ``play_of_pilot``.
    """
    require_columns(
        accounts,
        ["account_id", "arr", "segment", "days_to_renewal", "cancellation_requested", *targeting.COVARIATES],
        what="the accounts table",
        fix="Pass the snapshot rows of the worklist's date (worklist.score_accounts).",
    )
    playbooks = playbooks or load_playbooks()
    pid = result.pilot_id
    play = play_of_pilot(pid, playbooks, path)
    if play is None:
        reason = (
            f"config/targeting.yaml names no play for pilot {pid} (add 'pilot_plays: {{{pid}: <a play of "
            "config/playbooks.yaml>}')"
        )
        return PilotPlays(pid, NONE, reason, int(window_days))
    if result.heterogeneous and result.policy.startswith("top "):
        rule = TARGETED
    elif not result.heterogeneous and result.policy == "treat everyone":
        rule = AVERAGE
    else:
        return PilotPlays(pid, NONE, _no_recommendation(result), int(window_days), play)
    asked = accounts["cancellation_requested"].astype(float).fillna(0) > 0
    pilot_segments = set(result.frame["segment"].dropna().astype(str))
    eligible = in_window(accounts, window_days) & accounts["segment"].astype(str).isin(pilot_segments) & ~asked
    rows = accounts[eligible]
    if rows.empty:
        reason = (
            f"no account renewing in the next {window_days} days is in pilot {pid}'s segments without a "
            "cancellation request"
        )
        return PilotPlays(pid, rule, reason, int(window_days), play, result.policy)
    source = f"pilot {pid}"
    if rule == TARGETED:
        uplift_hat = targeting.predicted_uplift(result, rows)
        chosen = top_share_policy(uplift_hat, result.policy_share) > 0
        rows = rows[chosen]
        said = {
            int(g): (
                f"In {source}, accounts like this one (group {int(g)} of {result.config.groups} by predicted uplift) "
                f"{_renewed(float(est))} with the play ({points(float(low))} to {points(float(high))}, {method}); "
                f"{_test(result)}."
            )
            for g, est, low, high, method in result.gates[["group", "estimate", "low", "high", "method"]].itertuples(
                index=False
            )
        }
        evidence = [said[int(g)] for g in targeting.uplift_group(result, uplift_hat[chosen])]
        reason = (
            f"{source} found that some accounts respond more than others (BLP test p = "
            f'{result.blp.test.p_value:.2g}) and recommends the policy "{result.policy}": the '
            f"{result.policy_share:.0%} of the renewing accounts in its segments with the highest predicted uplift "
            "(an estimate for accounts like them, not a fact about each) get the play"
        )
    else:
        a = result.average
        line = (
            f"In {source}, accounts of its segments {_renewed(a.estimate)} with the play ({points(a.low)} to "
            f"{points(a.high)}, {a.method}); {_test(result)}: no heterogeneity found, so the average decision applies."
        )
        evidence = [line] * len(rows)
        reason = (
            f"{source} raised renewal on average by {points(a.estimate)} ({points(a.low)} to {points(a.high)}) "
            "with no heterogeneity found and the play pays for its CSM time: every renewing account in its segments "
            "gets it (accounts that asked to cancel keep the executive save call)"
        )
    out = pd.DataFrame(
        {
            "account_id": rows["account_id"].to_numpy(),
            "arr": rows["arr"].to_numpy(dtype=float),
            "play": play.key,
            "action_source": source,
            "policy": f"{result.policy} ({source})",
            "evidence": evidence,
        }
    )
    return PilotPlays(pid, rule, reason, int(window_days), play, result.policy, out)


def for_worklist(
    tables: Tables,
    accounts: pd.DataFrame,
    grace_days: int,
    window_days: int = WINDOW_DAYS,
    pilot_id: str | None = None,
    seed: int = 0,
    level: float = 0.95,
    playbooks: Playbooks | None = None,
) -> PilotPlays:
    """The pilot plays of the worklist: the latest pilot's targeting analysis, then ``recommend``.

    Without a pilot, or when the pilot cannot be targeted (too small, no pre-period covariates:
    ``targeting.refusal``), rule c applies and the worklist is exactly the playbook's.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    accounts : pandas.DataFrame
        As ``recommend``.
    grace_days : int
        Grace period of the churn definition.
    window_days : int, default ``WINDOW_DAYS``
        The worklist's window.
    pilot_id : str, optional
        Default: the most recently assigned pilot.
    seed : int, default 0
        Seed of the targeting analysis (page 08 uses its own ``seed`` parameter; keep them equal).
    level : float, default 0.95
        Confidence level of the analysis.
    playbooks : Playbooks, optional
        Default ``load_playbooks()``.

    Returns
    -------
    PilotPlays

    Raises
    ------
    ParameterError
        If a column of ``accounts`` is missing.
    ConfigError
        As ``recommend``.
    """
    pid = pilot_id or latest_pilot(tables)
    why = targeting.refusal(tables, pid, grace_days)
    if pid is None:
        return PilotPlays(None, NONE, "the data hold no pilot", int(window_days))
    if why is not None:
        return PilotPlays(pid, NONE, f"pilot {pid} cannot be targeted: {why.rstrip('.')}", int(window_days))
    result = targeting.analyse(tables, pid, grace_days, level=level, seed=seed)
    return recommend(result, accounts, window_days, playbooks)
