"""Analysis components: feature statistics, schema inference, data validation (TFX's
StatisticsGen, SchemaGen and ExampleValidator)."""
# ruff: noqa: UP045 (kfp 2.17 reads Optional[...], not X | None, in component signatures)

from typing import NamedTuple, Optional

from kfp.dsl import Artifact, Dataset, Input, Output

from conveyor.components._component import component


@component
def compute_statistics(
    examples: Input[Dataset],
    statistics: Output[Artifact],
    num_histogram_buckets: int = 20,
    num_quantiles: int = 10,
    num_top_values: int = 10,
    max_values: int = 1000,
):
    """Compute per-feature statistics of a Dataset (a JSON statistics artifact).

    Args:
        examples: The data: Parquet or CSV, a file or a folder.
        statistics: Counts, missing values, min/max/mean/std, zeros, quantiles and an
            equal-width histogram for numbers; distinct values, top values and value counts
            for strings and booleans.
        num_histogram_buckets: Buckets of each numeric histogram (also the resolution of drift).
        num_quantiles: Quantile intervals (10 gives deciles: 11 values from min to max).
        num_top_values: Most frequent values listed per string feature.
        max_values: Distinct values counted per string feature (for domains and drift).
    """
    from conveyor.components._lib import files
    from conveyor.components._lib import statistics as stats

    frame = files.read_table(examples.path)
    document = stats.compute(
        frame, num_histogram_buckets, num_quantiles, num_top_values, max_values
    )
    files.write_json(document, statistics.path)
    statistics.metadata.update(
        {"num_examples": document["num_examples"], "num_features": len(document["features"])}
    )


@component
def infer_schema(
    statistics: Input[Artifact],
    schema: Output[Artifact],
    max_domain_size: int = 100,
    infer_numeric_ranges: bool = False,
):
    """Infer a data schema from statistics: types, required features, string domains.

    Args:
        statistics: The statistics of training data (compute_statistics).
        schema: The schema JSON: `{"features": [{"name", "type", "required", "domain"}]}`.
            Curate it and import it back with `dsl.importer` to pin it.
        max_domain_size: A string feature with at most this many distinct values gets a
            domain of those values.
        infer_numeric_ranges: Also record the min/max of numbers as their domain.
    """
    from conveyor.components._lib import files, schemas

    document = schemas.infer(
        files.read_json(statistics.path, "statistics"), max_domain_size, infer_numeric_ranges
    )
    files.write_json(document, schema.path)
    schema.metadata["num_features"] = len(document["features"])


@component
def validate_data(
    statistics: Input[Artifact],
    schema: Input[Artifact],
    anomalies: Output[Artifact],
    baseline_statistics: Input[Artifact] = None,
    numeric_threshold: float = 0.3,
    categorical_threshold: float = 0.3,
    feature_thresholds: Optional[dict] = None,
    max_out_of_domain_fraction: float = 0.0,
    ignore_columns: Optional[list] = None,
    comparison: str = "drift",
    fail_on_anomalies: bool = False,
) -> NamedTuple("Outputs", [("valid", bool), ("anomaly_count", int)]):
    """Check new data's statistics against the schema and against baseline statistics.

    Args:
        statistics: The statistics of the new data.
        schema: The data schema (infer_schema, or a curated one).
        anomalies: Missing and new columns, type changes, missing values, values out of
            domain or range, and skew or drift per feature, with the distances measured.
        baseline_statistics: Statistics to measure skew or drift from (usually training
            data's); without them, no distances are measured.
        numeric_threshold: Largest Jensen-Shannon divergence allowed for a number (0 turns
            the check off; Vertex AI's default is 0.3).
        categorical_threshold: Largest L-infinity distance allowed for a string or boolean.
        feature_thresholds: Per-feature thresholds, overriding the two above.
        max_out_of_domain_fraction: Share of a string feature's values that may fall outside
            its domain.
        ignore_columns: Features not checked at all.
        comparison: What the distance is called in anomalies: drift (between spans) or
            skew (training against serving data).
        fail_on_anomalies: Fail the task when there is any anomaly (the log lists them).

    Returns:
        valid: True when there is no anomaly: branch on it with `dsl.If`.
        anomaly_count: The number of anomalies.
    """
    from conveyor.components._lib import anomalies as check
    from conveyor.components._lib import files
    from conveyor.components._lib.errors import ComponentError

    baseline = None
    if baseline_statistics is not None:
        baseline = files.read_json(baseline_statistics.path, "baseline statistics")
    document = check.validate(
        files.read_json(statistics.path, "statistics"),
        files.read_json(schema.path, "schema"),
        baseline,
        numeric_threshold=numeric_threshold,
        categorical_threshold=categorical_threshold,
        feature_thresholds=feature_thresholds,
        max_out_of_domain_fraction=max_out_of_domain_fraction,
        ignore=ignore_columns or (),
        comparison=comparison,
    )
    files.write_json(document, anomalies.path)
    found = document["anomalies"]
    anomalies.metadata.update({"valid": document["valid"], "anomaly_count": len(found)})
    for anomaly in found:
        print(f"anomaly: {anomaly['feature']}: {anomaly['kind']}: {anomaly['description']}")
    if found and fail_on_anomalies:
        raise ComponentError(
            f"{len(found)} data anomalies (fail_on_anomalies is on): "
            + "; ".join(f"{a['feature']} {a['kind']}" for a in found)
        )
    return (document["valid"], len(found))
