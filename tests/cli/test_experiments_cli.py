"""`conveyor experiments list | show | compare | delete` and `conveyor runs list` by
experiment, label and metric: output, exit codes and messages, on a home and against a
real `conveyor serve`."""

import csv
import io
import json
import sys
import textwrap

import pytest

from conveyor.config import Settings
from conveyor.home import open_home
from remote_support import TOKEN_VARIABLE, TOKENS, serving, write_config

PIPELINE = textwrap.dedent(
    """
    from kfp import dsl
    from kfp.dsl import Metrics, Output

    @dsl.component
    def train(depth: int, metrics: Output[Metrics]):
        metrics.log_metric("accuracy", 0.5 + depth / 100)
        metrics.log_metric("loss", 1.0 / depth)

    @dsl.pipeline(name="trainer")
    def trainer(depth: int = 3, model: str = "tree"):
        train(depth=depth)
    """
)


@pytest.fixture
def pipeline_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipelines.py").write_text(PIPELINE)
    return tmp_path / "pipelines.py"


@pytest.fixture
def tracked():
    """Experiment `churn` with three runs logged from Python: `shallow`, `deep`, `odd`
    (started in that order)."""
    with open_home() as home:
        experiments = home.experiments
        experiments.create("churn", description="trees against boosting")
        for name, params, metrics in [
            ("shallow", {"depth": 2, "model": "tree"}, {"accuracy": 0.81, "loss": 0.52}),
            ("deep", {"depth": 8, "model": "tree"}, {"accuracy": 0.934567, "loss": 0.3}),
            ("odd", {"depth": 5, "model": "boost"}, {"accuracy": 0.88}),
        ]:
            experiments.start_run("churn", name)
            experiments.log_params("churn", name, params)
            experiments.log_metrics("churn", name, metrics)
            experiments.end_run("churn", name)
    return "churn"


def run_pipeline(cli, *args: str) -> str:
    """Run the trainer with `args` (`--experiment` ...); its run id."""
    done = cli("run", "pipelines.py:trainer", "--json", *args)
    assert done.code == 0, done.err
    return json.loads(done.out)["run_id"]


def table(text: str) -> list[list[str]]:
    """A printed table's lines, split into words."""
    return [line.split() for line in text.splitlines() if line.strip()]


# -- list and show --------------------------------------------------------------------------


def test_list_says_how_to_make_one_when_there_are_none(cli):
    shown = cli("experiments", "list")
    assert (shown.code, shown.err) == (0, "")
    assert shown.out.startswith("No experiments yet: `conveyor run PIPELINE --experiment NAME`")
    assert json.loads(cli("experiments", "list", "--json").out) == []


def test_list_and_show(cli, tracked, pipeline_file):
    run_id = run_pipeline(cli, "-p", "depth=4", "--experiment", "churn", "--run-name", "d4")
    with open_home() as home:
        home.experiments.create("empty")

    listed = cli("experiments", "list")
    assert listed.code == 0, listed.err
    rows = table(listed.out)
    assert rows[0] == ["NAME", "RUNS", "CREATED", "(UTC)", "DESCRIPTION"]
    assert rows[1][:2] == ["churn", "4"] and rows[1][-3:] == ["trees", "against", "boosting"]
    assert rows[2][:2] == ["empty", "0"]
    as_json = json.loads(cli("experiments", "list", "--json").out)
    assert [(e["name"], e["run_count"], e["description"]) for e in as_json] == [
        ("churn", 4, "trees against boosting"),
        ("empty", 0, None),
    ]

    shown = cli("experiments", "show", "churn")
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0] == "experiment churn: trees against boosting"
    assert lines[1].startswith("  4 runs, created ")
    rows = table("\n".join(lines[2:]))
    assert rows[0][:5] == ["RUN", "TYPE", "STATE", "STARTED", "(UTC)"]
    assert rows[0][-2:] == ["accuracy", "loss"]  # the first metrics, by key
    # Newest first; a pipeline run's metrics are its tasks' Metrics.
    assert [(r[0], r[1], r[2], r[-2], r[-1]) for r in rows[1:]] == [
        ("d4", "PipelineRun", "COMPLETE", "0.54", "0.25"),
        ("odd", "ExperimentRun", "COMPLETE", "0.88", "-"),
        ("deep", "ExperimentRun", "COMPLETE", "0.9346", "0.3"),
        ("shallow", "ExperimentRun", "COMPLETE", "0.81", "0.52"),
    ]

    record = json.loads(cli("experiments", "show", "churn", "--json").out)
    assert record["experiment"]["name"] == "churn"
    (piped,) = [r for r in record["runs"] if r["run_name"] == "d4"]
    assert piped["pipeline_run"] == run_id
    assert piped["params"] == {"depth": 4, "model": "tree"}
    assert piped["metrics"] == {"accuracy": 0.54, "loss": 0.25}

    empty = cli("experiments", "show", "empty")
    assert empty.out.splitlines()[1].startswith("  0 runs, created ")


