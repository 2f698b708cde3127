"""Plays and reasons: which play answers which signal, in words a CSM reads (``config/playbooks.yaml``).

One table serves every list and page that names a reason or recommends a play: the CSM worklist
(reasons and next action), the drivers' segment playbooks and the pilot targeting. A factor is an
account signal (a snapshot metric such as ``perceived_value``, or ``segment``); each has a plain
sentence, whether a CSM can act on it, and a play per segment with a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from insights.data import paths
from insights.data.config_files import read_mapping
from insights.errors import ConfigError, ParameterError

FILE = "playbooks.yaml"


@dataclass(frozen=True)
class Play:
    """One play of ``config/playbooks.yaml``.

    Attributes
    ----------
    key : str
        Its key in the file, e.g. ``"value_review"``.
    name : str
        Its name as a CSM reads it, e.g. ``"Value review"``.
    description : str
        One sentence on what the play is.
    lead_time_days : int
        Days before the renewal the play must start; the worklist's due date.
    hours : float
        CSM hours the play takes.
    """

    key: str
    name: str
    description: str
    lead_time_days: int
    hours: float


@dataclass(frozen=True)
class Factor:
    """One factor (account signal) of ``config/playbooks.yaml``.

    Attributes
    ----------
    key : str
        The signal's column name, e.g. ``"perceived_value"``.
    reason : str
        The sentence shown when the signal counts against an account; ``{segment}`` is filled in.
    actionable : bool
        False for signals a CSM cannot change (contract size, tenure, segment): never a reason.
    plays : dict of str to str
        Play key per segment, with ``"default"`` for the others.
    label : str
        The signal's name in plain words, e.g. ``"perceived value"`` (default: the key with spaces).
    """

    key: str
    reason: str
    actionable: bool
    plays: dict[str, str] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Playbooks:
    """The validated plays and factors (``load_playbooks``).

    Attributes
    ----------
    plays : dict of str to Play
        Plays by key.
    factors : dict of str to Factor
        Factors by key.
    """

    plays: dict[str, Play]
    factors: dict[str, Factor]

    def factor(self, key: str) -> Factor:
        """The factor ``key``.

        Parameters
        ----------
        key : str
            A factor of the file, e.g. ``"support_burden"``.

        Returns
        -------
        Factor

        Raises
        ------
        ParameterError
            If the file does not list the factor.
        """
        if key not in self.factors:
            raise ParameterError(f"factor {key!r} is not in config/{FILE}: add it under 'factors:' with a reason.")
        return self.factors[key]

    def label(self, key: str) -> str:
        """The factor's name in plain words (its ``label``), e.g. ``"perceived value"`` for ``perceived_value``.

        A driver block such as ``"depth + breadth"`` gets each part's label.

        Parameters
        ----------
        key : str
            A factor of the file, or factors joined by ``" + "``.

        Returns
        -------
        str

        Raises
        ------
        ParameterError
            If the file does not list the factor.
        """
        return " + ".join(self.factor(part).label for part in key.split(" + "))

    def reason(self, key: str, segment: str | None = None) -> str | None:
        """The sentence for factor ``key``, or None when a CSM cannot act on it.

        Parameters
        ----------
        key : str
            A factor of the file.
        segment : str, optional
            The account's segment, filled into ``{segment}``.

        Returns
        -------
        str or None
        """
        f = self.factor(key)
        if not f.actionable:
            return None
        return f.reason.replace("{segment}", segment or "comparable")

    def play_for(self, key: str, segment: str | None = None) -> Play | None:
        """The play that answers factor ``key`` in ``segment`` (its own entry, else the default).

        Parameters
        ----------
        key : str
            A factor of the file.
        segment : str, optional
            The segment; None takes the default play.

        Returns
        -------
        Play or None
            None when the factor names no play.
        """
        plays = self.factor(key).plays
        chosen = plays.get(segment) if segment is not None else None
        chosen = chosen or plays.get("default")
        return self.plays[chosen] if chosen else None


def _play(key: str, spec) -> Play:
    if not isinstance(spec, dict):
        raise ConfigError(f"config/{FILE}: play {key!r} must be a mapping with name, lead_time_days and hours.")
    missing = [k for k in ("name", "lead_time_days", "hours") if k not in spec]
    if missing:
        raise ConfigError(f"config/{FILE}: play {key!r} lacks {missing}.")
    try:
        lead, hours = int(spec["lead_time_days"]), float(spec["hours"])
    except (TypeError, ValueError):
        raise ConfigError(f"config/{FILE}: play {key!r} needs numeric lead_time_days and hours.") from None
    if lead < 0 or hours < 0:
        raise ConfigError(f"config/{FILE}: play {key!r} needs lead_time_days >= 0 and hours >= 0.")
    return Play(key, str(spec["name"]), str(spec.get("description", "")), lead, hours)


def _factor(key: str, spec, plays: dict[str, Play]) -> Factor:
    if not isinstance(spec, dict) or not isinstance(spec.get("reason"), str):
        raise ConfigError(f"config/{FILE}: factor {key!r} must be a mapping with a 'reason' sentence.")
    by_segment = spec.get("play") or {}
    if not isinstance(by_segment, dict):
        raise ConfigError(f"config/{FILE}: factor {key!r}: 'play' must map segments (and 'default') to plays.")
    unknown = sorted({str(v) for v in by_segment.values()} - set(plays))
    if unknown:
        raise ConfigError(f"config/{FILE}: factor {key!r} names unknown plays {unknown}; define them under 'plays:'.")
    actionable = spec.get("actionable", True)
    if not isinstance(actionable, bool):
        raise ConfigError(f"config/{FILE}: factor {key!r}: 'actionable' must be true or false.")
    label = spec.get("label", key.replace("_", " "))
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"config/{FILE}: factor {key!r}: 'label' must be a non-empty name in plain words.")
    return Factor(key, spec["reason"], actionable, {str(s): str(p) for s, p in by_segment.items()}, label.strip())


def load_playbooks(path: Path | None = None) -> Playbooks:
    """Read and validate ``config/playbooks.yaml``.

    Parameters
    ----------
    path : pathlib.Path, optional
        Default ``insights.data.paths.config_dir() / "playbooks.yaml"``.

    Returns
    -------
    Playbooks

    Raises
    ------
    ConfigError
        If the file is missing or malformed: a play without name, lead time or hours, a factor
        without a reason or with an empty label, or a factor naming a play that is not defined.
    """
    path = Path(path) if path is not None else paths.config_dir() / FILE
    doc = read_mapping(path, required=True, purpose="the plays and the reasons they answer")
    raw_plays, raw_factors = doc.get("plays"), doc.get("factors")
    if not isinstance(raw_plays, dict) or not raw_plays:
        raise ConfigError(f"{path}: 'plays:' must map play keys to their name, lead_time_days and hours.")
    if not isinstance(raw_factors, dict) or not raw_factors:
        raise ConfigError(f"{path}: 'factors:' must map signal names to a reason and a play.")
    plays = {str(k): _play(str(k), v) for k, v in raw_plays.items()}
    factors = {str(k): _factor(str(k), v, plays) for k, v in raw_factors.items()}
    return Playbooks(plays, factors)
