package controllertest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/testcluster"
)

// Env is what a component gets from the seam: a client, a shared informer
// factory not started yet, a recorder and a logger.
type Env struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	Log       *slog.Logger
}

// Runner is a component built by New: Run blocks until ctx ends.
type Runner interface {
	Run(ctx context.Context) error
}

// Client returns an admin clientset for server i of c.
func Client(t testing.TB, c *testcluster.Cluster, i int) kubernetes.Interface {
	t.Helper()
	kc, err := kubernetes.NewForConfig(c.RestConfig(i))
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// Logger returns a logger that writes to stderr when SKIFF_TEST_LOG=1 and
// discards otherwise.
func Logger() *slog.Logger {
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Start builds an Env over kc, calls build for each component, starts the
// factory and runs every component until the returned stop is called or
// the test ends. stop cancels them and waits for every Run to return; a
// Run that returns an error fails the test.
func Start(t testing.TB, kc kubernetes.Interface, build ...func(Env) Runner) (stop func()) {
	t.Helper()
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kc.CoreV1().Events("")})
	env := Env{
		Client:    kc,
		Informers: informers.NewSharedInformerFactory(kc, 0),
		Recorder:  b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "skiff-controller-test"}),
		Log:       Logger(),
	}
	var runners []Runner
	for _, f := range build {
		runners = append(runners, f(env))
	}
	ctx, cancel := context.WithCancel(context.Background())
	env.Informers.Start(ctx.Done())
	done := make(chan error, len(runners))
	for _, r := range runners {
		go func() { done <- r.Run(ctx) }()
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		for range runners {
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}
		env.Informers.Shutdown()
		b.Shutdown()
	}
	t.Cleanup(stop)
	return stop
}

// Namespace creates a namespace named after the test and returns its name.
func Namespace(t testing.TB, ctx context.Context, kc kubernetes.Interface) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 63 {
		name = name[:63]
	}
	name = strings.Trim(name, "-")
	err := Create(ctx, func() error {
		_, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// Context returns a context that ends after d or when the test ends.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
