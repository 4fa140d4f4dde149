"""Rollouts judged by hand-made server counters: steps, rollback, promotion, pause and
abort, the refusals, leases, and the model's history. (Real servers: test_rollout_server.)"""

from __future__ import annotations

import pytest

from conveyor.automation.errors import AutomationConflict, AutomationUsageError
from conveyor.automation.rollout_records import Criteria, RolloutState, Verdict
from conveyor.automation.rollouts import RolloutNotFound
from conveyor.registry.records import HistoryAction
from conveyor.serving.totals import DeployedTotals

INF = float("inf")
ME = "server-a"


def counts(requests: int, errors: int = 0, slow: int = 0, **shadow: int) -> DeployedTotals:
    """Counters of `requests`, `errors` of them 5xx, `slow` of them over 100 ms."""
    fast = requests - slow
    return DeployedTotals(
        requests=requests,
        errors=errors,
        latency_bounds=(0.01, 0.1, 1.0, INF),
        latency_counts=(fast, fast, requests, requests),
        **shadow,
    )


@pytest.fixture
def rollouts(own_home, churn, endpoints):
    """churn@1 serving all of churn-prod (following `production`); rollouts on it."""
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    return own_home.rollouts


def tick(rollouts, totals, owner=ME):
    """One controller tick of `owner`: lease, then advance with `totals`."""
    [active] = rollouts.active()
    assert rollouts.claim(active.id, owner, 30)
    return rollouts.advance(rollouts.get(active.id), lambda: totals, owner)


def canary(rollouts, **options):
    values = {
        "steps": [10, 50, 100],
        "interval_seconds": 0.001,
        "criteria": Criteria(max_error_rate=0.05, max_p99_ms=200, min_requests=10),
        "failure_limit": 2,
        **options,
    }
    return rollouts.start("churn-prod", "churn@candidate", **values)


def test_a_healthy_canary_moves_step_by_step_then_is_promoted(rollouts, endpoints, registry):
    started = canary(rollouts)
    assert (started.state, started.weight, started.alias) == ("progressing", 10, "production")
    stable, candidate = started.stable_deployed_model_id, started.candidate_deployed_model_id
    assert endpoints.get("churn-prod").traffic_split == {stable: 90, candidate: 10}
    assert tick(rollouts, {}) is None  # opens the first window
    first = tick(rollouts, {candidate: counts(50), stable: counts(400)})
    assert first.verdict is Verdict.PASSED, first.message
    assert first.stable["requests"] == 400
    assert endpoints.get("churn-prod").traffic_split == {stable: 50, candidate: 50}
    assert rollouts.get(started.id).weight == 50
    second = tick(rollouts, {candidate: counts(300), stable: counts(650)})  # counters grow
    assert second.verdict is Verdict.PASSED and second.candidate["requests"] == 250
    assert endpoints.get("churn-prod").traffic_split == {stable: 0, candidate: 100}
    last = tick(rollouts, {candidate: counts(800), stable: counts(650)})  # judged at 100 %
    assert last.verdict is Verdict.PASSED and last.weight == 100
    done = rollouts.get(started.id)
    assert done.state is RolloutState.PROMOTED, done.message
    assert not done.active and done.weight == 100 and len(done.analyses) == 3
    # The stable deployment follows `production`, which moved: it stays, serving churn@2.
    after = endpoints.get("churn-prod")
    assert [d.id for d in after.deployed_models] == [stable]
    assert after.traffic_split == {stable: 100}
    assert after.deployed_model(stable).version_id == 2
    assert registry.get_version("churn", "production").version_id == 2
    actions = [e.action for e in registry.history("churn")]
    assert HistoryAction.ROLLOUT_STARTED in actions and HistoryAction.ROLLOUT_PROMOTED in actions


def test_an_erroring_canary_is_rolled_back_at_the_failure_limit(rollouts, endpoints, registry):
    started = canary(rollouts)
    stable, candidate = started.stable_deployed_model_id, started.candidate_deployed_model_id
    tick(rollouts, {candidate: counts(0)})
    first = tick(rollouts, {candidate: counts(100, errors=30)})
    assert first.verdict is Verdict.FAILED and "error_rate 0.3" in first.message
    middle = rollouts.get(started.id)
    assert (middle.state, middle.failures, middle.weight) == ("progressing", 1, 10)
    tick(rollouts, {candidate: counts(100, errors=30)})  # a new window at the same step
    second = tick(rollouts, {candidate: counts(200, errors=60)})
    assert second.verdict is Verdict.FAILED
    done = rollouts.get(started.id)
    assert done.state is RolloutState.ROLLED_BACK and "rolled back after 2" in done.message
    after = endpoints.get("churn-prod")
    assert [d.id for d in after.deployed_models] == [stable]
    assert after.traffic_split == {stable: 100}
    assert registry.get_version("churn", "production").version_id == 1  # the alias stayed
    rolled = registry.history("churn")[-1]
    assert rolled.action == HistoryAction.ROLLOUT_ROLLED_BACK
    assert rolled.details["rollout"] == started.id and rolled.details["last_analysis"]


