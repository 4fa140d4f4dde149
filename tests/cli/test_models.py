"""`conveyor models upload | list | show | alias | unalias | history | delete`: output, exit
codes and messages, through Typer's CliRunner on the real app."""

import json
import shutil

import joblib
import pytest
import skops.io
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier
from typer.testing import CliRunner

from conveyor.cli.main import app

COMMANDS = ["upload", "list", "show", "alias", "unalias", "trust", "untrust", "history", "delete"]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVEYOR_METADATA_URL", raising=False)
    monkeypatch.setenv("CONVEYOR_USER", "dana")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("saved")
    features, target = load_iris(return_X_y=True)
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(features, target)
    (root / "skops").mkdir()
    skops.io.dump(model, root / "skops" / "model.skops")
    (root / "joblib").mkdir()
    joblib.dump(model, root / "joblib" / "model.joblib")
    return root


@pytest.fixture
def model_dir(saved, tmp_path):
    shutil.copytree(saved / "skops", tmp_path / "model")
    return tmp_path / "model"


def conveyor(*args):
    return CliRunner().invoke(app, ["models", *map(str, args)])


def upload(path, *extra, name="churn"):
    result = conveyor("upload", name, path, "--framework", "sklearn", *extra)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_an_example_in_its_help(command):
    result = conveyor(command, "--help")
    assert result.exit_code == 0
    assert "Example: conveyor models " + command in " ".join(result.output.split()).replace("│", "")


def test_upload_prints_the_version(model_dir):
    result = upload(
        model_dir, "--alias", "candidate", "--label", "team=growth", "--description", "first"
    )
    assert result.stdout.startswith(
        f"Registered churn@1 [default, candidate] from {model_dir} (1 file, sha256 "
    )
    data = json.loads(upload(model_dir, "--json", "-l", "team=growth").stdout)
    assert (data["model"], data["version_id"], data["aliases"]) == ("churn", 2, [])
    assert data["labels"] == {"team": "growth"}
    assert data["files"][0]["path"] == "model.skops"
    assert data["created_by"] == "dana"


IRIS = [
    {"name": f"{part}_{size}", "type": "float"}
    for part in ("sepal", "petal")
    for size in ("length", "width")
]


def test_upload_with_schemas(model_dir, tmp_path):
    schema = tmp_path / "features.json"
    schema.write_text(json.dumps({"features": IRIS}))
    species = tmp_path / "species.json"
    species.write_text(json.dumps([{"name": "species", "type": "integer"}]))
    data = json.loads(
        upload(model_dir, "--input-schema", schema, "--output-schema", species, "--json").stdout
    )
    assert data["input_schema"] == IRIS
    assert data["output_schema"] == [{"name": "species", "type": "integer"}]
    misfit = conveyor(
        "upload", "churn", model_dir, "--framework", "sklearn", "--input-schema", species
    )
    assert misfit.exit_code == 2
    assert "it names 1 features but the model takes 4" in misfit.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = conveyor("upload", "churn", model_dir, "--framework", "sklearn", "--input-schema", bad)
    assert result.exit_code == 2
    assert f"error: --input-schema {bad} is not valid JSON" in result.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text('[{"name": "x", "type": "tensor"}]')
    result = conveyor(
        "upload", "churn", model_dir, "--framework", "sklearn", "--input-schema", wrong
    )
    assert result.exit_code == 2
    assert "error: feature 'x' of the input schema has type 'tensor'" in result.stderr
    missing = conveyor(
        "upload",
        "churn",
        model_dir,
        "--framework",
        "sklearn",
        "--input-schema",
        tmp_path / "none.json",
    )
    assert missing.exit_code == 2 and "cannot read it" in missing.stderr


def test_upload_errors_exit_2(model_dir, tmp_path):
    result = conveyor("upload", "churn", tmp_path / "nowhere", "--framework", "sklearn")
    assert result.exit_code == 2
    assert f"error: {tmp_path / 'nowhere'} does not exist; pass the folder" in result.stderr
    result = conveyor("upload", "churn", model_dir, "--framework", "onnx")
    assert result.exit_code == 2
    assert "holds no model.onnx at its top level (it holds model.skops)" in result.stderr
    result = conveyor("upload", "churn", model_dir, "--framework", "pytorch")
    assert result.exit_code == 2
    assert "Invalid value for '--framework'" in result.output
    result = conveyor("upload", "churn", model_dir)
    assert result.exit_code == 2
    assert "Missing option '--framework'" in result.output
    result = conveyor("upload", "churn", model_dir, "--framework", "sklearn", "--label", "team")
    assert result.exit_code == 2
    assert "error: --label takes key=value, got 'team'" in result.stderr
    result = conveyor("upload", "churn", model_dir, "--framework", "sklearn", "--alias", "Prod")
    assert result.exit_code == 2
    assert "error: alias 'Prod' is not valid" in result.stderr
    result = conveyor("upload", "9churn", model_dir, "--framework", "sklearn")
    assert result.exit_code == 2
    assert "error: model name '9churn' is not valid" in result.stderr


