"""docs/cli.md is the commands' own help: it cannot fall behind them."""

import cli_reference


def test_the_reference_page_is_current():
    assert cli_reference.PAGE.read_text() == cli_reference.page(), (
        "docs/cli.md is out of date: run `.venv/bin/python support/cli_reference.py`"
    )


def test_every_command_and_option_has_help():
    assert cli_reference.undocumented() == []


def test_every_command_is_on_the_page():
    page = cli_reference.PAGE.read_text()
    for path in (
        "conveyor run",
        "conveyor runs resume",
        "conveyor models upload",
        "conveyor serve",
    ):
        assert f"# {path}\n" in page
