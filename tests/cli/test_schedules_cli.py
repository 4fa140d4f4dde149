"""`conveyor schedules create | list | show | update | pause | resume | delete`: output,
exit codes, parameters typed against the pipeline, and bad input refused naming the flag."""

import json
from pathlib import Path

import pytest

from conveyor.home import open_home

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello.py"


@pytest.fixture
def registered(cli):
    made = cli("pipelines", "upload", "hello", f"{HELLO}:hello_pipeline", "--tag", "prod")
    assert made.code == 0, made.err


def test_create_list_show(cli, registered):
    made = cli(
        "schedules", "create", "nightly", "TZ=Europe/Paris 0 3 * * *",
        "--pipeline", "hello@prod", "-p", "name=Ada", "--max-run-count", "5",
    )  # fmt: skip
    assert made.code == 0, made.err
    assert "Created schedule nightly: run hello@prod at 'TZ=Europe/Paris 0 3 * * *'" in made.out
    listed = cli("schedules", "list")
    assert "nightly" in listed.out and "ACTIVE" in listed.out and "0/5" in listed.out
    shown = cli("schedules", "show", "nightly")
    assert "name='Ada'" in shown.out and "No fires yet." in shown.out
    data = json.loads(cli("schedules", "show", "nightly", "--json").out)
    assert data["request"] == {
        "pipeline_job": {"pipeline": "hello@prod", "parameters": {"name": "Ada"},
                         "enable_caching": None}
    }  # fmt: skip
    assert data["max_concurrent_run_count"] == 1 and data["fires"] == []


def test_parameters_are_typed_as_the_pipeline_declares(cli, tmp_path):
    source = tmp_path / "typed.py"
    source.write_text(
        "from kfp import dsl\n\n@dsl.component\ndef twice(n: int) -> int:\n    return 2 * n\n\n"
        "@dsl.pipeline(name='typed')\ndef typed(n: int = 1) -> int:\n"
        "    return twice(n=n).output\n"
    )
    assert cli("pipelines", "upload", "typed", f"{source}:typed").code == 0
    assert (
        cli("schedules", "create", "t", "0 * * * *", "--pipeline", "typed", "-p", "n=3").code == 0
    )
    with open_home() as home:
        assert home.schedules.get("t").request["pipeline_job"]["parameters"] == {"n": 3}
    wrong = cli("schedules", "create", "u", "0 * * * *", "--pipeline", "typed", "-p", "n=three")
    assert wrong.code == 2 and "-p:" in wrong.err and "n" in wrong.err


def test_pause_resume_update_delete(cli, registered):
    assert cli("schedules", "create", "s", "0 * * * *", "--pipeline", "hello@prod").code == 0
    assert "Paused schedule s: PAUSED" in cli("schedules", "pause", "s").out
    resumed = cli("schedules", "resume", "s", "--catch-up", "--json")
    assert json.loads(resumed.out)["catch_up"] is True
    updated = cli("schedules", "update", "s", "--cron", "30 4 * * *", "--no-allow-queueing")
    assert updated.code == 0 and "Updated schedule s: ACTIVE; next" in updated.out
    assert json.loads(cli("schedules", "show", "s", "--json").out)["cron"] == "30 4 * * *"
    assert cli("schedules", "delete", "s", "--yes").code == 0
    gone = cli("schedules", "show", "s")
    assert gone.code == 2 and "no schedule 's'" in gone.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["0 * * *", "--pipeline", "hello@prod"], "cron: '0 * * *' has 4 fields"),
        (["TZ=Mars/Base 0 * * * *", "--pipeline", "hello@prod"], "unknown time zone 'Mars/Base'"),
        (["0 * * * *", "--pipeline", "hello@9"], "hello"),
        (["0 * * * *", "--pipeline", "hello@prod", "-p", "nope=1"], "unknown parameter 'nope'"),
        (["0 * * * *"], "give --pipeline NAME@TAG or --monitor NAME"),
        (["0 * * * *", "--pipeline", "hello", "--monitor", "m"], "one of them"),
        (["0 * * * *", "--monitor", "nobody"], "nobody"),
        (
            ["0 * * * *", "--pipeline", "hello", "--max-concurrent-run-count", "0"],
            "max_concurrent_run_count: must be a whole number",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_problem(cli, registered, args, message):
    refused = cli("schedules", "create", "bad", *args)
    assert refused.code == 2, refused.out
    assert message in refused.err
    assert "No schedules yet" in cli("schedules", "list").out