def test_an_untrusted_pickle_gets_a_note(saved):
    result = upload(saved / "joblib")
    assert (
        "note: model.joblib is a pickle; runtimes load it only once the version is trusted"
        in result.stderr
    )
    result = upload(saved / "joblib", "--trusted")
    assert "note:" not in result.stderr


def test_trust_and_untrust_a_version(saved):
    upload(saved / "joblib", "--alias", "candidate")
    result = conveyor("trust", "churn@candidate", "--comment", "trained by our pipeline")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "churn@1 is now trusted"
    assert (
        conveyor("trust", "churn@1").stdout.strip() == "churn@1 is already trusted; nothing changed"
    )
    shown = json.loads(conveyor("show", "churn@1", "--json").stdout)
    assert shown["trusted"] is True
    untrusted = json.loads(
        conveyor("untrust", "churn@1", "--comment", "unknown data", "--json").stdout
    )
    assert untrusted["trusted"] is False
    changes = [
        e
        for e in json.loads(conveyor("history", "churn", "--json").stdout)
        if e["action"] == "version_updated"
    ]
    assert [(e["actor"], e["comment"], e["details"]) for e in changes] == [
        ("dana", "trained by our pipeline", {"trusted": [False, True]}),
        ("dana", "unknown data", {"trusted": [True, False]}),
    ]


def test_trust_needs_a_version(saved):
    upload(saved / "joblib")
    for command in ("trust", "untrust"):
        result = conveyor(command, "churn")
        assert result.exit_code == 2
        assert (
            f"error: name the version to {command}, as in `conveyor models {command} churn@3`"
            in result.stderr
        )
    result = conveyor("trust", "churn@7")
    assert result.exit_code == 2
    assert "error: model 'churn' has no version 7" in result.stderr


def test_list(model_dir):
    result = conveyor("list")
    assert result.exit_code == 0
    assert "No models yet" in result.stdout
    upload(model_dir)
    upload(model_dir, "--alias", "production")
    upload(model_dir, name="fraud")
    result = conveyor("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VERSIONS", "DEFAULT", "ALIASES", "UPDATED", "(UTC)"]
    assert lines[1].split()[:5] == ["churn", "2", "1", "default=1,", "production=2"]
    assert lines[2].split()[:4] == ["fraud", "1", "1", "default=1"]
    data = json.loads(conveyor("list", "--json").stdout)
    assert [m["name"] for m in data] == ["churn", "fraud"]
    assert data[0]["aliases"] == {"default": 1, "production": 2}


def test_show_a_model_and_a_version(model_dir):
    upload(model_dir, "--label", "team=growth")
    upload(model_dir, "--alias", "production", "--trusted")
    result = conveyor("show", "churn")
    assert result.exit_code == 0
    assert "Model churn" in result.stdout and "labels: team=growth" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [r[:4] for r in rows] == [
        ["1", "default", "sklearn", "no"],
        ["2", "production", "sklearn", "yes"],
    ]
    result = conveyor("show", "churn@production")
    assert result.exit_code == 0
    assert "Version churn@2" in result.stdout
    assert "framework:      sklearn (loads model.skops)" in result.stdout
    digest = json.loads(conveyor("show", "churn@2", "--json").stdout)["files"][0]["sha256"]
    assert f"{digest}  model.skops" in result.stdout
    data = json.loads(conveyor("show", "churn", "--json").stdout)
    assert [v["version_id"] for v in data["versions"]] == [1, 2]


def test_show_errors(model_dir):
    result = conveyor("show", "ghost")
    assert result.exit_code == 2
    assert (
        "error: no model 'ghost' in the registry; `conveyor models list` shows the models"
        in result.stderr
    )
    upload(model_dir)
    result = conveyor("show", "churn@9")
    assert result.exit_code == 2
    assert "error: model 'churn' has no version 9" in result.stderr
    result = conveyor("show", "churn@")
    assert result.exit_code == 2
    assert "error: 'churn@' ends with '@'" in result.stderr


