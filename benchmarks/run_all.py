"""Run every ``benchmarks/bench_*.py`` in turn (one at a time), passing on any arguments.

Each benchmark writes its own ``benchmarks/results/<name>.md`` and ``.json``.

Run: ``.venv/bin/python benchmarks/run_all.py [--quick]`` (or ``make bench``).
"""

from __future__ import annotations

import subprocess
import sys
import time

from pathlib import Path

HERE = Path(__file__).parent


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"=== {script.name} {' '.join(args)}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *args])
        print(
            f"=== {script.name}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True
        )
        if code:
            failed.append(script.name)
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
