package apiserver

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the API server's Prometheus metrics, named like
// kube-apiserver's.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	watches  *prometheus.GaugeVec
	inflight *prometheus.GaugeVec
	rejected *prometheus.CounterVec
}

// NewMetrics registers the API metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total", Help: "API requests by verb, group, resource, subresource and HTTP code.",
		}, []string{"verb", "group", "resource", "subresource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_request_duration_seconds", Help: "API request latency by verb, group, resource and subresource (watches excluded).",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"verb", "group", "resource", "subresource"}),
		watches: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers", Help: "Open watches by group and resource.",
		}, []string{"group", "resource"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_current_inflight_requests", Help: "Requests being served, by kind (readOnly, mutating).",
		}, []string{"request_kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_dropped_requests_total", Help: "Requests refused with 429 because too many were in flight.",
		}, []string{"request_kind"}),
	}
	reg.MustRegister(m.requests, m.latency, m.watches, m.inflight, m.rejected)
	return m
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Hijack hands the connection over to an upgraded protocol (pods/exec),
// which is recorded as 101 Switching Protocols.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil && s.code == 0 {
		s.code = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the underlying writer
// (watches flush and set write deadlines through it).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe records one finished request.
func (m *Metrics) observe(ri requestInfo, code int, took time.Duration) {
	if m == nil {
		return
	}
	if code == 0 {
		code = http.StatusOK
	}
	m.requests.WithLabelValues(ri.Verb, ri.Group, ri.Resource, ri.Subresource, strconv.Itoa(code)).Inc()
	if ri.Verb != "watch" {
		m.latency.WithLabelValues(ri.Verb, ri.Group, ri.Resource, ri.Subresource).Observe(took.Seconds())
	}
}

func (m *Metrics) watchStarted(ri requestInfo) func() {
	if m == nil {
		return func() {}
	}
	g := m.watches.WithLabelValues(ri.Group, ri.Resource)
	g.Inc()
	return g.Dec
}
