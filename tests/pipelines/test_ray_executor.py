"""`--executor ray` on a real cluster (`ray_cluster`: a head of 1 CPU and a node of 2 on
loopback), with PostgreSQL metadata and S3 artifacts: the engine drives, Ray runs."""

import dataclasses
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Output

import conveyor
from conveyor.client import Client
from conveyor.config import Settings
from conveyor.errors import UsageError
from conveyor.home import open_home


@dsl.component
def make(n: int, data: Output[Dataset]) -> str:
    import os

    import ray

    print(f"making {n} rows; K={os.environ.get('K')}")
    os.makedirs(data.path)
    for part in range(2):
        with open(os.path.join(data.path, f"part-{part}.csv"), "w") as f:
            f.write(",".join(str(i) for i in range(part * n, (part + 1) * n)))
    return ray.get_runtime_context().get_node_id()


@dsl.component
def total(data: Input[Dataset]) -> int:
    import os

    return sum(
        int(x)
        for name in sorted(os.listdir(data.path))
        for x in open(os.path.join(data.path, name)).read().split(",")
    )


@dsl.pipeline(name="ray-rows")
def rows(n: int = 5) -> int:
    made = make(n=n).set_env_variable("K", "V")
    return total(data=made.outputs["data"]).output


@dsl.component
def where(i: int) -> str:
    import time

    import ray

    time.sleep(0.5)
    return ray.get_runtime_context().get_node_id()


@dsl.pipeline(name="ray-fan-out")
def fan_out() -> list:
    with dsl.ParallelFor([0, 1, 2, 3], parallelism=4) as i:
        task = where(i=i)
    return dsl.Collected(task.output)


@dsl.pipeline(name="ray-two-cpus")
def two_cpus() -> str:
    return where(i=0).set_cpu_limit("2").output


@dsl.pipeline(name="ray-four-cpus")
def four_cpus() -> str:
    return where(i=0).set_cpu_limit("4").set_memory_limit("1G").output


@dsl.component
def broken(n: int) -> int:
    print("about to fail")
    raise ValueError(f"no luck with {n}")


@dsl.pipeline(name="ray-broken")
def broken_pipeline() -> int:
    return broken(n=3).output


