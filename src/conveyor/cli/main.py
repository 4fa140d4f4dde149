"""The `conveyor` command."""


def main() -> None:
    raise SystemExit("conveyor: not built yet")
