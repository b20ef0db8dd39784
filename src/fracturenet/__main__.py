"""Entry point for ``python -m fracturenet``."""

from fracturenet.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
