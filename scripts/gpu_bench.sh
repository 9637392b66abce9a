#!/usr/bin/env bash
# The GPU benchmark of docs/benchmarks.md in one run (~5 min on an H100/H200): the graph-capture test, then
# `grokbench bench` lines that show each issue-7 target as a ratio measured side by side in one process.
#   bash scripts/gpu_bench.sh            results (JSON + log) in $OUT, else outputs/bench-gpu/
# Needs torch with CUDA. Missing pure-Python dependencies (hydra-core, omegaconf, ...) are installed offline from the
# wheels in .whl/ (how to download them: docs/benchmarks.md).
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS=${OUT:-outputs/bench-gpu}
mkdir -p "$RESULTS"
PY=${PYTHON:-python3}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

missing=()
for pair in hydra:hydra-core omegaconf:omegaconf yaml:PyYAML antlr4:antlr4-python3-runtime rich:rich pandas:pandas \
            pyarrow:pyarrow pytest:pytest; do
  $PY -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing from .whl/: ${missing[*]}"
  $PY -m pip install -q --no-index --find-links .whl "${missing[@]}" || { echo "pip install failed: see docs/benchmarks.md"; exit 1; }
fi
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))" | tee "$RESULTS/device.txt"

PRIETO="task=modadd task.p=113 task.train_fraction=0.4 model.depth=2 model.width=200 device=cuda"
bench() {  # bench NAME ARGS...: one `grokbench bench` line, its table in the log, its numbers in NAME.json
  local name=$1; shift
  echo; echo "== $name: grokbench bench $*"
  timeout 240 $PY -m grokbench.cli bench "$@" --json "$RESULTS/$name.json" 2>&1 | grep -v " INFO " \
    || echo "!! $name failed or timed out"
}
{
  echo "== CUDA-graph step == eager step (tests marked gpu)"
  timeout 120 $PY -m pytest -q -m gpu tests/test_fast_paths.py 2>&1 | tail -3
  # Prieto MLP fp32: R>=256 >= 20x bare single eager and >= 1.3x bare population
  bench prieto_fp32 $PRIETO --members 1,64,256,1024
  bench prieto_fp32_compiled $PRIETO train.compile=true --members 1,256,1024  # one member compiled >= 4x bare eager
  bench prieto_gather $PRIETO model.first_layer=gather --members 1,256  # pick the first layer per device and size
  bench prieto_tf32 $PRIETO train.tf32=true --members 256  # precision is a research variable: what TF32/bf16 would buy
  bench prieto_bf16 $PRIETO model.dtype=bfloat16 --members 256
  # default demo config R=256 >= 40x bare single
  bench demo device=cuda --members 1,256
  bench demo_compiled device=cuda train.compile=true --members 1,256
  # 1-layer transformer R>=64 >= 6x single (needs model=transformer; compared with grokbench's own R=1)
  bench transformer device=cuda model=transformer --members 1,64,256 --no-baselines
  echo; echo "== population.chunk=auto: 4096 members of the demo train in chunks"
  timeout 120 $PY -m grokbench.cli run device=cuda seeds=4096 population.chunk=auto train.max_steps=20 \
    hydra.run.dir="$RESULTS/chunk_auto" 2>&1 | grep -E "chunk|members|error" | head -5
} 2>&1 | tee "$RESULTS/gpu_bench.log"
