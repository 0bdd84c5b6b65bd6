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
# Targets (issue 8): a full study in under 5 s on 2 cores; "analysis overhead under 2x the
# ingest time"; batch speed-up >= 1.7x from 1 to 2 jobs. Numbers are printed as measured,
# targets met or not.
#
# The overhead target, two readings, both printed (ingest = `csfleak convert --no-compress`
# wall time on the same folder: every series read, decoded and written once):
#   A. analyze / ingest < 2             (the whole analysis costs under twice the ingest)
#   B. (analyze - ingest) / ingest < 2  (what the analysis adds on top of reading is under
#                                        twice the reading; the literal wording "overhead")
# The verdict line uses A, the stricter one; B is printed next to it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=${1:-3}
cache="$root/.cache/bench-analyze"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# SKIP_BUILD=1: use the existing target/release/csfleak; CSFLEAK_BIN=path: time that binary
# instead (no build), e.g. a copy of an older build for a before/after in the same minute.
if [ -z "${SKIP_BUILD:-}" ] && [ -z "${CSFLEAK_BIN:-}" ]; then
  echo "bench: building csfleak (release)"
  cargo build --release -q -p csfleak
fi
bin="${CSFLEAK_BIN:-$root/target/release/csfleak}"

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

# measure NAME CMD... -> appends "wall_s rss_mib cpu_s" of one run to $work/NAME (cpu = user +
# system; 0 without GNU time)
measure() {
  local name=$1; shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M %U %S" -o "$work/t" "$@" >/dev/null 2>&1 || { echo "bench: $name failed" >&2; return 1; }
    awk '{printf "%s %.0f %.2f\n", $1, $2/1024, $3+$4}' "$work/t" >> "$work/$name"
  else
    local t0; t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "bench: $name failed" >&2; return 1; }
    echo "$(echo "$(date +%s.%N) - $t0" | bc) 0 0" >> "$work/$name"
  fi
}
median() { sort -n -k"$2" "$work/$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'; }

bytes=$(du -sb "$cache/full" | cut -f1)
echo "bench: $(nproc) CPUs, $(free -m | awk '/Mem:/{print $2}') MiB RAM, study $((bytes / 1048576)) MiB, $rounds rounds, $(date -u +%FT%TZ)"
# Warm-up, not timed: the first runs after a build or a generation pay for a cold page cache
# (study files, the binary); round 1 would otherwise be slower than the rest for that alone.
"$bin" convert "$cache/full" --out "$work/conv" --no-compress >/dev/null 2>&1 || true
"$bin" analyze "$cache/full" --out "$work/an" >/dev/null 2>&1 || true
"$bin" batch "$cache/batch" --out "$work/b1" --jobs 2 >/dev/null 2>&1 || true
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
cc=$(median convert 3); ac=$(median analyze 3); b1c=$(median batch1 3); b2c=$(median batch2 3)
printf '\n%-34s %10s %12s %10s\n' "run (median of $rounds)" "wall s" "peak MiB" "cpu s"
printf '%-34s %10s %12s %10s\n' "convert (full work-up)" "$cw" "$cr" "$cc"
printf '%-34s %10s %12s %10s\n' "analyze (full work-up)" "$aw" "$ar" "$ac"
printf '%-34s %10s %12s %10s\n' "batch 20 small work-ups --jobs 1" "$b1" "$b1r" "$b1c"
printf '%-34s %10s %12s %10s\n' "batch 20 small work-ups --jobs 2" "$b2" "$b2r" "$b2c"
echo "(cpu s / wall s of batch --jobs 2: $(awk "BEGIN{printf \"%.2f\", $b2c/$b2}") cores used of $(nproc); well below 2 means other work took the CPUs)"
echo
# Ratios within each round (runs of one round share the machine's load), then their spread.
paste -d' ' "$work/analyze" "$work/convert" | awk '{printf "%.2f\n", $1/$4}' > "$work/r_ac"
paste -d' ' "$work/batch1" "$work/batch2" | awk '{printf "%.2f\n", $1/$4}' > "$work/r_b"
spread() { sort -n "$work/$1" | awk '{v[NR]=$1} END {printf "%s (rounds: %s..%s)", v[int((NR+1)/2)], v[1], v[NR]}'; }
echo "analyze wall            : $aw s (target < 5 s: $(verdict "$aw < 5"); rounds: $(sort -n "$work/analyze" | awk 'NR==1{a=$1} {b=$1} END{print a".."b}'))"
paste -d' ' "$work/analyze" "$work/convert" | awk '{printf "%.2f\n", ($1-$4)/$4}' > "$work/r_over"
mid() { sort -n "$work/$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "A analyze / ingest      : $(spread r_ac) (target < 2: $(verdict "$(mid r_ac) < 2"); ingest = convert --no-compress)"
echo "B (analyze-ingest)/ingest: $(spread r_over) (target < 2: $(verdict "$(mid r_over) < 2"); the overhead alone)"
echo "batch speed-up 1 -> 2   : $(spread r_b) (target >= 1.7: $(verdict "$(sort -n "$work/r_b" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}') >= 1.7"))"
echo "load average at the end : $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine inflates every figure)"

# Where analyze spends its time (one extra run with stage timings). Families run in parallel
# with no barrier: each decodes its own series, measures, and renders its images; "in all" is
# its task from start to end, "families" the wall time until the last one ends.
echo
echo "analyze stages (one run, -v):"
rm -rf "$work/an"
t0=$(date +%s.%N)
"$bin" -v analyze "$cache/full" --out "$work/an" 2>"$work/stages" >/dev/null || true
t1=$(date +%s.%N)
sed 's/\x1b\[[0-9;]*m//g' "$work/stages" \
  | grep -E 'scanned|decoded|ran in|families|rendered|wrote report' | sed 's/^ *INFO */  /' || true
echo "  whole run: $(awk "BEGIN{printf \"%.2f\", $t1-$t0}") s wall"
