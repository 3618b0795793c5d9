// Package endpoints is the endpoints controller: for every Service with a
// selector it keeps the Service's EndpointSlices (discovery.k8s.io/v1) and
// its legacy core/v1 Endpoints object equal to the pods the selector
// matches.
//
// The controller is level-triggered. Service, Pod, EndpointSlice and
// Endpoints events only put a Service key ("namespace/name") on a
// rate-limited work queue; a worker re-reads the Service and its pods from
// the informers' listers, computes the desired objects with the pure
// functions [DesiredSlices] and [DesiredEndpoints], and writes only the
// objects whose content differs from what the listers hold.
//
// The controller owns the EndpointSlices labelled
// endpointslice.kubernetes.io/managed-by=[ManagedBy] and the Endpoints
// object of every Service that has a selector. Endpoints of Services
// without a selector belong to their users and are never touched.
package endpoints
