"""A task's resources as Ray task options, from the container spec kfp compiles."""

import tempfile
from pathlib import Path

import pytest
import yaml
from kfp import compiler, dsl

from conveyor.errors import UsageError
from conveyor.pipelines.executors.ray_resources import options_of, quantity, unsatisfiable


@dsl.component
def train(cpus: str) -> str:
    return cpus


def container_of(pipeline) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "spec.yaml")
        compiler.Compiler().compile(pipeline, str(path))
        spec = yaml.safe_load(path.read_text())
    (executor,) = spec["deploymentSpec"]["executors"].values()
    return executor["container"]


def test_requests_win_over_limits_and_quantities_are_read():
    @dsl.pipeline
    def sized():
        train(cpus="x").set_cpu_request("500m").set_cpu_limit("2").set_memory_limit(
            "2Gi"
        ).set_memory_request("512Mi").set_accelerator_type("NVIDIA_TESLA_T4").set_accelerator_limit(
            2
        )

    assert options_of(container_of(sized), {}) == {
        "num_cpus": 0.5,
        "memory": 512 * 2**20,
        "num_gpus": 2.0,
        "accelerator_type": "T4",
    }


def test_limits_alone_and_tpus():
    @dsl.pipeline
    def limited():
        train(cpus="x").set_cpu_limit("4").set_memory_limit("1G").set_accelerator_type(
            "TPU_V3"
        ).set_accelerator_limit(8)

    assert options_of(container_of(limited), {}) == {
        "num_cpus": 4.0,
        "memory": 10**9,
        "resources": {"TPU": 8.0},
        "accelerator_type": "TPU-V3",
    }


def test_a_resource_set_from_a_pipeline_parameter_is_read_from_the_task_inputs():
    @dsl.pipeline
    def by_parameter(cpus: str = "3"):
        train(cpus=cpus).set_cpu_limit(cpus)

    container = container_of(by_parameter)
    (name,) = {
        v.split("'")[1] for v in container["resources"].values() if isinstance(v, str) and "{{" in v
    }
    assert options_of(container, {name: "3"}) == {"num_cpus": 3.0}
    with pytest.raises(UsageError, match="names no input parameter"):
        options_of(container, {})


def test_an_unknown_accelerator_or_quantity_is_refused_naming_it():
    with pytest.raises(UsageError, match="accelerator type 'QUANTUM_X' has no Ray equivalent"):
        options_of({"resources": {"accelerator": {"resourceType": "QUANTUM_X"}}}, {})
    with pytest.raises(UsageError, match="CPU '2 cores' is not a quantity"):
        quantity("2 cores", "CPU")


NODES = [
    {"Alive": True, "Resources": {"CPU": 1.0, "memory": 8 * 2**30}},
    {
        "Alive": True,
        "Resources": {"CPU": 2.0, "memory": 4 * 2**30, "accelerator_type:T4": 1.0, "GPU": 1.0},
    },
    {"Alive": False, "Resources": {"CPU": 64.0}},
]


def test_a_task_some_node_can_hold_is_satisfiable():
    assert unsatisfiable({"num_cpus": 2}, NODES) is None
    assert unsatisfiable({"num_gpus": 1, "accelerator_type": "T4"}, NODES) is None
    assert unsatisfiable({}, NODES) is None  # Ray's default: one CPU


def test_a_task_no_alive_node_can_hold_says_what_it_asked_and_the_most_there_is():
    why = unsatisfiable({"num_cpus": 2, "memory": 6 * 2**30}, NODES)
    assert why == (
        "no node of the Ray cluster can run it: it asks for CPU 2, memory 6.0 GiB; the most "
        "any of its 2 node(s) has is CPU 2, memory 8.0 GiB"
    )
    assert "GPU 2" in unsatisfiable({"num_gpus": 2}, NODES)
    assert "accelerator_type:V100 present" in unsatisfiable(
        {"num_gpus": 1, "accelerator_type": "V100"}, NODES
    )