def test_show_names_what_it_leaves_out(cli):
    with open_home() as home:
        home.experiments.create("many")
        home.experiments.start_run("many", "one")
        home.experiments.log_metrics("many", "one", {k: 1.0 for k in "abcde"})
    shown = cli("experiments", "show", "many")
    assert table(shown.out)[2][-3:] == ["a", "b", "c"]
    assert shown.out.splitlines()[-1] == (
        "3 of 5 metrics; `conveyor experiments compare many` shows them all"
    )


@pytest.mark.parametrize("command", ["show", "compare", "delete"])
def test_an_unknown_experiment_exits_2_with_the_library_s_message(cli, command):
    done = cli("experiments", command, "nope")
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        "error: no experiment 'nope'; `conveyor experiments list` shows the experiments, "
        "and `conveyor.init(experiment='nope')` makes it\n"
    )


# -- compare --------------------------------------------------------------------------------


def test_compare_has_a_row_per_run_and_params_and_metrics_as_columns(cli, tracked):
    done = cli("experiments", "compare", "churn")
    assert done.code == 0, done.err
    assert table(done.out) == [
        ["RUN", "STATE", "param.depth", "param.model", "metric.accuracy", "metric.loss"],
        ["odd", "COMPLETE", "5", "boost", "0.88", "-"],
        ["deep", "COMPLETE", "8", "tree", "0.9346", "0.3"],
        ["shallow", "COMPLETE", "2", "tree", "0.81", "0.52"],
    ]


def test_compare_sorts_filters_and_chooses_columns(cli, tracked):
    by_accuracy = cli("experiments", "compare", "churn", "--sort", "metric.accuracy", "--desc")
    assert [r[0] for r in table(by_accuracy.out)[1:]] == ["deep", "odd", "shallow"]
    ascending = cli("experiments", "compare", "churn", "--sort", "metric.accuracy")
    assert [r[0] for r in table(ascending.out)[1:]] == ["shallow", "odd", "deep"]
    # Runs without the column sort last, either way.
    by_loss = cli("experiments", "compare", "churn", "--sort", "metric.loss", "--desc")
    assert [r[0] for r in table(by_loss.out)[1:]] == ["shallow", "deep", "odd"]

    trees = cli(
        "experiments",
        "compare",
        "churn",
        "--filter",
        'param.model = "tree" and metric.accuracy > 0.5',
        "--columns",
        "metric.*,param.depth",
        "--sort",
        "param.depth",
    )
    assert trees.code == 0, trees.err
    assert table(trees.out) == [
        ["RUN", "metric.accuracy", "metric.loss", "param.depth"],
        ["shallow", "0.81", "0.52", "2"],
        ["deep", "0.9346", "0.3", "8"],
    ]
    none = cli("experiments", "compare", "churn", "--filter", "metric.accuracy > 2")
    assert (none.code, none.out) == (0, "no runs of experiment churn match\n")


def test_compare_warns_of_a_column_no_run_has(cli, tracked):
    done = cli("experiments", "compare", "churn", "--columns", "metric.acc,state")
    assert done.code == 0
    assert table(done.out)[0] == ["RUN", "metric.acc", "STATE"]
    assert done.err == "no run shown has metric.acc\n"


