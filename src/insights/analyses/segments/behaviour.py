"""Behavioural segments: groups of accounts that use the product alike, found by clustering.

Accounts are clustered at one observation date on behaviour metrics read from the
leakage-safe snapshot (``insights.metrics.snapshots``); nothing here recomputes a metric.

Choices, and why
----------------
Metrics (``METRICS``)
    ``depth`` (events per active user per month), ``breadth`` (share of the product's
    features used) and ``active_share`` (active users / activated seats), all over
    the three complete months before the observation date. They describe *how* an
    account uses the product: how intensively, how widely and how many of its people.
    Utilisation (activated / purchased seats) is left out by default: it measures the
    roll-out of a contract rather than usage behaviour, and it is benchmarked within
    segments instead (``insights.analyses.segments.profiles``). Any snapshot metric can be passed.
Transform (``LOG_METRICS``)
    Right-skewed intensities and counts (depth among them) are taken as ``log1p``;
    shares are left as they are.
Robust standardisation
    Each transformed metric is centred on its median and divided by its IQR / 1.349
    (equal to the standard deviation for normal data), then clipped to
    ``[-CLIP, CLIP]``. Accounts with very few active users have erratic depth and
    active share; the median/IQR scale is not pulled by them and the clip stops a
    handful of extreme accounts from claiming a cluster of their own.
Missing values
    An account without usage in the window (no active users, hence no depth) cannot
    be placed: it gets label -1 and the segment ``UNSEGMENTED``. It is kept in every
    table, never silently dropped.
Models and k
    The headline model is a Gaussian mixture (``method="gmm"``, the default: full
    covariances, 3 starts) with k chosen by the smallest BIC among the admissible k:
    those whose smallest segment holds at least ``min_share`` of the accounts. A single
    group (k = 1, no segments) is always scored too, so data without distinct groups is
    told so instead of being split. k-means (``method="kmeans"``, 10 starts) chooses k
    by the largest silhouette (Euclidean, on the standardised metrics; on a seeded
    sample of at most 3,000 accounts); silhouette favours few segments (on the demo it
    picks 2 of the 4 personas at 50,000 accounts, ARI 0.48, where BIC picks 4, ARI
    0.88; ``bench/eval_segment_recovery.py``, ``docs/segment_recovery.md``), so k-means
    serves as a check at the mixture's k (``fit(..., method="kmeans", k=...)``). Every
    model carries a plain-language ``reason`` for its k. The mixture's covariance floor
    (``GMM_REG_COVAR`` = 0.01 on the standardised scale) stops components collapsing
    onto the exact ties that ratio metrics have (0 features, every seat active); the
    tiny components BIC would still add on ties at large n (under 2% of accounts) are
    what ``min_share`` rules out.
Scale
    The k search scores each candidate on a seeded sample of at most ``SEARCH_SAMPLE``
    accounts (all of them up to that size) and then fits the chosen k on every account;
    the bootstrap of ``stability`` draws resamples of at most ``STABILITY_SAMPLE``
    accounts (an m-out-of-n bootstrap, named in its output when m < n).
Stable labels and names
    Fits are seeded. Clusters are re-ordered by a profile metric (default: overall
    engagement, the mean of the cluster's standardised metric means), so label 0 is
    always the most engaged segment, and named from their standardised means
    (``name_segments``): nothing is tied to a particular dataset.
Observation date
    One date (the report quarter's end), not an average over quarters: the same
    fitted model then applies to any other date, which is what the quarter-over-
    quarter transition matrix needs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from insights.data import paths
from insights.errors import ParameterError

#: Default clustering metrics (snapshot columns).
METRICS = ("depth", "breadth", "active_share")
#: Metrics taken as log1p before standardising (right-skewed intensities and counts).
LOG_METRICS = frozenset(
    {
        "depth",
        "arr",
        "seats",
        "price_per_active_user",
        "support_burden",
        "integrations",
        "admins",
        "data_volume",
        "onboarding_engagement",
    }
)
#: Robust z-scores are clipped to this absolute value.
CLIP = 4.0
#: Covariance floor of the Gaussian mixture (added to the diagonal, standardised scale).
GMM_REG_COVAR = 0.01
#: Segment of accounts that cannot be placed (a clustering metric is missing).
UNSEGMENTED = "not segmented (no recent usage)"
#: Row label of the transition matrix for accounts not under contract at the first date.
NEW = "new (not under contract before)"
#: Column label of the transition matrix for accounts no longer under contract at the second date.
LEFT = "left (no longer under contract)"
METHODS = {"kmeans": "k-means", "gmm": "Gaussian mixture"}
#: Words for high / low standardised means, by metric (others: "high-<metric>" / "low-<metric>").
DESCRIPTORS = {
    "depth": ("deep", "light"),
    "breadth": ("broad", "narrow"),
    "active_share": ("high-activity", "low-activity"),
    "utilisation": ("fully rolled-out", "under-rolled-out"),
}
_SILHOUETTE_SAMPLE = 3000
#: Largest number of accounts the k search fits each candidate on (a seeded sample above it).
SEARCH_SAMPLE = 20_000
#: Largest resample of the stability bootstrap (m-out-of-n above it).
STABILITY_SAMPLE = 5_000


# ----------------------------------------------------------------------------- data


def _one_date(frame: pd.DataFrame) -> pd.DataFrame:
    """The snapshot rows of one observation date, indexed by account_id."""
    if "obs_date" in frame.columns and frame["obs_date"].dropna().unique().size > 1:
        raise ParameterError(
            "behavioural segments take the snapshot of one observation date; filter it first, "
            "e.g. snap[snap['obs_date'] == t]."
        )
    out = frame.set_index("account_id") if "account_id" in frame.columns else frame
    if not out.index.is_unique:
        raise ParameterError("the snapshot holds an account more than once; pass one row per account.")
    return out


def transform(frame: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """The clustering metrics of each account on the modelling scale (``log1p`` for ``LOG_METRICS``).

    Parameters
    ----------
    frame : pandas.DataFrame
        Snapshot rows of one observation date (``account_id`` column or index).
    metrics : sequence of str
        Snapshot columns to use.

    Returns
    -------
    pandas.DataFrame
        Indexed by account_id, one column per metric, NaN where the metric is missing.

    Raises
    ------
    ParameterError
        If a metric is not a column of the snapshot, or a log metric is negative.
    """
    frame = _one_date(frame)
    metrics = list(metrics)
    missing = [m for m in metrics if m not in frame.columns]
    if missing or not metrics:
        raise ParameterError(
            f"behaviour metrics not in the snapshot: {missing or 'none given'}; "
            f"choose from its columns, e.g. {list(METRICS)}."
        )
    out = frame[metrics].astype(float)
    for m in metrics:
        if m in LOG_METRICS:
            if (out[m] < 0).any():
                raise ParameterError(f"metric {m} has negative values; it is log-transformed and must be >= 0.")
            out[m] = np.log1p(out[m])
    return out


def _robust_scale(x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    centre = np.nanmedian(x.to_numpy(), axis=0)
    q75, q25 = np.nanpercentile(x.to_numpy(), [75, 25], axis=0)
    scale = (q75 - q25) / 1.349
    sd = np.nanstd(x.to_numpy(), axis=0)
    scale = np.where(scale > 0, scale, sd)
    flat = [m for m, s in zip(x.columns, scale) if not s > 0]
    if flat:
        raise ParameterError(f"behaviour metrics {flat} are constant across accounts; drop them from `metrics`.")
    return centre, scale


def _robust_z(x: pd.DataFrame, centre: np.ndarray, scale: np.ndarray) -> pd.DataFrame:
    """Robust z-scores of ``x``'s columns with a given centre and scale, clipped to +-``CLIP``."""
    return x.sub(centre, axis="columns").div(scale, axis="columns").clip(-CLIP, CLIP)


