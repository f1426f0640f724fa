#!/usr/bin/env python3
"""Reference re-implementation of the "PDL overlap fix script" (see
/work/shared/docs/PRIOR-ART.md), written for benchmarking traceforge against it.

Behaviour kept on purpose, including its known shortcomings:
  * loads the whole gzip JSON into memory (text read, then one json.loads);
  * walks traceEvents in file order, no sort;
  * only complete events (ph "X") whose args hold "registers per thread" (kernels)
    are considered; memcpy/memset/annotations are left alone;
  * while the event starts before the last end seen on its (pid, tid), "_hack" is
    appended to its tid (as a string); then its end is recorded on the new track;
  * no thread_name for new tracks, flow ends are not moved;
  * writes gzip with Python's default compresslevel (9).

The original uses orjson; only the standard library is available here, so this
uses json with compact separators (orjson's output has no spaces). The output
is therefore the same shape, but json is slower than orjson: speedups measured
against this reference overstate the speedup against the orjson original.

Usage: python3 fix_pdl.py IN.json.gz OUT.json.gz
"""

import gzip
import json
import sys
from collections import defaultdict


def process_events(events):
    last_end = defaultdict(lambda: -1)
    for e in events:
        if e["ph"] == "X" and "registers per thread" in e.get("args", {}):
            while e["ts"] < last_end[(e["pid"], e["tid"])]:
                e["tid"] = str(e["tid"]) + "_hack"
            last_end[(e["pid"], e["tid"])] = e["ts"] + e["dur"]
    return events


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: fix_pdl.py IN.json.gz OUT.json.gz\n")
        return 2
    path_in, path_out = argv[1], argv[2]
    with gzip.open(path_in, "rt", encoding="utf-8") as f:
        trace = json.loads(f.read())
        output = {k: v for k, v in trace.items() if k != "traceEvents"}
        output["traceEvents"] = process_events(trace.get("traceEvents", []))
    with gzip.open(path_out, "wb") as f:
        f.write(json.dumps(output, separators=(",", ":")).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
