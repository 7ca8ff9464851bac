#!/usr/bin/env bash
# Static checks of the Terraform in infra/: formatting and checkov's security policies.
# Neither needs the AWS provider or network access to AWS.
#
#   infra/check.sh
#
# checkov comes from $CHECKOV, else from PATH, else from .venv-checkov at the repository
# root, which this script creates (pip install checkov==3.3.30, about a minute, once).
# terraform (>= 1.6, for `terraform fmt`) should be on PATH; without it the format check is
# reported as not run (set JCWATCH_REQUIRE_TERRAFORM=1 to make that an error).
#
# The wiring test that holds the module against the function code is a cargo test:
#   cargo test -p jcwatch-tests --test infra_wiring
set -euo pipefail

infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$infra_dir")"
checkov_version="3.3.30"
checkov_venv="${JCWATCH_CHECKOV_VENV:-$root/.venv-checkov}"

find_checkov() {
  if [[ -n "${CHECKOV:-}" ]]; then
    [[ -x "$CHECKOV" ]] || { echo "infra/check.sh: CHECKOV=$CHECKOV is not an executable" >&2; exit 2; }
    echo "$CHECKOV"
  elif command -v checkov >/dev/null 2>&1; then
    command -v checkov
  else
    if [[ ! -x "$checkov_venv/bin/checkov" ]]; then
      echo "infra/check.sh: installing checkov==$checkov_version into $checkov_venv" >&2
      python3 -m venv "$checkov_venv" >&2
      "$checkov_venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$checkov_version" >&2
    fi
    echo "$checkov_venv/bin/checkov"
  fi
}

checkov="$(find_checkov)"

# Terraform is not a PyPI or crates.io package, so a CI machine may lack it. Without it the
# format gate cannot run: say so loudly (and fail when JCWATCH_REQUIRE_TERRAFORM=1) rather
# than fail the policy checks that do not need it.
if command -v terraform >/dev/null 2>&1; then
  echo "== terraform fmt -check -recursive infra"
  # terraform warns about a missing ~/.terraformrc on every run; the warning is harmless.
  if ! terraform fmt -check -recursive -diff "$infra_dir" 2> >(grep -v -e 'CLI configuration' -e terraformrc -e '^[│╷╵ ]*$' >&2); then
    echo "infra/check.sh: run 'terraform fmt -recursive infra' and commit the result" >&2
    exit 1
  fi
elif [[ "${JCWATCH_REQUIRE_TERRAFORM:-0}" == 1 ]]; then
  echo "infra/check.sh: terraform is not on PATH; install Terraform >= 1.6 to run 'terraform fmt -check'" >&2
  exit 2
else
  echo "infra/check.sh: WARNING: terraform is not on PATH, so 'terraform fmt -check' did NOT run" >&2
fi

echo "== checkov -d infra --framework terraform ($("$checkov" --version))"
"$checkov" -d "$infra_dir" --framework terraform --compact --quiet --skip-download

echo "infra/check.sh: all static checks passed"