def test_a_slow_canary_fails_on_its_p99(rollouts):
    started = canary(rollouts, failure_limit=1)
    candidate = started.candidate_deployed_model_id
    tick(rollouts, {candidate: counts(0)})
    analysis = tick(rollouts, {candidate: counts(100, slow=5)})
    assert analysis.verdict is Verdict.FAILED and "p99_ms" in analysis.message
    assert rollouts.get(started.id).state is RolloutState.ROLLED_BACK


def test_too_few_requests_are_inconclusive_and_the_window_goes_on(rollouts):
    started = canary(rollouts)
    candidate = started.candidate_deployed_model_id
    tick(rollouts, {candidate: counts(0)})
    waiting = tick(rollouts, {candidate: counts(3)})
    assert waiting.verdict is Verdict.INCONCLUSIVE and "3 of the 10" in waiting.message
    assert rollouts.get(started.id).analyses == []
    passed = tick(rollouts, {candidate: counts(12)})  # the same window, now long enough
    assert passed.verdict is Verdict.PASSED


def test_a_restarted_server_counts_its_window_from_zero(rollouts):
    started = canary(rollouts)
    candidate = started.candidate_deployed_model_id
    tick(rollouts, {candidate: counts(500, errors=400)})  # a window opens on bad old counts
    analysis = tick(rollouts, {candidate: counts(40)})  # lower: the counters started again
    assert analysis.verdict is Verdict.PASSED and analysis.candidate["requests"] == 40


def test_one_server_at_a_time_leases_a_rollout_and_a_new_holder_opens_its_window(rollouts):
    started = canary(rollouts)
    candidate = started.candidate_deployed_model_id
    assert rollouts.claim(started.id, "server-a", 30)
    assert not rollouts.claim(started.id, "server-b", 30)
    rollouts.advance(rollouts.get(started.id), lambda: {candidate: counts(0)}, "server-a")
    assert (
        rollouts.advance(rollouts.get(started.id), lambda: {candidate: counts(50)}, "server-b")
        is None
    )
    rollouts.release(started.id, "server-a")
    assert rollouts.claim(started.id, "server-b", 30)
    # Taking the lease closed server-a's window: server-b opens its own first.
    assert (
        rollouts.advance(rollouts.get(started.id), lambda: {candidate: counts(50)}, "server-b")
        is None
    )
    assert rollouts.get(started.id).analyses == []


def test_pause_resume_and_abort(rollouts, endpoints, registry):
    started = canary(rollouts)
    stable, candidate = started.stable_deployed_model_id, started.candidate_deployed_model_id
    tick(rollouts, {candidate: counts(0)})
    paused = rollouts.pause("churn-prod")
    assert paused.state is RolloutState.PAUSED
    assert tick(rollouts, {candidate: counts(100, errors=100)}) is None  # not judged
    with pytest.raises(AutomationConflict, match="is paused, not progressing"):
        rollouts.pause("churn-prod")
    assert rollouts.resume("churn-prod").state is RolloutState.PROGRESSING
    aborted = rollouts.acting_as("erin").abort("churn-prod", reason="EU latency")
    assert aborted.state is RolloutState.ABORTED and aborted.message == "EU latency"
    assert endpoints.get("churn-prod").traffic_split == {stable: 100}
    last = registry.history("churn")[-1]
    assert (last.action, last.actor, last.comment) == (
        HistoryAction.ROLLOUT_ABORTED,
        "erin",
        "EU latency",
    )
    with pytest.raises(RolloutNotFound, match="no rollout in progress"):
        rollouts.abort("churn-prod")


