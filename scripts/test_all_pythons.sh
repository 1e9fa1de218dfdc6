#!/usr/bin/env bash
# Run the whole test suite, from a fresh clone of HEAD with a new .venv, on every
# supported Python found on this machine; print one line per Python at the end.
# Not part of CI: each run installs PyTorch for that Python (several GB).
# KEEP=1 keeps each clone (and its .venv) instead of removing it after a pass.
set -uo pipefail
top=$(git rev-parse --show-toplevel)
results=()
for v in 3.10 3.11 3.12 3.13; do
  py=""
  if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'pass' 2>/dev/null; then
    py=$(command -v "python$v")
  elif command -v pyenv >/dev/null 2>&1; then
    for d in "$(pyenv root)"/versions/"$v".*; do
      [ -x "$d/bin/python$v" ] && py="$d/bin/python$v"
    done
  fi
  if [ -z "$py" ]; then
    results+=("Python $v: not found, skipped")
    continue
  fi
  dir=$(mktemp -d)
  git clone -q "$top" "$dir"
  start=$(date +%s)
  if (cd "$dir" && make test PYTHON="$py") > "$dir/test.log" 2>&1; then
    status=passed
  else
    status="FAILED (log: $dir/test.log)"
  fi
  seconds=$(( $(date +%s) - start ))
  versions=$("$dir/.venv/bin/python" - <<'PY' 2>/dev/null
from importlib.metadata import version
print(", ".join(f"{p} {version(p)}" for p in ("torch", "numpy", "d2l", "jupyter-book", "nbval")))
PY
)
  summary=$(grep -E "^=+ .*(passed|failed)" "$dir/test.log" | sed 's/=//g; s/^ *//; s/ *$//' | paste -sd ';' -)
  results+=("Python $("$py" -c 'import platform; print(platform.python_version())'): $status in ${seconds}s [$versions] ($summary)")
  [ "$status" = passed ] && [ -z "${KEEP:-}" ] && rm -rf "$dir"
done
printf '%s\n' "${results[@]}"
printf '%s\n' "${results[@]}" | grep -q FAILED && exit 1
exit 0
