"""Fresh-process import time: `from modelyard import AutoConfig` vs `from transformers import AutoConfig`.

Median of 7 fresh processes each (after one warm-up that fills the bytecode caches); also reports whether
the import pulled in torch, and the whole process wall time (interpreter start to exit). Target: modelyard
under 0.1 s without importing torch (the reference takes 2-2.5 s here).

    .venv/bin/python benchmarks/bench_import.py [--repeats 7] [--save]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Bench  # noqa: E402

SNIPPETS = {
    "modelyard": "from modelyard import AutoConfig",
    "reference": "from transformers import AutoConfig",
}
EXTRA = "RESULT['torch_imported'] = 'torch' in sys.modules"


def build(repeats: int = 7) -> Bench:
    bench = Bench("import time (fresh process)")
    bench.add(
        "from <lib> import AutoConfig",
        SNIPPETS,
        extra=EXTRA,
        repeats=repeats,
        warmup=1,
        target="< 0.1 s, no torch",
        extra_metrics=("torch_imported", "wall_seconds"),
    )
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--save", action="store_true", help="also write benchmarks/results/import.json")
    args = parser.parse_args()
    bench = build(args.repeats)
    bench.run()
    bench.print_table()
    if args.save:
        print(f"saved {bench.save('import')}")


if __name__ == "__main__":
    main()
