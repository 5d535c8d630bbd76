#!/usr/bin/env bash
# Starts the sandbox on loopback: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok (fake CPU and GPU nodes), redis and the real Argo CD
# (repo-server, application-controller, applicationset-controller, server) reading a
# local git repository over file://. Builds what is missing first (build.sh).
#
# State lives in KP_SANDBOX_DIR (default: <repo>/.sandbox): kubeconfig, env, logs/,
# pids/. Ports are picked free at start; KP_PORT_<COMPONENT> pins one.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"
. "$here/lib.sh"

project="$(cd "$here/../.." && pwd)"
dir="${KP_SANDBOX_DIR:-$project/.sandbox}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
logs="$dir/logs" pids="$dir/pids"
start_time=$SECONDS

# --- already up? ---------------------------------------------------------------
if [[ -f "$dir/env" && -d "$pids" ]] && "$here/status.sh" >/dev/null 2>&1; then
  say "already running in $dir"
  exec "$here/status.sh"
fi
"$here/down.sh" >/dev/null 2>&1 || true

# --- binaries ------------------------------------------------------------------
"$here/build.sh"
k8s_bin="$(component_dir kubernetes "$K8S_VERSION")/bin"
etcd_bin="$(component_dir etcd "$ETCD_VERSION")/bin"
kwok_dir="$(component_dir kwok "$KWOK_VERSION")"
argocd_dir="$(component_dir argocd "$ARGOCD_VERSION")"
kustomize_dir="$(component_dir kustomize "$KUSTOMIZE_VERSION")"
eso_dir="$(component_dir eso "$ESO_VERSION")"
kubectl="${KUBECTL:-kubectl}"
command -v "$kubectl" >/dev/null || die "kubectl not found on PATH (set KUBECTL)"

redis_server="${KP_REDIS_SERVER:-redis-server}"
if ! command -v "$redis_server" >/dev/null; then
  if [[ -z "${KP_NO_INSTALL:-}" && "$redis_server" == redis-server ]] && command -v apt-get >/dev/null; then
    say "redis-server is missing: installing Debian's redis-server"
    { apt-get update && apt-get install -y redis-server; } >"$KP_LOGS/apt-redis.log" 2>&1 \
      || die "redis: installing redis-server failed; log: $KP_LOGS/apt-redis.log"
  else
    die "redis: '$redis_server' not found (install Debian's redis-server, or set KP_REDIS_SERVER)"
  fi
fi

rm -rf "$logs" "$pids" "$dir/data" "$dir/tmp" "$dir/pki" "$dir/cmd" "$dir/bin" "$dir/spoke"
mkdir -p "$logs" "$pids" "$dir/data" "$dir/tmp" "$dir/pki" "$dir/cmd" "$dir/bin"

# --- helpers -------------------------------------------------------------------
started=()
fail() { # component message
  local c=$1; shift
  say "error: $c: $*"
  if [[ -f "$logs/$c.log" ]]; then
    say "last lines of $logs/$c.log:"
    tail -n 15 "$logs/$c.log" | sed 's/^/    /' >&2
  fi
  say "stopping what was started"
  "$here/down.sh" >/dev/null 2>&1 || true
  die "$c failed to start; log: $logs/$c.log"
}

declare -A ports=() # pick_port, ready: lib.sh

# launch COMPONENT CMD...: starts a process in the background, output to its log.
launch() {
  local c=$1; shift
  say "starting $c"
  printf '%s\0' "$@" >"$dir/cmd/$c"  # restart.sh starts it again the same way
  nohup "$@" >"$logs/$c.log" 2>&1 </dev/null &
  echo $! >"$pids/$c.pid"
  disown $!  # its end is down.sh's business, not a job of this shell
  started+=("$c")
}


for c in etcd etcd-peer kube-apiserver kube-controller-manager kube-scheduler redis argocd-repo-server argocd-repo-server-metrics \
  argocd-application-controller-metrics argocd-applicationset-metrics argocd-applicationset-probe argocd-applicationset-webhook \
  argocd-server argocd-server-metrics kwok smoke-model; do
  pick_port "$c"
done

