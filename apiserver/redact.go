package apiserver

import (
	"fmt"
	"regexp"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Error messages about the body of a sensitive object (a Secret) never
// quote it: clients print them, proxies and CI logs keep them. The JSON
// decoder names fields, types and byte offsets only, and JSON patch names
// paths, so their messages pass. The YAML parser and strategic merge patch
// quote values ("cannot decode !!str `hunter2` as a !!int", "unknown
// anchor 'hunter2' referenced", "unknown patch type: x in map: map[...]"),
// so for sensitive objects their messages are replaced by what the API
// knows to be safe.

// withheldNote ends every message whose detail was withheld.
const withheldNote = "the details are withheld because they can quote secret data"

var yamlLine = regexp.MustCompile(`line (\d+)`)

// checkSensitiveYAML parses a YAML body of a sensitive resource before the
// serializer does, and answers a parse failure with its line number only.
// Once this parse has succeeded, what the serializer can still say about the
// YAML (a key set twice) names keys, not values.
func (h *handler) checkSensitiveYAML(info runtime.SerializerInfo, body []byte) error {
	if !h.res.Sensitive || info.MediaType != runtime.ContentTypeYAML {
		return nil
	}
	_, err := yaml.YAMLToJSON(body)
	if err == nil {
		return nil
	}
	where := ""
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		where = " at line " + m[1]
	}
	return apierrors.NewBadRequest(fmt.Sprintf("decode %s: invalid YAML%s (%s)", h.res.Kind, where, withheldNote))
}

// patchFailure is the message of a patch that could not be applied to an
// object of res: failure, then the patch library's detail unless res is
// sensitive.
func patchFailure(res *Resource, failure string, detail any) string {
	if res.Sensitive {
		return fmt.Sprintf("%s (%s)", failure, withheldNote)
	}
	return fmt.Sprintf("%s: %v", failure, detail)
}
