package platform

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// UnmarshalJSON takes a list of strings or one scalar (a string, number or
// bool, as YAML writes gpu_stack: operator or enabled: true).
func (l *StringList) UnmarshalJSON(data []byte) error {
	var list []any
	if err := json.Unmarshal(data, &list); err != nil {
		var one any
		if err := json.Unmarshal(data, &one); err != nil {
			return err
		}
		list = []any{one}
	}
	out := make(StringList, 0, len(list))
	for _, v := range list {
		s, ok := scalarString(v)
		if !ok {
			return fmt.Errorf("want a string or a list of strings, got %v", v)
		}
		out = append(out, s)
	}
	*l = out
	return nil
}

// scalarString writes a YAML scalar as the string a setting compares.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(v, 10), true
	}
	return "", false
}

// settingDecl returns the declared setting of a key.
func (e *Env) settingDecl(key string) (Setting, bool) {
	for _, s := range e.Descriptor.Settings {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// Setting is a declared setting's value: the config file's (a dotted key walks
// nested maps), else the declared default.
func (e *Env) Setting(key string) string {
	var cur any = e.Config.Raw
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			cur = nil
			break
		}
		if cur, ok = m[part]; !ok {
			break
		}
	}
	if s, ok := scalarString(cur); ok && cur != nil {
		return s
	}
	d, _ := e.settingDecl(key)
	return d.Default
}

// Holds says whether every setting of the condition has one of its values.
func (e *Env) Holds(c Condition) bool {
	for key, values := range c {
		if !slices.Contains(values, e.Setting(key)) {
			return false
		}
	}
	return true
}

// String writes a condition as key=value|value, sorted, for messages.
func (c Condition) String() string {
	var parts []string
	for _, k := range keys(c) {
		parts = append(parts, k+"="+strings.Join(c[k], "|"))
	}
	return strings.Join(parts, ", ")
}

// validateSettings checks the settings and every condition that uses them.
func (e *Env) validateSettings(bad fieldError) error {
	seen := map[string]bool{}
	for i, s := range e.Descriptor.Settings {
		field := fmt.Sprintf("settings[%d]", i)
		if !settingKey.MatchString(s.Key) {
			return bad(field+".key", "%q is not a config key (letters, digits, _ and -, dotted for nested keys)", s.Key)
		}
		if seen[s.Key] {
			return bad(field+".key", "setting %q is declared twice", s.Key)
		}
		seen[s.Key] = true
		if len(s.Values) > 0 && !slices.Contains(s.Values, s.Default) {
			return bad(field+".default", "%q is not one of its values (%s)", s.Default, strings.Join(s.Values, ", "))
		}
	}
	check := func(field string, c Condition) error {
		for _, key := range keys(c) {
			d, ok := e.settingDecl(key)
			if !ok {
				return bad(field, "unknown setting %q (declare it under settings:)", key)
			}
			for _, v := range c[key] {
				if len(d.Values) > 0 && !slices.Contains(d.Values, v) {
					return bad(field, "setting %s has no value %q (values: %s)", key, v, strings.Join(d.Values, ", "))
				}
			}
		}
		return nil
	}
	for i, l := range e.Descriptor.Layers {
		for j, g := range l.Groups {
			field := fmt.Sprintf("layers[%d].groups[%d]", i, j)
			if err := check(field+".when", g.When); err != nil {
				return err
			}
			for k, w := range g.Warn {
				if w.Message == "" {
					return bad(fmt.Sprintf("%s.warn[%d].message", field, k), "must say what is wrong")
				}
				if err := check(fmt.Sprintf("%s.warn[%d].when", field, k), w.When); err != nil {
					return err
				}
			}
			for _, app := range keys(g.Apps) {
				if err := check(fmt.Sprintf("%s.apps.%s.when", field, app), g.Apps[app].When); err != nil {
					return err
				}
			}
			if len(g.Apps) > 0 && !e.Descriptor.CatalogGenerated {
				return bad(field+".apps", "conditions on single apps need catalogGenerated: true (resolve leaves the apps out of the group's kustomization)")
			}
		}
	}
	for i, s := range e.Descriptor.SeededSecrets {
		if s.Namespace == "" || s.Name == "" {
			return bad(fmt.Sprintf("seededSecrets[%d]", i), "needs namespace and name")
		}
	}
	return e.validateSecretShapes(bad)
}