def test_compare_limit_says_there_are_more(cli, tracked):
    done = cli("experiments", "compare", "churn", "--sort", "metric.accuracy", "--limit", "2")
    assert [r[0] for r in table(done.out)[1:-1]] == ["shallow", "odd"]
    assert done.out.splitlines()[-1] == "2 of 3 runs; --limit shows more"


def test_compare_named_runs_only_and_an_unknown_run_is_an_error(cli, tracked):
    done = cli("experiments", "compare", "churn", "shallow", "odd", "--sort", "run_name")
    assert done.code == 0, done.err
    assert [r[0] for r in table(done.out)[1:]] == ["odd", "shallow"]
    # A named run the filter leaves out is not shown, and not an error.
    filtered = cli(
        "experiments", "compare", "churn", "shallow", "odd", "--filter", "param.depth > 3"
    )
    assert [r[0] for r in table(filtered.out)[1:]] == ["odd"]

    unknown = cli("experiments", "compare", "churn", "shallow", "shalow")
    assert (unknown.code, unknown.out) == (2, "")
    assert unknown.err == (
        "error: experiment 'churn' has no run 'shalow'; `conveyor experiments show churn` "
        "lists its runs\n"
    )


def test_compare_json_keeps_every_digit(cli, tracked):
    done = cli("experiments", "compare", "churn", "deep", "--json")
    assert done.code == 0, done.err
    record = json.loads(done.out)
    assert (record["experiment"], record["total"]) == ("churn", 1)
    (row,) = record["runs"]
    assert row["run_name"] == "deep"
    assert row["metric.accuracy"] == 0.934567
    assert row["param.depth"] == 8
    assert row["start_time"].endswith("+00:00")  # ISO 8601, in UTC

    projected = json.loads(
        cli("experiments", "compare", "churn", "--columns", "metric.loss", "--json").out
    )
    assert [sorted(r) for r in projected["runs"]] == [
        ["experiment_name", "run_name"],  # odd logged no loss
        ["experiment_name", "metric.loss", "run_name"],
        ["experiment_name", "metric.loss", "run_name"],
    ]


def test_compare_csv(cli, tracked):
    done = cli("experiments", "compare", "churn", "--sort", "metric.accuracy", "--desc", "--csv")
    assert done.code == 0, done.err
    rows = list(csv.DictReader(io.StringIO(done.out)))
    assert list(rows[0]) == [
        "run_name",
        "run_type",
        "state",
        "start_time",
        "end_time",
        "pipeline_run",
        "param.depth",
        "param.model",
        "metric.accuracy",
        "metric.loss",
    ]
    assert [(r["run_name"], r["metric.accuracy"], r["metric.loss"]) for r in rows] == [
        ("deep", "0.934567", "0.3"),
        ("odd", "0.88", ""),
        ("shallow", "0.81", "0.52"),
    ]
    chosen = cli("experiments", "compare", "churn", "odd", "--columns", "param.*", "--csv")
    assert chosen.out == "run_name,param.depth,param.model\nodd,5,boost\n"


