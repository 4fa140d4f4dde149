"""The monitoring component: one model monitoring job, as a pass/fail a pipeline branches on.

It reads the prediction log as it is when the task runs, which KFP's cache knows
nothing of: turn caching off (`task.set_caching_options(False)`), or a cached run
answers with an old job.
"""

from typing import NamedTuple

from kfp.dsl import Metrics, Output

from conveyor.components._component import component


@component
def monitor_model(
    monitor: str,
    anomalies: Output[Metrics],
    window: str = "",
    offset: str = "",
    fail_on_anomaly: bool = False,
) -> NamedTuple("Outputs", [("passed", bool), ("job_id", int)]):
    """Run one job of a model monitor now (Vertex AI's ModelMonitoringJob), as
    `conveyor monitors run` does: its alerts are raised and sent. A FAILED job fails the
    task with the job's error.

    Args:
        monitor: The model monitor's name (`conveyor monitors create`).
        anomalies: One scalar per field that is an anomaly, `<objective>:<field>` (for
            example `feature_skew:tenure`) to its distance, and the counts `anomalies`,
            `normal`, `insufficient_data` and `rows_read`.
        window: The target window's length (`1h`, `1d`, `1w`); empty: the monitor's.
        offset: End the window this long before now; empty: the monitor's.
        fail_on_anomaly: Fail the task when a field is an anomaly, for pipelines that
            must stop there.

    Returns:
        passed: The job succeeded and no field is an anomaly; branch on it with
            `dsl.If(task.outputs["passed"] == True)`.
        job_id: The job's id (`conveyor monitors report JOB_ID`).
    """
    from conveyor.components._lib import monitoring

    checked = monitoring.check(monitor, window, offset)
    for name, value in checked.metrics.items():
        anomalies.log_metric(name, value)
    print("\n".join(checked.lines))
    if fail_on_anomaly:
        monitoring.stop_on_anomaly(checked)
    return (checked.passed, checked.job_id)