// validateSecretShapes checks remoteSecrets and sameValue as written.
func (e *Env) validateSecretShapes(bad fieldError) error {
	keys := map[string]bool{}
	for i, r := range e.Descriptor.RemoteSecrets {
		field := fmt.Sprintf("remoteSecrets[%d]", i)
		if r.Key == "" {
			return bad(field+".key", "must name the secret store's key")
		}
		if keys[r.Key] {
			return bad(field+".key", "%s is documented twice", r.Key)
		}
		keys[r.Key] = true
		props := map[string]bool{}
		for j, p := range r.Properties {
			if p == "" || props[p] {
				return bad(fmt.Sprintf("%s.properties[%d]", field, j), "%q is empty or listed twice", p)
			}
			props[p] = true
		}
	}
	for i, s := range e.Descriptor.SameValue {
		field := fmt.Sprintf("sameValue[%d]", i)
		if s.Reason == "" {
			return bad(field+".reason", "must say why the keys must agree")
		}
		if len(s.Secrets) < 2 {
			return bad(field+".secrets", "needs two or more NAMESPACE/NAME:KEY")
		}
		for j, ref := range s.Secrets {
			if _, err := ParseSecretKeyRef(ref); err != nil {
				return bad(fmt.Sprintf("%s.secrets[%d]", field, j), "%s", err)
			}
		}
	}
	return nil
}

// validateSettingValues checks the config file's values of the declared settings.
func (e *Env) validateSettingValues() error {
	for _, s := range e.Descriptor.Settings {
		if v := e.Setting(s.Key); len(s.Values) > 0 && !slices.Contains(s.Values, v) {
			return fmt.Errorf("%s: %s: %q is not one of %s", e.ConfigPath(), s.Key, v, strings.Join(s.Values, ", "))
		}
	}
	return nil
}

var (
	settingKey = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	// placeholder is ${key} in a catalog Application. Argo CD's own build
	// variables (${ARGOCD_APP_NAME}, ...) are upper case and left to Argo CD.
	placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_.-]+)\}`)
)

// Expand writes the settings into s's ${key} placeholders. Unknown keys are an
// error naming them; Argo CD's build variables (ARGOCD_*, KUBE_*) stay.
func (e *Env) Expand(s string) (string, error) {
	var unknown []string
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		key := m[2 : len(m)-1]
		if _, ok := e.settingDecl(key); ok {
			return e.Setting(key)
		}
		if !argoBuildVar(key) && !slices.Contains(unknown, key) {
			unknown = append(unknown, key)
		}
		return m
	})
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return "", fmt.Errorf("unknown setting(s) %s (declared: %s)", strings.Join(unknown, ", "), strings.Join(e.settingKeys(), ", "))
	}
	return out, nil
}

func argoBuildVar(key string) bool {
	return strings.HasPrefix(key, "ARGOCD_") || strings.HasPrefix(key, "KUBE_")
}

func (e *Env) settingKeys() []string {
	out := make([]string, len(e.Descriptor.Settings))
	for i, s := range e.Descriptor.Settings {
		out[i] = s.Key
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// Notes are what resolve prints about the enabled groups: each group's needs
// and the warnings whose condition holds, in layer and group order.
func (e *Env) Notes() (warnings, needs []string) {
	for _, l := range e.Descriptor.Layers {
		for _, g := range l.Groups {
			if !e.GroupEnabled(g) {
				continue
			}
			for _, w := range g.Warn {
				if e.Holds(w.When) {
					warnings = append(warnings, fmt.Sprintf("%s: %s", g.Name, w.Message))
				}
			}
			if g.Needs != "" {
				needs = append(needs, fmt.Sprintf("%s needs %s", g.Name, g.Needs))
			}
		}
	}
	return warnings, needs
}
