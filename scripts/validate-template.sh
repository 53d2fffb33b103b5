#!/usr/bin/env bash
# Lints template.yaml offline with cfn-lint and `sam validate --lint` (no AWS credentials needed).
# The tools live in their own venv (.venv-sam, made by `make sam-venv`): beside moto, pip resolves an old
# SAM CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-sam
if [ ! -x "$venv/bin/sam" ] || [ ! -x "$venv/bin/cfn-lint" ]; then
  echo "$venv has no cfn-lint / sam: run \`make sam-venv\` (or \`make test\`)" >&2
  exit 1
fi
"$venv/bin/cfn-lint" template.yaml
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 "$venv/bin/sam" validate --lint --region us-east-1 -t template.yaml
