#!/usr/bin/env bash
# Analysis benchmark (issue 8): `csfleak analyze` on a full-size four-modality phantom work-up
# (~250 MB), compared with `csfleak convert` (reading + writing NIfTI) on the same folder, and a
# 20-study batch at --jobs 1 vs --jobs 2.
#
#   bash scripts/bench-analyze.sh [ROUNDS]     # default 3 rounds, the median is printed
#
# Studies are generated once into .cache/bench-analyze (delete it to regenerate) with
# `csfleak phantom` (release build): workup-definite-leak --size full --seed 1 for the single
# study; 20 small work-ups (seeds 101..120, normal and leak alternating) for the batch.
# Targets (issue 8): a full study in under 5 s on 2 cores; analysis overhead under 2x the
# ingest (analyze / convert wall time); batch speed-up >= 1.7x from 1 to 2 jobs. Numbers are
# printed as measured, targets met or not.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=${1:-3}
cache="$root/.cache/bench-analyze"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "${SKIP_BUILD:-}" ]; then   # SKIP_BUILD=1: use the existing target/release/csfleak
  echo "bench: building csfleak (release)"
  cargo build --release -q -p csfleak
fi
bin="$root/target/release/csfleak"

if [ ! -f "$cache/.complete" ]; then
  echo "bench: generating studies in $cache (once)"
  rm -rf "$cache"
  "$bin" phantom --scenario workup-definite-leak --size full --seed 1 --out "$cache/full" 2>/dev/null
  for i in $(seq 101 120); do
    if [ $((i % 2)) -eq 0 ]; then s=workup-normal; else s=workup-definite-leak; fi
    "$bin" phantom --scenario "$s" --size small --seed "$i" --out "$cache/batch/study$i" 2>/dev/null
  done
  touch "$cache/.complete"
fi

# measure NAME CMD... -> appends "wall_s rss_mib" of one run to $work/NAME
measure() {
  local name=$1; shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null 2>&1 || { echo "bench: $name failed" >&2; return 1; }
    awk '{printf "%s %.0f\n", $1, $2/1024}' "$work/t" >> "$work/$name"
  else
    local t0; t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "bench: $name failed" >&2; return 1; }
    echo "$(echo "$(date +%s.%N) - $t0" | bc) 0" >> "$work/$name"
  fi
}
median() { sort -n -k"$2" "$work/$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'; }

bytes=$(du -sb "$cache/full" | cut -f1)
echo "bench: $(nproc) CPUs, $(free -m | awk '/Mem:/{print $2}') MiB RAM, study $((bytes / 1048576)) MiB, $rounds rounds, $(date -u +%FT%TZ)"
for r in $(seq "$rounds"); do
  rm -rf "$work/conv" "$work/an" "$work/b1" "$work/b2"
  measure convert "$bin" convert "$cache/full" --out "$work/conv" --no-compress
  measure analyze "$bin" analyze "$cache/full" --out "$work/an"
  measure batch1 "$bin" batch "$cache/batch" --out "$work/b1" --jobs 1
  measure batch2 "$bin" batch "$cache/batch" --out "$work/b2" --jobs 2
done

cw=$(median convert 1); cr=$(median convert 2)
aw=$(median analyze 1); ar=$(median analyze 2)
b1=$(median batch1 1); b1r=$(median batch1 2)
b2=$(median batch2 1); b2r=$(median batch2 2)
verdict() { if awk "BEGIN{exit !($1)}"; then echo "met"; else echo "NOT met"; fi; }
printf '\n%-34s %10s %12s\n' "run (median of $rounds)" "wall s" "peak MiB"
printf '%-34s %10s %12s\n' "convert (full work-up)" "$cw" "$cr"
printf '%-34s %10s %12s\n' "analyze (full work-up)" "$aw" "$ar"
printf '%-34s %10s %12s\n' "batch 20 small work-ups --jobs 1" "$b1" "$b1r"
printf '%-34s %10s %12s\n' "batch 20 small work-ups --jobs 2" "$b2" "$b2r"
echo
echo "analyze wall            : $aw s (target < 5 s: $(verdict "$aw < 5"))"
echo "analyze / convert wall  : $(awk "BEGIN{printf \"%.2f\", $aw/$cw}") (target < 2: $(verdict "$aw/$cw < 2"))"
echo "batch speed-up 1 -> 2   : $(awk "BEGIN{printf \"%.2f\", $b1/$b2}") (target >= 1.7: $(verdict "$b1/$b2 >= 1.7"))"
