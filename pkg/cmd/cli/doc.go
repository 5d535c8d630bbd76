// Package cli holds what the three plugins share on the command line: the root
// command's kubectl habits, exit codes, and the version verb.
package cli
