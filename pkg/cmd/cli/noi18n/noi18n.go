// Package noi18n keeps kubectl's translations unloaded. argo-cd's API client
// links kubectl's command packages (through gitops-engine), whose package
// variables call i18n.T at start-up: loading the translations then costs
// kubectl-costgate about 12 ms before main, for strings it never prints.
// Imported (blank) by a plugin's main; its import path sorts before k8s.io/,
// so Go initializes it before any package that calls i18n.T.
package noi18n

import "k8s.io/kubectl/pkg/util/i18n"

func init() {
	if err := i18n.SetLoadTranslationsFunc(func() error { return nil }); err != nil {
		panic(err)
	}
}
