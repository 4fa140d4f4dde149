"""Running the real `conveyor` entry point in-process, exit codes and messages included."""

import sys
from dataclasses import dataclass

import pytest
from rich.console import Console

from conveyor.cli import main as cli_main


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `conveyor ARGS...` through the real entry point, errors and exit codes included."""
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(cli_main, "err", Console(stderr=True, width=250))

    def invoke(*args: str) -> Outcome:
        monkeypatch.setattr(sys, "argv", ["conveyor", *args])
        try:
            cli_main.main()
            code = 0
        except SystemExit as exit:
            code = exit.code or 0
        out, err = capsys.readouterr()
        return Outcome(code, out, err)

    return invoke
