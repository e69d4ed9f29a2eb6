#!/usr/bin/env bash
# Measures `tradeconsole orderflow --json` end to end, as its own process, on generated
# order-flow files of 1M and 10M 20-level snapshots: on one core (GOMAXPROCS=1, and taskset -c 0 when available),
# it prints snapshots/s and the peak RSS that /usr/bin/time -v reports.
#
#   scripts/orderflow-bench.sh                     1M, then 10M (~10 GB of disk for the 10M file)
#   SNAPSHOTS=200000 SKIP_10M=1 scripts/orderflow-bench.sh
#
# Environment: SNAPSHOTS (default 1000000; the large file has ten times as many), SKIP_10M=1
# (only the first file), TRADES (trades per snapshot, default 2), LEVELS (levels per side, 20),
# DEPTH (OBI depth, 20), WORKDIR (where the files go; default a new temporary directory,
# removed at the end unless KEEP=1). The files are generated right before they are measured,
# so they are in the page cache: the figures are CPU-bound, not disk-bound.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshots=${SNAPSHOTS:-1000000}
trades=${TRADES:-2}
levels=${LEVELS:-20}
depth=${DEPTH:-20}
if [[ ! -x /usr/bin/time ]]; then
  echo "orderflow-bench: needs /usr/bin/time (GNU time, package 'time')" >&2
  exit 2
fi
if [[ -n "${WORKDIR:-}" ]]; then
  work=$WORKDIR
  mkdir -p "$work"
else
  work=$(mktemp -d)
  [[ "${KEEP:-0}" == 1 ]] || trap 'rm -rf "$work"' EXIT
fi
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

go build -o "$work/genorderflow" ./internal/tools/genorderflow
go build -o "$work/tradeconsole" .

field() { # field NAME FILE: a number from the JSON summary
  sed -n "s/.*\"$1\": *\([-0-9.e+]*\).*/\1/p" "$2" | head -1
}

measure() {
  local n=$1 file="$work/orderflow-$1.db"
  if [[ ! -f "$file" ]]; then
    echo "generating $n snapshots ($levels levels per side, $trades trades each) into $file" >&2
    "$work/genorderflow" -out "$file" -snapshots "$n" -levels "$levels" -trades-per-snapshot "$trades" -seed 1
  fi
  GOMAXPROCS=1 /usr/bin/time -v "${pin[@]}" "$work/tradeconsole" orderflow --db "$file" --depth "$depth" --json --progress=false \
    >"$work/summary-$n.json" 2>"$work/time-$n.txt" || {
    cat "$work/time-$n.txt" >&2
    exit 1
  }
  local rss size
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$work/time-$n.txt")
  size=$(stat -c %s "$file")
  awk -v n="$n" -v snaps="$(field snapshots "$work/summary-$n.json")" -v size="$size" \
    -v secs="$(field elapsed_seconds "$work/summary-$n.json")" -v rate="$(field snapshots_per_second "$work/summary-$n.json")" \
    -v rss="$rss" 'BEGIN { printf "%-9s snapshots %-9s file %6.2f GB  elapsed %7.2f s  %9.0f snapshots/s  peak RSS %6.1f MiB (%s kB)\n", n, snaps, size / 1e9, secs, rate, rss / 1024, rss }'
}

echo "orderflow: GOMAXPROCS=1 ${pin[*]:-(no taskset)}; depth $depth; $(nproc) CPUs; $(go version | cut -d' ' -f3)"
measure "$snapshots"
if [[ "${SKIP_10M:-0}" != 1 ]]; then
  rm -f "$work/orderflow-$snapshots.db" # room for the large one
  measure "$((snapshots * 10))"
fi
