"""Latent retention drivers of each demo account, month by month.

Each driver is a stable account trait plus an AR(1) drift, correlated across
drivers (``DRIVER_CORRELATION``); personas shift depth and breadth. Every driver
is scaled to mean 0 and standard deviation 1 over the population, so the true
effects in ``spec.SEGMENT_EFFECTS`` are per standard deviation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.demo.spec import DRIFT_RHO, DRIVER_CORRELATION, DRIVERS, PERSONAS, TRAIT_SHARE, DemoSpec


def persona_shift(persona: np.ndarray) -> np.ndarray:
    """Mean shift of each account's drivers from its persona.

    Parameters
    ----------
    persona : numpy.ndarray
        Persona name per account (``PERSONAS``).

    Returns
    -------
    numpy.ndarray
        Shape (n, 5) in the order of ``DRIVERS``; only depth and breadth are shifted.
    """
    shift = np.zeros((len(persona), len(DRIVERS)))
    d, b = DRIVERS.index("depth"), DRIVERS.index("breadth")
    for name, (dd, bb) in PERSONAS.items():
        rows = persona == name
        shift[rows, d] = dd
        shift[rows, b] = bb
    return shift


def simulate_drivers(spec: DemoSpec, accounts: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Draw the latent drivers.

    Each account has a persistent trait plus an AR(1) drift, correlated across drivers
    (``DRIVER_CORRELATION``), shifted by its persona.

    Parameters
    ----------
    spec : DemoSpec
        Size and calendar of the dataset.
    accounts : pandas.DataFrame
        From ``make_accounts`` (its ``persona`` column is used).
    rng : numpy.random.Generator
        The drivers' random stream.

    Returns
    -------
    numpy.ndarray
        Shape (n_accounts, n_months, 5), in the order of ``DRIVERS``; mean 0 and
        standard deviation 1 per driver over the population.
    """
    n, months, k = len(accounts), spec.n_months, len(DRIVERS)
    chol = np.linalg.cholesky(DRIVER_CORRELATION)
    trait = rng.standard_normal((n, k)) @ chol.T * np.sqrt(TRAIT_SHARE)
    drift_sd = np.sqrt(1 - TRAIT_SHARE)
    innov_sd = drift_sd * np.sqrt(1 - DRIFT_RHO**2)
    x = np.empty((n, months, k))
    drift = rng.standard_normal((n, k)) @ chol.T * drift_sd
    for m in range(months):
        if m:
            drift = DRIFT_RHO * drift + (rng.standard_normal((n, k)) @ chol.T) * innov_sd
        x[:, m, :] = trait + drift
    shift = persona_shift(accounts["persona"].to_numpy())
    # standardise analytically: shifted drivers have variance 1 + var(shift)
    mean = np.array([np.mean(shift[:, j]) for j in range(k)])
    sd = np.sqrt(1 + np.array([np.var(shift[:, j]) for j in range(k)]))
    return (x + shift[:, None, :] - mean) / sd