# ----------------------------------------------------------------------------- naming


def name_segments(profile: pd.DataFrame, threshold: float = 0.5) -> list[str]:
    """Name segments from their standardised metric means.

    A mean at or above ``threshold`` is *high*, at or below ``-threshold`` *low*.
    The noun comes from the pattern: no low and most metrics high -> "power users";
    no high and most metrics low -> "low-engagement accounts"; deep but narrow ->
    "specialists"; broad but light -> "explorers"; nothing notable -> "typical
    users"; otherwise "users". Adjectives (``DESCRIPTORS``) name the one or two most
    extreme metrics, largest first (one for power users, none for low-engagement
    accounts; breadth then depth for specialists and explorers, as in "narrow deep
    specialists"). Look-alike names get their strongest other metric (", leaning
    deep"); names still alike get a suffix " (1)", " (2)", ...

    Parameters
    ----------
    profile : pandas.DataFrame
        One row per segment, one column per metric: standardised means.
    threshold : float
        Size of a standardised mean that counts as high or low.

    Returns
    -------
    list of str
        One name per row, in row order.
    """
    names = []
    for _, row in profile.iterrows():
        z = row.astype(float)
        high = [str(m) for m, v in z.items() if v >= threshold]
        low = [str(m) for m, v in z.items() if v <= -threshold]
        half = (len(z) + 1) // 2
        defining = None
        if not low and len(high) >= half:
            noun, n_adj = "power users", 1
        elif not high and len(low) >= half:
            noun, n_adj = "low-engagement accounts", 0
        elif "depth" in high and "breadth" in low:
            noun, n_adj, defining = "specialists", 2, ["breadth", "depth"]
        elif "breadth" in high and "depth" in low:
            noun, n_adj, defining = "explorers", 2, ["breadth", "depth"]
        elif not high and not low:
            noun, n_adj = "typical users", 0
        else:
            noun, n_adj = "users", 2
        notable = defining or sorted(high + low, key=lambda m: -abs(z[m]))[:n_adj]
        words = [_word(m, z[m]) for m in notable]
        names.append((" ".join([*words, noun]), z, set(notable)))
    base = [n for n, _, _ in names]
    out = []
    for name, z, used in names:
        if base.count(name) > 1:  # tell look-alikes apart by their strongest other metric
            rest = sorted((m for m in z.index if m not in used), key=lambda m: -abs(z[m]))
            if rest:
                name = f"{name}, leaning {_word(rest[0], z[rest[0]])}"
        out.append(name)
    seen: dict[str, int] = {}
    final = []
    for n in out:
        seen[n] = seen.get(n, 0) + 1
        final.append(n if out.count(n) == 1 else f"{n} ({seen[n]})")
    return final


