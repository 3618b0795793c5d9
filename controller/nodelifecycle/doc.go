// Package nodelifecycle is the node lifecycle controller: it judges every
// Node's liveness from its Lease in kube-node-lease and, optionally, from
// gossip, marks nodes that stopped heartbeating Ready=Unknown with the
// node.kubernetes.io/unreachable taints, removes those taints when the
// node returns, and deletes the pods of an unreachable node once their
// toleration of the NoExecute taint runs out.
//
// The rules live in the pure function [Decide]: given the nodes, when the
// controller last saw each node's heartbeat, the pods and the time, it
// returns the writes due. The controller around it runs a pass every
// MonitorPeriod over its informers' listers (a stopped heartbeat produces
// no event, so time has to drive it, as in Kubernetes' monitorNodeHealth),
// puts a key per needed write on a rate-limited work queue, and each
// worker recomputes the decision from the listers before writing, so a
// write is never based on a stale event. Only transitions are written:
// a node that keeps heartbeating costs no write at all.
//
// Heartbeat times are the controller's own clock readings of when a
// Lease's renewTime last changed, never the renewTime itself, so clock
// skew between a worker and the leader does not matter; after a leader
// change every node starts as just seen, and no node is judged before the
// startup grace has passed.
package nodelifecycle
