"""How the prebuilt components are declared: `@component`, with one image and package list.

On Conveyor the components run in its warm workers, where Conveyor and the
libraries they use are installed, so `packages_to_install` is empty by default
and nothing is installed per task. Their bodies import
`conveyor.components._lib`, so on Vertex AI or Kubeflow the task's image must
hold Conveyor. Two environment variables, read when a component module is
first imported (so set them before importing `conveyor.components` in the
script that compiles the pipeline), point the components there:

- `CONVEYOR_COMPONENTS_IMAGE`: the base image (default `python:3.11`, kfp's
  own default), for example the image the repository's Dockerfile builds. An
  image named here is taken to hold Conveyor, and so kfp: the task runs kfp's
  executor from it and installs nothing at run time (`install_kfp_package=False`),
  where with the default image kfp is installed by pip as the task starts;
- `CONVEYOR_COMPONENTS_PACKAGES`: `packages_to_install`, separated by spaces
  (for example `conveyor==0.1.0`, or a wheel's URL). On Conveyor, packages
  already installed at a matching version still run in the warm workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from kfp import dsl

DEFAULT_IMAGE = "python:3.11"


def component(function: Callable[..., Any]) -> Any:
    """`@dsl.component` with the image and packages of the environment variables; inside
    a task elsewhere, the function itself.

    There, kfp's command runs its executor with `_KFP_RUNTIME=true`, which leaves the
    decorators out of `kfp.dsl`; the component's body imports `conveyor.components._lib`,
    whose package imports every component module, and none of them needs compiling in a
    task."""
    if not hasattr(dsl, "component"):
        return function
    named = os.environ.get("CONVEYOR_COMPONENTS_IMAGE")
    packages = os.environ.get("CONVEYOR_COMPONENTS_PACKAGES", "").split()
    return dsl.component(
        function,
        base_image=named or DEFAULT_IMAGE,
        packages_to_install=packages or None,
        install_kfp_package=not named,
    )
