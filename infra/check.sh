#!/usr/bin/env bash
# Static checks of the Terraform in infra/: formatting and checkov's security policies.
# Neither needs the AWS provider or network access.
#
#   infra/check.sh                      # checkov from $CHECKOV, else from PATH
#   CHECKOV=/path/to/checkov infra/check.sh
#
# The wiring test that holds the module against the function code is a cargo test:
#   cargo test -p jcwatch-tests --test infra_wiring
set -euo pipefail

infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
checkov="${CHECKOV:-$(command -v checkov || true)}"

if ! command -v terraform >/dev/null 2>&1; then
  echo "infra/check.sh: terraform is not on PATH (needed for terraform fmt)" >&2
  exit 2
fi
if [ -z "$checkov" ] || [ ! -x "$checkov" ]; then
  echo "infra/check.sh: checkov not found; set CHECKOV=/path/to/checkov or install it (pip install checkov==3.3.30)" >&2
  exit 2
fi

echo "== terraform fmt -check -recursive infra"
# terraform prints a warning about a missing ~/.terraformrc on every run; it is harmless.
if ! terraform fmt -check -recursive -diff "$infra_dir" 2> >(grep -v -e 'CLI configuration' -e terraformrc -e '^[│╷╵ ]*$' >&2); then
  echo "infra/check.sh: run 'terraform fmt -recursive infra' and commit the result" >&2
  exit 1
fi

echo "== checkov -d infra --framework terraform"
"$checkov" -d "$infra_dir" --framework terraform --compact --quiet --skip-download

echo "infra/check.sh: all static checks passed"
