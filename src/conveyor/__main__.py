"""`python -m conveyor`: the `conveyor` command, in this Python (fired runs start so)."""

from conveyor.cli.main import main

if __name__ == "__main__":
    main()
