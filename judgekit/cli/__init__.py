"""Command-line interface: a thin layer over the public Python API.

Each sub-command lives in its own module with ``register(subparsers)`` and ``run(args) -> int``.
Modules here import only argparse at module level, so ``judgekit --help`` stays fast; the work is
imported inside ``run``.
"""
