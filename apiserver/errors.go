package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiffhq/skiff/fsm"
)

// ErrUnknownOutcome is wrapped by Store implementations around writes that
// may or may not have been committed; the API answers them with 504.
var ErrUnknownOutcome = errors.New("write outcome unknown")

// storeError turns a store failure into an API status.
func storeError(err error, gr schema.GroupResource, name string) error {
	var se apierrors.APIStatus
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, fsm.ErrTooLarge):
		return apierrors.NewRequestEntityTooLargeError(err.Error())
	case errors.Is(err, fsm.ErrInvalidCommand):
		// The object needs a write the store refuses (a service with more
		// node ports than a transaction holds): retrying cannot help.
		return apierrors.NewBadRequest(fmt.Sprintf("the store cannot hold this %s: %v", gr.String(), err))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apierrors.NewTimeoutError(fmt.Sprintf("request did not complete: %v", err), 1)
	case errors.Is(err, ErrUnknownOutcome):
		return apierrors.NewServerTimeout(gr, "write", 1)
	}
	return apierrors.NewServiceUnavailable(err.Error())
}

// resultError turns a failed store condition into an API status.
func resultError(res fsm.Result, gr schema.GroupResource, name string) error {
	switch res.Code {
	case fsm.CodeKeyExists:
		return apierrors.NewAlreadyExists(gr, name)
	case fsm.CodeKeyNotFound:
		return apierrors.NewNotFound(gr, name)
	case fsm.CodeConflict:
		return apierrors.NewConflict(gr, name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	case fsm.CodeFenced:
		// Only leader-only components send fenced writes; the one that
		// sent this was started by a leader that has since been deposed,
		// and its context is (or is about to be) cancelled.
		return apierrors.NewConflict(gr, name, fmt.Errorf("leadership changed: this write was fenced to an earlier Raft term and was committed in term %d", res.Term))
	}
	return res.Err()
}

// writeError writes err as a metav1.Status with the matching HTTP code.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se apierrors.APIStatus
	var st metav1.Status
	if errors.As(err, &se) {
		st = se.Status()
	} else {
		st = apierrors.NewInternalError(err).Status()
		a.log.Error("internal error", "path", r.URL.Path, "error", err)
	}
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Status == "" {
		st.Status = metav1.StatusFailure
	}
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	if st.Code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	a.writeObject(w, r, int(st.Code), &st)
}
