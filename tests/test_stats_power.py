"""Power of the gate's paired regression check, against statsmodels and by hand; and Holm's adjustment."""

from __future__ import annotations

import math

import numpy as np
import pytest

from judgekit.stats import detectable_drop, holm, power_of, questions_needed
from tests import lazy

statsmodels_power = lazy.module("statsmodels.stats.power")
multitest = lazy.module("statsmodels.stats.multitest")

GRID = [(10, 0.3, 0.05), (30, 0.15, 0.05), (100, 0.2, 0.01), (400, 0.25, 0.1), (2000, 0.1, 0.05)]


@pytest.mark.parametrize(("n", "sd", "alpha"), GRID)
def test_detectable_drop_matches_statsmodels(n: int, sd: float, alpha: float) -> None:
    t_effect = statsmodels_power.TTestPower().solve_power(
        effect_size=None, nobs=n, alpha=alpha, power=0.8, alternative="larger"
    )
    z_effect = statsmodels_power.NormalIndPower().solve_power(
        effect_size=None, nobs1=n, alpha=alpha, power=0.8, ratio=0, alternative="larger"
    )
    t_drop = detectable_drop(n, sd, alpha)
    z_drop = detectable_drop(n, sd, alpha, method="normal")
    # statsmodels' solve_power stops at about 1e-6 relative; its power function at our answer is 0.8 to 1e-9
    assert t_drop == pytest.approx(float(t_effect) * sd, rel=1e-5)
    assert z_drop == pytest.approx(float(z_effect) * sd, rel=1e-5)
    assert statsmodels_power.TTestPower().power(
        effect_size=t_drop / sd, nobs=n, alpha=alpha, alternative="larger"
    ) == pytest.approx(0.8, abs=1e-9)
    assert statsmodels_power.NormalIndPower().power(
        effect_size=z_drop / sd, nobs1=n, alpha=alpha, ratio=0, alternative="larger"
    ) == pytest.approx(0.8, abs=1e-9)


@pytest.mark.parametrize(("n", "sd", "alpha"), GRID)
def test_power_matches_statsmodels(n: int, sd: float, alpha: float) -> None:
    drop = 0.03
    expected_t = statsmodels_power.TTestPower().power(
        effect_size=drop / sd, nobs=n, alpha=alpha, alternative="larger"
    )
    expected_z = statsmodels_power.NormalIndPower().power(
        effect_size=drop / sd, nobs1=n, alpha=alpha, ratio=0, alternative="larger"
    )
    assert power_of(drop, n, sd, alpha) == pytest.approx(float(expected_t), abs=1e-9)
    assert power_of(drop, n, sd, alpha, method="normal") == pytest.approx(float(expected_z), abs=1e-9)


@pytest.mark.parametrize(
    ("drop", "sd", "alpha"), [(0.05, 0.2, 0.05), (0.02, 0.25, 0.05), (0.1, 0.3, 0.01), (0.3, 0.2, 0.05)]
)
@pytest.mark.parametrize("method", ["t", "normal"])
def test_questions_needed_is_the_smallest_n_with_enough_power(
    drop: float, sd: float, alpha: float, method: str
) -> None:
    n = questions_needed(drop, sd, alpha, method=method)  # type: ignore[arg-type]
    if method == "t":
        solved = statsmodels_power.TTestPower().solve_power(
            effect_size=drop / sd, nobs=None, alpha=alpha, power=0.8, alternative="larger"
        )

        def power(k: int) -> float:
            return float(
                statsmodels_power.TTestPower().power(
                    effect_size=drop / sd, nobs=k, alpha=alpha, alternative="larger"
                )
            )
    else:
        solved = statsmodels_power.NormalIndPower().solve_power(
            effect_size=drop / sd, nobs1=None, alpha=alpha, power=0.8, ratio=0, alternative="larger"
        )

        def power(k: int) -> float:
            return float(
                statsmodels_power.NormalIndPower().power(
                    effect_size=drop / sd, nobs1=k, alpha=alpha, ratio=0, alternative="larger"
                )
            )

    assert n == math.ceil(float(np.asarray(solved).ravel()[0]) - 1e-9)
    assert power(n) >= 0.8
    if n > 2:
        assert power(n - 1) < 0.8


def test_hand_checked_normal_figures() -> None:
    # z_0.95 = 1.6448536, z_0.80 = 0.8416212: drop = 2.4864748 * sd / sqrt(n)
    assert detectable_drop(100, 0.2, method="normal") == pytest.approx(2.4864748 * 0.02, rel=1e-7)
    # to detect 0.05 with sd 0.2: n = ceil((2.4864748 * 0.2 / 0.05) ** 2) = ceil(98.92) = 99
    assert questions_needed(0.05, 0.2, method="normal") == 99
    # the t-test needs a little more than the normal approximation
    assert questions_needed(0.05, 0.2) > 99
    assert detectable_drop(100, 0.2) > detectable_drop(100, 0.2, method="normal")


def test_degenerate_and_bad_input() -> None:
    assert detectable_drop(50, 0.0) == 0.0
    assert questions_needed(0.1, 0.0) == 2
    with pytest.raises(ValueError, match="at least 2"):
        detectable_drop(1, 0.2)
    with pytest.raises(ValueError, match="positive"):
        questions_needed(0.0, 0.2)
    with pytest.raises(ValueError, match="alpha"):
        detectable_drop(50, 0.2, alpha=1.5)
    with pytest.raises(ValueError, match="unknown method"):
        detectable_drop(50, 0.2, method="z")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------
# Holm
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 0.05, 6), rng.uniform(0, 1, 14), [0.01, 0.01, 1.0]])
    rng.shuffle(p)
    expected = multitest.multipletests(p, method="holm")[1]
    np.testing.assert_allclose(holm(p), expected, rtol=0, atol=1e-12)


def test_holm_hand_example_and_missing_tests() -> None:
    # sorted 0.01, 0.02, 0.04 x (3, 2, 1) = 0.03, 0.04, 0.04 (monotone), given in another order
    np.testing.assert_allclose(holm([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])
    out = holm([0.04, np.nan, 0.01])  # the NaN is no test: m = 2
    np.testing.assert_allclose(out[[0, 2]], [0.04, 0.02])
    assert np.isnan(out[1])
    with pytest.raises(ValueError):
        holm([0.5, 1.5])
