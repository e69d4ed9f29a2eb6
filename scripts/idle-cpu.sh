#!/usr/bin/env bash
# Measures the CPU the console uses while idle: the simulated exchange paused (key p), the
# Market pane showing, in a 160x48 tmux terminal. Prints the percentage of one core used over
# the measuring window (default 10 s). Needs tmux.
#   scripts/idle-cpu.sh [seconds]
set -euo pipefail
secs=${1:-10}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
sock="idlecpu-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/tradeconsole" .
tmux -L "$sock" new-session -d -x 160 -y 48 \
  "cd '$work' && TRADECONSOLE_DATA_DIR='$work/data' TRADECONSOLE_SIM_HISTORY_DAYS=2 exec ./tradeconsole"
for _ in $(seq 100); do
  tmux -L "$sock" capture-pane -p | grep -q ' last ' && break
  sleep 0.1
done
tmux -L "$sock" send-keys p
for _ in $(seq 50); do
  tmux -L "$sock" capture-pane -p | grep -q 'PAUSED' && break
  sleep 0.1
done
sleep 2 # let the pause settle before measuring
pid=$(tmux -L "$sock" display -p '#{pane_pid}')
tck=$(getconf CLK_TCK)
read_ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
t0=$(read_ticks); s0=$(date +%s.%N)
sleep "$secs"
t1=$(read_ticks); s1=$(date +%s.%N)
pct=$(awk -v a="$t0" -v b="$t1" -v x="$s0" -v y="$s1" -v hz="$tck" 'BEGIN{printf "%.2f", 100*(b-a)/hz/(y-x)}')
rss=$(awk '/VmRSS/{print $2/1024 " MB"}' "/proc/$pid/status")
echo "idle (sim paused) CPU: ${pct}% of one core over ${secs}s; RSS ${rss}"
tmux -L "$sock" send-keys q
