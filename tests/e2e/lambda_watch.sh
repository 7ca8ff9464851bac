#!/usr/bin/env bash
# The local end-to-end run of both Lambda functions: the poll and detect binaries under
# `cargo lambda watch` (which serves Lambda's invoke API), DynamoDB, SNS, Secrets Manager
# and S3 from the local AWS emulator, Directory Insights from the simulator. The poll
# function is invoked with a scheduler event; its hand-off reaches the detect function
# through the real invoke API; the alerts and notifications are read back from the
# emulator. The checks themselves are in tests/examples/lambda_watch.rs.
#
# Uses the emulators named by JCWATCH_TEST_AWS_ENDPOINT if set (as in .ci/run), otherwise
# starts its own; installs cargo-lambda from PyPI when `cargo lambda` is not available.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if ! cargo lambda --version >/dev/null 2>&1; then
    cargo_lambda="$(.ci/pip-tool "$ROOT/.venv-ci-lambda" cargo-lambda==1.9.2 cargo-lambda)"
    export PATH="$(dirname "$cargo_lambda"):$PATH"
fi

if [[ -z "${JCWATCH_TEST_AWS_ENDPOINT:-}" ]]; then
    export JCWATCH_CI_STATE="$ROOT/.ci-state/e2e-$$"
    trap '.ci/emulators stop' EXIT
    eval "$(.ci/emulators start)"
fi

# Built first (one at a time, as watch's `cargo run --bin` resolves them) so the functions
# start at once when watch runs them.
cargo build -p poll
cargo build -p detect
cargo run -p jcwatch-tests --example lambda_watch -- tests/e2e/fixtures/scheduler-event.json
