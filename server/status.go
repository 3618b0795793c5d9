package server

import (
	"encoding/json"
	"net/http"
)

// status is the Kubernetes metav1.Status shape every error response uses,
// so kubectl, client-go and the skiff CLI read the same errors.
type status struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Status     string `json:"status"`
	Message    string `json:"message"`
	Reason     string `json:"reason,omitempty"`
	Code       int    `json:"code"`
}

// Reasons used in status bodies; the first ones are Kubernetes' own.
const (
	reasonBadRequest      = "BadRequest"
	reasonUnauthorized    = "Unauthorized"
	reasonForbidden       = "Forbidden"
	reasonNotFound        = "NotFound"
	reasonMethodNotAllow  = "MethodNotAllowed"
	reasonRequestTooLarge = "RequestEntityTooLarge"
	reasonUnavailable     = "ServiceUnavailable"
	reasonInternal        = "InternalError"
	reasonTimeout         = "Timeout"
	// reasonNotLeader tells a forwarding server to look for the leader again.
	reasonNotLeader = "NotLeader"
	// reasonUnknownOutcome says a write may or may not have been committed.
	reasonUnknownOutcome = "UnknownOutcome"
)

func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(status{Kind: "Status", APIVersion: "v1", Status: "Failure", Message: msg, Reason: reason, Code: code})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
