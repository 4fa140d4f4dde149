"""Every component in one pipeline: compiled by kfp's compiler to YAML that Conveyor loads,
validates and runs; the image and packages the components declare for elsewhere."""

import os
import re
import subprocess
import sys
import textwrap

import yaml
from component_runs import run_ok
from kfp import compiler, dsl

import conveyor.components as components
from conveyor.components import (
    compute_statistics,
    evaluate_model,
    extract_files,
    extract_sql,
    fit_transform,
    infer_schema,
    split_data,
    train_model,
    tune_model,
    validate_data,
    validate_model,
)
from conveyor.pipelines import spec as specs
from conveyor.pipelines import validate


@dsl.pipeline(name="continuous-training")
def continuous_training(source: str, query: str, label: str = "malignant") -> bool:
    extracted = extract_files(source=source).set_caching_options(False)
    queried = extract_sql(query=query)
    statistics = compute_statistics(examples=extracted.outputs["examples"])
    schema = infer_schema(statistics=statistics.outputs["statistics"])
    checked = validate_data(
        statistics=compute_statistics(examples=queried.outputs["examples"]).outputs["statistics"],
        schema=schema.outputs["schema"],
        baseline_statistics=statistics.outputs["statistics"],
    )
    with dsl.If(checked.outputs["valid"] == True):  # noqa: E712 (a KFP condition)
        parts = split_data(
            examples=extracted.outputs["examples"], method="hash", key_column="patient"
        )
        transform = fit_transform(
            train_data=parts.outputs["train_data"],
            label_column=label,
            exclude_columns=["patient"],
            schema=schema.outputs["schema"],
        )
        tuned = tune_model(
            train_data=parts.outputs["train_data"],
            label_column=label,
            estimator="LogisticRegression",
            search_space={"C": [0.1, 1.0]},
            transform=transform.outputs["transform"],
        )
        trained = train_model(
            train_data=parts.outputs["train_data"],
            label_column=label,
            estimator="LogisticRegression",
            hyperparameters=tuned.outputs["best_params"],
            transform=transform.outputs["transform"],
        )
        evaluated = evaluate_model(
            model=trained.outputs["model"],
            test_data=parts.outputs["eval_data"],
            slice_columns=["site"],
        )
        validate_model(
            evaluation=evaluated.outputs["evaluation"],
            thresholds={"accuracy": {"min": 0.8}},
            change_thresholds={"accuracy": {"tolerance": 0.01}},
            baseline_model=tuned.outputs["model"],
            test_data=parts.outputs["eval_data"],
        )
    return checked.outputs["valid"]


def test_the_compiled_pipeline_loads_validates_and_runs(tmp_path, cancer):
    cancer = cancer.assign(patient=[f"p{i}" for i in range(len(cancer))])
    for span in (1, 2):
        folder = tmp_path / "data" / f"span-{span}"
        folder.mkdir(parents=True)
        cancer.sample(frac=0.9, random_state=span).to_csv(folder / "rows.csv", index=False)
    compiled = tmp_path / "continuous_training.yaml"
    compiler.Compiler().compile(continuous_training, str(compiled))

    spec = specs.load(compiled)
    validate.check_spec(spec)
    executors = spec["deploymentSpec"]["executors"]
    used = {re.sub(r"-\d+$", "", e.removeprefix("exec-")).replace("-", "_") for e in executors}
    assert used == set(components.__all__)
    for executor in executors.values():
        container = executor["container"]
        assert container["image"] == "python:3.11"
        install = container["command"][2]
        assert "pip install --quiet --no-warn-script-location 'kfp==" in install
        assert install.count("pip install") == 1  # nothing but kfp itself to install

    run = run_ok(
        str(compiled),
        {
            "source": str(tmp_path / "data" / "span-{SPAN}"),
            "query": f"SELECT * FROM read_csv_auto('{tmp_path}/data/span-2/*.csv')",
        },
    )
    assert run.outputs["Output"] is True
    validated = run.task("condition-1/validate-model")
    assert validated.status == "SUCCEEDED"
    assert "BLESSED: every threshold holds" in validated.log_path.read_text()


def test_image_and_packages_for_other_platforms(tmp_path):
    script = textwrap.dedent(
        """
        from kfp import compiler, dsl
        from conveyor.components import train_model

        @dsl.pipeline(name="elsewhere")
        def elsewhere(data: str):
            rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset)
            train_model(train_data=rows.output, label_column="y", estimator="Ridge")

        compiler.Compiler().compile(elsewhere, "elsewhere.yaml")
        """
    )
    environment = {
        "CONVEYOR_COMPONENTS_IMAGE": "registry.example/conveyor:0.1",
        "CONVEYOR_COMPONENTS_PACKAGES": "conveyor==0.1.0 duckdb",
    }
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, **environment},
        check=True,
        capture_output=True,
    )
    compiled = yaml.safe_load((tmp_path / "elsewhere.yaml").read_text())
    container = compiled["deploymentSpec"]["executors"]["exec-train-model"]["container"]
    assert container["image"] == "registry.example/conveyor:0.1"
    assert "'conveyor==0.1.0' 'duckdb'" in container["command"][2]
