#!/usr/bin/env bash
# The first run on a GPU (issue 28): on a fresh machine with one NVIDIA GPU and only the package registries,
# installs the `gpu` extra into its own virtual environment, exports `base` (random weights in the official
# layout), builds its fp16 TensorRT engine, checks every GPU runtime against the CPU bundle (cosine >= 0.999),
# measures clips/s at batch 1/8/32 per runtime and through the served path (pre-decoded frames and URL path),
# and writes bench/results/gpu_check.json. Budget: 8 minutes.
#
#     bench/gpu_check.sh [--budget-s 480] [--venv DIR]
#
# Without a GPU it stops at once (exit 3) and installs nothing.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REPO}/.venv-gpu"
BUDGET_S=480
while [[ $# -gt 0 ]]; do
  case "$1" in
    --budget-s) BUDGET_S="$2"; shift 2 ;;
    --venv) VENV="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "gpu_check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# nvidia-smi is the one probe that needs nothing installed; a driver without a visible GPU lists none.
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "gpu_check: no NVIDIA GPU on this machine (nvidia-smi missing or lists no GPU)." >&2
  echo "gpu_check: this check needs one NVIDIA GPU with its driver; nothing was installed or run." >&2
  exit 3
fi

started=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
PYTHON="${PYTHON:-python3}"
if [[ ! -x "${VENV}/bin/python" ]]; then
  "${PYTHON}" -m venv "${VENV}"
fi
# The gpu extra replaces onnxruntime by onnxruntime-gpu; the two must not share an environment.
"${VENV}/bin/pip" install --quiet --upgrade pip
"${VENV}/bin/pip" install --quiet -e "${REPO}[train,serve,gpu,bench]"
# serve pulls the CPU onnxruntime too; both write the same package directory, so keep only the GPU one.
if "${VENV}/bin/pip" show onnxruntime >/dev/null 2>&1; then
  "${VENV}/bin/pip" uninstall --quiet -y onnxruntime onnxruntime-gpu
  "${VENV}/bin/pip" install --quiet "onnxruntime-gpu[cuda,cudnn]>=1.20"
fi
echo "gpu_check: installed in $(( $(date +%s) - started )) s"

cd "${REPO}"
exec "${VENV}/bin/python" -m bench.gpu_runs --budget-s "$(( BUDGET_S - ($(date +%s) - started) ))"
