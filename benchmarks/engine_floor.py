"""The embedded engine's floor: rego-cpp's own time over an org's inputs, with no checker work at all.

    python benchmarks/engine_floor.py REPO     # a repository made by benchmarks/run.py --keep DIR

Every group and person input of REPO (loaded and joined by checker, not timed) is handed to one
regopy interpreter compiled with the policies exactly as the embedded engine compiles them; the CPU
seconds of the two calls per input, set_input and the query, are summed. OPA's own evaluator is
timed over the same inputs in the same run (benchmarks/opa_reference.py). The best a run on two
cores could do is half the floor, so the printed ratio bounds what any checker change can reach
with this engine: if half the query time alone is above a goal, no work outside rego-cpp meets it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opa_reference import AS_OF, opa_seconds  # noqa: E402

from checker import evaluate, pipeline  # noqa: E402
from checker.engines import SCOPES, entry_query  # noqa: E402
from checker.engines.embedded import Evaluator  # noqa: E402
from checker.engines.embedded_arrays import ArrayPlan  # noqa: E402
from checker.engines.embedded_input import set_input  # noqa: E402


def floor_seconds(repo: Path) -> dict[str, tuple[int, float, float]]:
    """scope -> (inputs, CPU seconds in set_input, CPU seconds in the query)."""
    from regopy.rego_shared import rego_bundle_query, rego_free_output

    policy_set = pipeline.load_policies(repo / "policies")
    inventory = pipeline.load_inventory(repo / "inventories", policy_set)
    plan = ArrayPlan(tuple((m.path, m.source) for m in policy_set.modules), policy_set.rules)
    evaluator = Evaluator(plan.modules, dict(policy_set.data),
                          {scope: entry_query(policy_set, scope, plan.level_ref) for scope in SCOPES})
    inputs = {"group": evaluate.inputs_for(inventory, AS_OF), "person": evaluate.person_inputs_for(inventory, AS_OF)}
    out = {}
    for scope in SCOPES:
        bundle = evaluator._bundles[scope]
        marshalling = querying = 0.0
        for _key, document in inputs[scope]:
            started = time.process_time()
            set_input(evaluator._interp, document)
            between = time.process_time()
            rego_free_output(rego_bundle_query(evaluator._interp._impl, bundle._impl))
            marshalling += between - started
            querying += time.process_time() - between
        out[scope] = (len(inputs[scope]), marshalling, querying)
    return out


def main() -> None:
    repo = Path(sys.argv[1])
    floor = floor_seconds(repo)
    opa = opa_seconds(repo)
    total_query = sum(q for _, _, q in floor.values())
    total = sum(m + q for _, m, q in floor.values())
    for scope, (count, marshalling, querying) in floor.items():
        print(f"{scope}: {count:,} inputs, set_input {marshalling:.2f} s, query {querying:.2f} s (CPU)")
    print(f"OPA's evaluator, same inputs, one process: {opa:.2f} s")
    print(f"floor on two cores: queries alone {total_query / 2:.2f} s ({total_query / 2 / opa:.2f}x OPA), "
          f"with set_input {total / 2:.2f} s ({total / 2 / opa:.2f}x OPA)")


if __name__ == "__main__":
    main()
