#!/usr/bin/env bash
# Starts a second cluster, the "spoke", beside a running sandbox (the hub) and
# registers it in the hub's Argo CD, as a hub Argo CD deploys to other clusters:
#   - its own kube-apiserver (own port, serving certificate, service-account keys and
#     admin token), stored in the sandbox's etcd under the prefix /spoke;
#   - its own kube-controller-manager and kube-scheduler, and kwok running two fake
#     CPU nodes (spoke-cpu-0, spoke-cpu-1), so Deployments become Ready;
#   - a ServiceAccount kube-system/argocd-manager with cluster-admin on the spoke, whose
#     token and the spoke's CA go into the hub's Argo CD cluster Secret argocd/cluster-spoke
#     (name: spoke, server: https://127.0.0.1:<port>);
#   - $dir/spoke/kubeconfig: two contexts, the hub's (sandbox, current) and spoke.
# No second Argo CD: the hub's deploys there (spec.destination.name: spoke).
#
# Idempotent: running while it runs prints the status; after spoke-down.sh it starts the
# same cluster again (same port, credentials and data) and re-registers it. State lives in
# $KP_SANDBOX_DIR/spoke (default: <repo>/.sandbox/spoke). KP_PORT_SPOKE_<COMPONENT> pins a port.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"
. "$here/lib.sh"

project="$(cd "$here/../.." && pwd)"
dir="${KP_SANDBOX_DIR:-$project/.sandbox}"
[[ -d "$dir" ]] || die "no sandbox in $dir: start it first (test/sandbox/up.sh)"
dir="$(cd "$dir" && pwd)"
spoke="$dir/spoke"
logs="$spoke/logs" pids="$spoke/pids" pki="$spoke/pki"
start_time=$SECONDS
kubectl="${KUBECTL:-kubectl}"

[[ -f "$dir/env" ]] || die "no sandbox in $dir ($dir/env is missing): start it first (test/sandbox/up.sh)"
"$here/status.sh" >/dev/null 2>&1 || die "the sandbox in $dir is not running (test/sandbox/status.sh): start it first"
. "$dir/env"
hub_kubeconfig="$dir/kubeconfig"
hub() { "$kubectl" --kubeconfig "$hub_kubeconfig" "$@"; }

