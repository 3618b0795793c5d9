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
	"github.com/skiffhq/skiff/apiserver/podsecurity"
	"github.com/skiffhq/skiff/apiserver/validation"
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
		Store:   apiStore{s.node},
		Logger:  s.log,
		Metrics: metrics,
		Admission: apiserver.Admission{
			Default:        validation.Default,
			Validate:       validation.Validate,
			ValidateStatus: validation.ValidateStatus,
			PrepareUpdate:  validation.PrepareUpdate,
			PodSecurity:    podsecurity.Check,
		},
		Authorize:     authorizeAPI,
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

// ensureClusterObjects creates what every cluster has (the system
// namespaces); the leader runs it after winning an election.
func (s *Server) ensureClusterObjects(ctx context.Context) error {
	return apiserver.EnsureSystemNamespaces(ctx, apiStore{s.node}, metav1.Now())
}