@pytest.fixture
def s3_home(ray_cluster, ray_s3, postgres_server, tmp_path, monkeypatch) -> Client:
    """A home with its metadata in PostgreSQL and its artifacts in a bucket of its own."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", ray_s3.endpoint)  # the nodes have it too
    bucket = f"ray-{uuid.uuid4().hex[:12]}"
    ray_s3.filesystem().mkdir(bucket)
    settings = dataclasses.replace(
        Settings.from_env(tmp_path / "home"),
        metadata_url=postgres_server.new_database(),
        artifact_root=f"s3://{bucket}/artifacts",
        executor="ray",
        ray_address=ray_cluster.address,
    )
    return Client(open_home(settings=settings))


def test_a_pipeline_runs_on_the_cluster_with_its_artifacts_in_s3(s3_home, ray_s3):
    run = s3_home.run(rows, {"n": 5}, enable_caching=False)
    assert run.status == "SUCCEEDED", run.error
    assert run.outputs == {"Output": sum(range(10))}
    detail = s3_home.home.store.get_run(run.run_id)
    made = next(e for e in detail.executions if e.task_key.endswith("make"))
    (dataset,) = made.outputs["data"]
    assert dataset.uri.startswith("s3://")
    files = sorted(ray_s3.filesystem().find(dataset.uri))
    assert [f.rsplit("/", 1)[-1] for f in files if "part-" in f] == ["part-0.csv", "part-1.csv"]
    assert not ray_s3.filesystem().find(dataset.uri.split("/artifacts")[0] + "/artifacts/.uploads")
    log = Path(made.log_uri).read_text()
    assert "making 5 rows; K=V" in log  # set_env_variable reached the task
    lineage = s3_home.lineage(dataset.uri)
    assert {e.task_key.rsplit("/", 1)[-1] for e in lineage.executions.values()} >= {"make", "total"}


def test_a_second_run_takes_its_tasks_from_the_cache(s3_home):
    first = s3_home.run(rows, {"n": 3})
    second = s3_home.run(rows, {"n": 3})
    assert second.status == "SUCCEEDED", second.error
    assert second.outputs == first.outputs
    assert {t.status for t in second.tasks} == {"CACHED"}


def test_tasks_spread_over_the_nodes(ray_cluster, tmp_path):
    run = conveyor.run(fan_out, executor="ray", ray_address=ray_cluster.address)
    assert run.status == "SUCCEEDED", run.error
    assert len(set(run.outputs["Output"])) == 2  # the head's CPU and the other node's two


def test_a_task_that_needs_two_cpus_runs_on_the_node_that_has_them(ray_cluster):
    import ray

    run = conveyor.run(two_cpus, executor="ray", ray_address=ray_cluster.address)
    assert run.status == "SUCCEEDED", run.error
    two = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU") == 2]
    assert run.outputs["Output"] in two


def test_a_task_no_node_can_hold_fails_saying_so(ray_cluster):
    run = conveyor.run(four_cpus, executor="ray", ray_address=ray_cluster.address)
    assert run.status == "FAILED"
    assert "no node of the Ray cluster can run it: it asks for CPU 4" in run.error
    assert "the most any of its 2 node(s) has is CPU 2" in run.error


def test_a_failing_component_fails_its_task_with_its_error_and_log(ray_cluster):
    run = conveyor.run(broken_pipeline, executor="ray", ray_address=ray_cluster.address)
    assert run.status == "FAILED"
    assert "ValueError: no luck with 3" in run.error
    (task,) = run.tasks
    log = Path(task.log_path).read_text()
    assert "about to fail" in log and "Traceback" in log


@dsl.component(packages_to_install=["pyjokes==0.6.0"])
def joke_count(language: str) -> int:
    import pyjokes

    return len(pyjokes.get_jokes(language=language))


@dsl.pipeline(name="ray-packages")
def with_packages() -> int:
    return joke_count(language="en").output


@pytest.mark.network
def test_packages_to_install_become_the_tasks_runtime_environment(ray_cluster):
    run = conveyor.run(with_packages, executor="ray", ray_address=ray_cluster.address)
    assert run.status == "SUCCEEDED", run.error
    assert run.outputs["Output"] > 10
    with pytest.raises(ImportError):  # installed for the task on its node, not here
        import pyjokes  # noqa: F401


@dsl.container_component
def shell(text: str):
    return dsl.ContainerSpec(image="alpine:3", command=["echo"], args=[text])


@dsl.pipeline(name="ray-shell")
def with_shell():
    shell(text="hi")


def test_a_container_component_is_refused_before_the_run(ray_cluster):
    with pytest.raises(UsageError, match="runs Python components only"):
        conveyor.run(with_shell, executor="ray", ray_address=ray_cluster.address)
    assert Client().home.store.list_runs() == []


def test_an_unreachable_cluster_is_a_clear_error_before_the_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "conveyor", "run", "examples/hello.py:hello_pipeline",
         "--executor", "ray", "--ray-address", "127.0.0.1:9", "--json"],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "no Ray cluster answers at 127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr


def test_settings_name_the_executor_and_its_cluster(tmp_path):
    (tmp_path / "conveyor.toml").write_text(
        '[env.cluster]\nexecutor = "ray"\nray_address = "10.0.0.5:6379"\n'
    )
    settings = Settings.from_env(environ={"CONVEYOR_CONFIG": str(tmp_path / "conveyor.toml")},
                                 env="cluster")  # fmt: skip
    assert (settings.executor, settings.ray_address) == ("ray", "10.0.0.5:6379")
    assert json.loads(json.dumps(settings.to_env()))["CONVEYOR_RAY_ADDRESS"] == "10.0.0.5:6379"
