#!/usr/bin/env bash
# The declared MSRV (`rust-version` of tracing-logbook), as far as a machine with one Rust
# toolchain can check it: no crate the library builds (normal and build dependencies,
# every feature on, transitively, as Cargo.lock resolves them) declares a higher
# `rust-version`. The library's own use of std is checked against it by clippy's
# `incompatible_msrv` lint (on by default, denied in .ci/run). Building with the old
# toolchain itself needs `rustup toolchain install`, which this CI cannot reach.
#
#   bash scripts/check-msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --all-features --locked | python3 -c '
import json, sys
m = json.load(sys.stdin)
pkgs = {p["id"]: p for p in m["packages"]}
root = next(i for i, p in pkgs.items() if p["name"] == "tracing-logbook" and i in m["workspace_members"])
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
def ver(v):
    return tuple(int(x) for x in v.split(".")) + (0,) * (3 - len(v.split(".")))
ours = pkgs[root]["rust_version"]
seen, todo = set(), [root]
while todo:
    for dep in nodes[todo.pop()]["deps"]:
        if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
            seen.add(dep["pkg"])
            todo.append(dep["pkg"])
worst = max(seen, key=lambda i: ver(pkgs[i].get("rust_version") or "0"))
theirs = pkgs[worst].get("rust_version") or "0"
name, version = pkgs[worst]["name"], pkgs[worst]["version"]
print(f"tracing-logbook declares rust-version {ours}; the highest of its {len(seen)} dependencies: {name} {version} ({theirs})")
if ver(theirs) > ver(ours):
    sys.exit(f"{name} needs Rust {theirs}, above the declared {ours}: raise rust-version")
'
