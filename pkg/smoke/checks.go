package smoke

import "context"

// check is one row of doctor's table: how it runs in each mode (nil: that
// mode cannot reach what it checks), and what it needs first.
type check struct {
	name         string
	core, server func(*Doctor, context.Context) Check
	only         string // "core" or "server": the other mode does not list it at all
	profile      bool   // needs --profile
	argo         bool   // needs Argo CD installed (skipped when an earlier check could not tell)
	stops        bool   // a failure ends the run: nothing after it can answer
}

// checks is doctor's one table, in the order both modes report.
var checks = []check{
	{name: "argocd-server", server: (*Doctor).argoServer, only: "server", stops: true},
	{name: "argocd-token", server: (*Doctor).argoToken, only: "server", stops: true},
	{name: "cluster", core: (*Doctor).cluster, stops: true},
	{name: "argocd-crds", core: (*Doctor).argoCRDs},
	{name: "argocd-namespace", core: (*Doctor).argoNamespace},
	{name: "argocd-controllers", core: (*Doctor).argoControllers, argo: true},
	{name: "argocd-bootstrap", core: (*Doctor).argoBootstrap, server: (*Doctor).argoBootstrap, argo: true},
	{name: "groups-fresh", core: (*Doctor).groupsFresh, server: (*Doctor).groupsFresh},
	{name: "profile-objects", core: (*Doctor).profileObjects, profile: true, argo: true},
	{name: "profile-apps", core: (*Doctor).profileApps, server: (*Doctor).profileApps, profile: true, argo: true},
	{name: "external-secrets", core: (*Doctor).externalSecrets, server: (*Doctor).externalSecrets, argo: true},
	{name: "gpu-capacity", core: (*Doctor).gpu, profile: true},
	{name: "default-storageclass", core: (*Doctor).storageClass},
	{name: "loadbalancers", core: (*Doctor).loadBalancers},
	{name: "serving-secrets", core: (*Doctor).secrets},
	{name: "rbac", core: (*Doctor).rbac, only: "core"},
	{name: "argocd-rbac", server: (*Doctor).argoRBAC, only: "server"},
}
