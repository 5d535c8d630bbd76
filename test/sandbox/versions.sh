# Versions of everything the sandbox builds. Changing one changes the cache folder
# it builds into, so an old build is never mistaken for a new one. Each can be
# overridden from the environment (the tests use that to prove a failed build is
# reported clearly).
K8S_VERSION=${K8S_VERSION:-v1.37.2}          # kube-apiserver, kube-controller-manager, kube-scheduler
K8S_LIB_VERSION=${K8S_LIB_VERSION:-v0.37.2}  # the staging modules k8s.io/kubernetes requires at v0.0.0
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
ARGOCD_VERSION=${ARGOCD_VERSION:-v3.6.1}
# The kustomize binary Argo CD's repo-server runs for a folder with a kustomization
# (its image ships one; the multi-call build does not).
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-v5.8.1}
# Argo CD v3.6 needs Go 1.27; everything else builds with the machine's own Go.
ARGOCD_TOOLCHAIN=${ARGOCD_TOOLCHAIN:-go1.27.3}
# External Secrets' CRDs (ExternalSecret, ClusterSecretStore, SecretStore), taken from its Go
# module: the ai-dev tree pins chart 2.6.0 (app v2.6.0), which the module proxy does not serve;
# v1.3.2 is the newest it serves and has the same external-secrets.io/v1 kinds. The operator
# itself is not built (doctor's e2e sets the objects' status as it would).
ESO_VERSION=${ESO_VERSION:-v1.3.2}
