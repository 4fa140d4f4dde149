"""The web console: a face over the control API (`/api/v1`), served at `/ui`.

Its pages are built from `console/` at the repository's root (`make env`) into `static/`,
which ships in the wheel; `conveyor.ui.console` serves them. See docs/console.md.
"""
