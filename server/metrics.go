package server

import (
	"strconv"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/skiffhq/skiff/apiserver"
)

// newRegistry builds the server's metrics registry: Go runtime and
// process metrics, the API's request metrics, Raft state and store object
// counts. Raft and store figures are read when scraped.
func (s *Server) newRegistry() (*prometheus.Registry, *apiserver.Metrics) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&raftCollector{s: s})
	return reg, apiserver.NewMetrics(reg)
}

var (
	descLeader     = prometheus.NewDesc("skiff_raft_leader", "1 if this server is the Raft leader.", nil, nil)
	descTerm       = prometheus.NewDesc("skiff_raft_term", "Current Raft term.", nil, nil)
	descCommit     = prometheus.NewDesc("skiff_raft_commit_index", "Raft commit index.", nil, nil)
	descApplied    = prometheus.NewDesc("skiff_raft_applied_index", "Raft applied index.", nil, nil)
	descLast       = prometheus.NewDesc("skiff_raft_last_log_index", "Last Raft log index.", nil, nil)
	descRev        = prometheus.NewDesc("skiff_store_revision", "Revision of the last entry applied to the store.", nil, nil)
	descObjects    = prometheus.NewDesc("apiserver_storage_objects", "Objects stored, by resource.", []string{"resource"}, nil)
	descFSMPending = prometheus.NewDesc("skiff_raft_fsm_pending", "Committed entries waiting to be applied.", nil, nil)
	descLogFile    = prometheus.NewDesc("skiff_raft_log_file_bytes", "Size of raft.db, which never shrinks.", nil, nil)
	descLogFree    = prometheus.NewDesc("skiff_raft_log_free_bytes", "Free space inside raft.db that new log entries reuse.", nil, nil)
	descLogEntries = prometheus.NewDesc("skiff_raft_log_entries", "Log entries raft.db holds.", nil, nil)
	descSnapshot   = prometheus.NewDesc("skiff_raft_snapshot_bytes", "Size of the newest Raft snapshot.", nil, nil)
)

// raftCollector reports Raft and store state at scrape time.
type raftCollector struct{ s *Server }

func (c *raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLeader, descTerm, descCommit, descApplied, descLast, descRev, descObjects, descFSMPending, descLogFile, descLogFree, descLogEntries, descSnapshot} {
		ch <- d
	}
}

func (c *raftCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.s.node
	stats := n.Raft().Stats()
	num := func(k string) float64 {
		v, _ := strconv.ParseFloat(stats[k], 64)
		return v
	}
	leader := 0.0
	if n.Raft().State() == raft.Leader {
		leader = 1
	}
	ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, leader)
	ch <- prometheus.MustNewConstMetric(descTerm, prometheus.GaugeValue, num("term"))
	ch <- prometheus.MustNewConstMetric(descCommit, prometheus.GaugeValue, num("commit_index"))
	ch <- prometheus.MustNewConstMetric(descApplied, prometheus.GaugeValue, num("applied_index"))
	ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, num("last_log_index"))
	ch <- prometheus.MustNewConstMetric(descFSMPending, prometheus.GaugeValue, num("fsm_pending"))
	ch <- prometheus.MustNewConstMetric(descRev, prometheus.GaugeValue, float64(n.Store().Rev()))
	if u, err := n.DiskUsage(); err == nil {
		ch <- prometheus.MustNewConstMetric(descLogFile, prometheus.GaugeValue, float64(u.LogFileBytes))
		ch <- prometheus.MustNewConstMetric(descLogFree, prometheus.GaugeValue, float64(u.LogFreeBytes))
		ch <- prometheus.MustNewConstMetric(descLogEntries, prometheus.GaugeValue, float64(u.Entries()))
		ch <- prometheus.MustNewConstMetric(descSnapshot, prometheus.GaugeValue, float64(u.SnapshotBytes))
	}
	for _, r := range apiserver.Resources() {
		ch <- prometheus.MustNewConstMetric(descObjects, prometheus.GaugeValue, float64(n.Store().Count(r.KeyPrefix(""))), r.GVR.GroupResource().String())
	}
}
