#!/usr/bin/env bash
# The GPU checks of packed trials, in about 5 minutes on one GPU; every result streams to the
# terminal as it comes and lands in one folder.
#
#   bash benchmarks/gpu_check.sh [OUT]          # default OUT: gpu-check/
#   DEVICE=cpu bash benchmarks/gpu_check.sh     # the same script on the CPU (a dry run, tiny preset)
#
# 1. packed trials against the same trials alone, on the device (tests/trial/test_pack.py);
# 2. `dpl bench train` at the paper shape, fp32 then tf32: one trial, packs of 1, 4, 16, 64 (bmm,
#    what sweeps use) with their ops and host syncs per step and per evaluation, and the paper
#    sweeps' projected wall time; each row prints as it is measured;
# 3. the quickstart sweep in packs of 16 on the device, into OUT/mlruns.
#
# Sizing: each step has a timeout that bounds the whole at 5 ½ minutes (60 s, 2 × 90 s, 75 s, and
# the device query). A pack of 64 at the paper shape holds 64 × 1,024 × 3 × 11,002 float logits
# per evaluation chunk (8.6 GB), well inside one GPU of 80 GB or more, and its evaluation is the
# longest part of a bench (the pack 256 of the first version, with vmap, was what ran out).
set -uo pipefail
DEVICE=${DEVICE:-cuda}
PRESET=${PRESET:-paper}
[ "$DEVICE" = cpu ] && PRESET=${PRESET_CPU:-tiny}
OUT=$(mkdir -p "${1:-gpu-check}" && cd "${1:-gpu-check}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PYTHONUNBUFFERED=1
status=0
step() { echo "== $1" | tee -a "$OUT/summary.txt"; }
run() {  # run LIMIT FILE CMD…: stream the output and keep it; a failure or a timeout marks the check
  local limit=$1 file=$2
  shift 2
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$file" || status=1
}

step "device"
{ nvidia-smi || true; python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } > "$OUT/device.txt" 2>&1
tail -1 "$OUT/device.txt" | tee -a "$OUT/summary.txt"

step "packed = alone on $DEVICE"
DPL_TEST_DEVICE=$DEVICE run 60 pack_equality.txt python -m pytest -q -p no:cacheprovider tests/trial/test_pack.py
tail -1 "$OUT/pack_equality.txt" >> "$OUT/summary.txt"

for precision in fp32 tf32; do
  step "dpl bench train --preset $PRESET --precision $precision"
  run 90 "bench_${PRESET}_$precision.txt" dpl bench train --device "$DEVICE" --preset "$PRESET" \
    --precision "$precision" --steps 30 --evals 1 --packs 1,4,16,64 --pack-steps 5
  cat "$OUT/bench_${PRESET}_$precision.txt" >> "$OUT/summary.txt"
done

step "quickstart in packs of 16 on $DEVICE"
run 75 quickstart.txt env -C "$OUT" dpl sweep run "$ROOT/sweeps/quickstart.yaml" --device "$DEVICE" --pack 16
grep -E "wall time|regimes" "$OUT/quickstart.txt" | tee -a "$OUT/summary.txt"
echo "exit $status; files in $OUT" | tee -a "$OUT/summary.txt"
exit $status
