#!/usr/bin/env bash
# csfleak on studies from an INDEPENDENT phantom generator (scripts/altphantom, Python): how the
# measurement families fare on anatomy, intensities and DICOM layouts they were not tuned on.
#
# Usage: scripts/eval-alt.sh [SEED_BASE] [FAMILY...]
#   SEED_BASE  first seed (default 100); each case kind gets seeds SEED_BASE+1, +2, ...
#   FAMILY     any of mri ctm ri brain (default: all)
# Studies go to .cache/altphantom/<case>-<seed> (regenerated only when the generator changed),
# csfleak outputs to .cache/altphantom/out/<case>-<seed>; the per-case table and totals per family
# are printed and written to .cache/altphantom/results.txt. Needs .cache/venv (scripts/setup-test-deps.sh).
# The exit code is 0 even when checks fail: this is a measurement, not a gate.
set -euo pipefail
# the whole script is one brace group: bash parses it before running, so an edit of this file
# during a run does not change the running script
{
cd "$(dirname "$0")/.."
BASE="${1:-100}"
shift || true
FAMS="${*:-mri ctm ri brain}"
PY=.cache/venv/bin/python
[ -x "$PY" ] || { echo "no $PY: run scripts/setup-test-deps.sh first" >&2; exit 2; }
CACHE=.cache/altphantom
mkdir -p "$CACHE/out"

BIN=target/release/csfleak

# case kinds and how many seeds of each
declare -A N=([brain-mpd]=0 [mri-normal]=2 [mri-mimics]=2 [mri-ventral]=2 [mri-dorsal]=2 [mri-circumferential]=2
              [mri-coarse]=2 [mri-fullaxial]=1 [mri-thoracic]=2 [ctm-puncture-other]=1 [ctm-veins]=1 [ctm-catheter]=1
              [ctm-normal]=1 [ctm-leak]=2 [ctm-puncture]=2
              [ri-normal]=2 [ri-leak]=3 [ri-leak-renal]=1 [ri-christmas]=1 [ri-missing24]=1 [ri-spot]=1 [ri-spot-head]=1 [brain-sag]=6 [brain-bern]=2)
ORDER="mri-normal mri-mimics mri-ventral mri-dorsal mri-circumferential mri-coarse mri-fullaxial mri-thoracic ctm-normal ctm-leak ctm-puncture ctm-puncture-other ctm-veins ctm-catheter ri-normal ri-leak ri-leak-renal ri-christmas ri-missing24 ri-spot ri-spot-head brain-sag brain-bern brain-mpd"
# generator hash per family: a study is regenerated only when a file its family uses changed
A=scripts/altphantom
fam_hash() {
  case "$1" in
    mri) f="$A/common.py $A/sampling.py $A/spine_model.py $A/spine_mri.py" ;;
    ctm) f="$A/common.py $A/sampling.py $A/spine_model.py $A/ctm.py" ;;
    ri) f="$A/common.py $A/sampling.py $A/spine_model.py $A/ri.py" ;;
    *) f="$A/common.py $A/sampling.py $A/$1.py" ;;
  esac
  cat $f | sha256sum | cut -c1-16
}

jobs_list=()
for kind in $ORDER; do
  fam=${kind%%-*}
  case " $FAMS " in *" $fam "*) ;; *) continue ;; esac
  for i in $(seq 1 "${N[$kind]}"); do
    jobs_list+=("$kind $((BASE + i))")
  done
done

# several people may run this at once on the same cache: generation of one study is serialised by
# a lock file and written to a temporary directory that is renamed into place
gen_one() {
  local kind=$1 seed=$2 dir="$CACHE/$1-$2" h
  h=$(fam_hash "${kind%%-*}")
  exec 9> "$dir.lock"
  flock 9
  if [ -f "$dir/truth.json" ] && [ "$(cat "$dir/.gen-hash" 2>/dev/null)" = "$h" ]; then return 0; fi
  local tmp="$dir.tmp.$$"
  "$PY" scripts/altphantom/gen.py --case "$kind" --seed "$seed" --out "$tmp" || { rm -rf "$tmp"; return 1; }
  echo "$h" > "$tmp/.gen-hash"
  rm -rf "$dir"
  mv "$tmp" "$dir"
}
export -f gen_one fam_hash
export CACHE PY A

# generate (2 at a time) while cargo builds csfleak (it waits on the shared target dir's lock)
t0=$(date +%s)
printf '%s\n' "${jobs_list[@]}" | xargs -P 2 -L 1 bash -c 'gen_one $0 $1' &
gen_pid=$!
echo "building csfleak (release)..." >&2
cargo build --release -q -p csfleak
tb=$(date +%s)
wait "$gen_pid" || echo "some studies failed to generate (see above)" >&2
t1=$(date +%s)
echo "built in $((tb - t0)) s; generated ${#jobs_list[@]} studies in $((t1 - t0)) s ($(du -sh --exclude=out "$CACHE" | cut -f1) in $CACHE)" >&2

RES=$(mktemp "${TMPDIR:-/tmp}/eval-alt-XXXXXX.jsonl")
trap 'rm -f "$RES"' EXIT
for job in "${jobs_list[@]}"; do
  set -- $job
  dir="$CACHE/$1-$2"
  if [ ! -f "$dir/truth.json" ]; then echo "no study $dir (generation failed?)" >&2; continue; fi
  final="$CACHE/out/$1-$2"
  out="$final.run$$"  # renamed into place after the comparison (concurrent runs do not collide)
  rm -rf "$out"
  args=()
  [ -f "$dir/clinical.json" ] && [ "${1%%-*}" = ctm ] && args=(--clinical "$dir/clinical.json")
  s=$(date +%s.%N)
  if ! "$BIN" -q analyze "$dir" --out "$out" "${args[@]}" > "$out.log" 2>&1; then
    echo "csfleak exit $? on $dir (log $final.log)" >&2
  fi
  e=$(date +%s.%N)
  "$PY" scripts/altphantom/compare.py "$dir" "$out" | "$PY" -c "
import json,sys; r=json.loads(sys.stdin.read()); r['analyze_s']=round($e-$s,2); print(json.dumps(r, ensure_ascii=False))" >> "$RES"
  rm -rf "$final"
  mv "$out" "$final"
  mv "$out.log" "$final.log"
done
t2=$(date +%s)
"$PY" scripts/altphantom/compare.py --table "$RES" | tee "$CACHE/results.txt.$$"
mv "$CACHE/results.txt.$$" "$CACHE/results.txt"
echo "analysed in $((t2 - t1)) s; reproduce one case: $BIN analyze $CACHE/<case>-<seed> --out /tmp/x [--clinical $CACHE/<case>-<seed>/clinical.json]"
exit 0
}
