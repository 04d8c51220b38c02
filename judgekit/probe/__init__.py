"""Bias probes: verbosity, injection, aspect order and position (``run``), and a judge's own consistency
(``self_check``)."""

__all__: list[str] = []
