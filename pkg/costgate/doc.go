// Package costgate is the cost gates' logic: which apps are gated and how, their
// live state, opening and closing them (Gates, Up), the idle rule, what each
// verb needs (Needs, ArgoPolicies), and the static lint that keeps selfHeal
// from fighting a gate. Gates are data (catalog annotations).
//
// Gates reach the cluster through one Backend, chosen once per invocation:
// KubeBackend (the Kubernetes API, core mode) or ArgoCDBackend (Argo CD's API,
// server mode, for users with an Argo CD token and no Kubernetes
// credentials). Nothing else in the package asks which mode it runs in; a
// gate's workload is resolved in one place (WorkloadOf).
package costgate
