"""OPA's own evaluator over the same joined input, the yardstick for benchmarks/run.py.

    python benchmarks/opa_reference.py REPO      # prints the seconds OPA's evaluator takes

The inventory and policies of REPO are loaded and joined by checker (not timed), then OPA's Go
evaluator (opa-golib-python-bindings, in its own spawned process: it aborts beside regopy)
evaluates every group input and every person input with the same queries checker's engines use,
one `eval_query` with the input per group or person. Only that evaluation is timed, so a ratio
checker / OPA says how checker's whole run compares with OPA evaluating alone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checker import evaluate, pipeline  # noqa: E402
from checker.engines import SCOPES, entry_query  # noqa: E402
from testing import real_opa  # noqa: E402

AS_OF = "2026-11-29"
CHUNK = 500  # inputs per call into the child process: bounded memory, negligible overhead


def opa_seconds(repo: Path) -> float:
    """Seconds OPA's evaluator takes for every group and person input of the repository's org."""
    if not real_opa.available():
        raise SystemExit(real_opa.SKIP_REASON)
    policy_set = pipeline.load_policies(repo / "policies")
    inventory = pipeline.load_inventory(repo / "inventories", policy_set)
    inputs = {"group": evaluate.inputs_for(inventory, AS_OF), "person": evaluate.person_inputs_for(inventory, AS_OF)}
    opa = real_opa.RealOpa(policy_set)
    try:
        opa.queries([("x := 1", {})])  # start the child and compile outside the timing
        started = time.perf_counter()
        for scope in SCOPES:
            query = entry_query(policy_set, scope)
            items = inputs.get(scope, [])
            for start in range(0, len(items), CHUNK):
                answers = opa.queries([(query, document) for _key, document in items[start:start + CHUNK]])
                failed = [value for ok, value in answers if not ok]
                if failed:
                    raise SystemExit(f"OPA failed: {failed[0]}")
        return time.perf_counter() - started
    finally:
        opa.close()


if __name__ == "__main__":
    print(f"{opa_seconds(Path(sys.argv[1])):.2f}")
