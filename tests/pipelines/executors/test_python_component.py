"""Reading lightweight Python components from the containers kfp really compiles."""

# No `from __future__ import annotations`: kfp reads the components' real annotations.
import copy

import pytest
from google.protobuf import json_format
from kfp import dsl

from conveyor.pipelines.executors.python_component import (
    ComponentParseError,
    PythonComponent,
    parse,
)

IMAGE = "python:3.11"


def container_of(component) -> dict:
    """The PipelineContainerSpec JSON of a compiled single-component pipeline."""
    deployment = json_format.MessageToDict(component.pipeline_spec.deployment_spec)
    (executor,) = deployment["executors"].values()
    return executor["container"]


@dsl.component(base_image=IMAGE)
def add_one(x: int) -> int:
    return x + 1


@dsl.component(
    base_image=IMAGE,
    packages_to_install=["pandas==2.2.2", "scikit-learn>=1.3", 'tomli; python_version < "3.11"'],
)
def with_packages(x: int) -> int:
    return x


@dsl.component(
    base_image=IMAGE,
    packages_to_install=["pyjokes==0.6.0"],
    pip_index_urls=["https://mirror.example/simple", "https://extra.example/simple"],
)
def with_index_urls(x: int) -> int:
    return x


@dsl.component(
    base_image=IMAGE,
    packages_to_install=["art==6.1"],
    pip_index_urls=["http://mirror.example/simple"],
    pip_trusted_hosts=["mirror.example"],
)
def with_trusted_host(x: int) -> int:
    return x


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def without_kfp(x: int) -> int:
    return x


@dsl.component(base_image=IMAGE, install_kfp_package=False, packages_to_install=["art==6.1"])
def without_kfp_with_packages(x: int) -> int:
    return x


@dsl.component(
    base_image=IMAGE,
    kfp_package_path="git+https://github.com/kubeflow/pipelines.git@master#subdirectory=sdk/python",
    packages_to_install=["pyjokes==0.6.0"],
)
def from_kfp_path(x: int) -> int:
    return x


@dsl.component(base_image=IMAGE, kfp_package_path="/wheels/kfp-2.17.3-py3-none-any.whl")
def from_kfp_path_only(x: int) -> int:
    return x


@dsl.component(base_image=IMAGE, packages_to_install=["kfp-kubernetes==1.5.0"])
def with_kfp_extension(x: int) -> int:
    return x


@dsl.component(base_image=IMAGE, packages_to_install=["art==6.1"], use_venv=True)
def in_venv(x: int) -> int:
    return x


@dsl.component(base_image=IMAGE, target_image="registry.example/containerized:1")
def containerized(x: int) -> int:
    return x


@dsl.container_component
def echo(message: str):
    return dsl.ContainerSpec(
        image="alpine", command=["sh", "-c", "echo 'unbalanced"], args=[message]
    )


def test_plain_component_gives_source_and_function():
    component = parse(container_of(add_one))

    assert component == PythonComponent(source=component.source, function="add_one")
    namespace = {}
    exec(compile(component.source, "ephemeral_component.py", "exec"), namespace)
    assert namespace["add_one"](x=1) == 2


@pytest.mark.parametrize(
    ("component", "packages", "index_urls"),
    [
        (
            with_packages,
            ("pandas==2.2.2", "scikit-learn>=1.3", 'tomli; python_version < "3.11"'),
            (),
        ),
        (
            with_index_urls,
            ("pyjokes==0.6.0",),
            ("https://mirror.example/simple", "https://extra.example/simple"),
        ),
        (with_trusted_host, ("art==6.1",), ("http://mirror.example/simple",)),
        (without_kfp, (), ()),
        (without_kfp_with_packages, ("art==6.1",), ()),
        (from_kfp_path, ("pyjokes==0.6.0",), ()),
        (with_kfp_extension, ("kfp-kubernetes==1.5.0",), ()),
        (in_venv, ("art==6.1",), ()),
    ],
    ids=lambda value: getattr(value, "name", None),
)
def test_packages_and_index_urls_of_every_variant(component, packages, index_urls):
    parsed = parse(container_of(component))

    assert parsed.packages == packages
    assert parsed.index_urls == index_urls
    assert parsed.function == component.component_spec.implementation.container.args[-1]
    assert f"def {parsed.function}(x: int) -> int:" in parsed.source


def test_kfp_package_path_alone_reads_as_a_user_package():
    # Documented: without packages_to_install it cannot be told from one.
    parsed = parse(container_of(from_kfp_path_only))

    assert parsed.packages == ("/wheels/kfp-2.17.3-py3-none-any.whl",)


@pytest.mark.parametrize("component", [containerized, echo], ids=["target_image", "container"])
def test_components_without_embedded_source_are_not_python_components(component):
    assert parse(container_of(component)) is None


def test_empty_container_is_not_a_python_component():
    assert parse({"image": "alpine"}) is None


def broken(change) -> dict:
    container = copy.deepcopy(container_of(with_index_urls))
    change(container)
    return container


def replace_in_install_script(old: str, new: str):
    def change(container):
        assert old in container["command"][2]
        container["command"][2] = container["command"][2].replace(old, new)

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["command"].pop(), "not followed by its Python source"),
        (lambda c: c.update(args=["--executor_input", "{{$}}"]), "--function_to_execute"),
        (replace_in_install_script("'pyjokes==0.6.0'", "'pyjokes==0.6.0"), "No closing quotation"),
        (replace_in_install_script("--quiet", "--pre"), "'--pre' in its install script"),
        (
            replace_in_install_script(
                "--trusted-host https://extra.example/simple 'pyjokes==0.6.0'",
                "'pyjokes==0.6.0' --index-url",
            ),
            "--index-url has no value",
        ),
        (
            replace_in_install_script("&&  python3", "&& python3 -m pip install x && python3"),
            "3 pip install commands",
        ),
        (lambda c: c["command"].insert(0, "env"), "expected `sh -c <install script>`"),
    ],
    ids=[
        "no source",
        "no function",
        "unclosed quote",
        "unknown pip option",
        "option without value",
        "three installs",
        "unexpected prefix",
    ],
)
def test_malformed_components_raise_clear_errors(change, message):
    with pytest.raises(ComponentParseError, match="recompile|uv|pip_index_urls") as error:
        parse(broken(change))

    assert message in str(error.value)
