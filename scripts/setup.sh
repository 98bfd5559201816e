#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: system tools if missing, the .venv with the edp command,
# checkov in a venv of its own, and the npm tools the tests use. Every README command runs this first.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
{ command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need+=(postgresql)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v chromium >/dev/null 2>&1 || need+=(chromium)  # the Airflow UI browser test drives it headless
# Iceberg on local Spark: the runtime jar lacks its relocated Jackson classes; they are built from these (below)
for pkg in jackson-core:libjackson2-core-java jackson-databind:libjackson2-databind-java \
           jackson-annotations:libjackson2-annotations-java jarjar:libjarjar-java; do
  [ -f "/usr/share/java/${pkg%%:*}.jar" ] || need+=("${pkg#*:}")
done
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing system packages: ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "[setup] missing system packages: ${need[*]}; install them (Java 17, PostgreSQL server, Node.js, Chromium) and re-run" >&2
    exit 1
  fi
fi

python=${EDP_PYTHON:-$(command -v python3.11 || command -v python3)}
pyver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
constraints="constraints/py${pyver}.txt"
stamp=.venv/.edp-installed
digest=$(cat pyproject.toml "$constraints" 2>/dev/null | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/edp ] || [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  echo "[setup] creating .venv with $python ($pyver)"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  if [ -f "$constraints" ]; then
    .venv/bin/pip install -q -c "$constraints" -e '.[dev]'
  else
    echo "[setup] no $constraints: resolving without pins" >&2
    .venv/bin/pip install -q -e '.[dev]'
  fi
  echo "$digest" > "$stamp"
fi

# checkov (Terraform static analysis) lives in its own venv: its pins (bc-python-hcl2 among them) clash with
# the edp package's. tests/terraform/test_checkov.py runs it from here.
checkov_version=3.3.30
checkov_venv=.edp/tools/checkov
checkov_constraints="constraints/checkov-py${pyver}.txt"
checkov_digest=$( { echo "$checkov_version"; cat "$checkov_constraints" 2>/dev/null; } | sha256sum | cut -c1-16)
if [ ! -x "$checkov_venv/bin/checkov" ] || [ "$(cat "$checkov_venv/.edp-installed" 2>/dev/null)" != "$checkov_digest" ]; then
  echo "[setup] installing checkov $checkov_version into $checkov_venv"
  [ -x "$checkov_venv/bin/python" ] || "$python" -m venv "$checkov_venv"
  "$checkov_venv/bin/pip" install -q --upgrade pip
  if [ -f "$checkov_constraints" ]; then
    "$checkov_venv/bin/pip" install -q -c "$checkov_constraints" "checkov==$checkov_version"
  else
    echo "[setup] no $checkov_constraints: checkov's dependencies resolve without pins" >&2
    "$checkov_venv/bin/pip" install -q "checkov==$checkov_version"
  fi
  echo "$checkov_digest" > "$checkov_venv/.edp-installed"
fi

if [ ! -x tools/asl/node_modules/.bin/asl-validator ]; then
  echo "[setup] installing asl-validator (npm)"
  (cd tools/asl && npm ci --no-audit --no-fund --loglevel=error)
fi
# The Iceberg Spark runtime (jar from the snowpark-connect-deps-iceberg wheel) calls Jackson under Iceberg's
# shaded package name but does not carry it: merge Debian's three Jackson jars and relocate them with jarjar
# into the venv, where edp_dev.local.glue finds it. Rebuilt when the Debian jars change.
shaded=.venv/share/edp/iceberg-jackson-shaded.jar
jackson=(/usr/share/java/jackson-core.jar /usr/share/java/jackson-databind.jar /usr/share/java/jackson-annotations.jar)
jackson_digest=$(cat "${jackson[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$shaded" ] || [ "$(cat "$shaded.digest" 2>/dev/null)" != "$jackson_digest" ]; then
  echo "[setup] relocating Jackson for Iceberg into $shaded"
  mkdir -p "$(dirname "$shaded")"
  work=$(mktemp -d)
  .venv/bin/python - "$work/jackson.jar" "${jackson[@]}" <<'PY'
import sys, zipfile
out, *jars = sys.argv[1:]
seen = set()
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as merged:
    for jar in jars:
        with zipfile.ZipFile(jar) as z:
            for item in z.infolist():
                if item.filename.startswith("com/fasterxml/") and item.filename not in seen:
                    seen.add(item.filename)
                    merged.writestr(item, z.read(item))
PY
  echo 'rule com.fasterxml.jackson.** org.apache.iceberg.shaded.com.fasterxml.jackson.@1' > "$work/rules"
  java -cp /usr/share/java/jarjar.jar com.tonicsystems.jarjar.Main process "$work/rules" "$work/jackson.jar" "$shaded.tmp"
  mv "$shaded.tmp" "$shaded"
  echo "$jackson_digest" > "$shaded.digest"
  rm -rf "$work"
fi

echo "[setup] ready: .venv/bin/edp"