def _word(metric: str, z: float) -> str:
    high, low = DESCRIPTORS.get(metric, (f"high-{metric}", f"low-{metric}"))
    return high if z > 0 else low


# ----------------------------------------------------------------------------- model


@dataclass
class BehaviourModel:
    """A fitted behavioural segmentation that can place the accounts of any observation date.

    Attributes
    ----------
    method : str
        ``"kmeans"`` or ``"gmm"``.
    k : int
        Number of segments.
    metrics : tuple of str
        Snapshot columns clustered on (transformed as in ``transform``).
    centre, scale : numpy.ndarray
        Robust standardisation fitted at ``obs_date`` (median, IQR / 1.349).
    estimator : sklearn estimator
        The fitted ``KMeans`` or ``GaussianMixture``.
    order : numpy.ndarray
        ``order[raw_cluster]`` is the stable label (0 = first by ``order_by``).
    names : tuple of str
        Segment name of each label.
    profile : pandas.DataFrame
        Per label: segment, accounts, share, ``z_<metric>`` (standardised means) and
        ``median_<metric>`` (on the original scale).
    selection : pandas.DataFrame
        The k search (see ``select_k``).
    seed : int
    obs_date : pandas.Timestamp or None
    n_accounts : int
        Accounts the model was fitted on (with every metric present).
    order_by : str
        Profile metric that orders the labels ("engagement" or a metric).
    min_share : float
        Smallest admissible segment share used in the k search.
    reason : str
        Why this k, in plain language (shown in the report).
    searched : bool
        Whether k was chosen by the search (False when it was given).
    """

    method: str
    k: int
    metrics: tuple
    centre: np.ndarray
    scale: np.ndarray
    estimator: KMeans | GaussianMixture
    order: np.ndarray
    names: tuple
    profile: pd.DataFrame
    selection: pd.DataFrame
    seed: int
    obs_date: pd.Timestamp | None = None
    n_accounts: int = 0
    order_by: str = "engagement"
    min_share: float = 0.0
    reason: str = ""
    searched: bool = True

    @property
    def label(self) -> str:
        """Short description, e.g. ``"Gaussian mixture, k = 4 (BIC)"`` or ``"k-means, k = 4 (given)"``."""
        crit = ("silhouette" if self.method == "kmeans" else "BIC") if self.searched else "given"
        return f"{METHODS[self.method]}, k = {self.k} ({crit})"

    def standardise(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Robust z-scores (clipped) of ``frame``'s accounts with the fitted centre and scale.

        Parameters
        ----------
        frame : pandas.DataFrame
            Snapshot rows with the model's metrics.

        Returns
        -------
        pandas.DataFrame
            One column per metric, clipped to +-``CLIP``; NaN where a metric is missing.
        """
        x = transform(frame, self.metrics)
        return _robust_z(x, self.centre, self.scale)

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Place the accounts of a snapshot (any observation date) into the fitted segments.

        Parameters
        ----------
        frame : pandas.DataFrame
            Snapshot rows of one observation date.

        Returns
        -------
        pandas.DataFrame
            Indexed by account_id: ``behaviour_label`` (int, -1 when a metric is
            missing) and ``behaviour_segment`` (name, or ``UNSEGMENTED``).
        """
        z = self.standardise(frame)
        ok = z.notna().all(axis=1).to_numpy()
        label = np.full(len(z), -1, dtype=int)
        if ok.any():
            label[ok] = self.order[self.estimator.predict(z.to_numpy()[ok])]
        names = np.array([*self.names, UNSEGMENTED], dtype=object)
        return pd.DataFrame({"behaviour_label": label, "behaviour_segment": names[label]}, index=z.index)


def _check(method: str, k_range, min_share: float, smallest: int = 2) -> list[int]:
    if method not in METHODS:
        raise ParameterError(f"method must be one of {list(METHODS)}, got {method!r}.")
    try:
        ks = sorted({int(k) for k in k_range})
    except (TypeError, ValueError):
        raise ParameterError(f"k_range must be whole numbers such as range(2, 9), got {k_range!r}.") from None
    if not ks or ks[0] < smallest:
        raise ParameterError(f"k_range needs at least one k >= {smallest}, got {list(k_range)}.")
    if not 0 <= min_share < 0.5:
        raise ParameterError(f"min_share must be a share of accounts in [0, 0.5), such as 0.05, got {min_share!r}.")
    return ks


def _estimator(method: str, k: int, seed: int) -> KMeans | GaussianMixture:
    if method == "kmeans":
        return KMeans(n_clusters=k, n_init=10, random_state=seed)
    return GaussianMixture(n_components=k, covariance_type="full", n_init=3, reg_covar=GMM_REG_COVAR, random_state=seed)


def _fit_predict(method: str, k: int, z: np.ndarray, seed: int):
    with _one_thread():
        est = _estimator(method, k, seed).fit(z)
    return est, est.predict(z)


def _one_thread():
    """Single-threaded BLAS/OpenMP: these fits are small, and threads oversubscribe a shared machine."""
    return threadpool_limits(limits=1)


def search_sample(n: int, seed: int, size: int | None = SEARCH_SAMPLE) -> np.ndarray | None:
    """Rows the k search fits on: a seeded sample of ``size`` of ``n`` accounts, or None for all of them.

    Parameters
    ----------
    n : int
        Number of accounts.
    seed : int
        Seed of the sample.
    size : int or None
        Largest number of accounts to fit on; None means no limit.

    Returns
    -------
    numpy.ndarray of int or None
        Sorted row positions, or None when ``n <= size`` (every account is used).
    """
    if size is None or n <= size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def select_k(
    z: np.ndarray,
    method: str = "gmm",
    k_range=range(2, 9),
    min_share: float = 0.05,
    seed: int = 7,
    sample: int | None = SEARCH_SAMPLE,
) -> tuple[pd.DataFrame, dict]:
    """Fit every k and pick one: smallest BIC (mixture, with k = 1 as the no-segments reference) or largest silhouette.

    Parameters
    ----------
    z : numpy.ndarray
        Standardised metrics, accounts x metrics, no missing values.
    method : {"gmm", "kmeans"}
        Gaussian mixture, k by BIC; or k-means, k by silhouette.
    k_range : iterable of int
        Candidate numbers of segments (each >= 1; the mixture always also scores k = 1).
    min_share : float
        A k is admissible only if its smallest segment holds at least this share of accounts.
    seed : int
        Seed of the fits and of the search sample.
    sample : int or None
        Fit and score each k on a seeded sample of at most this many accounts
        (``search_sample``); None fits on all of them.

    Returns
    -------
    selection : pandas.DataFrame
        One row per k: k, criterion ("silhouette" / "BIC"), score, smallest_share,
        admissible, chosen, n (accounts scored).
    fits : dict
        k to (estimator, labels of the scored accounts).

    Raises
    ------
    ParameterError
        For a bad method, k range or min_share, too few accounts, or when no k is admissible.
    """
    ks = _check(method, k_range, min_share, smallest=1)
    if method == "gmm" and ks[0] > 1:
        ks = [1, *ks]
    n = len(z)
    if n < 2 * ks[-1] or n < 10:
        raise ParameterError(
            f"{n} accounts with complete behaviour metrics are too few to try up to {ks[-1]} "
            f"segments; lower k_max or use more accounts."
        )
    rows_used = search_sample(n, seed, sample)
    zs = z if rows_used is None else z[rows_used]
    m = len(zs)
    rows, fits = [], {}
    sil_sample = min(m, _SILHOUETTE_SAMPLE)
    for k in ks:
        est, labels = _fit_predict(method, k, zs, seed)
        fits[k] = (est, labels)
        smallest = np.bincount(labels, minlength=k).min() / m
        if method == "kmeans":
            score = (
                silhouette_score(zs, labels, sample_size=sil_sample, random_state=seed)
                if len(np.unique(labels)) > 1
                else np.nan
            )
            crit = "silhouette"
        else:
            score, crit = est.bic(zs), "BIC"
        rows.append(
            {
                "k": k,
                "criterion": crit,
                "score": float(score),
                "smallest_share": float(smallest),
                "admissible": bool(smallest >= min_share and np.isfinite(score)),
            }
        )
    sel = pd.DataFrame(rows)
    ok = sel[sel["admissible"]]
    if ok.empty:
        raise ParameterError(
            f"no k in {ks} gives segments of at least {min_share:.0%} of accounts each; "
            "lower min_share or include smaller k in k_range."
        )
    best = ok["score"].idxmax() if method == "kmeans" else ok["score"].idxmin()
    sel["chosen"] = sel.index == best
    sel["n"] = m
    return sel, fits


def explain_k(selection: pd.DataFrame, method: str, min_share: float, n_accounts: int, searched: bool = True) -> str:
    """Why the chosen k, in plain language: the sentence the report shows beside the segments.

    Parameters
    ----------
    selection : pandas.DataFrame
        The k search of ``select_k`` (columns k, score, smallest_share, admissible, chosen, n).
    method : {"gmm", "kmeans"}
        The model the search was for.
    min_share : float
        The smallest admissible segment share of the search.
    n_accounts : int
        Accounts segmented (the sample of the search may be smaller).
    searched : bool
        False when k was given rather than chosen.

    Returns
    -------
    str
        One to three sentences: the criterion and the k it picked, the better-scoring k that were ruled
        out by ``min_share`` (with the largest of their smallest segments), a note when a single group fits best (the
        data holds fewer segments than asked) or when k is the largest tried, and the search sample.
    """
    chosen = selection[selection["chosen"]].iloc[0]
    k = int(chosen["k"])
    tried = selection.loc[selection["k"] > 1, "k"].astype(int)
    span = f"{tried.min()} to {tried.max()}" if len(tried) > 1 else f"{tried.min()}"
    what = "segment" if k == 1 else "segments"
    if not searched:
        text = f"{k} {what}, as asked (k was given, not chosen)."
        if method == "gmm" and k > 1 and (selection["k"] == 1).any():
            one = float(selection.loc[selection["k"] == 1, "score"].iloc[0])
            if one <= float(chosen["score"]):
                text += " A single group fits better by BIC: the data may not hold that many distinct segments."
        return text
    if method == "gmm" and k == 1:
        return (
            f"1 segment: the accounts do not form distinct behavioural groups. A single group fits "
            f"better by BIC than any split into {span} segments whose every segment holds at least "
            f"{min_share:.0%} of the accounts, so no segments are forced on the data."
        )
    if method == "gmm":
        text = (
            f"{k} segments: of the Gaussian mixtures with 1 to {tried.max()} segments, this one has the lowest "
            f"BIC (fit to the data, penalised for complexity) among those whose every segment holds at least "
            f"{min_share:.0%} of the accounts."
        )
        better = selection[(selection["score"] < chosen["score"]) & ~selection["admissible"]]
    else:
        text = (
            f"{k} segments: of k-means with {span} segments, this one has the largest silhouette "
            f"(accounts closer to their own segment than to the next) among those whose every segment holds "
            f"at least {min_share:.0%} of the accounts. Silhouette tends to favour few segments."
        )
        better = selection[(selection["score"] > chosen["score"]) & ~selection["admissible"]]
    if len(better):
        kb = [int(v) for v in better["k"]]
        ks = (
            f"{kb[0]} to {kb[-1]}"
            if kb == list(range(kb[0], kb[-1] + 1)) and len(kb) > 2
            else " and ".join(map(str, kb))
        )
        text += (
            f" {ks} segments score better, but only by splitting off a group of "
            f"{float(better['smallest_share'].max()):.1%} of the accounts or less."
        )
    if k == int(tried.max()) and len(tried) > 1:
        text += " It is the most segments tried; a larger k_max may fit better."
    m = int(chosen["n"])
    if m < n_accounts:
        text += f" Scores on a seeded sample of {m:,} of the {n_accounts:,} accounts; the chosen k is fitted on all."
    return text


def _order(zmeans: np.ndarray, metrics: tuple, order_by: str) -> np.ndarray:
    if order_by == "engagement":
        key = zmeans.mean(axis=1)
    elif order_by in metrics:
        key = zmeans[:, metrics.index(order_by)]
    else:
        raise ParameterError(f"order_by must be 'engagement' or one of the metrics {list(metrics)}, got {order_by!r}.")
    # descending by key, ties broken by the full profile (deterministic)
    ranks = np.lexsort((*(-zmeans.T[::-1]), -key))
    order = np.empty(len(key), dtype=int)
    order[ranks] = np.arange(len(key))
    return order


def fit(
    frame: pd.DataFrame,
    method: str = "gmm",
    k: int | None = None,
    k_range=range(2, 9),
    min_share: float = 0.05,
    metrics=METRICS,
    seed: int = 7,
    order_by: str = "engagement",
) -> BehaviourModel:
    """Cluster the accounts of one observation date into behavioural segments.

    Parameters
    ----------
    frame : pandas.DataFrame
        Snapshot rows of one observation date (``insights.metrics.snapshots.build`` filtered to
        one ``obs_date``, or ``features_at``).
    method : {"gmm", "kmeans"}
        Gaussian mixture, k by BIC (the default and the headline model: it recovers the demo
        personas at every size tested), or k-means, k by silhouette.
    k : int, optional
        Fix the number of segments instead of searching ``k_range`` (1 allowed).
    k_range : iterable of int
        Candidates for k (default 2 to 8).
    min_share : float
        Smallest admissible segment, as a share of accounts (default 5%).
    metrics : sequence of str
        Snapshot columns to cluster on (default ``METRICS``).
    seed : int
        Seed of every random choice: same data and seed, same segments and labels.
    order_by : str
        ``"engagement"`` (mean standardised mean, default) or a metric: label 0 is the
        segment highest on it.

    Returns
    -------
    BehaviourModel

    Raises
    ------
    ParameterError
        For unknown metrics or methods, a bad k range or share, too few accounts, or
        when no k is admissible.
    """
    frame = _one_date(frame)
    metrics = tuple(metrics)
    x = transform(frame, metrics)
    complete = x.dropna()
    if len(complete) < 10:
        raise ParameterError(
            f"only {len(complete)} accounts have all of {list(metrics)}; behavioural segments "
            "need usage data for at least 10 accounts."
        )
    centre, scale = _robust_scale(complete)
    z = _robust_z(complete, centre, scale).to_numpy()
    if k is not None:
        _check(method, [k], min_share, smallest=1)
        selection, fits = select_k(z, method, [k], 0.0, seed, sample=None)
        selection["admissible"] = selection["smallest_share"] >= min_share
        selection["chosen"] = selection["k"] == k
    else:
        _check(method, k_range, min_share)  # a search tries k >= 2 (the mixture adds k = 1 as its reference)
        selection, fits = select_k(z, method, k_range, min_share, seed, sample=SEARCH_SAMPLE)
    k_best = int(selection.loc[selection["chosen"], "k"].iloc[0])
    est, raw = fits[k_best]
    if int(selection["n"].iloc[0]) < len(z):  # the search ran on a sample: fit the chosen k on every account
        est, raw = _fit_predict(method, k_best, z, seed)
    zmeans = np.vstack(
        [z[raw == c].mean(axis=0) if (raw == c).any() else np.zeros(len(metrics)) for c in range(k_best)]
    )
    order = _order(zmeans, metrics, order_by)
    labels = order[raw]
    zsorted = np.empty_like(zmeans)
    zsorted[order] = zmeans
    zprof = pd.DataFrame(zsorted, columns=list(metrics))
    names = tuple(name_segments(zprof))
    original = frame.loc[complete.index, list(metrics)].astype(float)
    counts = np.bincount(labels, minlength=k_best)
    profile = pd.DataFrame({"segment": names, "accounts": counts, "share": counts / len(labels)})
    profile.index.name = "behaviour_label"
    for i, m in enumerate(metrics):
        profile[f"z_{m}"] = zsorted[:, i]
    med = original.groupby(labels).median()
    for m in metrics:
        profile[f"median_{m}"] = med[m].reindex(range(k_best)).to_numpy()
    obs = frame["obs_date"].iloc[0] if "obs_date" in frame.columns and len(frame) else None
    return BehaviourModel(
        method=method,
        k=k_best,
        metrics=metrics,
        centre=np.asarray(centre),
        scale=np.asarray(scale),
        estimator=est,
        order=order,
        names=names,
        profile=profile,
        selection=selection,
        seed=seed,
        obs_date=obs,
        n_accounts=len(labels),
        order_by=order_by,
        min_share=min_share,
        reason=explain_k(selection, method, min_share, len(labels), searched=k is None),
        searched=k is None,
    )


# ----------------------------------------------------------------------------- stability


@dataclass(frozen=True)
class Stability:
    """Bootstrap stability of a segmentation.

    Attributes
    ----------
    mean, low, high : float
        Mean adjusted Rand index and its percentile interval over the resamples.
    level : float
    n_boot : int
    scores : tuple of float
        ARI of each resample.
    method : str
        What was computed, e.g. "ARI of 100 bootstrap refits vs the full-data segments,
        bootstrap percentile 95% interval".
    """

    mean: float
    low: float
    high: float
    level: float
    n_boot: int
    scores: tuple
    method: str


def stability(
    model: BehaviourModel,
    frame: pd.DataFrame,
    n_boot: int = 100,
    level: float = 0.95,
    seed: int | None = None,
    max_sample: int | None = STABILITY_SAMPLE,
) -> Stability:
    """Bootstrap stability: refit on resampled accounts, compare with the full-data segments.

    Each resample draws the segmented accounts with replacement, refits the whole
    pipeline on it (robust scale, then the same method with the same k) and places
    *all* accounts with the refit; the score is the adjusted Rand index between those
    labels and the full-data labels (1 = identical partition, 0 = chance agreement).
    Above ``max_sample`` accounts each resample draws ``max_sample`` of them (an
    m-out-of-n bootstrap: it measures how much a fit on that many accounts agrees with
    the full-data segments, a conservative reading of the full fit's stability); the
    method string says so.

    Parameters
    ----------
    model : BehaviourModel
        The full-data fit.
    frame : pandas.DataFrame
        The snapshot it was fitted on.
    n_boot : int
        Number of resamples (>= 2).
    level : float
        Level of the percentile interval.
    seed : int, optional
        Seed of the resampling (default: the model's seed).
    max_sample : int or None
        Largest resample (default ``STABILITY_SAMPLE``); None resamples every account (plain bootstrap).

    Returns
    -------
    Stability

    Raises
    ------
    ParameterError
        If n_boot < 2, level is not in (0, 1) or max_sample < 10.
    """
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ParameterError(f"n_boot must be a whole number >= 2, got {n_boot!r}.")
    if not 0 < level < 1:
        raise ParameterError(f"level must be strictly between 0 and 1, got {level!r}.")
    if max_sample is not None and (not isinstance(max_sample, (int, np.integer)) or max_sample < 10):
        raise ParameterError(f"max_sample must be None or a whole number >= 10, got {max_sample!r}.")
    frame = _one_date(frame)
    base = model.assign(frame)
    keep = base["behaviour_label"] >= 0
    ref = base.loc[keep, "behaviour_label"].to_numpy()
    x = transform(frame, model.metrics).loc[keep]
    rng = np.random.default_rng(model.seed if seed is None else seed)
    n = len(x)
    m = n if max_sample is None else min(n, int(max_sample))
    values = x.to_numpy()
    scores = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, m)
        xb = x.iloc[idx]
        centre, scale = _robust_scale(xb)
        zb = np.clip((values[idx] - centre) / scale, -CLIP, CLIP)
        with _one_thread():
            est = _estimator(model.method, model.k, int(rng.integers(0, 2**31 - 1))).fit(zb)
            labels = est.predict(np.clip((values - centre) / scale, -CLIP, CLIP))
        scores.append(adjusted_rand_score(ref, labels))
    s = np.asarray(scores)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(s, [tail, 100 - tail])
    return Stability(
        float(s.mean()),
        float(lo),
        float(hi),
        level,
        int(n_boot),
        tuple(float(v) for v in s),
        f"adjusted Rand index of {n_boot} bootstrap refits"
        + (f" on resamples of {m:,} of the {n:,} accounts (m-out-of-n bootstrap)" if m < n else "")
        + f" vs the full-data segments, bootstrap percentile {100 * level:g}% interval",
    )


