#!/usr/bin/env bash
# The main job on the sandbox (make demo runs it after make sandbox-up), step by step:
# the platform's GitOps tree (clusters/sandbox) applied as a profile through the real
# Argo CD and waited on until every auto-sync app is Synced and Healthy, then the GPU
# model's cost gate opened, the smoke gate run against it, and the gate closed again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/lib.sh"
project="$(cd "$here/../.." && pwd)"
dir="${KP_SANDBOX_DIR:-$project/.sandbox}"
[[ -f "$dir/env" ]] || die "no sandbox in $dir: run make sandbox-up first"
. "$dir/env"
export KUBECONFIG
bin="$project/bin"
profile() { "$bin/kubectl-profile" "$@" --env sandbox --dir "$KP_REPO_DIR/clusters"; }
costgate() { "$bin/kubectl-costgate" "$@" --env sandbox --dir "$KP_REPO_DIR/clusters"; }
smoke() { "$bin/kubectl-smoke" "$@" --env sandbox --dir "$KP_REPO_DIR/clusters"; }
step() { printf '\n==> %s\n' "$*"; }

step "refresh the local git repository Argo CD reads ($KP_REPO_URL)"
"$here/sync-repo.sh" "$dir"

step "nodes (kwok): two CPU nodes and one GPU node"
"${KUBECTL:-kubectl}" get nodes -L nvidia.com/gpu.present

step "kubectl profile list"
profile list

step "kubectl profile apply full"
profile apply full

step "kubectl profile wait full"
profile wait full --timeout 10m

step "kubectl profile status"
profile status

step "kubectl costgate up raw-vllm (the GPU model: sync, scale to 1, wait on the GPU node)"
costgate up raw-vllm --timeout 5m

step "kubectl costgate list"
costgate list

step "kubectl smoke run --profile serving (doctor, then an authenticated chat through a port-forward)"
smoke run --profile serving

step "kubectl costgate down raw-vllm"
costgate down raw-vllm

printf '\ndemo: done. The sandbox keeps running: export KUBECONFIG=%s (make sandbox-down stops it)\n' "$KUBECONFIG"
