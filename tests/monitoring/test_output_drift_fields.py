"""Output drift watches one prediction field: the prediction log types a prediction only
when it is a single value, so a model with several output fields gets no output drift by
default, and asking for it is refused naming the fields (rather than jobs that fail)."""

from __future__ import annotations

import pytest

from conveyor.monitoring import Monitors, MonitorUsageError

OUTPUTS = [{"name": "label", "type": "string"}, {"name": "score", "type": "float"}]


@pytest.fixture
def two_outputs(quick: Monitors, model_folder):
    quick.registry.upload(
        "scored", model_folder, framework="custom",
        input_schema=[{"name": "tenure", "type": "integer"}], output_schema=OUTPUTS,
    )  # fmt: skip
    return quick


def test_no_output_drift_by_default_with_several_prediction_fields(two_outputs):
    monitor = two_outputs.create("scored-drift", "scored")
    assert monitor.tabular_objective.prediction_output_drift_spec is None
    assert monitor.tabular_objective.feature_drift_spec is not None


def test_asking_for_it_is_refused_naming_the_fields(two_outputs):
    with pytest.raises(MonitorUsageError, match=r"prediction_output_drift_spec: .* 2 prediction "
                       r"fields \(label, score\)"):  # fmt: skip
        two_outputs.create(
            "scored-drift", "scored", tabular_objective={"prediction_output_drift_spec": {}}
        )
