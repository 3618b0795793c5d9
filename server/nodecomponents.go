package server

import (
	"github.com/skiffhq/skiff/controller/endpoints"
	"github.com/skiffhq/skiff/controller/kubedns"
	"github.com/skiffhq/skiff/controller/nodeipam"
	"github.com/skiffhq/skiff/controller/nodelifecycle"
	"github.com/skiffhq/skiff/gossip"
)

// nodeComponents are the leader components that keep nodes and Service
// endpoints: node IPAM, the node lifecycle controller (fed by this
// server's gossip view of the workers), the endpoints controller, and the
// kube-dns Service with one endpoint per node's DNS server.
func (s *Server) nodeComponents() []LeaderComponent {
	return []LeaderComponent{
		{Name: "node-ipam", New: func(c *LeaderClients) (Runnable, error) {
			return nodeipam.New(nodeipam.Config{Client: c.Kube, Informers: c.Informers, Recorder: c.Recorder, Log: c.Log,
				ClusterCIDR: c.Cluster.Network.PodCIDR, NodeMask: c.Cluster.Network.NodeCIDRMask}), nil
		}},
		{Name: "node-lifecycle-controller", New: func(c *LeaderClients) (Runnable, error) {
			return nodelifecycle.New(nodelifecycle.Config{Client: c.Kube, Informers: c.Informers, Recorder: c.Recorder, Log: c.Log,
				Liveness: gossipLiveness{s.gossip}}), nil
		}},
		{Name: "endpoints-controller", New: func(c *LeaderClients) (Runnable, error) {
			return endpoints.New(endpoints.Config{Client: c.Kube, Informers: c.Informers, Recorder: c.Recorder, Log: c.Log}), nil
		}},
		{Name: "kube-dns", New: func(c *LeaderClients) (Runnable, error) {
			return kubedns.New(kubedns.Config{Client: c.Kube, Informers: c.Informers, ClusterIP: c.Cluster.Network.ClusterDNS, Log: c.Log})
		}},
	}
}

// gossipLiveness answers the node lifecycle controller from this server's
// gossip membership. A worker's gossip name is its node name. A worker
// listed as a member is alive; one this agent has seen leave or be
// declared dead and not come back is dead; a node gossip has never seen
// is unknown, and only its Lease counts.
type gossipLiveness struct{ agent *gossip.Agent }

func (g gossipLiveness) Alive(node string) (alive bool, known bool) {
	for _, m := range g.agent.Members() {
		if m.Meta.Name == node && m.Meta.Role == gossip.RoleWorker {
			return true, true
		}
	}
	if g.agent.Departures()[node] > 0 {
		return false, true
	}
	return false, false
}
