#!/usr/bin/env bash
# Every Rust snippet of README.md compiles as written in a fresh crate: a new `cargo new`
# package outside this repository gets the dependencies the README tells a user to add
# (`cargo add tracing-logbook tracing`, and for its later sections the web and
# composition crates), then each ```rust block (`ignore` ones included) becomes an
# example of that package, wrapped in `fn main() { ... }` when it has no `main` of its
# own (as rustdoc does), and `cargo build --examples` must succeed.
#
#   bash scripts/check-readme.sh
#
# Run by .ci/run. The package uses this checkout (--path) instead of crates.io.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export CARGO_TARGET_DIR="$REPO/target/readme-check"

cd "$WORK"
cargo new --quiet --bin app
cd app
# What the README's "Add it to a project" says, with this checkout instead of crates.io.
cargo add --quiet tracing-logbook --path "$REPO" --features http
cargo add --quiet tracing
# What its later sections add for their own snippets.
cargo add --quiet tracing-subscriber
cargo add --quiet axum tokio --features tokio/full
cargo add --quiet tower-http --features trace,catch-panic

mkdir -p examples
python3 - "$REPO/README.md" examples <<'PY'
import re, sys, pathlib
readme, out = pathlib.Path(sys.argv[1]).read_text(), pathlib.Path(sys.argv[2])
blocks = re.findall(r"^```rust[^\n]*\n(.*?)^```", readme, re.S | re.M)
for i, code in enumerate(blocks):
    if re.search(r"^\s*#\s", code, re.M):
        sys.exit(f"README snippet {i + 1} has rustdoc hidden lines (# ...): readers see them")
    if not re.search(r"\bfn main\b", code):
        code = "fn main() {\n" + code + "}\n"
    (out / f"snippet_{i + 1:02}.rs").write_text("#![allow(unused)]\n" + code)
print(f"{len(blocks)} README snippets")
PY
cargo build --quiet --examples
echo "every README snippet compiles in a fresh crate"
