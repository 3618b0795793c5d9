package worker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// containerConfig turns a container of the pod spec into what the runtime
// creates: command, env (values, ConfigMap and Secret references,
// envFrom, the downward API), volumes, limits and the security subset.
func (pw *podWorker) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt int) (ContainerConfig, error) {
	env, err := pw.env(ctx, pod, c)
	if err != nil {
		return ContainerConfig{}, err
	}
	mounts, err := pw.mounts(ctx, pod, c)
	if err != nil {
		return ContainerConfig{}, err
	}
	cfg := ContainerConfig{
		Name: c.Name, Attempt: attempt, Image: c.Image,
		Command: c.Command, Args: c.Args, Env: env, WorkDir: c.WorkingDir, Mounts: mounts,
		LogPath: logPath(*pw.sandbox, c.Name, attempt),
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		cfg.CPUMilli = q.MilliValue()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		cfg.MemoryBytes = q.Value()
	}
	if sc := pod.Spec.SecurityContext; sc != nil {
		cfg.RunAsUser, cfg.RunAsGroup = sc.RunAsUser, sc.RunAsGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			cfg.RunAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			cfg.RunAsGroup = sc.RunAsGroup
		}
		cfg.ReadOnlyRoot = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	}
	return cfg, nil
}

// env resolves the container's environment in Kubernetes' order: envFrom
// first, then env, later entries winning.
func (pw *podWorker) env(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]string, error) {
	vals := map[string]string{}
	var order []string
	// The Services' variables come last and only where the container sets
	// no variable of the name, but $(VAR) may refer to them, as in the
	// kubelet: they are in vals from the start, not in order.
	svcEnv, err := pw.m.serviceEnv(pod)
	if err != nil {
		return nil, err
	}
	for _, e := range svcEnv {
		vals[e.Name] = e.Value
	}
	inOrder := map[string]bool{}
	set := func(k, v string) {
		if !inOrder[k] {
			inOrder[k] = true
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			cm, err := pw.m.w.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if isOptional(from.ConfigMapRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("envFrom configmap %q: %w", from.ConfigMapRef.Name, err)
			}
			data = cm.Data
		case from.SecretRef != nil:
			s, err := pw.m.w.client.CoreV1().Secrets(pod.Namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if isOptional(from.SecretRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("envFrom secret %q: %w", from.SecretRef.Name, err)
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
		for k, v := range data {
			set(from.Prefix+k, v)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vals))
			continue
		}
		v, skip, err := pw.envValue(ctx, pod, c.Name, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if !skip {
			set(e.Name, v)
		}
	}
	out := make([]string, 0, len(order)+len(svcEnv))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	for _, e := range svcEnv {
		if !inOrder[e.Name] {
			inOrder[e.Name] = true
			out = append(out, e.Name+"="+e.Value)
		}
	}
	return out, nil
}

// envValue resolves one valueFrom; skip is true for a missing optional key.
func (pw *podWorker) envValue(ctx context.Context, pod *corev1.Pod, container string, vf *corev1.EnvVarSource) (string, bool, error) {
	api := pw.m.w.client.CoreV1()
	switch {
	case vf.ResourceFieldRef != nil:
		name := vf.ResourceFieldRef.ContainerName
		if name == "" {
			name = container
		}
		v, err := pw.resourceFieldValue(pod, name, vf.ResourceFieldRef)
		return v, false, err
	case vf.FieldRef != nil:
		switch vf.FieldRef.FieldPath {
		case "metadata.name":
			return pod.Name, false, nil
		case "metadata.namespace":
			return pod.Namespace, false, nil
		case "metadata.uid":
			return string(pod.UID), false, nil
		case "spec.nodeName":
			return pod.Spec.NodeName, false, nil
		case "spec.serviceAccountName":
			return pod.Spec.ServiceAccountName, false, nil
		case "status.hostIP":
			return pw.m.w.node.address, false, nil
		case "status.podIP":
			if pw.sandbox != nil {
				return pw.sandbox.IP, false, nil
			}
			return "", false, nil
		}
		return "", false, fmt.Errorf("fieldRef %q is not supported", vf.FieldRef.FieldPath)
	case vf.ConfigMapKeyRef != nil:
		r := vf.ConfigMapKeyRef
		cm, err := api.ConfigMaps(pod.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return "", isOptional(r.Optional), optionalErr(r.Optional, fmt.Errorf("configmap %q: %w", r.Name, err))
		}
		v, ok := cm.Data[r.Key]
		if !ok {
			return "", isOptional(r.Optional), optionalErr(r.Optional, fmt.Errorf("configmap %q has no key %q", r.Name, r.Key))
		}
		return v, false, nil
	case vf.SecretKeyRef != nil:
		r := vf.SecretKeyRef
		s, err := api.Secrets(pod.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return "", isOptional(r.Optional), optionalErr(r.Optional, fmt.Errorf("secret %q: %w", r.Name, err))
		}
		v, ok := s.Data[r.Key]
		if !ok {
			return "", isOptional(r.Optional), optionalErr(r.Optional, fmt.Errorf("secret %q has no key %q", r.Name, r.Key))
		}
		return string(v), false, nil
	}
	return "", false, fmt.Errorf("valueFrom names no source")
}

func isOptional(o *bool) bool { return o != nil && *o }

func optionalErr(o *bool, err error) error {
	if isOptional(o) {
		return nil
	}
	return err
}

// expand replaces $(VAR) with earlier variables, as Kubernetes does;
// $$(VAR) escapes.
func expand(s string, vals map[string]string) string {
	if !strings.Contains(s, "$(") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '(' {
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				name := s[i+2 : i+end]
				if v, ok := vals[name]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mounts prepares the container's volumes under the pod directory and
// returns them as bind mounts: emptyDir as a directory, hostPath as the
// host's path, configMap, secret, downwardAPI and projected as files the
// worker writes (secrets 0400 by default).
func (pw *podWorker) mounts(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]Mount, error) {
	var out []Mount
	for _, vm := range c.VolumeMounts {
		var vol *corev1.Volume
		for i := range pod.Spec.Volumes {
			if pod.Spec.Volumes[i].Name == vm.Name {
				vol = &pod.Spec.Volumes[i]
			}
		}
		if vol == nil {
			return nil, fmt.Errorf("volumeMount %q names no volume", vm.Name)
		}
		dir := filepath.Join(pw.sandbox.Dir, "volumes", vol.Name)
		if vol.HostPath != nil {
			src, err := hostPathSource(vol.HostPath)
			if err != nil {
				return nil, fmt.Errorf("volume %q: %w", vol.Name, err)
			}
			dir = src
		} else if err := pw.fillVolume(ctx, pod, vol, dir); err != nil {
			return nil, fmt.Errorf("volume %q: %w", vol.Name, err)
		}
		src := dir
		if vm.SubPath != "" {
			src = filepath.Join(dir, filepath.Clean("/"+vm.SubPath))
		}
		out = append(out, Mount{Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	return out, nil
}

func (pw *podWorker) fillVolume(ctx context.Context, pod *corev1.Pod, vol *corev1.Volume, dir string) error {
	api := pw.m.w.client.CoreV1()
	var data map[string][]byte
	var items []corev1.KeyToPath
	mode := int32(0o644)
	switch {
	case vol.EmptyDir != nil:
		return os.MkdirAll(dir, 0o777)
	case vol.ConfigMap != nil:
		cm, err := api.ConfigMaps(pod.Namespace).Get(ctx, vol.ConfigMap.Name, metav1.GetOptions{})
		if err != nil {
			if isOptional(vol.ConfigMap.Optional) {
				return os.MkdirAll(dir, 0o755)
			}
			return err
		}
		data = map[string][]byte{}
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			data[k] = v
		}
		items = vol.ConfigMap.Items
		if vol.ConfigMap.DefaultMode != nil {
			mode = *vol.ConfigMap.DefaultMode
		}
	case vol.Secret != nil:
		s, err := api.Secrets(pod.Namespace).Get(ctx, vol.Secret.SecretName, metav1.GetOptions{})
		if err != nil {
			if isOptional(vol.Secret.Optional) {
				return os.MkdirAll(dir, 0o755)
			}
			return err
		}
		data, items = s.Data, vol.Secret.Items
		mode = 0o400
		if vol.Secret.DefaultMode != nil {
			mode = *vol.Secret.DefaultMode
		}
	case vol.DownwardAPI != nil, vol.Projected != nil:
		var modes map[string]int32
		var err error
		if vol.DownwardAPI != nil {
			data, modes, err = pw.downwardFiles(pod, vol.DownwardAPI.Items)
			if vol.DownwardAPI.DefaultMode != nil {
				mode = *vol.DownwardAPI.DefaultMode
			}
		} else {
			data, modes, err = pw.projectedFiles(ctx, pod, vol.Projected)
			if vol.Projected.DefaultMode != nil {
				mode = *vol.Projected.DefaultMode
			}
		}
		if err != nil {
			return err
		}
		for path := range data {
			it := corev1.KeyToPath{Key: path, Path: path}
			if m, ok := modes[path]; ok {
				it.Mode = &m
			}
			items = append(items, it)
		}
	default:
		return fmt.Errorf("only emptyDir, hostPath, configMap, secret, downwardAPI and projected volumes are supported")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if len(items) == 0 {
		for k := range data {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("no key %q", it.Key)
		}
		p := filepath.Join(dir, filepath.Clean("/"+it.Path))
		m := mode
		if it.Mode != nil {
			m = *it.Mode
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p+".tmp", v, os.FileMode(m)); err != nil {
			return err
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			return err
		}
	}
	return nil
}

// pullAuth reads the pod's dockerconfigjson imagePullSecrets.
func (pw *podWorker) pullAuth(ctx context.Context, pod *corev1.Pod) ([]RegistryAuth, error) {
	var out []RegistryAuth
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := pw.m.w.client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			pw.event(pod, corev1.EventTypeWarning, "FailedToRetrieveImagePullSecret", fmt.Sprintf("Unable to retrieve image pull secret %q: %v", ref.Name, err))
			continue
		}
		auths, err := parseDockerConfig(s.Data[corev1.DockerConfigJsonKey])
		if err != nil {
			return nil, fmt.Errorf("imagePullSecret %q: %w", ref.Name, err)
		}
		out = append(out, auths...)
	}
	return out, nil
}

// parseDockerConfig reads a .dockerconfigjson document. It is fed secret
// data users write, so it must reject rather than panic.
func parseDockerConfig(b []byte) ([]RegistryAuth, error) {
	var doc struct {
		Auths map[string]struct {
			Username string `json:"username"`
			Password string `json:"password"`
			Auth     string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not a dockerconfigjson document: %w", err)
	}
	var out []RegistryAuth
	for reg, a := range doc.Auths {
		u, p := a.Username, a.Password
		if a.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("auths[%q].auth is not base64", reg)
			}
			var ok bool
			if u, p, ok = strings.Cut(string(dec), ":"); !ok {
				return nil, fmt.Errorf("auths[%q].auth is not user:password", reg)
			}
		}
		reg = strings.TrimPrefix(strings.TrimPrefix(reg, "https://"), "http://")
		reg, _, _ = strings.Cut(reg, "/")
		out = append(out, RegistryAuth{Registry: reg, Username: u, Password: p})
	}
	return out, nil
}
