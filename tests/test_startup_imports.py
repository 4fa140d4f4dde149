"""Start-up stays fast: what each first command imports, checked without timing anything.

`benchmarks/startup.py` measures the wall time (issue 10: components within 0.5 s of kfp's
own import, `conveyor run hello` within 0.4 s of it); these tests guard the imports that made
it slow, each in a fresh interpreter: a library named here comes back only if something on
that path imports it again.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

HELLO = Path(__file__).resolve().parents[1] / "examples" / "hello.py"

NEVER_AT_START = {
    "alembic": "migrations only: a store at the current revision opens without it",
    "cel.cli": "cel's command line (typer, prompt_toolkit, rich): conditions need cel.cel alone",
    "prompt_toolkit": "cel's command line",
    "pygments": "cel's command line",
    "fsspec": "remote artifact roots only",
    "pandas": "the components' bodies and the model runtimes, in tasks",
    "numpy": "the components' bodies and the model runtimes, in tasks",
    "sklearn": "the components' bodies and the model runtimes, in tasks",
    "fastapi": "`conveyor serve` only",
    "httpx": "a remote client (`conveyor.remote`) and `conveyor serve` only",
    "conveyor.remote": "a client of an environment with a server_url only",
    "conveyor.registry.registry": "a home builds its registry when first used",
    "conveyor.serving.endpoints": "a home builds its endpoints when first used",
    "conveyor.monitoring.monitors": "a home builds its monitors when first used",
    "conveyor.automation.pipelines": "a home builds its pipeline registry when first used",
    "conveyor.automation.promotion": "`Client.promote` only: it brings the registry",
}
"""Modules that no start-up path below imports, and why."""

NOT_IN_A_RUN = (
    "sqlalchemy.orm",
    "sqlalchemy.dialects.postgresql",
    "conveyor.store.metadata.models",
)
"""What a run on SQLite does without: the store records it with Core statements over
`mlmd_tables`; the ORM's mapped classes are for the layers above, PostgreSQL's dialect for
a PostgreSQL store."""

KFP_SDK = ("kfp", "kfp.dsl", "kfp.client", "kfp.compiler", "kubernetes")
"""The kfp SDK and what its `__init__` brings: a compiled pipeline needs none of it."""


def modules_after(code: str, cwd: Path, then: str = "") -> set[str]:
    """The modules of a fresh interpreter once it has run `code` (and then `then`), in the
    test's home, whose store exists already (a new one is migrated, with Alembic)."""
    from conveyor.home import open_home

    open_home().close()
    script = (
        f"{code}\nimport json, sys\nshown = sorted(sys.modules)\n{then}\nprint(json.dumps(shown))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=True
    )
    return set(json.loads(shown.stdout.splitlines()[-1]))


def command(*args: str) -> str:
    """Code running the `conveyor` command in this interpreter, as its entry point does."""
    return (
        "import sys\n"
        "from conveyor.cli.main import main\n"
        f"sys.argv = ['conveyor', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as end:\n"
        "    assert end.code == 0, f'conveyor {sys.argv[1:]} exited with {end.code}'\n"
    )


def unexpected(modules: set[str], names) -> list[str]:
    return sorted(name for name in names if name in modules)


@pytest.fixture
def hello_yaml(tmp_path: Path) -> Path:
    """examples/hello.py's pipeline, compiled to YAML (in this process, which has kfp)."""
    from kfp import compiler

    code = HELLO.read_text()
    namespace: dict = {"__name__": "hello"}
    exec(compile(code, str(HELLO), "exec"), namespace)  # noqa: S102 (our own example)
    target = tmp_path / "hello.yaml"
    compiler.Compiler().compile(namespace["hello_pipeline"], str(target))
    return target


