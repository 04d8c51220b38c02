"""``judgekit rubrics``: list the built-in rubrics, show one, or render the exact messages a judge would see."""

from __future__ import annotations

import argparse
from typing import Any

from judgekit.cli._args import add_command

HELP = "list, show and render rubric templates"
DESCRIPTION = (
    "Rubrics are folders: rubric.yaml plus Jinja templates. Inspect them and preview the "
    "messages a judge receives."
)
EPILOG = """\
examples:
  judgekit rubrics list
  judgekit rubrics show lamp_qa
  judgekit rubrics render lamp_qa --dataset examples/lamp_qa/dataset.json \\
      --responses examples/lamp_qa/responses.json --id lqa-001
  judgekit rubrics render ./my_rubric --dataset D --responses R --id q7 --mode all_aspects --json
  judgekit rubrics render criteria --dataset examples/criteria/dataset.json \\
      --responses examples/criteria/responses.json --id c1
  judgekit rubrics render pairwise --dataset examples/pairwise/dataset.json \\
      --responses-a examples/pairwise/responses_a.json --responses-b examples/pairwise/responses_b.json --id p1
  judgekit rubrics render pairwise --dataset examples/pairwise/llmbar.json --id 1
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = add_command(sub, "rubrics", HELP, DESCRIPTION, EPILOG)
    rsub = p.add_subparsers(dest="rubrics_command", metavar="ACTION", required=True)
    ls = rsub.add_parser("list", help="list built-in rubrics")
    ls.set_defaults(run=run_list)
    show = rsub.add_parser("show", help="print a rubric's configuration and output schema")
    show.add_argument("name", help="built-in rubric name or rubric folder")
    show.set_defaults(run=run_show)
    render = rsub.add_parser("render", help="print the messages the judge would see for one item")
    render.add_argument("name", help="built-in rubric name or rubric folder")
    render.add_argument("--dataset", required=True)
    render.add_argument("--responses", default=None, help="responses (rubrics that judge one response)")
    render.add_argument("--responses-a", default=None, help="pairwise rubrics: the first system's responses")
    render.add_argument("--responses-b", default=None, help="pairwise rubrics: the second system's responses")
    render.add_argument("--id", required=True, help="the item to render")
    render.add_argument(
        "--mode", default=None, choices=["per_aspect", "all_aspects", "per_item", "per_order"]
    )
    render.add_argument("--json", action="store_true", help="print the calls as JSON (messages and schema)")
    render.set_defaults(run=run_render)


def run_list(args: argparse.Namespace) -> int:
    from judgekit.rubric import list_rubrics, load_rubric

    names = list_rubrics()
    width = max([12, *map(len, names)])
    for name in names:
        r = load_rubric(name)
        print(f"{name:<{width}} {r.spec.description.splitlines()[0][:100]}")
    return 0


#: What ``rubrics show`` says of each ``output.match`` rule (an answer holding several verdicts).
_MATCH = {
    "consistent": "verdicts in one answer must agree, else it is refused and re-asked",
    "first": "the first verdict in the answer decides",
    "last": "the last verdict in the answer decides",
    "priority": "the verdict earliest in the score field's enum decides, wherever it stands",
}


def run_show(args: argparse.Namespace) -> int:
    import json

    from judgekit.rubric import load_rubric

    r = load_rubric(args.name)
    s = r.spec
    print(f"name         {s.name} (version {s.version})")
    print(f"folder       {r.folder}")
    print(f"sha256       {r.content_hash}")
    print(f"description  {s.description}")
    print(f"scale        {s.scale.min:g}..{s.scale.max:g}; question score: {s.question_score}")
    print(f"modes        {', '.join(s.modes)} (default {s.mode})")
    print(
        f"inputs       required fields: {', '.join(s.inputs.required) or '-'}; aspects: {s.inputs.aspects or '-'}"
    )
    print(
        f"score field  {s.output.score}" + (f" mapped by {s.output.score_map}" if s.output.score_map else "")
    )
    method: str = s.score_method
    if method == "logprob_weighted":
        method += f" (top {s.top_logprobs} log-probabilities; the written value when the backend has none)"
    print(f"score method {method}")
    print(f"responses    {s.inputs.responses}")
    if s.pairwise is not None:
        print(f"pairwise     both orders; a disagreement counts as {s.pairwise.on_disagreement}")
    if s.criterion is not None:
        print(f"criterion    {s.criterion.name}: {s.criterion.description}")
        for n, step in enumerate(s.criterion.steps, 1):
            print(f"             {n}. {step}")
    if s.output.pattern is not None:
        print(f"output       free text read with the pattern {s.output.pattern} (no JSON schema is sent)")
    print(f"several      {_MATCH[s.output.match]} (output.match: {s.output.match})")
    print("output schema (one unit):")
    print(json.dumps(r.unit_schema, indent=2))
    return 0


def run_render(args: argparse.Namespace) -> int:
    import json

    from judgekit.data import load_dataset, load_pairs, load_responses
    from judgekit.errors import ConfigError, InputError
    from judgekit.rubric import load_rubric

    r = load_rubric(args.name)
    mode = args.mode or r.spec.mode
    responses: dict[str, Any]
    if r.pairwise:
        if args.responses is not None:
            raise ConfigError(
                f"rubric {r.name!r} compares two responses: give --responses-a and --responses-b"
            )
        loaded, pairs = load_pairs(
            args.dataset, args.responses_a, args.responses_b, required=r.spec.inputs.required, max_chars=None
        )
        items = {it.id: it for it in loaded}
        responses = dict(pairs)
    else:
        if args.responses is None:
            raise ConfigError(f"rubric {r.name!r} judges one response per item: give --responses")
        aspects = r.spec.inputs.aspects if mode in ("per_aspect", "all_aspects") else None
        items = {
            it.id: it
            for it in load_dataset(args.dataset, required=r.spec.inputs.required, aspects_field=aspects)
        }
        responses = dict(load_responses(args.responses, None))
    if args.id not in items:
        raise InputError(f"{args.dataset}: no item with id {args.id!r}")
    if args.id not in responses:
        raise InputError(f"{args.responses}: no response for id {args.id!r}")
    plans = r.plan(items[args.id], responses[args.id], mode)
    if args.json:
        print(
            json.dumps(
                [
                    {"targets": list(p.targets), "messages": list(p.messages), "schema": p.schema}
                    for p in plans
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    for n, plan in enumerate(plans, 1):
        print(f"=== call {n}/{len(plans)}: {', '.join(plan.targets)}")
        for m in plan.messages:
            print(f"--- {m['role']}")
            print(m["content"])
        print()
    return 0