# ----------------------------------------------------------------------------- transitions


@dataclass(frozen=True)
class Transitions:
    """Who moved where between two observation dates under one fitted model.

    Attributes
    ----------
    counts : pandas.DataFrame
        Accounts by segment at ``start`` (rows, plus ``NEW``) and at ``end`` (columns,
        plus ``LEFT``); ``UNSEGMENTED`` on both sides.
    shares : pandas.DataFrame
        ``counts`` divided by row totals (each row sums to 1; empty rows are NaN).
    stay_share : float
        Share of accounts segmented at both dates that kept their segment.
    start, end : pandas.Timestamp
    """

    counts: pd.DataFrame
    shares: pd.DataFrame
    stay_share: float
    start: pd.Timestamp | None
    end: pd.Timestamp | None


def transitions(model: BehaviourModel, before: pd.DataFrame, after: pd.DataFrame) -> Transitions:
    """Transition matrix of segments between two observation dates (the same fitted model applied to both).

    Parameters
    ----------
    model : BehaviourModel
    before, after : pandas.DataFrame
        Snapshot rows of the earlier and the later observation date.

    Returns
    -------
    Transitions
        Counts and row shares from the earlier segment to the later one. An account
        under contract only at the later date comes from ``NEW``; one under contract
        only at the earlier date goes to ``LEFT``.
    """
    a = model.assign(before)["behaviour_segment"].rename("from")
    b = model.assign(after)["behaviour_segment"].rename("to")
    both = pd.concat([a, b], axis=1)
    both["from"] = both["from"].fillna(NEW)
    both["to"] = both["to"].fillna(LEFT)
    rows = [*model.names, UNSEGMENTED, NEW]
    cols = [*model.names, UNSEGMENTED, LEFT]
    counts = pd.crosstab(both["from"], both["to"]).reindex(index=rows, columns=cols, fill_value=0).astype(int)
    counts.index.name, counts.columns.name = "segment before", "segment after"
    totals = counts.sum(axis=1)
    shares = counts.div(totals.where(totals > 0), axis=0)
    seg = list(model.names)
    core = counts.loc[seg, seg].to_numpy()
    stay = float(np.trace(core) / core.sum()) if core.sum() else float("nan")

    def _date(f):
        return pd.Timestamp(f["obs_date"].iloc[0]) if "obs_date" in f.columns and len(f) else None

    return Transitions(counts, shares, stay, _date(before), _date(after))


