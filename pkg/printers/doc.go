// Package printers writes the plugins' output: tables for people, JSON and YAML
// for programs, and live progress that redraws on a terminal and prints plain
// lines elsewhere.
package printers
