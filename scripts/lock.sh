#!/usr/bin/env sh
# Regenerate constraints.txt: the newest versions that fit pyproject.toml, for every
# platform and Python >= 3.11 (`--universal`), runtime + embedded + otel + dev + server
# (uvicorn[standard], for the image). CI
# (.ci/run) and the Docker image install with `pip install -c constraints.txt`.
# After running it, run the tests (`.ci/run`) before committing the new file.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
uv=${UV:-uv}
command -v "$uv" >/dev/null 2>&1 || uv="$root/.venv/bin/uv"
if ! [ -x "$uv" ] && ! command -v "$uv" >/dev/null 2>&1; then
    echo "uv not found: .venv/bin/pip install uv (or set UV=/path/to/uv)" >&2
    exit 1
fi
"$uv" pip compile pyproject.toml --extra dev --extra server --universal --python-version 3.11 \
    --annotation-style line --custom-compile-command "scripts/lock.sh" \
    --quiet --output-file constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pins"
