package platform

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// matchFeatures says which feature of the config switches which group (group
// -> feature): a feature named after a group is that group's; any other is
// the one group left whose name is the same words, else a run of them.
// unmatched lists the features that match no group, or several.
func matchFeatures(records []groupRecord, features map[string]bool) (feature map[string]string, unmatched []string) {
	feature = map[string]string{}
	var left []string
	for f := range features {
		if slices.ContainsFunc(records, func(r groupRecord) bool { return r.Name == f }) {
			feature[f] = f
		} else {
			left = append(left, f)
		}
	}
	sort.Strings(left)
	for _, f := range left {
		candidates := featureCandidates(f, features[f], records, feature)
		switch len(candidates) {
		case 1:
			feature[candidates[0].Name] = f
		case 0:
			unmatched = append(unmatched, f)
		default:
			var names []string
			for _, r := range candidates {
				names = append(names, r.Name)
			}
			unmatched = append(unmatched, fmt.Sprintf("%s (could be %s)", f, strings.Join(names, " or ")))
		}
	}
	return feature, unmatched
}

// featureCandidates are the groups no feature switches yet (taken: group ->
// feature) whose names are the same words as feature f, else a run of them;
// of several, those whose state agrees with f's value (on) when any do.
func featureCandidates(f string, on bool, records []groupRecord, taken map[string]string) []groupRecord {
	var candidates []groupRecord
	for _, exact := range []bool{true, false} {
		for _, r := range records {
			if _, switched := taken[r.Name]; !switched && similar(f, r.Name, exact) {
				candidates = append(candidates, r)
			}
		}
		if len(candidates) > 0 {
			break
		}
	}
	if len(candidates) > 1 {
		var agree []groupRecord
		for _, r := range candidates {
			if r.Enabled == on {
				agree = append(agree, r)
			}
		}
		if len(agree) > 0 {
			candidates = agree
		}
	}
	return candidates
}

var tokenSep = regexp.MustCompile(`[-_. ]+`)

// similar says whether a feature key and a group name are the same words
// ("gpu_models" and "gpu-models"), or, unless exact, one's words are a run of
// the other's ("ui" and "chat-ui").
func similar(feature, group string, exact bool) bool {
	f := tokenSep.Split(strings.ToLower(feature), -1)
	g := tokenSep.Split(strings.ToLower(group), -1)
	if exact {
		return slices.Equal(f, g)
	}
	return containsRun(g, f) || containsRun(f, g)
}

func containsRun(long, short []string) bool {
	for i := 0; i+len(short) <= len(long); i++ {
		if slices.Equal(long[i:i+len(short)], short) {
			return true
		}
	}
	return false
}
