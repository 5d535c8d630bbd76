package platform

import (
	"fmt"
	"slices"
	"strings"
)

// Checks of the secret contract (see Lint).
const (
	CheckSecretShape     = "secret-shape"
	CheckSecretSameValue = "secret-same-value"
	CheckSecretDocs      = "secret-documented"
)

// lintSecretContract finds the contracts no store can satisfy, over every
// group of the catalog: a key read whole by one ExternalSecret and by property
// by another; a read the documented shape does not provide; Secret keys that
// must agree (sameValue) but read different remote keys or properties. When
// platform.yaml documents remote secrets, an undocumented key and a
// documented key nothing reads are warnings.
func (e *Env) lintSecretContract() []Finding {
	descriptor := e.path(DescriptorFile)
	c := e.SecretContract(nil, true)
	var out []Finding
	for _, rs := range c.Remote {
		doc, documented := e.RemoteSecretShape(rs.Key)
		if rs.Shape == ShapeConflict {
			var whole, json []SecretReader
			for _, r := range rs.Readers {
				if r.Read == ReadWhole {
					whole = append(whole, r)
				} else {
					json = append(json, r)
				}
			}
			for _, w := range whole {
				out = append(out, Finding{Severity: Error, App: w.App, File: w.File, Field: w.ExternalSecret + " " + w.Field, Check: CheckSecretShape,
					Message: fmt.Sprintf("reads %s whole (a plain value) into %s, but %s reads it as JSON (%s): no one value serves both",
						rs.Key, w.Secret, describeReader(json[0]), describeRead(json[0])),
					Fix: "read the same shape everywhere: add property: to this remoteRef (the key is a JSON object), or store the value in a key of its own",
				})
			}
		}
		if !documented {
			if len(e.Descriptor.RemoteSecrets) > 0 {
				r := rs.Readers[0]
				out = append(out, Finding{Severity: Warning, App: r.App, File: r.File, Field: r.ExternalSecret + " " + r.Field, Check: CheckSecretDocs,
					Message: fmt.Sprintf("remote key %s is not documented in remoteSecrets: its shape is only what the reads imply", rs.Key),
					Fix:     fmt.Sprintf("add {key: %s%s, description: ...} under remoteSecrets: in %s", rs.Key, propertiesYAML(rs.Properties), descriptor)})
			}
			continue
		}
		for _, r := range rs.Readers {
			switch {
			case r.Read == ReadProperty && len(doc.Properties) == 0:
				out = append(out, Finding{Severity: Error, App: r.App, File: r.File, Field: r.ExternalSecret + " " + r.Field, Check: CheckSecretShape,
					Message: fmt.Sprintf("reads property %s of %s, which remoteSecrets documents as a plain value", r.Property, rs.Key),
					Fix:     fmt.Sprintf("remove property: to read the value whole, or document %s's properties in %s", rs.Key, descriptor)})
			case r.Read == ReadProperty && !slices.Contains(doc.Properties, r.Property):
				out = append(out, Finding{Severity: Error, App: r.App, File: r.File, Field: r.ExternalSecret + " " + r.Field, Check: CheckSecretShape,
					Message: fmt.Sprintf("reads property %s of %s, which its documented shape does not provide (%s)", r.Property, rs.Key, strings.Join(doc.Properties, ", ")),
					Fix:     fmt.Sprintf("read one of %s, or add %s to remoteSecrets %s's properties in %s (and to the stored value)", strings.Join(doc.Properties, ", "), r.Property, rs.Key, descriptor)})
			case r.Read != ReadProperty && r.Read != ReadExtract && len(doc.Properties) > 0:
				out = append(out, Finding{Severity: Error, App: r.App, File: r.File, Field: r.ExternalSecret + " " + r.Field, Check: CheckSecretShape,
					Message: fmt.Sprintf("reads %s whole into %s, but remoteSecrets documents it as JSON (%s): the Secret would hold the whole JSON object",
						rs.Key, r.Secret, strings.Join(doc.Properties, ", ")),
					Fix: fmt.Sprintf("add property: (one of %s) to this remoteRef", strings.Join(doc.Properties, ", "))})
			}
		}
	}
	if len(e.Descriptor.RemoteSecrets) > 0 {
		read := map[string]bool{}
		for _, rs := range c.Remote {
			read[rs.Key] = true
		}
		for i, doc := range e.Descriptor.RemoteSecrets {
			if !read[doc.Key] {
				out = append(out, Finding{Severity: Warning, File: descriptor, Field: fmt.Sprintf("remoteSecrets[%d]", i), Check: CheckSecretDocs,
					Message: fmt.Sprintf("%s is documented but no ExternalSecret of the catalog reads it", doc.Key),
					Fix:     "remove the entry, or fix the remoteRef.key that should read it"})
			}
		}
	}
	return append(out, e.lintSameValue(c)...)
}

