package apiserver

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Default in-flight limits, kube-apiserver's defaults.
const (
	DefaultMaxReadOnlyInFlight = 400
	DefaultMaxMutatingInFlight = 200
)

// inflight bounds concurrent requests of one kind; watches are long-lived
// and not counted.
type inflight struct {
	kind string
	sem  chan struct{}
}

func newInflight(kind string, n int) *inflight {
	return &inflight{kind: kind, sem: make(chan struct{}, n)}
}

// acquire takes a slot without waiting; ok=false means the caller must
// answer 429.
func (l *inflight) acquire() (release func(), ok bool) {
	select {
	case l.sem <- struct{}{}:
		return func() { <-l.sem }, true
	default:
		return nil, false
	}
}

func tooManyRequests() error {
	return apierrors.NewTooManyRequests("too many requests in flight, please try again later", 1)
}

func isMutating(verb string) bool {
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}