running() { # COMPONENT: its recorded pid is alive
  local pid
  pid=$(cat "$pids/$1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null
}
components=(kube-apiserver kube-controller-manager kube-scheduler kwok)

k8s_bin="$(component_dir kubernetes "$K8S_VERSION")/bin"
kwok_dir="$(component_dir kwok "$KWOK_VERSION")"
[[ -x "$k8s_bin/kube-apiserver" && -x "$kwok_dir/bin/kwok" ]] || "$here/build.sh" kubernetes kwok

mkdir -p "$logs" "$pids" "$pki" "$spoke/cmd"
umask 077

# --- helpers (as in up.sh) -----------------------------------------------------
fail() { # component message
  local c=$1; shift
  say "error: spoke $c: $*"
  if [[ -f "$logs/$c.log" ]]; then
    say "last lines of $logs/$c.log:"
    tail -n 15 "$logs/$c.log" | sed 's/^/    /' >&2
  fi
  say "stopping the spoke"
  "$here/spoke-down.sh" >/dev/null 2>&1 || true
  die "spoke $c failed to start; log: $logs/$c.log"
}

launch() { # COMPONENT CMD...: runs in the background; its command line is kept for restarts
  local c=$1; shift
  say "starting spoke $c"
  printf '%s\0' "$@" >"$spoke/cmd/$c"
  relaunch "$c"
}
relaunch() { # COMPONENT: starts it again with the recorded command line
  local c=$1 argv
  mapfile -d '' argv <"$spoke/cmd/$c"
  nohup "${argv[@]}" >>"$logs/$c.log" 2>&1 </dev/null &
  echo $! >"$pids/$c.pid"
  disown $!
}

declare -A ports=()
pick_spoke_port() { pick_port "$1" KP_PORT_SPOKE_; } # KP_PORT_SPOKE_<NAME> pins one

# --- already up? ---------------------------------------------------------------
all_running=1
for c in "${components[@]}"; do running "$c" || all_running=0; done
if [[ -f "$spoke/env" ]] && (( all_running )) \
  && hub -n argocd get secret cluster-spoke >/dev/null 2>&1; then
  say "spoke already running in $spoke"
  exec "$here/status.sh"
fi

if [[ -f "$spoke/env" && -f "$spoke/cmd/kwok" ]]; then
  # --- again: the same cluster, after spoke-down.sh ----------------------------
  . "$spoke/env"
  say "starting the spoke again (port $KP_SPOKE_PORT)"
  again=1
  for c in "${components[@]}"; do
    if ! running "$c"; then
      say "starting spoke $c"
      relaunch "$c"
    fi
    if [[ $c == kube-apiserver ]]; then
      ready kube-apiserver 60 http_ok --cacert "$pki/apiserver.crt" -H "Authorization: Bearer $(cat "$pki/admin-token")" \
        "https://127.0.0.1:$KP_SPOKE_PORT/readyz"
    fi
  done
  spoke_k() { "$kubectl" --kubeconfig "$spoke/spoke.kubeconfig" "$@"; }
  ready kwok 60 spoke_k wait --for condition=Ready node --all --timeout 1s
else
  # --- first start ---------------------------------------------------------------
  rm -rf "$logs" "$pids" "$pki" "$spoke/cmd"
  mkdir -p "$logs" "$pids" "$pki" "$spoke/cmd"
  for c in kube-apiserver kube-controller-manager kube-scheduler kwok; do pick_spoke_port "$c"; done
  token="$(openssl rand -hex 24)"
  printf '%s' "$token" >"$pki/admin-token"
  printf '%s,spoke-admin,spoke-admin,system:masters\n' "$token" >"$pki/tokens.csv"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  server="https://127.0.0.1:${ports[kube-apiserver]}"

  # The spoke alone (its own controllers read it), then the two-context file.
  cat >"$spoke/spoke.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: spoke
  cluster:
    server: $server
    certificate-authority: $pki/apiserver.crt
users:
- name: spoke-admin
  user:
    token: $token
contexts:
- name: spoke
  context:
    cluster: spoke
    user: spoke-admin
    namespace: default
current-context: spoke
EOF
  spoke_k() { "$kubectl" --kubeconfig "$spoke/spoke.kubeconfig" "$@"; }

  etcd="http://127.0.0.1:${KP_PORT_ETCD:?the sandbox env names no etcd port}"
  launch kube-apiserver "$k8s_bin/kube-apiserver" \
    --etcd-servers "$etcd" --etcd-prefix /spoke \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none \
    --secure-port "${ports[kube-apiserver]}" --cert-dir "$pki" \
    --token-auth-file "$pki/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.spoke.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.97.0.0/16 --allow-privileged \
    --kubelet-preferred-address-types InternalIP
  ready kube-apiserver 60 http_ok --cacert "$pki/apiserver.crt" -H "Authorization: Bearer $token" "$server/readyz"

  launch kube-controller-manager "$k8s_bin/kube-controller-manager" \
    --kubeconfig "$spoke/spoke.kubeconfig" --authentication-kubeconfig "$spoke/spoke.kubeconfig" \
    --authorization-kubeconfig "$spoke/spoke.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "${ports[kube-controller-manager]}" --cert-dir "$pki/kcm" \
    --leader-elect=false --controllers '*' --use-service-account-credentials=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/apiserver.crt" \
    --node-monitor-grace-period 60s
  launch kube-scheduler "$k8s_bin/kube-scheduler" \
    --kubeconfig "$spoke/spoke.kubeconfig" --authentication-kubeconfig "$spoke/spoke.kubeconfig" \
    --authorization-kubeconfig "$spoke/spoke.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "${ports[kube-scheduler]}" --cert-dir "$pki/scheduler" --leader-elect=false
  ready kube-controller-manager 60 http_ok -k "https://127.0.0.1:${ports[kube-controller-manager]}/healthz"
  ready kube-scheduler 60 http_ok -k "https://127.0.0.1:${ports[kube-scheduler]}/healthz"

  # kwok with the hub's fast pod stages (see up.sh), without its model port-forward.
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
EOF
    for f in "$kwok_dir"/stages/node-*.yaml; do echo "---"; cat "$f"; done
    for f in "$kwok_dir"/stages/pod-*.yaml; do
      echo "---"
      sed -E 's/^( *jitterDurationMilliseconds:) [0-9]+/\1 300/; s/^( *durationMilliseconds:) [0-9]+/\1 100/' "$f"
    done
  } >"$spoke/kwok.yaml"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=kwok-spoke -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$pki/kwok.key" -out "$pki/kwok.crt" 2>/dev/null
  launch kwok "$kwok_dir/bin/kwok" --kubeconfig "$spoke/spoke.kubeconfig" --config "$spoke/kwok.yaml" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake --node-ip 127.0.0.1 \
    --node-port "${ports[kwok]}" --server-address "127.0.0.1:${ports[kwok]}" \
    --tls-cert-file "$pki/kwok.crt" --tls-private-key-file "$pki/kwok.key"
  spoke_k apply -f "$here/spoke-nodes.yaml" >"$logs/nodes.log" 2>&1 || fail nodes "could not create the spoke's fake nodes"
  ready kwok 60 spoke_k wait --for condition=Ready node --all --timeout 1s

  # Argo CD's identity on the spoke, as `argocd cluster add` makes it: a ServiceAccount
  # with cluster-admin and a long-lived token Secret, filled by the token controller.
  spoke_k apply -f - >"$logs/argocd-manager.log" 2>&1 <<EOF || fail argocd-manager "creating Argo CD's ServiceAccount failed"
