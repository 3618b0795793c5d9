package validation

import (
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// supportedVolumeSources are the volume types Skiff's worker can provide.
// Every other VolumeSource member (persistentVolumeClaim, nfs, iscsi, csi,
// ephemeral, image, ...) is refused by name.
var supportedVolumeSources = map[string]bool{
	"emptyDir":    true,
	"configMap":   true,
	"secret":      true,
	"hostPath":    true,
	"projected":   true,
	"downwardAPI": true,
}

// supportedProjections are the projected-volume sources Skiff supports.
var supportedProjections = map[string]bool{
	"configMap":           true,
	"secret":              true,
	"downwardAPI":         true,
	"serviceAccountToken": true,
}

var supportedHostPathTypes = map[corev1.HostPathType]bool{
	corev1.HostPathUnset:             true,
	corev1.HostPathDirectoryOrCreate: true,
	corev1.HostPathDirectory:         true,
	corev1.HostPathFileOrCreate:      true,
	corev1.HostPathFile:              true,
	corev1.HostPathSocket:            true,
	corev1.HostPathCharDev:           true,
	corev1.HostPathBlockDev:          true,
}

// Field paths a downward API volume file may reference, besides the
// subscripted labels and annotations.
var volumeFieldPaths = map[string]bool{
	"metadata.name":        true,
	"metadata.namespace":   true,
	"metadata.labels":      true,
	"metadata.annotations": true,
	"metadata.uid":         true,
}

// setPointerFields returns, in declaration order, the JSON names of the
// non-nil pointer fields of the struct s points to: the members set in a
// one-of struct such as VolumeSource or VolumeProjection.
func setPointerFields(s any) []string {
	v := reflect.ValueOf(s).Elem()
	var names []string
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

func setVolumeSources(vs *corev1.VolumeSource) []string { return setPointerFields(vs) }

// validateVolumes checks the pod's volumes and returns the names that
// volume mounts may refer to.
func validateVolumes(volumes []corev1.Volume, fldPath *field.Path) (map[string]bool, field.ErrorList) {
	var errs field.ErrorList
	names := map[string]bool{}
	for i := range volumes {
		v := &volumes[i]
		idx := fldPath.Index(i)
		namePath := idx.Child("name")
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(namePath, ""))
		case names[v.Name]:
			errs = append(errs, field.Duplicate(namePath, v.Name))
		default:
			errs = append(errs, validateDNS1123Label(v.Name, namePath)...)
			names[v.Name] = true
		}
		errs = append(errs, validateVolumeSource(&v.VolumeSource, idx)...)
	}
	return names, errs
}

