package validation

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// maxDiffPaths bounds how many changed fields an error message lists.
const maxDiffPaths = 10

// changedFields names, as field paths under prefix, where a and b differ
// once rendered as JSON: the hint Kubernetes gives with a refused update.
func changedFields(prefix string, a, b any) string {
	var av, bv any
	if err := roundTrip(a, &av); err != nil {
		return ""
	}
	if err := roundTrip(b, &bv); err != nil {
		return ""
	}
	var paths []string
	diffJSON(prefix, av, bv, &paths)
	if len(paths) == 0 {
		return ""
	}
	more := ""
	if len(paths) > maxDiffPaths {
		more = fmt.Sprintf(" and %d more", len(paths)-maxDiffPaths)
		paths = paths[:maxDiffPaths]
	}
	return "changed: " + strings.Join(paths, ", ") + more
}

func roundTrip(v any, out *any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func diffJSON(path string, a, b any, out *[]string) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			diffJSON(path+"."+k, am[k], bm[k], out)
		}
		return
	}
	as, aIsList := a.([]any)
	bs, bIsList := b.([]any)
	if aIsList && bIsList && len(as) == len(bs) {
		for i := range as {
			diffJSON(fmt.Sprintf("%s[%d]", path, i), as[i], bs[i], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, path)
	}
}