def test_a_wide_comparison_is_turned_for_few_runs_and_cut_for_many(cli):
    with open_home() as home:
        experiments = home.experiments
        experiments.create("wide")
        for index in range(6):
            experiments.start_run("wide", f"r{index}")
            experiments.log_metrics(
                "wide", f"r{index}", {f"m{k:02d}": k + index for k in range(10)}
            )

    few = cli("experiments", "compare", "wide", "r0", "r1")
    assert few.code == 0, few.err
    rows = table(few.out)
    assert rows[0] == ["COLUMN", "r1", "r0"]  # newest first
    assert rows[1] == ["state", "RUNNING", "RUNNING"]
    assert rows[2] == ["metric.m00", "1", "0"]
    assert rows[-1] == ["metric.m09", "10", "9"]

    many = cli("experiments", "compare", "wide")
    rows = table(many.out)
    assert rows[0] == ["RUN", "STATE", *(f"metric.m{k:02d}" for k in range(8))]
    assert len(rows) == 1 + 6 + 1
    assert many.out.splitlines()[-1] == (
        "8 of 10 columns; --columns chooses them (param.*,metric.accuracy), --csv and --json "
        "have them all"
    )
    whole = list(csv.reader(io.StringIO(cli("experiments", "compare", "wide", "--csv").out)))
    assert whole[0][-1] == "metric.m09"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--filter", "metric.accuracy >> 1"],
            "cannot read the filter from 'metric.accuracy >> 1': write clauses like "
            '`metric.accuracy >= 0.9 and param.model = "tree"`',
        ),
        (
            ["--sort", "accuracy"],
            "no column 'accuracy': use experiment_name, run_name, run_type, state, start_time, "
            "end_time, pipeline_run, or param.KEY, metric.KEY, time_series_metric.KEY, label.KEY",
        ),
        (["--desc"], "--desc goes with --sort COLUMN (the default is newest run first)"),
        (["--json", "--csv"], "--json and --csv: choose one"),
        (
            ["--columns", "acc*"],
            "--columns takes a wildcard only after a prefix: param., metric., "
            "time_series_metric., label. (param.*), not 'acc*'",
        ),
        (["--columns", " , "], "--columns names no column: give some, as param.*,metric.accuracy"),
    ],
)
def test_compare_refuses_bad_input_with_exit_2(cli, tracked, args, message):
    done = cli("experiments", "compare", "churn", *args)
    assert (done.code, done.out, done.err) == (2, "", f"error: {message}\n")


# -- delete ---------------------------------------------------------------------------------


class Terminal(io.StringIO):
    """A stdin that a person answers."""

    def isatty(self) -> bool:
        return True


def test_delete_asks_unless_yes(cli, tracked, monkeypatch):
    refused = cli("experiments", "delete", "churn")  # stdin is no terminal: nobody to ask
    assert (refused.code, refused.out) == (2, "")
    assert refused.err == (
        "error: deleting experiment churn and its 3 runs needs --yes (or answer the question "
        "in a terminal)\n"
    )

    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    kept = cli("experiments", "delete", "churn")
    assert kept.code == 2
    assert kept.out == "Delete experiment churn and its 3 runs? [y/N]: "
    assert kept.err == "error: kept experiment churn and its 3 runs\n"
    assert cli("experiments", "show", "churn").code == 0

    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    deleted = cli("experiments", "delete", "churn")
    assert deleted.code == 0, deleted.err
    assert deleted.out.endswith("Deleted experiment churn and its 3 runs\n")
    assert cli("experiments", "show", "churn").code == 2


def test_delete_yes_leaves_the_pipeline_runs(cli, tracked, pipeline_file):
    run_id = run_pipeline(cli, "--experiment", "churn")
    done = cli("experiments", "delete", "churn", "--yes")
    assert (done.code, done.out, done.err) == (0, "Deleted experiment churn and its 4 runs\n", "")
    assert json.loads(cli("experiments", "list", "--json").out) == []
    (record,) = json.loads(cli("runs", "list", "--json").out)["runs"]
    assert (record["run_id"], record["experiment"]) == (run_id, None)


# -- runs list and runs show ----------------------------------------------------------------