func validateVolumeSource(vs *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	sources := setVolumeSources(vs)
	if len(sources) == 0 {
		return field.ErrorList{field.Required(fldPath, "must specify a volume type")}
	}
	var errs field.ErrorList
	for i, name := range sources {
		p := fldPath.Child(name)
		switch {
		case i > 0:
			errs = append(errs, field.Forbidden(p, "may not specify more than 1 volume type"))
		case !supportedVolumeSources[name]:
			errs = append(errs, field.Forbidden(p, "volume type not supported by Skiff"))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	switch {
	case vs.EmptyDir != nil:
		errs = validateEmptyDir(vs.EmptyDir, fldPath.Child("emptyDir"))
	case vs.HostPath != nil:
		errs = validateHostPath(vs.HostPath, fldPath.Child("hostPath"))
	case vs.Secret != nil:
		p := fldPath.Child("secret")
		if vs.Secret.SecretName == "" {
			errs = append(errs, field.Required(p.Child("secretName"), ""))
		}
		errs = append(errs, validateFileMode(vs.Secret.DefaultMode, p.Child("defaultMode"))...)
		errs = append(errs, validateKeysToPaths(vs.Secret.Items, p.Child("items"), nil)...)
	case vs.ConfigMap != nil:
		p := fldPath.Child("configMap")
		if vs.ConfigMap.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		errs = append(errs, validateFileMode(vs.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		errs = append(errs, validateKeysToPaths(vs.ConfigMap.Items, p.Child("items"), nil)...)
	case vs.DownwardAPI != nil:
		p := fldPath.Child("downwardAPI")
		errs = append(errs, validateFileMode(vs.DownwardAPI.DefaultMode, p.Child("defaultMode"))...)
		for j := range vs.DownwardAPI.Items {
			errs = append(errs, validateDownwardAPIFile(&vs.DownwardAPI.Items[j], p.Child("items").Index(j))...)
		}
	case vs.Projected != nil:
		errs = validateProjected(vs.Projected, fldPath.Child("projected"))
	}
	return errs
}

func validateEmptyDir(e *corev1.EmptyDirVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if e.SizeLimit != nil && e.SizeLimit.Sign() < 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
	}
	switch e.Medium {
	case corev1.StorageMediumDefault, corev1.StorageMediumMemory:
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("medium"), e.Medium,
			[]corev1.StorageMedium{corev1.StorageMediumDefault, corev1.StorageMediumMemory}))
	}
	return errs
}

func validateHostPath(h *corev1.HostPathVolumeSource, fldPath *field.Path) field.ErrorList {
	if h.Path == "" {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	errs := validatePathNoBacksteps(h.Path, fldPath.Child("path"))
	if h.Type != nil && !supportedHostPathTypes[*h.Type] {
		errs = append(errs, field.NotSupported(fldPath.Child("type"), *h.Type, sortedKeys(supportedHostPathTypes)))
	}
	return errs
}

// validateKeysToPaths checks secret and ConfigMap items; seen, when not
// nil, collects the paths of a projected volume to find clashes.
func validateKeysToPaths(items []corev1.KeyToPath, fldPath *field.Path, seen map[string]bool) field.ErrorList {
	var errs field.ErrorList
	for i, kp := range items {
		p := fldPath.Index(i)
		if kp.Key == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
		}
		if kp.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		errs = append(errs, validateLocalNonReservedPath(kp.Path, p.Child("path"))...)
		errs = append(errs, validateFileMode(kp.Mode, p.Child("mode"))...)
		errs = append(errs, notDuplicatePath(kp.Path, seen, p.Child("path"))...)
	}
	return errs
}

func notDuplicatePath(path string, seen map[string]bool, fldPath *field.Path) field.ErrorList {
	if seen == nil || path == "" {
		return nil
	}
	if seen[path] {
		return field.ErrorList{field.Invalid(fldPath, path, "conflicting duplicate paths")}
	}
	seen[path] = true
	return nil
}

func validateDownwardAPIFile(f *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(f.Path, fldPath.Child("path"))...)
	switch {
	case f.FieldRef != nil && f.ResourceFieldRef != nil:
		errs = append(errs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
	case f.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(f.FieldRef, volumeFieldPaths, fldPath.Child("fieldRef"))...)
	case f.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(f.ResourceFieldRef, true, fldPath.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, validateFileMode(f.Mode, fldPath.Child("mode"))...)
}

func validateProjected(pv *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := validateFileMode(pv.DefaultMode, fldPath.Child("defaultMode"))
	seen := map[string]bool{}
	for i := range pv.Sources {
		src := &pv.Sources[i]
		p := fldPath.Child("sources").Index(i)
		set := setPointerFields(src)
		if len(set) == 0 {
			errs = append(errs, field.Required(p, "must specify a projection source"))
			continue
		}
		if len(set) > 1 {
			errs = append(errs, field.Forbidden(p, "may not specify more than 1 volume type per source"))
			continue
		}
		if !supportedProjections[set[0]] {
			errs = append(errs, field.Forbidden(p.Child(set[0]), "projection not supported by Skiff"))
			continue
		}
		switch {
		case src.Secret != nil:
			if src.Secret.Name == "" {
				errs = append(errs, field.Required(p.Child("secret", "name"), ""))
			}
			errs = append(errs, validateKeysToPaths(src.Secret.Items, p.Child("secret", "items"), seen)...)
		case src.ConfigMap != nil:
			if src.ConfigMap.Name == "" {
				errs = append(errs, field.Required(p.Child("configMap", "name"), ""))
			}
			errs = append(errs, validateKeysToPaths(src.ConfigMap.Items, p.Child("configMap", "items"), seen)...)
		case src.DownwardAPI != nil:
			for j := range src.DownwardAPI.Items {
				fp := p.Child("downwardAPI", "items").Index(j)
				errs = append(errs, validateDownwardAPIFile(&src.DownwardAPI.Items[j], fp)...)
				errs = append(errs, notDuplicatePath(src.DownwardAPI.Items[j].Path, seen, fp.Child("path"))...)
			}
		case src.ServiceAccountToken != nil:
			errs = append(errs, validateTokenProjection(src.ServiceAccountToken, p.Child("serviceAccountToken"), seen)...)
		}
	}
	return errs
}

func validateTokenProjection(t *corev1.ServiceAccountTokenProjection, fldPath *field.Path, seen map[string]bool) field.ErrorList {
	var errs field.ErrorList
	if t.ExpirationSeconds != nil {
		exp := *t.ExpirationSeconds
		if exp < 10*60 {
			errs = append(errs, field.Invalid(fldPath.Child("expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
		}
		if exp > 1<<32 {
			errs = append(errs, field.Invalid(fldPath.Child("expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	if t.Path == "" {
		return append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(t.Path, fldPath.Child("path"))...)
	return append(errs, notDuplicatePath(t.Path, seen, fldPath.Child("path"))...)
}