# --- credentials ---------------------------------------------------------------
pki="$dir/pki"
token="$(openssl rand -hex 24)"
printf '%s,admin,admin,system:masters\n' "$token" >"$pki/tokens.csv"
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
redis_password="$(openssl rand -hex 16)"
admin_password="$(openssl rand -hex 12)"
chmod 600 "$pki"/* && umask 077

# kubeconfig NAMESPACE: an admin kubeconfig whose CA is the apiserver's self-signed
# certificate file (leaf and CA), so TLS is verified, not skipped.
kubeconfig() {
  cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster:
    server: https://127.0.0.1:${ports[kube-apiserver]}
    certificate-authority: $pki/apiserver.crt
users:
- name: sandbox-admin
  user:
    token: $token
contexts:
- name: sandbox
  context:
    cluster: sandbox
    user: sandbox-admin
    namespace: $1
current-context: sandbox
EOF
}
kubeconfig default >"$dir/kubeconfig"
kubeconfig argocd >"$dir/argocd.kubeconfig"
export KUBECONFIG="$dir/kubeconfig"
k() { "$kubectl" --kubeconfig "$dir/kubeconfig" "$@"; }

# --- control plane -------------------------------------------------------------
launch etcd "$etcd_bin/etcd" --name sandbox --data-dir "$dir/data/etcd" \
  --listen-client-urls "http://127.0.0.1:${ports[etcd]}" --advertise-client-urls "http://127.0.0.1:${ports[etcd]}" \
  --listen-peer-urls "http://127.0.0.1:${ports[etcd-peer]}" --initial-advertise-peer-urls "http://127.0.0.1:${ports[etcd-peer]}" \
  --initial-cluster "sandbox=http://127.0.0.1:${ports[etcd-peer]}" \
  --unsafe-no-fsync --quota-backend-bytes 4294967296
ready etcd 30 http_ok "http://127.0.0.1:${ports[etcd]}/health"

launch kube-apiserver "$k8s_bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:${ports[etcd]}" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none \
  --secure-port "${ports[kube-apiserver]}" --cert-dir "$pki" \
  --token-auth-file "$pki/tokens.csv" --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 --allow-privileged \
  --kubelet-preferred-address-types InternalIP
ready kube-apiserver 60 http_ok --cacert "$pki/apiserver.crt" -H "Authorization: Bearer $token" \
  "https://127.0.0.1:${ports[kube-apiserver]}/readyz"

if [[ "${KP_SANDBOX_ONLY:-}" == apiserver ]]; then
  # A bare API server (no controllers, no Argo CD): what "Argo CD is not installed" looks like.
  printf 'KP_SANDBOX_DIR=%s\nKUBECONFIG=%s\n' "$dir" "$dir/kubeconfig" >"$dir/env"
  say "bare API server ready in $(( SECONDS - start_time ))s (KP_SANDBOX_ONLY=apiserver)"
  exit 0
fi

launch kube-controller-manager "$k8s_bin/kube-controller-manager" \
  --kubeconfig "$dir/kubeconfig" --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "${ports[kube-controller-manager]}" --cert-dir "$pki/kcm" \
  --leader-elect=false --controllers '*' --use-service-account-credentials=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/apiserver.crt" \
  --node-monitor-grace-period 60s
launch kube-scheduler "$k8s_bin/kube-scheduler" \
  --kubeconfig "$dir/kubeconfig" --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "${ports[kube-scheduler]}" --cert-dir "$pki/scheduler" --leader-elect=false
ready kube-controller-manager 60 http_ok -k "https://127.0.0.1:${ports[kube-controller-manager]}/healthz"
ready kube-scheduler 60 http_ok -k "https://127.0.0.1:${ports[kube-scheduler]}/healthz"

# --- fake nodes ----------------------------------------------------------------
{
  cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 4
  nodePlayStageParallelism: 4
  podPlayStageParallelism: 4
  podsOnNodeSyncParallelism: 4
  enableDebuggingHandlers: true
EOF
  # kwok's pod stages wait 1 s plus up to 5 s of jitter at each step; the sandbox
  # has no kubelet to be realistic about, so pods move on within a fraction of that.
  for f in "$kwok_dir"/stages/node-*.yaml; do echo "---"; cat "$f"; done
  cat <<EOF
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterPortForward
metadata:
  name: model-servers
spec:
  forwards:
  - ports: [8000]
    target: {address: 127.0.0.1, port: ${ports[smoke-model]}}
EOF
  for f in "$kwok_dir"/stages/pod-*.yaml; do
    echo "---"
    sed -E 's/^( *jitterDurationMilliseconds:) [0-9]+/\1 300/; s/^( *durationMilliseconds:) [0-9]+/\1 100/' "$f"
  done
} >"$dir/kwok.yaml"
# kwok is the nodes' kubelet too: the API server reaches it on 127.0.0.1 (the nodes'
# InternalIP) for port-forwards, which kwok sends to KP_PORT_SMOKE_MODEL on loopback,
# where a test can serve an OpenAI-compatible stand-in for the model servers.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=kwok -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$pki/kwok.key" -out "$pki/kwok.crt" 2>/dev/null
launch kwok "$kwok_dir/bin/kwok" --kubeconfig "$dir/kubeconfig" --config "$dir/kwok.yaml" \
  --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake --node-ip 127.0.0.1 \
  --node-port "${ports[kwok]}" --server-address "127.0.0.1:${ports[kwok]}" \
  --tls-cert-file "$pki/kwok.crt" --tls-private-key-file "$pki/kwok.key"
k apply -f "$here/nodes.yaml" >"$logs/nodes.log" 2>&1 || fail nodes "could not create the fake nodes and the StorageClass"
ready kwok 60 k wait --for condition=Ready node --all --timeout 1s

# --- redis ---------------------------------------------------------------------
launch redis "$(command -v "$redis_server")" --bind 127.0.0.1 --port "${ports[redis]}" \
  --save '' --appendonly no --requirepass "$redis_password" --dir "$dir/tmp"
ready redis 20 env REDISCLI_AUTH="$redis_password" redis-cli -p "${ports[redis]}" ping

# --- Argo CD -------------------------------------------------------------------
say "installing Argo CD $ARGOCD_VERSION CRDs and settings"
{
  k create namespace argocd
  # The Application CRD is too large for client-side apply.
  k apply --server-side --field-manager sandbox -f "$argocd_dir/crds/"
  # External Secrets' kinds, as a platform's apps deploy them (no operator: tests set their status).
  k apply --server-side --field-manager sandbox -f "$eso_dir/crds/"
  # kubectl wait errors out (instead of waiting) on a CRD whose status has no
  # conditions yet, right after the apply: retry that case only, for up to 60 s.
  for attempt in $(seq 1 300); do
    if k wait --for condition=Established --timeout 60s -f "$argocd_dir/crds/" -f "$eso_dir/crds/" 2>"$logs/crd-wait.err"; then
      break
    fi
    grep -q 'status.conditions accessor error' "$logs/crd-wait.err" && [[ $attempt -lt 300 ]] || { cat "$logs/crd-wait.err"; false; }
    sleep 0.2
  done
} >"$logs/argocd-install.log" 2>&1 || fail argocd-install "installing the Argo CD and External Secrets CRDs failed"
admin_hash="$("$argocd_dir/bin/argocd" account bcrypt --password "$admin_password")"
k -n argocd apply --server-side --field-manager sandbox -f - >>"$logs/argocd-install.log" 2>&1 <<EOF || fail argocd-install "creating the Argo CD settings failed"
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  # The version label the argo-cd Helm chart puts on it: what doctor reads in core mode.
  labels: {app.kubernetes.io/part-of: argocd, app.kubernetes.io/version: $ARGOCD_VERSION}
data:
  accounts.ci: apiKey
  timeout.reconciliation: 30s
  # A CRD is Progressing at the sync that creates it, and Argo CD re-reads its health
  # only at the next resync, a minute later. A sandbox's API server establishes
  # CRDs at once: call them Healthy, so a profile's wait ends when the work does.
  resource.customizations.health.apiextensions.k8s.io_CustomResourceDefinition: |
    hs = {}
    hs.status = "Healthy"
    hs.message = "sandbox: CRDs are established at once"
    return hs
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-rbac-cm
  namespace: argocd
  labels: {app.kubernetes.io/part-of: argocd}
data:
  policy.csv: |
    g, ci, role:admin
---
apiVersion: v1
kind: Secret
metadata:
  name: argocd-secret
  namespace: argocd
  labels: {app.kubernetes.io/part-of: argocd}
stringData:
  server.secretkey: "$(openssl rand -hex 32)"
  admin.password: '$admin_hash'
  admin.passwordMtime: "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
  namespace: argocd
spec:
  sourceRepos: ['*']
  destinations: [{server: '*', namespace: '*'}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
EOF

# The serving path's API key, as an ExternalSecret would provide it: never in git. Tests
# read it from the state folder to check the bearer key the chat probe sends.
vllm_key="$(openssl rand -hex 24)"
printf '%s' "$vllm_key" >"$dir/vllm-api-key"
{ k create namespace serving && k -n serving create secret generic vllm-api-key --from-literal=api-key="$vllm_key"; } \
  >>"$logs/argocd-install.log" 2>&1 || fail argocd-install "creating the serving path's Secret failed"

"$here/sync-repo.sh" "$dir" >"$logs/git.log" 2>&1 || fail git "creating the local git repository failed"

argocd_env=(env ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$dir/argocd.kubeconfig"
  PATH="$argocd_dir/bin:$kustomize_dir/bin:$PATH" TMPDIR="$dir/tmp" HOME="$dir/tmp"
  ARGOCD_ASK_PASS_SOCK="$dir/tmp/reposerver-ask-pass.sock" ARGOCD_GPG_ENABLED=false
  ARGOCD_GNUPGHOME="$dir/tmp/gnupg" REDIS_PASSWORD="$redis_password")
resync="${KP_ARGOCD_RESYNC:-30}"
redis_addr="127.0.0.1:${ports[redis]}" repo_addr="127.0.0.1:${ports[argocd-repo-server]}"

launch argocd-repo-server "${argocd_env[@]}" "$argocd_dir/bin/argocd-repo-server" \
  --address 127.0.0.1 --port "${ports[argocd-repo-server]}" \
  --metrics-address 127.0.0.1 --metrics-port "${ports[argocd-repo-server-metrics]}" \
  --redis "$redis_addr" --disable-tls --client-ca-path '' --revision-cache-expiration 10s --loglevel info
launch argocd-application-controller "${argocd_env[@]}" "$argocd_dir/bin/argocd-application-controller" \
  --metrics-port "${ports[argocd-application-controller-metrics]}" --redis "$redis_addr" \
  --repo-server "$repo_addr" --repo-server-plaintext --app-resync "$resync" --app-resync-jitter 0 \
  --self-heal-timeout-seconds 2 --loglevel info
launch argocd-applicationset-controller "${argocd_env[@]}" "$argocd_dir/bin/argocd-applicationset-controller" \
  --argocd-repo-server "$repo_addr" --repo-server-plaintext \
  --metrics-addr "127.0.0.1:${ports[argocd-applicationset-metrics]}" --probe-addr "127.0.0.1:${ports[argocd-applicationset-probe]}" \
  --webhook-addr "127.0.0.1:${ports[argocd-applicationset-webhook]}" --enable-new-git-file-globbing --loglevel info
launch argocd-server "${argocd_env[@]}" "$argocd_dir/bin/argocd-server" \
  --insecure --address 127.0.0.1 --port "${ports[argocd-server]}" --metrics-port "${ports[argocd-server-metrics]}" \
  --redis "$redis_addr" --repo-server "$repo_addr" --repo-server-plaintext \
  --staticassets "$dir/tmp" --loglevel info
ready argocd-repo-server 60 http_ok "http://127.0.0.1:${ports[argocd-repo-server-metrics]}/healthz"
ready argocd-application-controller 60 http_ok "http://127.0.0.1:${ports[argocd-application-controller-metrics]}/healthz"
# It registers no health check: its metrics endpoint answering is the sign of life.
ready argocd-applicationset-controller 60 http_ok "http://127.0.0.1:${ports[argocd-applicationset-metrics]}/metrics"
ready argocd-server 60 http_ok "http://127.0.0.1:${ports[argocd-server]}/healthz"

# --- the model servers' stand-in ------------------------------------------------
# No GPU and no model here: kwok forwards the model pods' port 8000 to this small
# OpenAI-compatible server (test/sandbox/modelstub), which checks the same API key.
(cd "$project" && GOTOOLCHAIN="$ARGOCD_TOOLCHAIN" go build -o "$dir/bin/modelstub" ./test/sandbox/modelstub) \
  >"$logs/modelstub-build.log" 2>&1 || fail modelstub-build "building test/sandbox/modelstub failed"
launch model-stub "$dir/bin/modelstub" --listen "127.0.0.1:${ports[smoke-model]}" --api-key-file "$dir/vllm-api-key"
ready model-stub 20 http_ok "http://127.0.0.1:${ports[smoke-model]}/health"

# --- what tests and people read ------------------------------------------------
printf '%s\n' "$admin_password" >"$dir/argocd-admin-password"
cat >"$dir/env" <<EOF
KP_SANDBOX_DIR=$dir
KUBECONFIG=$dir/kubeconfig
KP_REPO_DIR=$dir/repo
KP_REPO_URL=file://$dir/repo
ARGOCD_SERVER=127.0.0.1:${ports[argocd-server]}
KP_ARGOCD_ADMIN_PASSWORD_FILE=$dir/argocd-admin-password
KP_ARGOCD_CRDS=$argocd_dir/crds
KP_ESO_CRDS=$eso_dir/crds
KP_REDIS=$redis_addr
KP_VLLM_API_KEY_FILE=$dir/vllm-api-key
EOF
for c in "${!ports[@]}"; do echo "KP_PORT_${c^^}=${ports[$c]}" | tr - _; done | sort >>"$dir/env"
chmod 600 "$dir/env"
say "ready in $(( SECONDS - start_time ))s"
"$here/status.sh"
