"""How long the CLI takes to start, and that listing the zoo never pulls in TensorFlow.

Run: make bench   (or .venv/bin/python benchmarks/cli_startup.py [--runs N])
Prints the median wall time of N fresh processes per command, after one warm-up run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = [["--help"], ["models", "--json"], ["summary", "v3-large", "--json"]]
PROBE = "import sys, runpy; sys.argv = ['edgekit'] + sys.argv[1:]\n" \
        "try:\n    runpy.run_module('edgekit', run_name='__main__')\nexcept SystemExit:\n    pass\n" \
        "print('TF_IMPORTED' if 'tensorflow' in sys.modules else 'NO_TF', file=sys.stderr)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; median of {args.runs} fresh processes after 1 warm-up")
    for command in COMMANDS:
        times, tf_seen = [], False
        for i in range(args.runs + 1):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", PROBE, *command], capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            tf_seen |= "TF_IMPORTED" in proc.stderr
            if i:
                times.append(elapsed)
        print(f"edgekit {' '.join(command):28s} median {statistics.median(times) * 1000:7.1f} ms  "
              f"min {min(times) * 1000:7.1f} ms  tensorflow imported: {'YES' if tf_seen else 'no'}")


if __name__ == "__main__":
    main()
