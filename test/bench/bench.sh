#!/usr/bin/env bash
# Benchmarks the plugins against what users run today, on this machine (make bench).
# Numbers are printed, never asserted: speed is measured, not tested.
#  1. render: kubectl profile render full vs kubectl kustomize on the same overlay
#  2. start-up: kubectl profile version vs kubectl version --client
#  3. wait with many Applications: API requests, CPU and peak RSS of kubectl profile
#     wait, against a bare API server holding N Synced/Healthy Applications
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(cd "$here/../.." && pwd)"
bin="$project/bin"
runs="${BENCH_RUNS:-20}"
apps="${BENCH_APPS:-2000}"
kubectl="${KUBECTL:-kubectl}"
# GNU time measures the client's CPU and peak RSS.
[[ -x /usr/bin/time ]] || { apt-get update >/dev/null && apt-get install -y time >/dev/null; } \
  || { echo "bench: GNU time is missing (apt-get install time)" >&2; exit 1; }

# mean_ms RUNS CMD...: mean wall time in milliseconds over RUNS runs (after one warm-up).
mean_ms() {
  local n=$1; shift
  "$@" >/dev/null 2>&1
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1; done
  end=$(date +%s%N)
  echo $(( (end - start) / n / 1000000 ))
}

printf '%-58s %8s\n' "benchmark ($runs runs each)" "mean ms"
r1=$(mean_ms "$runs" "$bin/kubectl-profile" render full --env ai-dev --dir "$project/clusters")
r2=$(mean_ms "$runs" "$kubectl" kustomize "$project/clusters/ai-dev/appsets/overlay")
printf '%-58s %8s\n' "kubectl profile render full (resolve check + kustomize)" "$r1" "kubectl kustomize clusters/ai-dev/appsets/overlay" "$r2"
s1=$(mean_ms "$runs" "$bin/kubectl-profile" version)
s2=$(mean_ms "$runs" "$kubectl" version --client)
printf '%-58s %8s\n' "kubectl profile version" "$s1" "kubectl version --client" "$s2"

# --- wait with many Applications ------------------------------------------------
work=$(mktemp -d)
trap 'KP_SANDBOX_DIR=$work/sandbox bash "$project/test/sandbox/down.sh" >/dev/null 2>&1; rm -rf "$work"' EXIT
KP_SANDBOX_DIR="$work/sandbox" KP_SANDBOX_ONLY=apiserver bash "$project/test/sandbox/up.sh" >"$work/up.log" 2>&1 \
  || { cat "$work/up.log"; exit 1; }
export KUBECONFIG="$work/sandbox/kubeconfig"
. "$project/test/sandbox/versions.sh"; . "$project/test/sandbox/lib.sh"
"$kubectl" apply --server-side -f "$(component_dir argocd "$ARGOCD_VERSION")/crds/" >/dev/null
"$kubectl" wait --for condition=Established -f "$(component_dir argocd "$ARGOCD_VERSION")/crds/" >/dev/null
"$kubectl" create namespace argocd >/dev/null

# synthetic_env NAME: a one-layer environment NAME (layer, profile and core group
# NAME, NAME-core) under $work/clusters, whose catalog the caller fills.
synthetic_env() {
  local env="$work/clusters/$1"
  mkdir -p "$env/catalog/$1-core" "$env/appsets/base" "$env/appsets/overlay"
  printf 'apiVersion: profile.aidev.io/v1alpha1\nkind: Platform\nproject: bench\nlayers: [{name: %s, groups: [{name: %s-core, core: true}]}]\nprofiles: [{name: %s, layers: [%s]}]\n' \
    "$1" "$1" "$1" "$1" >"$env/platform.yaml"
  printf 'repoURL: file:///bench\nrevision: HEAD\nnamespace: argocd\nfeatures: {}\n' >"$env/config.yaml"
  # Its ApplicationSet, which names the group app group-<group> (wait reads names from it).
  printf 'resources: [appset.yaml]\n' >"$env/appsets/base/kustomization.yaml"
  printf 'apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: layer-%s, labels: {profile.aidev.io/layer: %s}}\n' "$1" "$1" >"$env/appsets/base/appset.yaml"
  printf 'spec: {goTemplate: true, generators: [{git: {repoURL: x, revision: x, files: [{path: x}]}}], template: {metadata: {name: "group-{{.name}}"}, spec: {project: %s, source: {repoURL: x, targetRevision: x, path: "{{.catalogPath}}"}, destination: {server: "https://kubernetes.default.svc", namespace: x}}}}\n' bench >>"$env/appsets/base/appset.yaml"
  echo "$env"
}

# A one-layer environment whose one group holds $apps Applications.
env=$(synthetic_env bench)
app() { # name: a Synced/Healthy Application (no status subresource: status is written with it)
  printf 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: %s, namespace: argocd}\n' "$1"
  printf 'spec: {project: bench, source: {repoURL: file:///bench, path: x}, destination: {server: https://kubernetes.default.svc, namespace: bench}, syncPolicy: {automated: {}}}\n'
  printf 'status: {sync: {status: Synced}, health: {status: Healthy}}\n'
}
{
  app group-bench-core
  for i in $(seq "$apps"); do echo "---"; app "bench-$i"; done
} >"$work/apps.yaml"
for i in $(seq "$apps"); do app "bench-$i" >"$env/catalog/bench-core/bench-$i.yaml"; done
"$bin/kubectl-profile" resolve --env bench --dir "$work/clusters" >/dev/null
"$kubectl" create -f "$work/apps.yaml" >/dev/null

