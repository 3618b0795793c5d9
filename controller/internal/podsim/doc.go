// Package podsim stands in for kubelets in the controllers' integration
// tests and benchmarks: it reports every pod of a namespace Running and
// Ready through the pods' status subresource, as a kubelet would once the
// containers run. It only writes status; it starts nothing.
package podsim
