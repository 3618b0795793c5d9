// Package reconcile holds the keyed work loop every controller of Skiff
// shares: a rate-limited client-go work queue of string keys drained by a
// few workers that call a sync function, requeueing with backoff on error.
package reconcile