def test_importing_the_components_imports_only_kfp(tmp_path):
    modules = modules_after("import conveyor.components", tmp_path)
    assert unexpected(modules, NEVER_AT_START) == []
    assert unexpected(modules, ["sqlalchemy", "cel", "conveyor.store.metadata.store"]) == []
    ours = {m for m in modules if m.startswith("conveyor")}
    assert ours <= {"conveyor", "conveyor.components"} | {
        m for m in ours if m.startswith("conveyor.components.")
    }


def test_the_help_imports_neither_kfp_nor_the_store(tmp_path):
    modules = modules_after(command("--help"), tmp_path)
    assert unexpected(modules, NEVER_AT_START) == []
    assert unexpected(modules, [*KFP_SDK, "sqlalchemy", "cel", "pydantic"]) == []


def test_a_compiled_pipeline_runs_without_the_kfp_sdk(tmp_path, hello_yaml):
    """A compiled pipeline needs only the IR's protobuf module, and its conditions (hello has
    a `dsl.If`) only cel's evaluator; kfp and cel, imported afterwards, work as usual."""
    afterwards = (
        "import cel\n"
        "assert cel.compile is sys.modules['cel.cel'].compile\n"
        "assert cel.evaluate('1 + 2') == 3\n"
        "from kfp import compiler\n"
        "from kfp.pipeline_spec import pipeline_spec_pb2\n"
        "assert pipeline_spec_pb2 is sys.modules['kfp.pipeline_spec.pipeline_spec_pb2']\n"
        f"sys.path.insert(0, {str(HELLO.parent)!r})\n"
        "from hello import hello_pipeline\n"
        f"compiler.Compiler().compile(hello_pipeline, {str(tmp_path / 'again.yaml')!r})\n"
    )
    modules = modules_after(command("run", str(hello_yaml)), tmp_path, then=afterwards)
    assert unexpected(modules, NEVER_AT_START) == []
    assert unexpected(modules, [*KFP_SDK, "cel", *NOT_IN_A_RUN]) == []
    assert {"kfp.pipeline_spec.pipeline_spec_pb2", "cel.cel"} <= modules
    assert (tmp_path / "again.yaml").read_text() == hello_yaml.read_text()


def test_running_a_pipeline_file_imports_only_what_the_run_uses(tmp_path):
    modules = modules_after(command("run", f"{HELLO}:hello_pipeline"), tmp_path)
    assert unexpected(modules, NEVER_AT_START) == []
    assert unexpected(modules, NOT_IN_A_RUN) == []
    assert "cel.cel" in modules and "cel" not in modules


PROBE = """
from kfp import dsl


@dsl.component
def probe() -> str:
    import sys

    return ",".join(m for m in ("kfp.client", "kubernetes") if m in sys.modules)


@dsl.pipeline(name="probe")
def probe_pipeline() -> str:
    return probe().output
"""


def test_the_workers_of_a_compiled_pipeline_start_without_the_kfp_sdk(tmp_path):
    """The fork server imports kfp's executor as kfp's own containers do (`_KFP_RUNTIME`),
    not the SDK and its Kubernetes client, when the engine has not imported them."""
    from kfp import compiler

    source = tmp_path / "probe_pipeline.py"
    source.write_text(PROBE)
    namespace: dict = {"__name__": "probe_pipeline"}
    exec(compile(PROBE, str(source), "exec"), namespace)  # noqa: S102 (the probe above)
    target = tmp_path / "probe.yaml"
    compiler.Compiler().compile(namespace["probe_pipeline"], str(target))
    shown = subprocess.run(
        [sys.executable, "-m", "conveyor.cli.main", "run", str(target), "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(shown.stdout)["outputs"] == {"Output": ""}


def test_the_command_leaves_its_objects_to_the_exit(tmp_path):
    """The interpreter's last collections would walk the whole heap of a run: the command
    freezes it at exit, after its work and before the exit handlers registered earlier."""
    code = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        + command("--version")
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert shown.stdout.splitlines()[-1] == "frozen at exit: True"
