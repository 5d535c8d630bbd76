// Package access is the vocabulary of permissions: the Kubernetes API
// requests a command sends, as RBAC grants them. Each domain package declares
// what its verbs need in these terms (costgate.Needs, profile.Needs), and
// every user of permissions reads those declarations: costgate's checks
// before a write, smoke doctor's rbac check, and the shipped roles in
// deploy/rbac (a unit test fails when they drift).
package access
