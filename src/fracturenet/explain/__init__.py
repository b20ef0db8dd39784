"""fracturenet.explain."""

__all__: list[str] = []
