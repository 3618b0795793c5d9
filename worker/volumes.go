package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hostPathSource checks (and for the *OrCreate types makes) a hostPath
// volume's path as Kubernetes' hostPath types say, and returns it as the
// bind mount's source.
func hostPathSource(hp *corev1.HostPathVolumeSource) (string, error) {
	p := filepath.Clean(hp.Path)
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("hostPath %q is not absolute", hp.Path)
	}
	typ := corev1.HostPathUnset
	if hp.Type != nil {
		typ = *hp.Type
	}
	fi, err := os.Stat(p)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	switch typ {
	case corev1.HostPathUnset:
		if !exists {
			// Kubernetes makes a missing unset-type path a directory.
			return p, os.MkdirAll(p, 0o755)
		}
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			return p, os.MkdirAll(p, 0o755)
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("hostPath %s is not a directory", p)
		}
	case corev1.HostPathDirectory:
		if !exists || !fi.IsDir() {
			return "", fmt.Errorf("hostPath type check failed: %s is not a directory", p)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return "", err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return "", err
			}
			return p, f.Close()
		}
		if fi.IsDir() {
			return "", fmt.Errorf("hostPath %s is a directory, not a file", p)
		}
	case corev1.HostPathFile:
		if !exists || !fi.Mode().IsRegular() {
			return "", fmt.Errorf("hostPath type check failed: %s is not a file", p)
		}
	case corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev:
		want := map[corev1.HostPathType]os.FileMode{corev1.HostPathSocket: os.ModeSocket,
			corev1.HostPathCharDev: os.ModeCharDevice | os.ModeDevice, corev1.HostPathBlockDev: os.ModeDevice}[typ]
		if !exists || fi.Mode()&want != want || (typ == corev1.HostPathBlockDev && fi.Mode()&os.ModeCharDevice != 0) {
			return "", fmt.Errorf("hostPath type check failed: %s is not a %s", p, typ)
		}
	default:
		return "", fmt.Errorf("hostPath type %q is not known", typ)
	}
	return p, nil
}

// downwardFiles returns the contents of downward API files by path, with
// the modes of the files that set one.
func (pw *podWorker) downwardFiles(pod *corev1.Pod, files []corev1.DownwardAPIVolumeFile) (map[string][]byte, map[string]int32, error) {
	data, modes := map[string][]byte{}, map[string]int32{}
	for _, f := range files {
		var v string
		switch {
		case f.FieldRef != nil:
			switch f.FieldRef.FieldPath {
			case "metadata.name":
				v = pod.Name
			case "metadata.namespace":
				v = pod.Namespace
			case "metadata.uid":
				v = string(pod.UID)
			case "metadata.labels":
				v = formatMap(pod.Labels)
			case "metadata.annotations":
				v = formatMap(pod.Annotations)
			default:
				if k, ok := strings.CutPrefix(f.FieldRef.FieldPath, "metadata.labels['"); ok {
					v = pod.Labels[strings.TrimSuffix(k, "']")]
				} else if k, ok := strings.CutPrefix(f.FieldRef.FieldPath, "metadata.annotations['"); ok {
					v = pod.Annotations[strings.TrimSuffix(k, "']")]
				} else {
					return nil, nil, fmt.Errorf("downwardAPI %s: fieldRef %q is not supported", f.Path, f.FieldRef.FieldPath)
				}
			}
		case f.ResourceFieldRef != nil:
			var err error
			if v, err = pw.resourceFieldValue(pod, f.ResourceFieldRef.ContainerName, f.ResourceFieldRef); err != nil {
				return nil, nil, fmt.Errorf("downwardAPI %s: %w", f.Path, err)
			}
		default:
			return nil, nil, fmt.Errorf("downwardAPI %s: neither fieldRef nor resourceFieldRef", f.Path)
		}
		data[f.Path] = []byte(v)
		if f.Mode != nil {
			modes[f.Path] = *f.Mode
		}
	}
	return data, modes, nil
}

// formatMap renders labels or annotations as the downward API does: one
// key="value" line each, sorted by key, values quoted Go-style.
func formatMap(m map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k + "=" + strconv.Quote(m[k]))
	}
	return b.String()
}

// resourceFieldValue resolves a resourceFieldRef against the named
// container (the env var's own container when name is empty): its limit
// or request divided by the divisor and rounded up, the node's
// allocatable standing in for an unset limit, as Kubernetes does.
func (pw *podWorker) resourceFieldValue(pod *corev1.Pod, name string, ref *corev1.ResourceFieldSelector) (string, error) {
	c := findContainer(pod, name)
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef: no container %q", name)
	}
	kind, res, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("resourceFieldRef: resource %q is not supported", ref.Resource)
	}
	rn := corev1.ResourceName(res)
	q, set := c.Resources.Limits[rn]
	if kind == "requests" {
		q, set = c.Resources.Requests[rn]
		if !set {
			q, set = c.Resources.Limits[rn]
		}
	}
	if !set {
		if kind == "requests" && rn != corev1.ResourceEphemeralStorage {
			q = resource.Quantity{} // an unset request is zero
		} else {
			_, alloc := pw.m.w.node.capacity()
			q = alloc[rn]
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	switch rn {
	case corev1.ResourceCPU:
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
	}
	return "", fmt.Errorf("resourceFieldRef: resource %q is not supported", ref.Resource)
}

// projectedFiles gathers a projected volume's sources into one file set.
func (pw *podWorker) projectedFiles(ctx context.Context, pod *corev1.Pod, pv *corev1.ProjectedVolumeSource) (map[string][]byte, map[string]int32, error) {
	api := pw.m.w.client.CoreV1()
	data, modes := map[string][]byte{}, map[string]int32{}
	add := func(src map[string][]byte, items []corev1.KeyToPath) error {
		if len(items) == 0 {
			for k := range src {
				items = append(items, corev1.KeyToPath{Key: k, Path: k})
			}
		}
		for _, it := range items {
			v, ok := src[it.Key]
			if !ok {
				return fmt.Errorf("no key %q", it.Key)
			}
			data[it.Path] = v
			if it.Mode != nil {
				modes[it.Path] = *it.Mode
			}
		}
		return nil
	}
	for _, s := range pv.Sources {
		switch {
		case s.ConfigMap != nil:
			cm, err := api.ConfigMaps(pod.Namespace).Get(ctx, s.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				if isOptional(s.ConfigMap.Optional) {
					continue
				}
				return nil, nil, err
			}
			src := map[string][]byte{}
			for k, v := range cm.Data {
				src[k] = []byte(v)
			}
			maps.Copy(src, cm.BinaryData)
			if err := add(src, s.ConfigMap.Items); err != nil {
				return nil, nil, fmt.Errorf("configMap %q: %w", s.ConfigMap.Name, err)
			}
		case s.Secret != nil:
			sec, err := api.Secrets(pod.Namespace).Get(ctx, s.Secret.Name, metav1.GetOptions{})
			if err != nil {
				if isOptional(s.Secret.Optional) {
					continue
				}
				return nil, nil, err
			}
			if err := add(sec.Data, s.Secret.Items); err != nil {
				return nil, nil, fmt.Errorf("secret %q: %w", s.Secret.Name, err)
			}
		case s.DownwardAPI != nil:
			d, m, err := pw.downwardFiles(pod, s.DownwardAPI.Items)
			if err != nil {
				return nil, nil, err
			}
			maps.Copy(data, d)
			maps.Copy(modes, m)
		default:
			return nil, nil, errors.New("only configMap, secret and downwardAPI projections are supported (no serviceAccountToken or clusterTrustBundle)")
		}
	}
	return data, modes, nil
}
