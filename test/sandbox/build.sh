#!/usr/bin/env bash
# Builds the sandbox's binaries from the Go module proxy, each in a throwaway module,
# into a cache folder named by component and version:
#   ${KP_CACHE:-~/.cache/kubectl-plugins}/sandbox/<component>-<version>/bin
# A component whose folder is complete is not rebuilt. Usage: build.sh [component...]
# Components: etcd kwok kubernetes argocd kustomize eso (default: all).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"
. "$here/lib.sh"

build_dir() { echo "$KP_CACHE/build/$1"; }

# run_build NAME LOG CMD...: runs a long build with its output in LOG, printing
# progress (packages compiled, elapsed) every 30 s so a cold build never looks hung.
run_build() {
  local name=$1 log=$2; shift 2
  local start=$SECONDS
  ( "$@" ) >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    local waited=0
    while (( waited < 30 )) && kill -0 "$pid" 2>/dev/null; do sleep 1; waited=$((waited + 1)); done
    kill -0 "$pid" 2>/dev/null || break
    say "  $name: $(grep -c . "$log" || true) packages/lines so far, $(( SECONDS - start ))s elapsed"
  done
  if ! wait "$pid"; then
    tail -n 20 "$log" >&2
    die "building $name failed; full log: $log"
  fi
  say "  $name: built in $(( SECONDS - start ))s"
}

build_etcd() {
  local out; out="$(component_dir etcd "$ETCD_VERSION")"
  [[ -x "$out/bin/etcd" ]] && return 0
  say "building etcd $ETCD_VERSION (cold: about 1 minute)"
  local mod; mod="$(build_dir etcd-$ETCD_VERSION)"; rm -rf "$mod"; mkdir -p "$mod" "$out/bin"
  cat >"$mod/go.mod" <<MOD
module sandbox.local/etcd
go 1.26
require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
  run_build etcd "$KP_LOGS/build-etcd.log" bash -c "cd '$mod' && export GOTOOLCHAIN=auto GOFLAGS=-mod=mod && \
    go get go.etcd.io/etcd/server/v3@$ETCD_VERSION && go build -v -trimpath -o '$out/bin/etcd.tmp' go.etcd.io/etcd/server/v3"
  mv "$out/bin/etcd.tmp" "$out/bin/etcd"
}

build_kwok() {
  local out; out="$(component_dir kwok "$KWOK_VERSION")"
  [[ -x "$out/bin/kwok" && -d "$out/stages" ]] && return 0
  say "building kwok $KWOK_VERSION (cold: about 2 minutes)"
  mkdir -p "$out/tmp"
  run_build kwok "$KP_LOGS/build-kwok.log" bash -c "export GOTOOLCHAIN=auto GOBIN='$out/tmp' && \
    go install -v -trimpath sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mkdir -p "$out/bin"; mv "$out/tmp/kwok" "$out/bin/kwok"; rmdir "$out/tmp"
  # kwok runs no stage it is not given: take the ones kwokctl uses by default
  # (nodes ready with lease heartbeats; pods created, ready, completed, deleted).
  local dir
  dir="$(GOTOOLCHAIN=auto GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  rm -rf "$out/stages"; mkdir -p "$out/stages"
  cp "$dir"/kustomize/stage/node/fast/node-initialize.yaml \
     "$dir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
     "$dir"/kustomize/stage/pod/general/pod-*.yaml "$out/stages/"
  chmod -R u+w "$out/stages"
}

build_kubernetes() {
  local out; out="$(component_dir kubernetes "$K8S_VERSION")"
  [[ -x "$out/bin/kube-apiserver" && -x "$out/bin/kube-controller-manager" && -x "$out/bin/kube-scheduler" ]] && return 0
  say "building kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION (cold: about 13 minutes on 2 cores)"
  local mod; mod="$(build_dir kubernetes-$K8S_VERSION)"; rm -rf "$mod"; mkdir -p "$mod" "$out/bin"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
  # ./staging paths that a module consumer cannot see: replace each with its release.
  local gomod
  gomod="$(cd "$mod" && GOTOOLCHAIN=auto GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  {
    echo "module sandbox.local/kubernetes"
    echo "go 1.26"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo "replace ("
    grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk '{print $1}' \
      | grep -vE '^k8s.io/(sample-cli-plugin|sample-controller)$' \
      | while read -r m; do echo "  $m => $m $K8S_LIB_VERSION"; done
    echo ")"
  } >"$mod/go.mod"
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  run_build kubernetes "$KP_LOGS/build-kubernetes.log" bash -c "cd '$mod' && export GOTOOLCHAIN=auto GOFLAGS=-mod=mod && \
    go get k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION && \
    go build -v -trimpath -ldflags '$ldflags' -o '$out/tmp/' k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler"
  mv "$out/tmp/"* "$out/bin/"; rmdir "$out/tmp"
}