/usr/bin/time -f '%U %S %M' -o "$work/time" \
  "$bin/kubectl-profile" wait bench --env bench --dir "$work/clusters" -v=6 >"$work/wait.out" 2>"$work/wait.err"
read -r user sys rss <"$work/time"
requests=$(grep -c 'round_trippers.go.*"Response"' "$work/wait.err" || true)
printf '%-58s %s\n' "kubectl profile wait on $apps Applications" "$(tail -1 "$work/wait.out")"
printf '%-58s %s\n' "  API requests (kubectl -v=6 lines)" "$requests"
printf "%-58s %s s\n" "  client CPU (user+sys)" "$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')"
printf '%-58s %d MiB\n' "  peak RSS" $(( rss / 1024 ))

# --- costgate list with many gates of mixed kinds, and the writes of one up -------
# The gates rotate over a Deployment, a StatefulSet and the sandbox's own scalable
# custom resource (Model, CRD from clusters/sandbox): kinds found through discovery.
gates="${BENCH_GATES:-200}"
genv=$(synthetic_env gates)
sed -n '/name: models.sandbox.aidev.io/,$p' "$project/clusters/sandbox/workloads/platform-crds/crds.yaml" \
  | sed '1i apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:' >"$work/model-crd.yaml"
"$kubectl" apply --server-side -f "$work/model-crd.yaml" >/dev/null
"$kubectl" wait --for condition=Established -f "$work/model-crd.yaml" >/dev/null
gate() { # name index: a scale-gated Application and its workload at 0 replicas
  local kinds=(Deployment StatefulSet Model) groups=(apps apps sandbox.aidev.io) versions=(apps/v1 apps/v1 sandbox.aidev.io/v1alpha1)
  local k=${kinds[$(( $2 % 3 ))]} g=${groups[$(( $2 % 3 ))]} v=${versions[$(( $2 % 3 ))]} ref service=""
  ref=$k; [[ $k == Model ]] && ref=Model.sandbox.aidev.io
  [[ $k == StatefulSet ]] && service="serviceName: $1"
  cat <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: $1
  namespace: argocd
  annotations: {costgate.aidev.io/gate: scale, costgate.aidev.io/target: $ref/gates/$1, costgate.aidev.io/cost-per-hour: "0.80"}
spec:
  project: bench
  source: {repoURL: file:///bench, path: x}
  destination: {server: https://kubernetes.default.svc, namespace: gates}
  ignoreDifferences: [{group: $g, kind: $k, name: $1, namespace: gates, jsonPointers: [/spec/replicas]}]
  syncPolicy: {syncOptions: [RespectIgnoreDifferences=true]}
status: {sync: {status: Synced}, health: {status: Healthy}}
---
apiVersion: $v
kind: $k
metadata: {name: $1, namespace: gates}
spec:
  replicas: 0
  $service
  selector: {matchLabels: {app: $1}}
  template: {metadata: {labels: {app: $1}}, spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}}
YAML
}
"$kubectl" create namespace gates >/dev/null
for i in $(seq "$gates"); do gate "gate-$i" "$i" >"$genv/catalog/gates-core/gate-$i.yaml"; done
for i in $(seq "$gates"); do gate "gate-$i" "$i"; echo "---"; done >"$work/gates.yaml"
"$bin/kubectl-profile" resolve --env gates --dir "$work/clusters" >/dev/null
"$kubectl" create -f "$work/gates.yaml" >/dev/null
# kubectl's discovery cache, cold for the first list and warm after.
export KUBECACHEDIR="$work/kube-cache"
"$bin/kubectl-costgate" list --env gates --dir "$work/clusters" -v=6 2>"$work/list-cold.err" >/dev/null
l1=$(mean_ms 5 "$bin/kubectl-costgate" list --env gates --dir "$work/clusters")
"$bin/kubectl-costgate" list --env gates --dir "$work/clusters" -v=6 2>"$work/list.err" >/dev/null
lcold=$(grep -c 'round_trippers.go.*"Response"' "$work/list-cold.err" || true)
lreq=$(grep -c 'round_trippers.go.*"Response"' "$work/list.err" || true)
printf '%-58s %8s\n' "kubectl costgate list, $gates gated apps of 3 kinds (mean of 5)" "$l1"
printf '%-58s %s\n' "  API requests, warm discovery cache (preflight + one LIST per kind)" "$lreq"
printf '%-58s %s\n' "  API requests, cold discovery cache" "$lcold"
grep -o 'round_trippers.go.*"Response" verb="[A-Z]*" url="[^"]*"' "$work/list.err" | sed 's/.*verb=/    /' || true
"$bin/kubectl-costgate" up gate-3 --wait=false --env gates --dir "$work/clusters" -v=6 2>"$work/up.err" >/dev/null
writes=$(grep -E 'round_trippers.go.*"Response" verb="(PATCH|PUT|POST|DELETE)"' "$work/up.err" | grep -vc selfsubject || true)
reviews=$(grep -E 'round_trippers.go.*"Response" verb="POST"' "$work/up.err" | grep -c selfsubject || true)
reads=$(grep -cE 'round_trippers.go.*"Response" verb="GET"' "$work/up.err" || true)
printf '%-58s %s\n' "kubectl costgate up on a synced gate: writes / reads / reviews" "$writes / $reads / $reviews"
grep -oE 'round_trippers.go.*"Response" verb="(PATCH|PUT|DELETE)" url="[^"]*"' "$work/up.err" | sed 's/.*verb=/    /' || true
printf '%-58s %s\n' "  (argocd app sync + kubectl scale + kubectl rollout status: 3 commands, 2+ writes)" ""