def test_runs_list_by_experiment_label_and_metric(cli, pipeline_file):
    plain = run_pipeline(cli)
    # With no run in an experiment (and no --metric), the table is as it always was.
    alone = cli("runs", "list")
    assert table(alone.out) == [
        ["run", "pipeline", "status", "started", "(UTC)", "duration"],
        [plain, "trainer", "SUCCEEDED", *table(alone.out)[1][3:]],
    ]
    assert len(table(alone.out)[1]) == 6
    deep = run_pipeline(
        cli, "-p", "depth=10", "--experiment", "churn", "--run-name", "deep", "-l", "team=a"
    )
    other = run_pipeline(cli, "--experiment", "other", "-l", "team=b")

    every = cli("runs", "list", "--metric", "accuracy", "--metric", "loss")
    assert every.code == 0, every.err
    rows = table(every.out)
    assert rows[0] == [
        "run",
        "pipeline",
        "status",
        "started",
        "(UTC)",
        "duration",
        "experiment",
        "name",
        "metric.accuracy",
        "metric.loss",
    ]
    assert [(r[0], *r[-4:]) for r in rows[1:]] == [
        (other, "other", "-", "0.53", "0.3333"),
        (deep, "churn", "deep", "0.6", "0.1"),
        (plain, "-", "-", "-", "-"),
    ]

    in_churn = cli("runs", "list", "--experiment", "churn")
    assert [r[0] for r in table(in_churn.out)[1:]] == [deep]
    labelled = cli("runs", "list", "--label", "team=b", "--json", "--metric", "accuracy")
    (record,) = json.loads(labelled.out)["runs"]
    assert (record["run_id"], record["experiment"], record["labels"]) == (
        other,
        "other",
        {"team": "b"},
    )
    assert record["metrics"] == {"accuracy": 0.53}
    assert "metrics" not in json.loads(cli("runs", "list", "--json").out)["runs"][0]
    assert cli("runs", "list", "--label", "team=c").out == "no runs match\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--experiment", "nope"],
            "no experiment 'nope'; `conveyor experiments list` shows the experiments, and "
            "`conveyor.init(experiment='nope')` makes it",
        ),
        (["--label", "team"], "--label takes key=value, got 'team'"),
    ],
)
def test_runs_list_refuses_an_unknown_experiment_and_a_bad_label(cli, args, message):
    done = cli("runs", "list", *args)
    assert (done.code, done.out, done.err) == (2, "", f"error: {message}\n")


def test_runs_show_names_the_run_s_experiment(cli, pipeline_file):
    plain = run_pipeline(cli)
    joined = run_pipeline(cli, "--experiment", "churn", "--run-name", "d3", "-l", "team=a")
    lines = cli("runs", "show", joined).out.splitlines()
    assert lines[2] == "  name d3, experiment churn, labels team=a"
    assert sorted(lines[3:5]) == ["  depth = 3", "  model = tree"]
    # A run without them shows its parameters right under its pipeline, as before.
    shown = cli("runs", "show", plain).out.splitlines()
    assert sorted(shown[2:4]) == ["  depth = 3", "  model = tree"]


# -- against a server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real `conveyor serve` whose home has experiment `churn` (three runs)."""
    with serving(tmp_path_factory.mktemp("experiments-cli")) as running:
        settings = Settings.from_env(running.folder, environ={})
        with open_home(settings=settings) as home:
            home.experiments.create("churn")
            for index, accuracy in enumerate([0.7, 0.9, 0.8]):
                home.experiments.start_run("churn", f"r{index}")
                home.experiments.log_params("churn", f"r{index}", {"depth": index})
                home.experiments.log_metrics("churn", f"r{index}", {"accuracy": accuracy})
        yield running


@pytest.fixture
def staging(served, tmp_path, monkeypatch):
    """`--env staging` is the server; the default environment is the server's home."""
    monkeypatch.setenv("CONVEYOR_CONFIG", str(write_config(tmp_path, served.url)))
    monkeypatch.setenv("CONVEYOR_HOME", str(served.folder))
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["admin"])
    return served


@pytest.mark.parametrize(
    "args",
    [
        ("experiments", "list", "--json"),
        ("experiments", "show", "churn", "--json"),
        ("experiments", "compare", "churn", "--sort", "metric.accuracy", "--desc", "--json"),
        ("experiments", "compare", "churn", "r0", "r2", "--filter", "param.depth > 0", "--csv"),
        ("experiments", "compare", "churn", "--columns", "metric.*", "--limit", "2"),
    ],
)
def test_over_a_server_as_embedded(cli, staging, args):
    remote, embedded = cli("--env", "staging", *args), cli(*args)
    assert (remote.code, remote.err) == (0, "")
    assert remote.out == embedded.out


def test_errors_over_a_server_are_the_library_s(cli, staging):
    unknown = cli("--env", "staging", "experiments", "compare", "churn", "r9")
    assert (unknown.code, unknown.out) == (2, "")
    assert unknown.err == (
        "error: experiment 'churn' has no run 'r9'; `conveyor experiments show churn` lists "
        "its runs\n"
    )
    bad = cli("--env", "staging", "experiments", "compare", "churn", "--filter", "metric.x >> 1")
    assert (bad.code, bad.out) == (2, "")
    assert bad.err.startswith("error: cannot read the filter from 'metric.x >> 1'")
