"""Traffic splits: Vertex AI's rescaling on deploy and undeploy, checks, and the router."""

from collections import Counter

import pytest

from conveyor.serving.errors import InvalidTraffic
from conveyor.serving.traffic import Router, allocate, check_split, unallocate


def test_the_first_model_takes_everything():
    assert allocate({}, "1", 100) == {"1": 100}
    with pytest.raises(InvalidTraffic, match="must take 100%, not 40%"):
        allocate({}, "1", 40)


def test_deploying_scales_the_others_down_in_proportion():
    assert allocate({"1": 100}, "2", 10) == {"1": 90, "2": 10}
    assert allocate({"1": 50, "2": 50}, "3", 20) == {"1": 40, "2": 40, "3": 20}
    assert allocate({"1": 100}, "2", 0) == {"1": 100, "2": 0}


def test_rounding_leftovers_go_to_the_models_that_had_traffic_so_the_total_is_100():
    split = allocate({"1": 33, "2": 33, "3": 34, "4": 0}, "5", 10)
    assert sum(split.values()) == 100
    assert split["4"] == 0 and split["5"] == 10
    assert split == {"1": 30, "2": 30, "3": 30, "4": 0, "5": 10}


def test_undeploying_scales_the_others_up():
    assert unallocate({"1": 90, "2": 10}, "2") == {"1": 100}
    assert unallocate({"1": 40, "2": 40, "3": 20}, "3") == {"1": 50, "2": 50}
    assert unallocate({"1": 100, "2": 0}, "2") == {"1": 100}
    assert unallocate({"1": 100}, "1") == {}
    split = unallocate({"1": 33, "2": 33, "3": 34}, "3")
    assert split == {"1": 50, "2": 50}


def test_undeploying_the_model_with_all_the_traffic_needs_a_split():
    with pytest.raises(InvalidTraffic, match="takes all the traffic; give the traffic split"):
        unallocate({"1": 100, "2": 0}, "1")


def test_a_split_must_add_up_to_100_over_known_models():
    assert check_split({"1": 70, "2": 30}, ["1", "2"]) == {"1": 70, "2": 30}
    assert check_split({"1": 100}, ["1", "2"]) == {"1": 100, "2": 0}
    with pytest.raises(InvalidTraffic, match=r"must add up to 100, not 90 \(1=60, 2=30\)"):
        check_split({"1": 60, "2": 30}, ["1", "2"])
    with pytest.raises(
        InvalidTraffic, match="names deployed model '9', which is not on the endpoint"
    ):
        check_split({"9": 100}, ["1"])
    with pytest.raises(InvalidTraffic, match="whole number from 0 to 100"):
        check_split({"1": 101}, ["1"])
    with pytest.raises(InvalidTraffic, match="whole number from 0 to 100"):
        check_split({"1": 50.5, "2": 49.5}, ["1", "2"])


def test_the_router_splits_every_100_requests_exactly_and_interleaved():
    router = Router({"1": 70, "2": 30, "3": 0})
    picks = [router.pick() for _ in range(1000)]
    for start in range(0, 1000, 100):
        assert Counter(picks[start : start + 100]) == {"1": 70, "2": 30}
    longest = max(len(run) for run in "".join(picks).split("2"))
    assert longest <= 3  # no long bursts to one model


def test_an_empty_router_is_false():
    assert not Router({"1": 0})
    assert Router({"1": 100}).pick() == "1"