def test_alias_and_unalias(model_dir):
    upload(model_dir)
    upload(model_dir)
    upload(model_dir)
    result = conveyor("alias", "churn", "production", "2", "--comment", "beats v1")
    assert (result.exit_code, result.stdout.strip()) == (0, "churn@2 now holds production")
    result = conveyor("alias", "churn", "production", "3")
    assert result.stdout.strip() == "churn@3 now holds production (moved from 2)"
    result = conveyor("alias", "churn", "production", "3")
    assert result.stdout.strip() == "churn@3 already holds production; nothing changed"
    result = conveyor("alias", "churn", "default", "production")
    assert result.stdout.strip() == "churn@3 now holds default (moved from 1)"
    result = conveyor("unalias", "churn", "production")
    assert (result.exit_code, result.stdout.strip()) == (0, "Removed production from churn@3")


def test_alias_errors(model_dir):
    upload(model_dir)
    for args, message in [
        (("alias", "churn", "Prod", "1"), "error: alias 'Prod' is not valid"),
        (("alias", "churn", "production", "4"), "error: model 'churn' has no version 4"),
        (("alias", "ghost", "production", "1"), "error: no model 'ghost' in the registry"),
        (
            ("unalias", "churn", "default"),
            "error: the default alias of 'churn' cannot be removed, only moved",
        ),
        (
            ("unalias", "churn", "staging"),
            "error: no version of model 'churn' holds alias 'staging'",
        ),
    ]:
        result = conveyor(*args)
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)


def test_history(model_dir):
    upload(model_dir)
    upload(model_dir)
    conveyor("alias", "churn", "production", "1")
    conveyor("alias", "churn", "production", "2", "--comment", "better recall")
    result = conveyor("history", "churn")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "WHEN", "(UTC)", "WHO", "WHAT", "WHY"]
    assert "model created" in lines[1]
    assert "version 1 uploaded (sklearn)" in lines[2]
    assert "alias default set on 1" in lines[3]
    assert "alias production moved 1 -> 2" in lines[-1] and "better recall" in lines[-1]
    assert all("dana" in line for line in lines[1:])
    moves = json.loads(conveyor("history", "churn", "--alias", "production", "--json").stdout)
    assert [(m["previous_version"], m["version"]) for m in moves] == [(None, 1), (1, 2)]
    result = conveyor("history", "ghost")
    assert result.exit_code == 2
    assert "error: no model 'ghost' in the registry, now or before" in result.stderr


def test_delete(model_dir):
    upload(model_dir)
    upload(model_dir, "--alias", "staging")
    result = conveyor("delete", "churn@1")
    assert result.exit_code == 2
    assert (
        "error: churn@1 holds the default alias, so it cannot be deleted; move default first"
        in result.stderr
    )
    result = conveyor("delete", "churn@staging", "--comment", "bad data")
    assert (result.exit_code, result.stdout.strip()) == (0, "Deleted churn@2")
    result = conveyor("delete", "churn")
    assert result.exit_code == 2
    assert "error: deleting model churn and its 1 version(s) needs --yes" in result.stderr
    assert json.loads(conveyor("show", "churn", "--json").stdout)["version_count"] == 1
    result = conveyor("delete", "churn", "--yes", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"model": "churn", "versions": [1], "model_deleted": True}
    assert conveyor("show", "churn").exit_code == 2
    history = json.loads(conveyor("history", "churn", "--json").stdout)
    assert history[-1]["action"] == "model_deleted"
    assert [h["comment"] for h in history if h["action"] == "version_deleted"][0] == "bad data"


def test_table_rows_stay_whole_lines_in_a_narrow_terminal(model_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    upload(model_dir, "--alias", "production-candidate", "--alias", "canary-europe-west")
    lines = conveyor("list").stdout.splitlines()
    assert len(lines) == 2
    assert "default=1, canary-europe-west=1, production-candidate=1" in lines[1]


def test_show_rounds_evaluation_metrics_and_json_keeps_them(model_dir, monkeypatch):
    from conveyor.home import open_home

    upload(model_dir)
    metrics = {"auc": 0.912345678, "rows": 1200, "loss": 12345.678, "classes": ["a", "b"]}
    with open_home() as home:
        home.registry.add_evaluation("churn", 1, metrics, slice={"plan": "monthly"})
    monkeypatch.setenv("COLUMNS", "40")
    lines = conveyor("show", "churn@1").stdout.splitlines()
    assert lines[lines.index("  evaluations:") + 1] == (
        '    #1 on plan=monthly: auc=0.9123, rows=1200, loss=12350, classes=["a","b"]'
    )
    assert f"  artifact:       {model_dir} (folder, " in "\n".join(lines)
    shown = json.loads(conveyor("show", "churn@1", "--json").stdout)
    assert shown["evaluations"][0]["metrics"] == metrics
