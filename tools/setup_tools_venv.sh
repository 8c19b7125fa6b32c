#!/usr/bin/env bash
# Creates (or updates) .venv-tools/, the Python environment of tools/make_wan_fixtures.py, from
# the pins in tools/requirements.txt. Idempotent: re-installs only when requirements.txt changed.
# Separate from .venv/ (scripts/setup.sh), which holds a --no-deps torch for the C++ build only.
# Needs ~6 GB of disk (PyPI's torch pulls its NVIDIA runtime wheels, needed to import it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv-tools"
req="$root/tools/requirements.txt"
python=${PYTHON:-python3}

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "[setup-tools] $python is older than 3.11 (numpy 2.4 needs >= 3.11); set PYTHON=..." >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' 2>/dev/null; then
    echo "[setup-tools] installing python3-venv from Debian"
    sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q >/dev/null || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q python3-venv >/dev/null
  fi
  echo "[setup-tools] creating $venv"
  "$python" -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup-tools] installing tools/requirements.txt into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
"$venv/bin/python" -c 'import torch, diffusers; print(f"[setup-tools] ok: torch {torch.__version__}, diffusers {diffusers.__version__}")'
