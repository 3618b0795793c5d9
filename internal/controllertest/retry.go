package controllertest

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Transient reports whether err is one a client should retry: the API
// could not tell whether a write happened (a leader change, a loaded
// machine) or asked to come back later.
func Transient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err)
}

// Retry calls write until it returns nil or a non-transient error, or ctx
// ends. A write retried after an unknown outcome may find its own earlier
// attempt: callers of a create treat AlreadyExists after a retry as done
// (see Create).
func Retry(ctx context.Context, write func() error) error {
	for {
		err := write()
		if err == nil || !Transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Create calls create with Retry; an AlreadyExists after a transient
// failure counts as success, since the first attempt may have committed.
func Create(ctx context.Context, create func() error) error {
	retried := false
	return Retry(ctx, func() error {
		err := create()
		if retried && apierrors.IsAlreadyExists(err) {
			return nil
		}
		retried = err != nil
		return err
	})
}
