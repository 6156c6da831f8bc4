"""Start-up time of the command line: `fincast --help`, `validate`, `import fincast`.

Each command runs in a fresh process (imports included), several times; the median wall
time is reported together with the heavy libraries the process imported. Measured and
printed by `make bench`, never asserted (timings depend on the machine and its load).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("keras", "jax", "statsmodels", "arch", "matplotlib", "optuna", "ray")
TARGET_HELP_S = 0.7

_PROBE = """
import contextlib, io, json, sys
args = json.loads(sys.argv[1])
if args is None:
    import fincast
else:
    from fincast.cli import main
    with contextlib.redirect_stdout(io.StringIO()):
        main(args)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))))
"""

#: name -> command-line arguments (None: just `import fincast`)
CASES: dict[str, list[str] | None] = {
    "import fincast": None,
    "fincast --help": ["--help"],
    "fincast models": ["models"],
    "fincast validate builtin:sp500": ["validate", "builtin:sp500"],
}


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def measure(repeats: int = 5) -> dict[str, Any]:
    """Median wall time (s) of each case over ``repeats`` fresh processes, and its heavy imports.

    ``fincast --help`` is also timed as the console command users type
    (``python -m fincast --help``).
    """
    out: dict[str, Any] = {"repeats": repeats, "target_help_s": TARGET_HELP_S, "cases": {}}
    for name, args in CASES.items():
        times, heavy = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(HEAVY)],
                env=_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            times.append(time.perf_counter() - t0)
            if proc.returncode == 0:
                heavy = json.loads(proc.stdout.strip().splitlines()[-1])
        out["cases"][name] = {"wall_s": statistics.median(times), "heavy_imports": heavy}
    times, cpu = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fincast", "--help"],
            env=_env(),
            capture_output=True,
            check=False,
        )
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    out["help_s"] = statistics.median(times)
    out["help_cpu_s"] = statistics.median(cpu)  # less sensitive to a busy machine
    return out


def markdown(result: dict[str, Any]) -> list[str]:
    """The start-up measurements as Markdown lines."""
    lines = [
        "",
        f"**Start-up** (fresh process each, median of {result['repeats']}; `python -m fincast "
        f"--help`: {result['help_s']:.2f} s wall, {result['help_cpu_s']:.2f} s CPU, target < "
        f"{result['target_help_s']} s):",
        "",
        "| command | wall s | heavy libraries imported |",
        "| --- | ---: | --- |",
    ]
    for name, case in result["cases"].items():
        heavy = ", ".join(case["heavy_imports"]) or "none"
        lines.append(f"| `{name}` | {case['wall_s']:.2f} | {heavy} |")
    return lines


if __name__ == "__main__":
    res = measure()
    print("\n".join(markdown(res)))
