#!/usr/bin/env bash
# Checks the AWS deployment (deploy/aws, docs/aws.md) offline, from any directory:
#   npm ci (only when node_modules is missing or package-lock.json changed), cfn-lint in a venv
#   at .tools/py under the repository root (installed only when not at the pinned version),
#   typecheck, CDK assertion tests, `cdk synth` of two variants of the stack, cfn-lint on both
#   templates. No AWS account, credentials or network are used after the installs; the function
#   code is a placeholder, so the Rust build is not needed. A missing tool fails the run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

CFN_LINT_VERSION=1.58.0
# 20.15: the tests use zlib.crc32 to make their placeholder zip.
NODE_MIN=20.15

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Offline and quiet: no notices, version check or telemetry from the CDK CLI; no EC2 instance
# metadata lookups by the AWS SDK while it looks for (absent) credentials.
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true AWS_EC2_METADATA_DISABLED=true
export NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

log "tools: node, npm, python3"
command -v node >/dev/null || fail "node not found (Node.js $NODE_MIN or newer is needed)"
command -v npm >/dev/null || fail "npm not found"
command -v python3 >/dev/null || fail "python3 not found (for cfn-lint)"
node -e '
  const [a, b] = process.versions.node.split(".").map(Number);
  const [x, y] = process.argv[1].split(".").map(Number);
  process.exit(a > x || (a === x && b >= y) ? 0 : 1);
' "$NODE_MIN" || fail "Node.js $NODE_MIN or newer is needed, found $(node --version)"
echo "node $(node --version), npm $(npm --version), $(python3 --version)"

log "npm ci (when node_modules is missing or package-lock.json changed)"
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp=node_modules/.ogforge-package-lock.sha256
if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  echo "node_modules matches package-lock.json"
else
  npm ci --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
fi

log "cfn-lint $CFN_LINT_VERSION (venv at .tools/py)"
venv="$root/.tools/py"
cfn_lint="$venv/bin/cfn-lint"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$cfn_lint" --version 2>/dev/null | grep -qx "cfn-lint $CFN_LINT_VERSION"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi
"$cfn_lint" --version

log "typecheck and build (tsc)"
rm -rf dist
node_modules/.bin/tsc -p tsconfig.json
echo "ok"

log "CDK assertion tests (node --test)"
node --test dist/test/

log "cdk synth (placeholder function code; --strict: a warning fails)"
rm -rf cdk.out
placeholder=test/fixtures/placeholder-function
# The stack as the docs deploy it.
node_modules/.bin/cdk synth --app 'node dist/bin/ogforge.js' --output cdk.out/default \
  --no-notices --strict --quiet \
  -c functionZip="$placeholder" -c storeKeyPrefix=default/0123456789abcdef
# Every optional part on: custom domain, signed routes, alarm e-mail, arm64, reserved concurrency.
node_modules/.bin/cdk synth --app 'node dist/bin/ogforge.js' --output cdk.out/full \
  --no-notices --strict --quiet \
  -c functionZip="$placeholder" -c storeKeyPrefix=default/0123456789abcdef \
  -c domainName=cards.example.com \
  -c certificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-1111-2222-333344445555 \
  -c signedRoutes=true -c alarmEmail=ops@example.com -c architecture=arm64 -c reservedConcurrency=50 \
  -c configFile=ogforge.toml -c 'functionEnv={"OGFORGE__ROUTES__0__QUALITY":"85"}'
ls cdk.out/default/Ogforge.template.json cdk.out/full/Ogforge.template.json

log "cfn-lint on the synthesized templates"
"$cfn_lint" --config-file .cfnlintrc.yaml -- cdk.out/default/Ogforge.template.json cdk.out/full/Ogforge.template.json
echo "cfn-lint: no errors or warnings"

log "deploy/aws: all checks passed"
