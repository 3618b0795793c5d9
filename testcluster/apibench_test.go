package testcluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/testcluster"
)

// BenchmarkAPICreate measures one client creating 256-byte ConfigMaps
// through client-go against the leader and against a follower (which
// forwards the write). Run with -benchtime=2000x; `skiff bench api` is the
// multi-client, multi-process version.
func BenchmarkAPICreate(b *testing.B) {
	for _, via := range []string{"leader", "follower"} {
		b.Run("via="+via, func(b *testing.B) {
			c := testcluster.Start(b, testcluster.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			leader, err := c.Leader(ctx)
			if err != nil {
				b.Fatal(err)
			}
			i := leader
			if via == "follower" {
				i = (leader + 1) % 3
			}
			kc := kubeClient(b, c, i)
			if err := c.WaitFor(ctx, func() bool {
				_, err := kc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
				return err == nil
			}); err != nil {
				b.Fatal(err)
			}
			val := strings.Repeat("v", 256)
			lat := make([]time.Duration, b.N)
			b.ResetTimer()
			start := time.Now()
			errs := 0
			for n := 0; n < b.N; n++ {
				t := time.Now()
				_, err := kc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%07d", n)}, Data: map[string]string{"v": val},
				}, metav1.CreateOptions{})
				lat[n] = time.Since(t)
				if err != nil {
					errs++
				}
			}
			reportLatency(b, lat, time.Since(start), 1, errs)
		})
	}
}
