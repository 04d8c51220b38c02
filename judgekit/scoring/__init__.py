"""Scoring a response file: ``score()`` (in ``core``) plans, runs the judges and builds the score file once;
its settings, inputs, provenance, redaction, aggregation, panels, pairwise summaries, the lexical part, the
terminal summary and the dry-run estimate. ``judgekit.score`` re-exports the public names."""

__all__: list[str] = []
