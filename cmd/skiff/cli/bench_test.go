package cli

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/skiffhq/skiff/testcluster"
)

func TestBenchSummaryLine(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	// 100 latencies of 1..100ms: index ⌊0.5·99⌋=49 holds 50ms, ⌊0.99·99⌋=98 holds 99ms.
	var hundred []time.Duration
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, ms(float64(i)))
	}
	tests := []struct {
		name string
		s    benchSummary
		want string
	}{
		{"count run", benchSummary{writes: 100, clients: 8, size: 256, elapsed: 2 * time.Second, lat: hundred},
			"writes=100 clients=8 size=256 errors=0 elapsed=2.00s throughput=50/s p50=50.00ms p99=99.00ms"},
		{"microsecond resolution", benchSummary{writes: 3, clients: 1, size: 1, elapsed: 1234567 * time.Microsecond,
			lat: []time.Duration{ms(0.8765432), ms(1.2344), ms(0.1)}},
			"writes=3 clients=1 size=1 errors=0 elapsed=1.23s throughput=2/s p50=0.88ms p99=0.88ms"},
		{"errors count only in errors", benchSummary{writes: 10, errors: 6, clients: 2, size: 0, elapsed: time.Second,
			lat: []time.Duration{ms(4), ms(1), ms(3), ms(2)}},
			"writes=10 clients=2 size=0 errors=6 elapsed=1.00s throughput=4/s p50=2.00ms p99=3.00ms"},
		{"nothing succeeded", benchSummary{writes: 5, errors: 5, clients: 1, size: 256},
			"writes=5 clients=1 size=256 errors=5 elapsed=0.00s throughput=0/s p50=0.00ms p99=0.00ms"},
		{"gap run", benchSummary{writes: 4, errors: 1, clients: 1, size: 256, elapsed: 3 * time.Second,
			lat: []time.Duration{ms(2), ms(2), ms(2)}, gap: true, maxGap: ms(1234.56)},
			"writes=4 clients=1 size=256 errors=1 elapsed=3.00s throughput=1/s p50=2.00ms p99=2.00ms max_gap=1235ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]time.Duration(nil), tt.s.lat...)
			if got := tt.s.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			for i := range before {
				if tt.s.lat[i] != before[i] {
					t.Fatal("String reordered the latencies")
				}
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	sorted := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0, 1}, {0.5, 5}, {0.9, 9}, {0.99, 9}, {1, 10}}
	for _, tt := range tests {
		if got := percentile(sorted, tt.q); got != tt.want {
			t.Errorf("percentile(%v) = %d, want %d", tt.q, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %d, want 0", got)
	}
}

func TestAPIHostPort(t *testing.T) {
	tests := []struct {
		name    string
		s       raftServer
		want    string
		wantErr string
	}{
		{"api address", raftServer{Address: "10.0.0.1:7001", APIAddress: "10.0.0.1:7443"}, "10.0.0.1:7443", ""},
		{"all interfaces", raftServer{Address: "10.0.0.2:7001", APIAddress: "0.0.0.0:7443"}, "10.0.0.2:7443", ""},
		{"all interfaces, v6", raftServer{Address: "[fd00::3]:7001", APIAddress: "[::]:7443"}, "[fd00::3]:7443", ""},
		{"missing", raftServer{Address: "10.0.0.1:7001"}, "", "no api_address"},
		{"malformed", raftServer{APIAddress: "10.0.0.1"}, "", "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := apiHostPort(tt.s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestBenchUsageErrors(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	tests := []struct {
		name    string
		environ []string
		args    []string
		want    string
	}{
		{"no kubeconfig", nil, []string{"bench", "api"}, "no kubeconfig"},
		{"no clients", nil, []string{"bench", "api", "--kubeconfig", kc, "--clients", "0"}, "--clients must be at least 1"},
		{"no writes", []string{"KUBECONFIG=" + kc}, []string{"bench", "api", "--n", "0"}, "--n must be at least 1"},
		{"negative size", nil, []string{"bench", "api", "--kubeconfig", kc, "--size", "-1"}, "--size must not be negative"},
		{"argument", nil, []string{"bench", "api", "--kubeconfig", kc, "x"}, "takes 0 argument(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.environ, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

// benchLine matches the line `skiff bench api` prints.
var benchLine = regexp.MustCompile(`^writes=(\d+) clients=(\d+) size=(\d+) errors=(\d+) elapsed=\d+\.\d\ds ` +
	`throughput=\d+/s p50=\d+\.\d\dms p99=\d+\.\d\dms( max_gap=(\d+)ms)?\n$`)

// parseBenchLine returns writes, clients, errors and max_gap (-1 when
// absent) of a bench line, failing the test when it does not match.
func parseBenchLine(t *testing.T, out string) (writes, clients, errs, maxGap int) {
	t.Helper()
	m := benchLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q is not a bench line", out)
	}
	atoi := func(s string) int {
		if s == "" {
			return -1
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return atoi(m[1]), atoi(m[2]), atoi(m[4]), atoi(m[6])
}

// writeKubeconfig writes an admin kubeconfig for server i of c.
func writeKubeconfig(t *testing.T, c *testcluster.Cluster, i int) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["bench"] = &clientcmdapi.Cluster{Server: c.URL(i), CertificateAuthorityData: c.CA()}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.AdminToken()}
	cfg.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "admin"}
	cfg.CurrentContext = "bench"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBenchAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := testcluster.Start(t, testcluster.Options{})
	kc := writeKubeconfig(t, c, 0)
	cs, err := kubernetes.NewForConfig(c.RestConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	benchMaps := func() int {
		list, err := cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{LabelSelector: benchLabel})
		if err != nil {
			t.Errorf("list ConfigMaps: %v", err)
			return -1
		}
		return len(list.Items)
	}
	// The leader creates the system namespaces soon after it is elected.
	err = c.WaitFor(ctx, func() bool {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	if err != nil {
		t.Fatalf("namespace default: %v", err)
	}
	servers := strings.Join([]string{c.URL(0), c.URL(1), c.URL(2)}, ",")

	t.Run("count", func(t *testing.T) {
		r := runCLI(t, nil, "bench", "api", "--kubeconfig", kc, "--n", "300", "--clients", "8", "--servers", servers)
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		writes, clients, errs, gap := parseBenchLine(t, r.stdout)
		if writes != 300 || clients != 8 || errs != 0 || gap != -1 {
			t.Errorf("got %q (stderr %q); want writes=300 clients=8 errors=0 and no max_gap", r.stdout, r.stderr)
		}
		if n := benchMaps(); n != 0 {
			t.Errorf("%d bench ConfigMaps left after the run", n)
		}
	})

	t.Run("servers from the operator API and --keep", func(t *testing.T) {
		r := runCLI(t, []string{"KUBECONFIG=" + kc}, "bench", "api", "--n", "30", "--clients", "3", "--size", "10", "--keep")
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		if writes, _, errs, _ := parseBenchLine(t, r.stdout); writes != 30 || errs != 0 {
			t.Errorf("got %q (stderr %q); want writes=30 errors=0", r.stdout, r.stderr)
		}
		for i := range 3 {
			if host := strings.TrimPrefix(c.URL(i), "https://"); !strings.Contains(r.stderr, host) {
				t.Errorf("stderr %q does not name server %d (%s)", r.stderr, i, host)
			}
		}
		if n := benchMaps(); n != 30 {
			t.Errorf("%d bench ConfigMaps kept, want 30", n)
		}
		if err := cs.CoreV1().ConfigMaps("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: benchLabel}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("for, with the leader killed", func(t *testing.T) {
		done := make(chan result, 1)
		go func() {
			done <- runCLI(t, nil, "bench", "api", "--kubeconfig", kc, "--for", "3s", "--servers", servers)
		}()
		// Kill the leader once writes flow; the writer fails over to the
		// others and the cleanup must too.
		if err := c.WaitFor(ctx, func() bool { return benchMaps() >= 20 }); err != nil {
			t.Fatal(err)
		}
		leader, err := c.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.KillServer(leader)
		if leader == 1 {
			if cs, err = kubernetes.NewForConfig(c.RestConfig(2)); err != nil {
				t.Fatal(err)
			}
		}
		r := <-done
		t.Logf("leader s%d killed: %s", leader+1, strings.TrimSpace(r.stdout))
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		writes, clients, errs, gap := parseBenchLine(t, r.stdout)
		if writes-errs < 20 || clients != 1 || gap < 0 {
			t.Errorf("got %q; want at least 20 successful writes, clients=1 and max_gap", r.stdout)
		}
		if n := benchMaps(); n != 0 {
			t.Errorf("%d bench ConfigMaps left after the run", n)
		}
	})
}

func TestLeaderIndex(t *testing.T) {
	down := newFakeAPI(t, map[string]http.HandlerFunc{
		"GET /skiff/v1/operator/raft": statusReply(503, "ServiceUnavailable", "no raft leader"),
	})
	var body atomic.Pointer[string] // what the follower answers
	follower := newFakeAPI(t, map[string]http.HandlerFunc{
		"GET /skiff/v1/operator/raft": func(w http.ResponseWriter, r *http.Request) { jsonReply(200, *body.Load())(w, r) },
	})
	leader := newFakeAPI(t, nil)
	host := func(f *fakeAPI) string { return strings.TrimPrefix(f.URL, "http://") }
	list := func(leaderAddr string) *string {
		b := `{"servers":[{"id":"s1","address":"127.0.0.1:1","api_address":"` + host(down) + `"},
			{"id":"s2","address":"127.0.0.1:2","api_address":"` + host(follower) + `"},
			{"id":"s3","address":"127.0.0.1:3","api_address":"` + leaderAddr + `","leader":true}]}`
		return &b
	}

	urls := []string{down.URL, follower.URL, leader.URL}
	clientsets := make([]*kubernetes.Clientset, len(urls))
	for i, u := range urls {
		cs, tr, err := benchClientset(&rest.Config{}, u, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tr.CloseIdleConnections)
		clientsets[i] = cs
	}
	body.Store(list(host(leader)))
	if got := leaderIndex(context.Background(), urls, clientsets); got != 2 {
		t.Errorf("leaderIndex = %d, want 2: the first answer names %s", got, host(leader))
	}
	body.Store(list("127.0.0.1:9"))
	if got := leaderIndex(context.Background(), urls, clientsets); got != 0 {
		t.Errorf("leaderIndex = %d, want 0 when the leader is not among the URLs", got)
	}
}
