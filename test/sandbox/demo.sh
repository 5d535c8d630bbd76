#!/usr/bin/env bash
# The main job on the sandbox (make demo runs it after make sandbox-up), step by step.
# Today it proves the platform loop end to end: an Argo CD Application from the
# sandbox's local git repository, reconciled by the real application-controller,
# reaches Synced and Healthy with its pod Running on a kwok node.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib.sh"
project="$(cd "$here/../.." && pwd)"
dir="${KP_SANDBOX_DIR:-$project/.sandbox}"
[[ -f "$dir/env" ]] || die "no sandbox in $dir: run make sandbox-up first"
. "$dir/env"
export KUBECONFIG
k() { "${KUBECTL:-kubectl}" "$@"; }
step() { printf '\n==> %s\n' "$*"; }

step "refresh the local git repository Argo CD reads ($KP_REPO_URL)"
"$here/sync-repo.sh" "$dir"

step "nodes (kwok): two CPU nodes and one GPU node"
k get nodes -L nvidia.com/gpu.present

step "create the auto-sync Application demo-hello from the local repository"
k create namespace demo --dry-run=client -o yaml | k apply -f -
k apply -f - <<EOF
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: demo-hello
  namespace: argocd
spec:
  project: default
  source:
    repoURL: $KP_REPO_URL
    targetRevision: HEAD
    path: test/e2e/testdata/hello
  destination:
    server: https://kubernetes.default.svc
    namespace: demo
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [ServerSideApply=true]
EOF

step "wait until Argo CD reports it Synced and Healthy"
k -n argocd wait application/demo-hello --for=jsonpath='{.status.sync.status}'=Synced --timeout=120s
k -n argocd wait application/demo-hello --for=jsonpath='{.status.health.status}'=Healthy --timeout=120s
k -n argocd get application demo-hello \
  -o custom-columns=NAME:.metadata.name,SYNC:.status.sync.status,HEALTH:.status.health.status,REVISION:.status.sync.revision

step "what it deployed"
k -n demo get deployment,pods -o wide

printf '\ndemo: done. The sandbox keeps running: export KUBECONFIG=%s (make sandbox-down stops it)\n' "$KUBECONFIG"
