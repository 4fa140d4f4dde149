"""Which of Conveyor's model runtimes serves a model Vertex AI would serve in a container.

A Vertex AI model names its serving container (`containerSpec.imageUri`). Vertex AI's
prebuilt prediction images map to Conveyor's runtime of that framework, which reads the
same files (docs/runtimes.md):

| Image (`.../vertex-ai/prediction/NAME-cpu.X-Y`) | Framework | Files |
|---|---|---|
| `sklearn-*` | `sklearn` | `model.joblib`, `model.pkl` (or `model.skops`) |
| `xgboost-*` | `xgboost` | `model.bst`, `model.json`, `model.ubj`, `model.joblib`, `model.pkl` |
| `tf2-*`, `tf-*`, `pytorch-*` | `onnx` | a `model.onnx` exported beside the model (Conveyor has no TensorFlow or PyTorch runtime) |

A folder with a `predictor.py` is a Conveyor custom predictor (framework `custom`),
whatever the image: that is how a custom serving container runs here. Any other image
is refused, saying so.
"""

from __future__ import annotations

import re

from conveyor.components.gcpc._launcher import LauncherError

PREBUILT = re.compile(
    r"(^|/)(vertex-ai|cloud-aiplatform)/prediction/(?P<name>[a-z0-9]+)-(cpu|gpu)[.:]"
)
"""Vertex AI's prebuilt prediction images, in any region's registry (and the old gcr.io)."""
FRAMEWORKS = {"sklearn": "sklearn", "xgboost": "xgboost"}
EXPORTED = {"tf2", "tf", "pytorch"}
"""Prebuilt images of frameworks Conveyor serves once exported to ONNX."""
CUSTOM_PREDICTOR = "predictor.py"


def framework(image: str, files: set[str]) -> str:
    """The Conveyor framework that serves the model folder holding `files` (top-level names)
    that Vertex AI would serve with the container `image`; LauncherError says what to do
    when none does."""
    if CUSTOM_PREDICTOR in files:
        return "custom"
    if not image:
        raise LauncherError(
            "the model names no serving container: give the UnmanagedContainerModel's "
            "metadata a containerSpec with an imageUri (a Vertex AI prebuilt prediction image "
            "such as us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest)"
        )
    prebuilt = PREBUILT.search(image)
    if prebuilt is None:
        raise LauncherError(
            f"serving container {image} is a custom image, which Conveyor does not run: use "
            "a Vertex AI prebuilt prediction image, or put a predictor.py (a custom predictor, "
            "docs/runtimes.md) in the model folder"
        )
    name = prebuilt["name"]
    if name in FRAMEWORKS:
        return FRAMEWORKS[name]
    if name in EXPORTED and "model.onnx" in files:
        return "onnx"
    if name in EXPORTED:
        raise LauncherError(
            f"serving container {image} serves {name} models, which Conveyor has no runtime "
            "for: export the model to ONNX as model.onnx in the same folder, or add a "
            "predictor.py (docs/runtimes.md)"
        )
    raise LauncherError(
        f"serving container {image} is a Vertex AI prebuilt image of {name!r}, which Conveyor "
        f"does not serve; the prebuilt images it maps are {', '.join(sorted(FRAMEWORKS))} "
        f"(and {', '.join(sorted(EXPORTED))} exported to ONNX)"
    )
