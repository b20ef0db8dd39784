"""fracturenet.evaluation."""

__all__: list[str] = []
