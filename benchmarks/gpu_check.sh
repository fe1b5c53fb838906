#!/usr/bin/env bash
# The GPU checks of packed trials, in about 5 minutes on one GPU; every result lands in one folder.
#
#   bash benchmarks/gpu_check.sh [OUT]          # default OUT: gpu-check/
#   DEVICE=cpu bash benchmarks/gpu_check.sh     # the same script on the CPU (a dry run)
#
# 1. packed trials against the same trials alone, on the device (tests/trial/test_pack.py);
# 2. `dpl bench train` at the paper shape: one trial, packs of 1 … 256, fp32 and tf32, and the
#    paper sweeps' projected wall time;
# 3. the quickstart sweep in packs of 16 on the device, into OUT/mlruns.
set -uo pipefail
DEVICE=${DEVICE:-cuda}
OUT=$(mkdir -p "${1:-gpu-check}" && cd "${1:-gpu-check}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
status=0
step() { echo "== $1" | tee -a "$OUT/summary.txt"; }

step "device"
{ nvidia-smi || true; python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } > "$OUT/device.txt" 2>&1
tail -1 "$OUT/device.txt" | tee -a "$OUT/summary.txt"

step "packed = alone on $DEVICE"
DPL_TEST_DEVICE=$DEVICE timeout 120 python -m pytest -q -p no:cacheprovider tests/trial/test_pack.py \
  > "$OUT/pack_equality.txt" 2>&1 || status=1
tail -1 "$OUT/pack_equality.txt" | tee -a "$OUT/summary.txt"

packs=1,4,16,64,256
[ "$DEVICE" = cpu ] && packs=1,4
for precision in fp32 tf32; do
  step "dpl bench train --preset paper --precision $precision"
  timeout 150 dpl bench train --device "$DEVICE" --preset paper --precision "$precision" \
    --steps 30 --evals 1 --packs "$packs" --pack-steps 5 > "$OUT/bench_paper_$precision.txt" 2>&1 || status=1
  cat "$OUT/bench_paper_$precision.txt" | tee -a "$OUT/summary.txt"
done

step "quickstart in packs of 16 on $DEVICE"
(cd "$OUT" && timeout 120 dpl sweep run "$ROOT/sweeps/quickstart.yaml" --device "$DEVICE" --pack 16) \
  > "$OUT/quickstart.txt" 2>&1 || status=1
grep -E "wall time|regimes" "$OUT/quickstart.txt" | tee -a "$OUT/summary.txt"
echo "exit $status; files in $OUT" | tee -a "$OUT/summary.txt"
exit $status
