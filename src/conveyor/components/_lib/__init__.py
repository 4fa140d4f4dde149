"""The code behind Conveyor's prebuilt components, importable inside their tasks.

A lightweight KFP component ships only its own function's source, so each
component's body is a few lines that import from here. On Conveyor this works
as is: tasks run in Conveyor's warm workers, where `conveyor` is installed.
Elsewhere (Vertex AI, Kubeflow) the task's image must hold Conveyor: see
`conveyor.components._component` and docs/components.md.

Nothing here imports the rest of Conveyor beyond `conveyor.errors`: components
reach Conveyor only through `conveyor.client`.
"""