# ----------------------------------------------------------------------------- reference labels


def agreement(segments: pd.Series, reference: pd.Series) -> float:
    """Adjusted Rand index between segments and reference labels, on accounts segmented in both.

    Accounts labelled ``UNSEGMENTED`` (or missing on either side) are left out.

    Parameters
    ----------
    segments, reference : pandas.Series
        Indexed by account_id.

    Returns
    -------
    float
        1 for the same partition, about 0 for chance agreement (``sklearn.metrics.adjusted_rand_score``).

    Raises
    ------
    ParameterError
        If no account is labelled in both series.
    """
    both = pd.concat([segments.rename("a"), reference.rename("b")], axis=1, join="inner").dropna()
    both = both[both["a"] != UNSEGMENTED]
    if both.empty:
        raise ParameterError("no account is labelled in both series; check that they are indexed by account_id.")
    return float(adjusted_rand_score(both["b"], both["a"]))


def demo_personas(data_dir: str | os.PathLike | None = None) -> pd.Series | None:
    """The demo generator's persona of each account, or None when the data is not demo data.

    Parameters
    ----------
    data_dir : path, optional
        Data folder (default: the configured raw folder).

    Returns
    -------
    pandas.Series or None
        Persona indexed by account_id, read from ``ground_truth.json``.
    """
    from insights.data.raw_files import GROUND_TRUTH_FILE

    path = paths.resolve_data_dir(data_dir) / GROUND_TRUTH_FILE
    if not path.exists():
        return None
    acc = json.loads(path.read_text())["accounts"]
    frame = pd.DataFrame(acc["data"], columns=acc["columns"]).set_index("account_id")
    return frame["persona"]
