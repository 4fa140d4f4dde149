"""Conveyor's implementations of Google Cloud Pipeline Components' launchers.

A pipeline written with `google-cloud-pipeline-components` (GCPC) compiles its
components to containers of Google's image that call the Vertex AI API
(`ModelUploadOp`, `EndpointCreateOp`, `ModelDeployOp`, `ModelBatchPredictOp`,
`CustomTrainingJobOp`...). Conveyor runs the compiled pipeline unchanged: the
executor `conveyor.pipelines.executors.gcpc` recognises each such container by its
image and launcher module, and runs the module of this package it maps to, with the
launcher's own arguments (`--type`, `--payload`, `--project`, `--location`,
`--gcp_resources`, `--executor_input`), as a local process of the run's task.

Each module does its component's job against Conveyor's registry, endpoints and
batch prediction, through `conveyor.client` only, and writes what GCPC writes: the
output artifacts' metadata (`google.VertexModel`'s `resourceName`
`projects/P/locations/L/models/NAME@VERSION`, ...) in the executor output, and the
`gcp_resources` output parameter. GCPC is needed to compile such a pipeline, never
here. See docs/gcpc.md.
"""
