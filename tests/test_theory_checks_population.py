"""Claims MR1-MR4 (theory_checks.population): they hold on the lab's code and fail on a broken one."""

from unittest import mock

import numpy as np
import pytest

import theory_checks.population as T
from theory_checks import assert_claim
from theory_checks.core import get_claim

DIGEST = (2, 0.4, (3, 5, 8, 12), (4, 6, 10, 16))


@pytest.mark.parametrize("cid,n", [("MR1", 3), ("MR2", 3)])
def test_claims_hold(cid, n):
    assert all(r.tightness <= 1 for r in assert_claim(cid, rng=np.random.default_rng(1), n=n))


def test_mr3_mr4_hold_on_the_digest_game():
    assert T.check_mr3(DIGEST, np.random.default_rng(0)).holds
    assert T.check_mr4(DIGEST, np.random.default_rng(0), n_random=6).holds


def test_mr1_mr2_fail_when_exploitability_is_broken():
    with mock.patch.object(T, "minimax_policy", return_value=(0.5, 0.0)):
        assert not get_claim("MR1").check(DIGEST).holds
    real = T.best_mode_exploitability
    with mock.patch.object(T, "best_mode_exploitability", side_effect=lambda m, ns, **kw: real(m[:1], ns, **kw)):
        assert not get_claim("MR2").check(DIGEST).holds


def test_mr3_mr4_fail_without_training():
    real = T.train_latent_modes
    with mock.patch.object(T, "train_latent_modes", side_effect=lambda *a, **kw: real(*a, **{**kw, "steps": 1})):
        assert not T.check_mr3(DIGEST, np.random.default_rng(0)).holds
    real_adapt = T.adapt_mode
    starts = iter(range(10**6))

    def ignores_the_mode(p0, n, **kw):
        # a broken adapter: for each held-out n the call from the best mode takes no real steps
        return real_adapt(p0, n, **kw, lr=1e-9) if next(starts) % 4 == 0 else real_adapt(p0, n, **kw)

    with mock.patch.object(T, "adapt_mode", side_effect=ignores_the_mode):
        assert not T.check_mr4(DIGEST, np.random.default_rng(0), n_random=3).holds


def test_instances_are_validated():
    with pytest.raises(TypeError, match="capacity, outside"):
        get_claim("MR1").check((2, 0.4))
    with pytest.raises(ValueError, match="outside"):
        get_claim("MR1").check((2, 1.4, (3,), (4,)))
    with pytest.raises(ValueError, match="larger than the capacity"):
        get_claim("MR1").check((2, 0.4, (2,), (4,)))
