#!/usr/bin/env sh
# Print the path of a Python >= 3.12 found on this machine (PATH, pyenv, common prefixes).
# Exits 1 with a message when there is none.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for cand in "${PYTHON:-}" python3.12 python3.13 python3 python; do
  [ -n "$cand" ] || continue
  p=$(command -v "$cand" 2>/dev/null) || continue
  if ok "$p"; then echo "$p"; exit 0; fi
done
# pyenv shims refuse versions that are not selected: look at the installs themselves.
for root in "${PYENV_ROOT:-$HOME/.pyenv}/versions" /usr/local/bin /opt/python; do
  for p in $(ls -d "$root"/3.1[2-9]*/bin/python3 "$root"/python3.1[2-9] 2>/dev/null | sort -V); do
    if ok "$p"; then echo "$p"; exit 0; fi
  done
done
if command -v uv >/dev/null 2>&1; then
  p=$(uv python find '>=3.12' 2>/dev/null) && ok "$p" && { echo "$p"; exit 0; }
fi
echo "No Python >= 3.12 found; install one (e.g. 'pyenv install 3.12') and retry." >&2
exit 1
