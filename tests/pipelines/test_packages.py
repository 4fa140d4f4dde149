"""`packages_to_install` end to end: a cached environment, built once, used by workers."""

import pytest
from kfp import dsl

import conveyor


@dsl.component(packages_to_install=["pyjokes==0.6.0"])
def joke_count(language: str) -> int:
    import pyjokes

    return len(pyjokes.get_jokes(language=language))


@dsl.component(packages_to_install=["kfp"])
def already_here() -> str:
    import sys

    return sys.prefix


@dsl.pipeline(name="with-packages")
def with_packages() -> int:
    return joke_count(language="en").output


@dsl.pipeline(name="importable-packages")
def importable_packages() -> str:
    return already_here().output


def test_pyjokes_is_not_in_the_main_environment():
    with pytest.raises(ImportError):
        import pyjokes  # noqa: F401


@pytest.mark.network
def test_a_missing_package_runs_in_a_cached_environment(home):
    first = conveyor.run(with_packages, enable_caching=False)
    assert first.status == "SUCCEEDED", first.error
    assert first.outputs["Output"] > 10
    envs = [p for p in (home / "envs").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(envs) == 1
    manifest = (envs[0] / "conveyor-env.json").stat().st_mtime_ns
    second = conveyor.run(with_packages, enable_caching=False)
    assert second.outputs == first.outputs
    assert (envs[0] / "conveyor-env.json").stat().st_mtime_ns == manifest  # reused, not rebuilt


def test_importable_packages_run_in_the_main_environment(home):
    import sys

    run = conveyor.run(importable_packages, enable_caching=False)
    assert run.outputs == {"Output": sys.prefix}
    assert not (home / "envs").exists()