apiVersion: v1
kind: ServiceAccount
metadata: {name: argocd-manager, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: argocd-manager}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: argocd-manager, namespace: kube-system}
---
apiVersion: v1
kind: Secret
metadata:
  name: argocd-manager-token
  namespace: kube-system
  annotations: {kubernetes.io/service-account.name: argocd-manager}
type: kubernetes.io/service-account-token
EOF
  sa_token() { spoke_k -n kube-system get secret argocd-manager-token -o jsonpath='{.data.token}' | grep -q .; }
  ready kube-controller-manager 60 sa_token
  spoke_k -n kube-system get secret argocd-manager-token -o jsonpath='{.data.token}' | base64 -d >"$pki/argocd-manager-token"

  cat >"$spoke/env" <<EOF
KP_SPOKE_DIR=$spoke
KP_SPOKE_NAME=spoke
KP_SPOKE_CONTEXT=spoke
KP_SPOKE_HUB_CONTEXT=sandbox
KP_SPOKE_SERVER=$server
KP_SPOKE_PORT=${ports[kube-apiserver]}
KP_SPOKE_KUBECONFIG=$spoke/kubeconfig
KP_SPOKE_ONLY_KUBECONFIG=$spoke/spoke.kubeconfig
KP_SPOKE_CA=$pki/apiserver.crt
KP_SPOKE_SECRET=argocd/cluster-spoke
EOF
  for c in "${!ports[@]}"; do echo "KP_PORT_SPOKE_${c^^}=${ports[$c]}" | tr - _; done | sort >>"$spoke/env"
  . "$spoke/env"
fi

# --- the two-context kubeconfig ------------------------------------------------
# The hub's own file, flattened (its context name, cluster and user as they are), plus the
# spoke's; the hub stays current, where kubectl profile applies ApplicationSets.
KUBECONFIG="$hub_kubeconfig:$spoke/spoke.kubeconfig" "$kubectl" config view --flatten --raw >"$spoke/kubeconfig.tmp"
"$kubectl" --kubeconfig "$spoke/kubeconfig.tmp" config use-context "$KP_SPOKE_HUB_CONTEXT" >/dev/null
mv "$spoke/kubeconfig.tmp" "$spoke/kubeconfig"

# --- registration in the hub's Argo CD -----------------------------------------
# https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#clusters
config=$(printf '{"bearerToken":"%s","tlsClientConfig":{"insecure":false,"caData":"%s"}}' \
  "$(cat "$pki/argocd-manager-token")" "$(base64 -w0 <"$KP_SPOKE_CA")")
hub -n argocd apply --server-side --force-conflicts --field-manager sandbox-spoke -f - >"$logs/register.log" 2>&1 <<EOF \
  || fail register "registering the spoke in the hub's Argo CD failed"
apiVersion: v1
kind: Secret
metadata:
  name: cluster-spoke
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: cluster
    app.kubernetes.io/part-of: sandbox-spoke
type: Opaque
stringData:
  name: spoke
  server: $KP_SPOKE_SERVER
  config: '$config'
EOF
if [[ ${again:-} ]]; then
  # What `argocd cluster invalidate-cache` does: the controller drops its cache of the
  # spoke and lists it again now, instead of at its next retry.
  hub -n argocd annotate --overwrite secret cluster-spoke \
    "argocd.argoproj.io/refresh=$(date -u -d '+1 sec' +%Y-%m-%dT%H:%M:%SZ)" >>"$logs/register.log" 2>&1 \
    || fail register "asking the hub's Argo CD to refresh the spoke failed"
fi
say "spoke ready in $(( SECONDS - start_time ))s: $KP_SPOKE_SERVER, Argo CD cluster 'spoke' (Secret $KP_SPOKE_SECRET)"
"$here/status.sh"
