package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/apiserver/validation"
	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
)

// apiStore adapts the Raft replica to apiserver.Store, translating the
// store's "outcome unknown" into the API's.
type apiStore struct{ *raftstore.Replica }

func (s apiStore) Propose(ctx context.Context, cmd *fsm.Command) (fsm.Result, error) {
	res, err := s.Replica.Propose(ctx, cmd)
	if err != nil && errors.Is(err, raftstore.ErrUnknownOutcome) {
		return res, fmt.Errorf("%w: %w", apiserver.ErrUnknownOutcome, err)
	}
	return res, err
}

// newAPI builds the Kubernetes API over this server's replica.
func (s *Server) newAPI(metrics *apiserver.Metrics) http.Handler {
	return apiserver.New(apiserver.Config{
		Store:       apiStore{s.node},
		Logger:      s.log,
		Metrics:     metrics,
		ServiceCIDR: s.cfg.Network.ServiceCIDR,
		Admission: apiserver.Admission{
			Default:        validation.Default,
			Validate:       validation.Validate,
			ValidateStatus: validation.ValidateStatus,
			PrepareUpdate:  validation.PrepareUpdate,
			PodSecurity:    s.podSecurity.Check,
		},
		Authorize:     authorizeAPI,
		FenceTerm:     fenceTerm,
		NodeTransport: s.nodeTransport(),
	})
}

// nodeTransport reaches workers' endpoints (container logs). It presents
// this server's certificate, which workers require; workers serve
// self-signed certificates, which it does not verify, as kube-apiserver
// does not verify kubelets without --kubelet-certificate-authority.
func (s *Server) nodeTransport() http.RoundTripper {
	return &http.Transport{
		Proxy:               nil,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				st := s.tls.Load()
				if st == nil {
					return nil, errors.New("this server has no certificate yet")
				}
				return st.cert, nil
			},
		},
	}
}

// fenceTerm fences the writes of the leader's components to the term they
// were started in; nobody else's.
func fenceTerm(r *http.Request) uint64 {
	if u, ok := userFrom(r.Context()); ok && u.Role == auth.RoleController {
		return u.Term
	}
	return 0
}

// authorizeAPI applies the role rules of package auth to an API request.
// Requests about a pod a node may only touch when the pod is bound to it
// are let through while the pod is unknown; the handler asks again once
// it has read the pod.
func authorizeAPI(r *http.Request, ra apiserver.RequestAttributes) error {
	u, ok := userFrom(r.Context())
	if !ok {
		return apierrors.NewUnauthorized("no credentials")
	}
	a := auth.Attributes{Verb: ra.Verb, Group: ra.Group, Resource: ra.Resource, Subresource: ra.Subresource, Namespace: ra.Namespace, Name: ra.Name}
	if pod, ok := ra.Object.(*corev1.Pod); ok {
		a.PodNodeName = pod.Spec.NodeName
	} else if ra.Object == nil && u.Role == auth.RoleNode && ra.Resource == "pods" && ra.Verb != "get" && ra.Verb != "list" && ra.Verb != "watch" && ra.Verb != "create" {
		return nil
	}
	if err := auth.Authorize(u, a); err != nil {
		return apierrors.NewForbidden(schema.GroupResource{Group: ra.Group, Resource: ra.Resource}, ra.Name, err)
	}
	return nil
}

// fencedStore is an apiserver.Store whose writes are fenced to one Raft
// term: the leader's own tasks write through it.
type fencedStore struct {
	apiStore
	term uint64
}

func (s fencedStore) Propose(ctx context.Context, cmd *fsm.Command) (fsm.Result, error) {
	cmd.Term = s.term
	return s.apiStore.Propose(ctx, cmd)
}

// systemObjectsPeriod is how often the leader checks that the objects every
// cluster has still exist. The check reads the local replica only.
const systemObjectsPeriod = time.Second

// keepSystemObjects creates what every cluster has (the system namespaces)
// whenever it is missing (a new cluster, a restored snapshot), for as long
// as this leadership lasts.
func (s *Server) keepSystemObjects(ctx context.Context, term uint64) {
	t := time.NewTicker(systemObjectsPeriod)
	defer t.Stop()
	for {
		if !apiserver.SystemNamespacesExist(s.node.Store()) {
			ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := apiserver.EnsureSystemNamespaces(ectx, fencedStore{apiStore{s.node}, term}, metav1.Now()); err != nil && ctx.Err() == nil {
				s.log.Warn("creating system namespaces", "error", err)
			}
			cancel()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
