#!/bin/sh
# Creates the Python venv the end-to-end tests use (.venv at the repo root) with the real AWS
# runtime client (awslambdaric) and moto's server. Idempotent: re-running only installs what is missing.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "setup-venv: creating $venv"
    python3 -m venv "$venv"
else
    echo "setup-venv: $venv exists"
fi

# `pip install` of satisfied requirements is a no-op but slow (resolver + index hits); check first.
if "$py" -c 'import awslambdaric, moto.server' 2>/dev/null; then
    echo "setup-venv: awslambdaric and moto[server] already installed"
else
    echo "setup-venv: installing awslambdaric and moto[server]"
    "$py" -m pip install --quiet --disable-pip-version-check 'moto[server]' awslambdaric
    echo "setup-venv: installed $("$py" -m pip show awslambdaric moto 2>/dev/null | grep -E '^(Name|Version):' | paste -sd' ')"
fi

# layer/template.yaml (tests/all/template.rs): cfn-lint 1.x validates SAM templates as written;
# aws-sam-translator (the SAM transform CloudFormation runs) lets tests/check-template.py lint the
# expanded template too. moto pulls cfn-lint in unpinned, so pin the major versions here.
if "$venv/bin/cfn-lint" --version 2>/dev/null | grep -q '^cfn-lint 1\.' && "$py" -c 'import samtranslator' 2>/dev/null; then
    echo "setup-venv: $("$venv/bin/cfn-lint" --version) and aws-sam-translator already installed"
else
    echo "setup-venv: installing cfn-lint 1.x and aws-sam-translator 1.x"
    "$py" -m pip install --quiet --disable-pip-version-check 'cfn-lint>=1.58,<2' 'aws-sam-translator>=1.100,<2'
fi