def test_a_shadow_is_judged_on_agreement_and_promoted(rollouts, endpoints, registry):
    started = rollouts.start(
        "churn-prod",
        "churn@2",
        strategy="shadow",
        interval_seconds=0.001,
        criteria=Criteria(min_agreement=0.9, min_requests=10),
    )
    stable, candidate = started.stable_deployed_model_id, started.candidate_deployed_model_id
    assert started.steps == [100] and started.weight == 0
    shadow = endpoints.get("churn-prod").deployed_model(candidate)
    assert shadow.shadow_of == stable and shadow.traffic_percentage == 0
    tick(rollouts, {candidate: counts(0)})
    analysis = tick(rollouts, {candidate: counts(50, agree=95, disagree=5)})
    assert analysis.verdict is Verdict.PASSED and analysis.candidate["agreement"] == 0.95
    assert rollouts.get(started.id).state is RolloutState.PROMOTED
    after = endpoints.get("churn-prod")
    assert after.traffic_split == {stable: 100} and after.deployed_model(candidate) is None
    assert registry.get_version("churn", "production").version_id == 2


def test_a_promoted_candidate_replaces_a_pinned_stable_model(own_home, churn, endpoints):
    endpoints.create("pinned")
    stable = endpoints.deploy("pinned", "churn@1").id
    rollouts = own_home.rollouts
    started = rollouts.start(
        "pinned",
        "churn@2",
        strategy="shadow",
        interval_seconds=0.001,
        criteria=Criteria(min_agreement=0.9, min_requests=10),
    )
    assert started.alias is None  # the stable model follows no alias
    candidate = started.candidate_deployed_model_id
    tick(rollouts, {candidate: counts(0)})
    tick(rollouts, {candidate: counts(50, agree=50)})
    after = endpoints.get("pinned")
    assert after.traffic_split == {candidate: 100} and after.deployed_model(stable) is None
    assert after.deployed_model(candidate).shadow_of is None
    assert own_home.registry.get_version("churn", "production").version_id == 1


def test_a_disagreeing_shadow_is_stopped(rollouts, endpoints):
    started = rollouts.start(
        "churn-prod",
        "churn@2",
        strategy="shadow",
        interval_seconds=0.001,
        failure_limit=1,
        criteria=Criteria(min_agreement=0.9, min_requests=10),
    )
    tick(rollouts, {started.candidate_deployed_model_id: counts(0)})
    tick(rollouts, {started.candidate_deployed_model_id: counts(50, agree=10, disagree=40)})
    assert rollouts.get(started.id).state is RolloutState.ROLLED_BACK
    after = endpoints.get("churn-prod")
    assert [d.id for d in after.deployed_models] == [started.stable_deployed_model_id]


def test_a_candidate_undeployed_by_hand_ends_the_rollout(rollouts, endpoints):
    started = canary(rollouts)
    endpoints.undeploy("churn-prod", started.candidate_deployed_model_id)
    tick(rollouts, {})
    done = rollouts.get(started.id)
    assert done.state is RolloutState.ABORTED and "undeployed by hand" in done.message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"steps": [10, 50]}, "must end at 100"),
        ({"steps": [50, 10, 100]}, "must rise"),
        ({"steps": [0, 100]}, "from 1 to 100"),
        ({"steps": None}, "needs its steps"),
        ({"strategy": "shadow"}, "takes no steps"),
        ({"strategy": "blue-green"}, "not one of: canary, shadow"),
        ({"interval_seconds": 0}, "above 0"),
        ({"failure_limit": 0}, "1 or more"),
        ({"criteria": Criteria(max_error_rate=5)}, "fraction from 0 to 1"),
        ({"criteria": Criteria(min_requests=0)}, "1 or more"),
    ],
)
def test_bad_rollouts_are_refused_before_anything_moves(rollouts, endpoints, options, message):
    before = endpoints.get("churn-prod")
    with pytest.raises(AutomationUsageError, match=message):
        canary(rollouts, **options)
    assert endpoints.get("churn-prod").deployed_models == before.deployed_models
    assert rollouts.list("churn-prod") == []


def test_a_bad_alias_is_refused_at_the_start(rollouts, endpoints):
    from conveyor.registry.errors import InvalidName

    with pytest.raises(InvalidName):
        canary(rollouts, alias="Not An Alias!")
    assert len(endpoints.get("churn-prod").deployed_models) == 1


def test_a_second_rollout_on_an_endpoint_is_refused(rollouts, endpoints):
    first = canary(rollouts)
    with pytest.raises(AutomationConflict, match=f"already has rollout {first.id}"):
        canary(rollouts)
    assert len(endpoints.get("churn-prod").deployed_models) == 2


def test_a_rollout_needs_one_stable_model_and_a_new_version(rollouts, endpoints):
    with pytest.raises(AutomationConflict, match="already serves churn@1"):
        rollouts.start("churn-prod", "churn@1", steps=[100])
    endpoints.deploy("churn-prod", "churn@2", traffic_percentage=20)
    with pytest.raises(AutomationConflict, match="one deployed model taking all"):
        canary(rollouts)
