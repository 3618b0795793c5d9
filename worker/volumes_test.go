package worker

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestHostPathSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	typ := func(s corev1.HostPathType) *corev1.HostPathType { return &s }
	tests := []struct {
		name    string
		src     corev1.HostPathVolumeSource
		wantErr bool
		isDir   bool // after the call the path is a directory
		isFile  bool
	}{
		{"unset type, existing file", corev1.HostPathVolumeSource{Path: file}, false, false, true},
		{"unset type, missing path is made a directory", corev1.HostPathVolumeSource{Path: filepath.Join(dir, "new")}, false, true, false},
		{"Directory exists", corev1.HostPathVolumeSource{Path: dir, Type: typ(corev1.HostPathDirectory)}, false, true, false},
		{"Directory missing", corev1.HostPathVolumeSource{Path: filepath.Join(dir, "nope"), Type: typ(corev1.HostPathDirectory)}, true, false, false},
		{"Directory but a file", corev1.HostPathVolumeSource{Path: file, Type: typ(corev1.HostPathDirectory)}, true, false, false},
		{"DirectoryOrCreate makes it", corev1.HostPathVolumeSource{Path: filepath.Join(dir, "a/b"), Type: typ(corev1.HostPathDirectoryOrCreate)}, false, true, false},
		{"File exists", corev1.HostPathVolumeSource{Path: file, Type: typ(corev1.HostPathFile)}, false, false, true},
		{"File but a directory", corev1.HostPathVolumeSource{Path: dir, Type: typ(corev1.HostPathFile)}, true, false, false},
		{"FileOrCreate makes it", corev1.HostPathVolumeSource{Path: filepath.Join(dir, "c/d.txt"), Type: typ(corev1.HostPathFileOrCreate)}, false, false, true},
		{"Socket but a file", corev1.HostPathVolumeSource{Path: file, Type: typ(corev1.HostPathSocket)}, true, false, false},
		{"relative path", corev1.HostPathVolumeSource{Path: "var/log"}, true, false, false},
		{"unknown type", corev1.HostPathVolumeSource{Path: dir, Type: typ("Pipe")}, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hostPathSource(&tt.src)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			fi, err := os.Stat(got)
			if err != nil {
				t.Fatal(err)
			}
			if fi.IsDir() != tt.isDir || fi.Mode().IsRegular() != tt.isFile {
				t.Errorf("%s: dir %v regular %v", got, fi.IsDir(), fi.Mode().IsRegular())
			}
		})
	}
}

func TestDownwardFiles(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways)
	pod.Labels = map[string]string{"app": "web", "tier": "a\"b"}
	pod.Annotations = map[string]string{"note": "x"}
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi"), corev1.ResourceCPU: resource.MustParse("250m")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
	}
	pw, _, _ := newTestPodWorker(t, pod)
	mode := int32(0o600)
	data, modes, err := pw.downwardFiles(pod, []corev1.DownwardAPIVolumeFile{
		{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
		{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}, Mode: &mode},
		{Path: "app", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}},
		{Path: "mem", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
		{Path: "cpu-millis", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "requests.cpu", Divisor: resource.MustParse("1m")}},
		{Path: "cpu-cores", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "p", "labels": "app=\"web\"\ntier=\"a\\\"b\"", "app": "web", "mem": "64", "cpu-millis": "100", "cpu-cores": "1"}
	for k, v := range want {
		if string(data[k]) != v {
			t.Errorf("%s = %q, want %q", k, data[k], v)
		}
	}
	if modes["labels"] != 0o600 || len(modes) != 1 {
		t.Errorf("modes %v", modes)
	}
	for _, bad := range []corev1.DownwardAPIVolumeFile{
		{Path: "x", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}},
		{Path: "x", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "nope", Resource: "limits.cpu"}},
		{Path: "x", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.gpu"}},
		{Path: "x"},
	} {
		if _, _, err := pw.downwardFiles(pod, []corev1.DownwardAPIVolumeFile{bad}); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
