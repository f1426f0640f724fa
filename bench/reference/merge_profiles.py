#!/usr/bin/env python3
"""Reference re-implementation of SGLang's ProfileMerger (`--merge-profiles`,
see /work/shared/docs/PRIOR-ART.md), written for benchmarking traceforge.

Behaviour kept on purpose, including its known shortcomings:
  * glob "{profile_id}*.trace.json.gz" in DIR, drop merged-*/ *-memory.pickle,
    require "TP-" in the path;
  * read TP/DP/PP/EP ranks from the file name, process files sorted by (dp, ep, pp, tp);
  * load every file whole with json; a file that fails to load is dropped (logged);
  * every pid becomes "[TP00-DP01] <pid>"; process_sort_index of device pids (< 1000)
    becomes dp*1e8 + ep*1e6 + pp*1e4 + tp*100 + pid;
  * events are concatenated; other top-level keys come from the first file that has
    them; deviceProperties lists are concatenated (and written last);
  * flow / correlation / External ids and timestamps are left as they are;
  * one json.dumps of the whole merged trace, gzip with the default level (9).

Usage: python3 merge_profiles.py DIR PROFILE_ID [OUT.json.gz]
       (default OUT: DIR/merged-{PROFILE_ID}.trace.json.gz)
"""

import glob
import gzip
import json
import os
import re
import sys

RANK_TYPES = ("TP", "DP", "PP", "EP")


def find_trace_files(dir_data, profile_id):
    found = glob.glob(os.path.join(dir_data, f"{profile_id}*.trace.json.gz"))
    keep = [
        p
        for p in found
        if not p.endswith(f"merged-{profile_id}.trace.json.gz")
        and not p.endswith("-memory.pickle")
        and "TP-" in p
    ]
    return list(set(keep))


def rank_info_of(path):
    name = os.path.basename(path)
    info = {}
    for kind in RANK_TYPES:
        m = re.search(kind + r"-(\d+)", name)
        if m:
            info[kind.lower()] = int(m.group(1))
    return info


def label_of(info):
    parts = [f"{k.upper()}{info[k]:02d}" for k in ("tp", "dp", "pp", "ep") if k in info]
    return "[" + "-".join(parts) + "]" if parts else "[Unknown]"


def sort_key(path):
    info = rank_info_of(path)
    return tuple(info.get(k, 0) for k in ("dp", "ep", "pp", "tp"))


def as_int(x):
    try:
        return int(x)
    except (ValueError, TypeError):
        return None


def relabel(events, info):
    label = label_of(info)
    base = (
        info.get("dp", 0) * 100000000
        + info.get("ep", 0) * 1000000
        + info.get("pp", 0) * 10000
        + info.get("tp", 0) * 100
    )
    for e in events:
        if e.get("name") == "process_sort_index":
            pid = as_int(e.get("pid"))
            if pid is not None and pid < 1000:
                e["args"]["sort_index"] = base + pid
        e["pid"] = f"{label} {e['pid']}"
    return events


def load_one(path, info):
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            trace = json.load(f)
        out = {k: v for k, v in trace.items() if k != "traceEvents"}
        out["traceEvents"] = relabel(trace.get("traceEvents", []), info)
        return out
    except Exception as exc:  # the original swallows the error and drops the file
        sys.stderr.write(f"failed to process {path}: {exc}\n")
        return {"traceEvents": []}


def merge(dir_data, profile_id, out_path):
    files = find_trace_files(dir_data, profile_id)
    if not files:
        raise ValueError(f"No trace files found for profile_id: {profile_id}")
    merged = {"traceEvents": []}
    device_props = []
    for path in sorted(files, key=sort_key):
        one = load_one(path, rank_info_of(path))
        merged["traceEvents"].extend(one["traceEvents"])
        if "deviceProperties" in one:
            device_props.extend(one.pop("deviceProperties"))
        for k, v in one.items():
            if k != "traceEvents" and k not in merged:
                merged[k] = v
    if device_props:
        merged["deviceProperties"] = device_props
    with gzip.open(out_path, "wb") as f:
        f.write(json.dumps(merged).encode("utf-8"))
    sys.stderr.write(
        f"merged {len(files)} files, {len(merged['traceEvents'])} events -> {out_path}\n"
    )
    return out_path


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write("usage: merge_profiles.py DIR PROFILE_ID [OUT.json.gz]\n")
        return 2
    dir_data, profile_id = argv[1], argv[2]
    out_path = argv[3] if len(argv) == 4 else os.path.join(
        dir_data, f"merged-{profile_id}.trace.json.gz"
    )
    merge(dir_data, profile_id, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
