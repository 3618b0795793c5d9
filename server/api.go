package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
)

// apiStore adapts the Raft replica to apiserver.Store, translating the
// store's "outcome unknown" into the API's.
type apiStore struct{ *raftstore.Node }

func (s apiStore) Propose(ctx context.Context, cmd *fsm.Command) (fsm.Result, error) {
	res, err := s.Node.Propose(ctx, cmd)
	if err != nil && errors.Is(err, raftstore.ErrUnknownOutcome) {
		return res, fmt.Errorf("%w: %w", apiserver.ErrUnknownOutcome, err)
	}
	return res, err
}

// newAPI builds the Kubernetes API over this server's replica.
func (s *Server) newAPI(metrics *apiserver.Metrics) http.Handler {
	return apiserver.New(apiserver.Config{
		Store:     apiStore{s.node},
		Logger:    s.log,
		Metrics:   metrics,
		Admission: admission(),
	})
}

// ensureClusterObjects creates what every cluster has (the system
// namespaces); the leader runs it after winning an election.
func (s *Server) ensureClusterObjects(ctx context.Context) error {
	return apiserver.EnsureSystemNamespaces(ctx, apiStore{s.node}, metav1.Now())
}
