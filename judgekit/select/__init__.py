"""``judgekit select``: choose the judge to trust from human labels, with held-out numbers and their price.

Modules, one concept each: ``candidates`` (candidates.yaml), ``split`` (the seeded dev/test split),
``run`` (scoring a candidate on a subset through :func:`judgekit.scoring.core.ascore`), ``agreement`` (the
candidate against the humans, by :func:`judgekit.validate.validate`), ``paired`` (paired bootstrap
differences with Holm-adjusted p-values), ``choose`` (frontier, budget, non-inferiority), ``race``
(rounds of growing size), ``result`` (select.json) and ``select`` (the whole command).
"""

from judgekit.select.result import SelectResult
from judgekit.select.select import SelectOptions, select

__all__ = ["SelectOptions", "SelectResult", "select"]