build_argocd() {
  local out; out="$(component_dir argocd "$ARGOCD_VERSION")"
  [[ -x "$out/bin/argocd" && -d "$out/crds" ]] && return 0
  say "building argocd $ARGOCD_VERSION with $ARGOCD_TOOLCHAIN (cold: about 12 minutes on 2 cores)"
  local mod; mod="$(build_dir argocd-$ARGOCD_VERSION)"; rm -rf "$mod"; mkdir -p "$mod" "$out/bin"
  local gomod dir
  gomod="$(cd "$mod" && GOTOOLCHAIN=$ARGOCD_TOOLCHAIN GOFLAGS=-mod=mod go mod download -json "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  dir="$(cd "$mod" && GOTOOLCHAIN=$ARGOCD_TOOLCHAIN GOFLAGS=-mod=mod go mod download -json "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  {
    echo "module sandbox.local/argocd"
    echo "go 1.27.0"
    echo "require github.com/argoproj/argo-cd/v3 $ARGOCD_VERSION"
    # Argo CD's own replace block, less its local gitops-engine path (that module is served).
    awk '/^replace \($/{r=1; print; next} r&&/^\)$/{r=0; print; next} r{print; next} /^replace /{print}' "$gomod" \
      | grep -v 'gitops-engine => ./gitops-engine' | grep -v '=> \./'
  } >"$mod/go.mod"
  run_build argocd "$KP_LOGS/build-argocd.log" bash -c "cd '$mod' && export GOTOOLCHAIN=$ARGOCD_TOOLCHAIN GOFLAGS=-mod=mod && \
    go get github.com/argoproj/argo-cd/v3/cmd@$ARGOCD_VERSION && \
    go build -v -trimpath -ldflags '-s -w -X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v}' -o '$out/bin/argocd.tmp' github.com/argoproj/argo-cd/v3/cmd"
  mv "$out/bin/argocd.tmp" "$out/bin/argocd"
  # argv[0] picks the component of the multi-call binary.
  for c in argocd-application-controller argocd-applicationset-controller argocd-repo-server argocd-server; do
    ln -sf argocd "$out/bin/$c"
  done
  # The repo-server always runs these wrappers; without them every manifest generation fails.
  install -m 0755 "$dir/hack/git-verify-wrapper.sh" "$dir/hack/gpg-wrapper.sh" "$out/bin/"
  rm -rf "$out/crds"; mkdir -p "$out/crds"; cp "$dir"/manifests/crds/*-crd.yaml "$out/crds/"; chmod -R u+w "$out/crds"
}

build_kustomize() {
  local out; out="$(component_dir kustomize "$KUSTOMIZE_VERSION")"
  [[ -x "$out/bin/kustomize" ]] && return 0
  say "building kustomize $KUSTOMIZE_VERSION (cold: about 1 minute)"
  mkdir -p "$out/tmp"
  run_build kustomize "$KP_LOGS/build-kustomize.log" bash -c "export GOTOOLCHAIN=auto GOBIN='$out/tmp' && \
    go install -v -trimpath sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  mkdir -p "$out/bin"; mv "$out/tmp/kustomize" "$out/bin/kustomize"; rmdir "$out/tmp"
}

# External Secrets: its CRDs only, copied from the module (no build).
build_eso() {
  local out; out="$(component_dir eso "$ESO_VERSION")"
  [[ -d "$out/crds" ]] && return 0
  say "fetching External Secrets $ESO_VERSION CRDs"
  local dir
  dir="$(GOTOOLCHAIN=auto GOFLAGS=-mod=mod go mod download -json "github.com/external-secrets/external-secrets@$ESO_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  [[ -n "$dir" ]] || die "External Secrets $ESO_VERSION: the module proxy did not serve it"
  mkdir -p "$out/tmp"
  for k in externalsecrets clustersecretstores secretstores; do
    cp "$dir/config/crds/bases/external-secrets.io_$k.yaml" "$out/tmp/"
  done
  chmod -R u+w "$out/tmp"; mv "$out/tmp" "$out/crds"
}

main() {
  mkdir -p "$KP_CACHE" "$KP_LOGS"
  local components=("$@")
  (( ${#components[@]} )) || components=(etcd kwok kubernetes argocd kustomize eso)
  for c in "${components[@]}"; do
    case "$c" in
      etcd|kwok|kubernetes|argocd|kustomize|eso) "build_$c" ;;
      *) die "unknown component '$c' (want etcd, kwok, kubernetes, argocd, kustomize or eso)" ;;
    esac
  done
}
main "$@"