// lintSameValue checks each sameValue set: every Secret key is filled by an
// ExternalSecret, all from one remote key and property.
func (e *Env) lintSameValue(c SecretContract) []Finding {
	descriptor := e.path(DescriptorFile)
	// fills maps NAMESPACE/NAME:KEY (and NAMESPACE/NAME for an extract) to the
	// reads that fill it, each with its source: the remote key and property.
	type fill struct {
		SecretReader
		source string
	}
	fills := map[string][]fill{}
	for _, rs := range c.Remote {
		for _, r := range rs.Readers {
			src := rs.Key + " (whole)"
			if r.Read == ReadProperty {
				src = rs.Key + " property " + r.Property
			} else if r.Read == ReadExtract {
				src = rs.Key
			}
			fills[r.Secret] = append(fills[r.Secret], fill{r, src})
		}
	}
	lookup := func(ref string) []fill {
		if f := fills[ref]; len(f) > 0 {
			return f
		}
		secret, key, _ := strings.Cut(ref, ":")
		var out []fill
		for _, f := range fills[secret] { // an extract fills every property as a key
			out = append(out, fill{f.SecretReader, f.source + " property " + key})
		}
		return out
	}
	var out []Finding
	for i, set := range e.Descriptor.SameValue {
		field := fmt.Sprintf("sameValue[%d]", i)
		var first *fill
		var firstRef string
		for j, ref := range set.Secrets {
			readers := lookup(ref)
			if len(readers) == 0 {
				out = append(out, Finding{Severity: Error, File: descriptor, Field: fmt.Sprintf("%s.secrets[%d]", field, j), Check: CheckSecretSameValue,
					Message: fmt.Sprintf("%s: no ExternalSecret of the catalog fills it, so nothing keeps it equal to the others (%s)", ref, set.Reason),
					Fix:     "name a Secret key an ExternalSecret's spec.data[].secretKey fills (NAMESPACE/TARGET:SECRETKEY)"})
				continue
			}
			r := readers[0]
			if first == nil {
				first, firstRef = &r, ref
				continue
			}
			if r.source != first.source {
				out = append(out, Finding{Severity: Error, App: r.App, File: r.File, Field: r.ExternalSecret + " " + r.Field, Check: CheckSecretSameValue,
					Message: fmt.Sprintf("%s reads %s but %s reads %s: they must hold the same value (%s) and have no single source",
						ref, r.source, firstRef, first.source, set.Reason),
					Fix: fmt.Sprintf("read %s here too, as %s %s does", first.source, first.ExternalSecret, first.Field)})
			}
		}
	}
	return out
}

func describeReader(r SecretReader) string {
	return "ExternalSecret " + r.ExternalSecret + " (" + r.File + ")"
}

func describeRead(r SecretReader) string {
	if r.Read == ReadExtract {
		return "every property, " + r.Field
	}
	return "property " + r.Property + ", " + r.Field
}

func propertiesYAML(props []string) string {
	if len(props) == 0 {
		return ""
	}
	return ", properties: [" + strings.Join(props, ", ") + "]"
}
