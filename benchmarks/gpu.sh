#!/usr/bin/env bash
# Every GPU check of the deep learners in one run, for a machine lent through the device tool
# (its Python has torch, numpy, pandas, scikit-learn and pluggy; the rest comes as wheels):
#   ../shared/device/fetch-wheels.sh            # once, on this machine: fills .whl/
#   run(command="bash benchmarks/gpu.sh", carry=[".whl"], timeout_s=480)
# Installs the wheels and the project into /tmp/site, runs the GPU tests (CUDA graphs, population
# on CUDA), then benchmarks/deep_epoch.py and benchmarks/population.py, and writes their logs and
# JSON tables under $OUT (or benchmarks/out without the device tool).
set -uo pipefail
out="${OUT:-benchmarks/out}"
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/site .
export PYTHONPATH="$PWD:$PWD/plugins:/tmp/site"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.txt" 2>&1
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" >> "$out/gpu.txt" 2>&1
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_cuda_graphs.py \
  tests/test_population.py -k "not killed" > "$out/gpu_tests.log" 2>&1
echo "tests rc $?" >> "$out/gpu_tests.log"
timeout 120 python3 benchmarks/deep_epoch.py --devices cuda --out "$out/deep_epoch.json" \
  > "$out/deep_epoch.log" 2>&1
echo "deep_epoch rc $?" >> "$out/deep_epoch.log"
timeout 240 python3 benchmarks/population.py --devices cuda --out "$out/population.json" \
  > "$out/population.log" 2>&1
echo "population rc $?" >> "$out/population.log"
tail -n 5 "$out"/*.log
