package testcluster_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/skiffhq/skiff/testcluster"
)

// TestKubeMetadataInformer drives client-go's metadata-only informer (what
// garbage collectors and quota controllers use) against the servers: its
// list and watch ask for PartialObjectMetadataList and
// PartialObjectMetadata, and its cache must follow creates, label changes
// and deletes made through other servers. The metadata client's Get and
// Patch answer PartialObjectMetadata too.
func TestKubeMetadataInformer(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	kcs := kubeClients(t, c)
	ns := kubeNamespace(t, ctx, kcs[0])
	cms := kcs[1].CoreV1().ConfigMaps(ns)
	for i := range 3 {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mc, err := metadata.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	gvr := corev1.SchemeGroupVersion.WithResource("configmaps")
	f := metadatainformer.NewFilteredSharedInformerFactory(mc, 0, ns, nil)
	inf := f.ForResource(gvr).Informer()
	fctx, stop := context.WithCancel(ctx)
	defer f.Shutdown()
	defer stop()
	f.Start(fctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("the metadata informer never synced")
	}
	// state is the informer's cache as name -> labels; it fails the test
	// if the cache holds anything but PartialObjectMetadata.
	state := func() map[string]string {
		out := map[string]string{}
		for _, o := range inf.GetStore().List() {
			m, ok := o.(*metav1.PartialObjectMetadata)
			if !ok {
				t.Fatalf("the informer holds a %T", o)
			}
			out[m.Name] = m.Labels["l"]
		}
		return out
	}
	waitState := func(want map[string]string) {
		t.Helper()
		if err := testcluster.WaitFor(ctx, func() bool { return maps.Equal(state(), want) }); err != nil {
			t.Fatalf("informer cache %v, want %v: %v", state(), want, err)
		}
	}
	waitState(map[string]string{"cm-0": "", "cm-1": "", "cm-2": ""})

	if _, err := kcs[2].CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-3"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kcs[1].CoreV1().ConfigMaps(ns).Patch(ctx, "cm-1", types.MergePatchType, []byte(`{"metadata":{"labels":{"l":"x"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := kcs[2].CoreV1().ConfigMaps(ns).Delete(ctx, "cm-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitState(map[string]string{"cm-1": "x", "cm-2": "", "cm-3": ""})

	res := mc.Resource(gvr).Namespace(ns)
	got, err := res.Get(ctx, "cm-1", metav1.GetOptions{})
	if err != nil || got.Labels["l"] != "x" || got.ResourceVersion == "" {
		t.Fatalf("metadata get: %+v, %v", got, err)
	}
	patched, err := res.Patch(ctx, "cm-2", types.MergePatchType, []byte(`{"metadata":{"finalizers":["example.com/f"]}}`), metav1.PatchOptions{})
	if err != nil || !slices.Equal(patched.Finalizers, []string{"example.com/f"}) {
		t.Fatalf("metadata patch: %+v, %v", patched, err)
	}
	list, err := res.List(ctx, metav1.ListOptions{LabelSelector: "l=x"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "cm-1" || list.ResourceVersion == "" {
		t.Fatalf("metadata list: %+v, %v", list, err)
	}
	// Clean up the finalizer so the namespace can go.
	if _, err := res.Patch(context.Background(), "cm-2", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}
