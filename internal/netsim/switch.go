package netsim

import (
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// maxFrame is the largest frame read from a device: a TAP without offloads
// delivers at most MTU + 14 bytes, and the default MTU is 1500.
const maxFrame = 1 << 16

// queueLen bounds each port's egress queue; a frame that finds it full is
// dropped, as a real switch drops on a full buffer.
const queueLen = 4096

// Device is one end of a link: a TAP device, or a fake in unit tests. Read
// returns one whole frame; Close makes a blocked Read return.
type Device interface {
	io.ReadWriteCloser
}

// Switch forwards frames between its ports. Its methods and the Port
// methods are safe for concurrent use.
type Switch struct {
	log *slog.Logger

	mu    sync.Mutex
	ports []*Port
	macs  map[mac]*Port
	done  bool
	// links holds the cut pairs of ports, each pair under both orders.
	links map[[2]*Port]bool

	wg sync.WaitGroup
}

type mac [6]byte

func (m mac) multicast() bool { return m[0]&1 == 1 }

// New returns a switch without ports.
func New(log *slog.Logger) *Switch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Switch{log: log.With("component", "netsim"), macs: map[mac]*Port{}, links: map[[2]*Port]bool{}}
}

// Port is a switch port with its faults. The zero faults forward every
// frame at once.
type Port struct {
	sw   *Switch
	name string
	dev  Device
	out  chan queued

	// Guarded by sw.mu.
	cut      bool
	delay    time.Duration
	jitter   time.Duration
	lastDue  time.Time
	stats    Stats
	closed   bool
	draining chan struct{}
}

// Stats counts a port's frames.
type Stats struct {
	// In counts frames read from the port's device, Out frames written to
	// it.
	In, Out uint64
	// Dropped counts frames to or from this port that a cut discarded,
	// and frames that found its queue full.
	Dropped uint64
}

type queued struct {
	frame []byte
	due   time.Time
	from  *Port
}

// Attach adds a port for dev and starts forwarding its frames. The switch
// owns dev from then on and closes it in Close.
func (s *Switch) Attach(name string, dev Device) *Port {
	p := &Port{sw: s, name: name, dev: dev, out: make(chan queued, queueLen), draining: make(chan struct{})}
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		dev.Close()
		return p
	}
	s.ports = append(s.ports, p)
	s.mu.Unlock()
	s.wg.Add(2)
	go s.readLoop(p)
	go p.writeLoop()
	return p
}

// Close stops forwarding and closes every device.
func (s *Switch) Close() error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return nil
	}
	s.done = true
	ports := s.ports
	for _, p := range ports {
		p.closed = true
		close(p.draining)
	}
	s.mu.Unlock()
	var errs []error
	for _, p := range ports {
		errs = append(errs, p.dev.Close())
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// Name returns the port's name.
func (p *Port) Name() string { return p.name }

// SetCut drops (true) or forwards again (false) every frame to and from
// the port: the host behind it is isolated from all others.
func (p *Port) SetCut(cut bool) {
	p.sw.mu.Lock()
	defer p.sw.mu.Unlock()
	p.cut = cut
}

// SetLinkCut drops (true) or forwards again (false) the frames between
// the two ports only, leaving their links to other ports alone: a
// partition that separates two hosts without isolating either.
func (s *Switch) SetLinkCut(a, b *Port, cut bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cut {
		s.links[[2]*Port{a, b}], s.links[[2]*Port{b, a}] = true, true
		return
	}
	delete(s.links, [2]*Port{a, b})
	delete(s.links, [2]*Port{b, a})
}

// HealLinks forwards again between every pair of ports that SetLinkCut
// cut.
func (s *Switch) HealLinks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.links)
}

// blocked reports whether frames from a to b are dropped. Callers hold
// s.mu.
func (s *Switch) blocked(a, b *Port) bool { return a.cut || b.cut || s.links[[2]*Port{a, b}] }

// SetDelay holds every frame to and from the port back by d plus a random
// extra of up to jitter. Frames leaving through one port keep their order,
// so jitter does not reorder a TCP stream's segments.
func (p *Port) SetDelay(d, jitter time.Duration) {
	p.sw.mu.Lock()
	defer p.sw.mu.Unlock()
	p.delay, p.jitter = d, jitter
}

// Stats returns the port's counters.
func (p *Port) Stats() Stats {
	p.sw.mu.Lock()
	defer p.sw.mu.Unlock()
	return p.stats
}

func (s *Switch) readLoop(from *Port) {
	defer s.wg.Done()
	buf := make([]byte, maxFrame)
	for {
		n, err := from.dev.Read(buf)
		if err != nil {
			s.mu.Lock()
			closed := from.closed
			s.mu.Unlock()
			if !closed {
				s.log.Warn("read from port failed; port stops", "port", from.name, "err", err)
			}
			return
		}
		if n < 14 {
			continue // not an Ethernet frame
		}
		s.forward(from, buf[:n])
	}
}

// forward decides where a frame goes and queues a copy on each egress
// port, with the delay its two ports add.
func (s *Switch) forward(from *Port, frame []byte) {
	var dst, src mac
	copy(dst[:], frame[0:6])
	copy(src[:], frame[6:12])
	now := time.Now()

	s.mu.Lock()
	defer s.mu.Unlock()
	from.stats.In++
	if !src.multicast() {
		s.macs[src] = from
	}
	var targets []*Port
	if to, ok := s.macs[dst]; ok && !dst.multicast() {
		if to != from {
			targets = []*Port{to}
		}
	} else {
		for _, p := range s.ports {
			if p != from {
				targets = append(targets, p)
			}
		}
	}
	for _, to := range targets {
		if s.blocked(from, to) || to.closed {
			from.stats.Dropped++
			continue
		}
		d := from.delay + to.delay
		if j := from.jitter + to.jitter; j > 0 {
			d += rand.N(j)
		}
		due := now.Add(d)
		if due.Before(to.lastDue) {
			due = to.lastDue
		}
		to.lastDue = due
		select {
		case to.out <- queued{frame: append([]byte(nil), frame...), due: due, from: from}:
		default:
			to.stats.Dropped++
		}
	}
}

func (p *Port) writeLoop() {
	defer p.sw.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var q queued
		select {
		case q = <-p.out:
		case <-p.draining:
			return
		}
		if wait := time.Until(q.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-p.draining:
				return
			}
		}
		p.sw.mu.Lock()
		// A cut that began while the frame waited drops it too.
		drop := p.sw.blocked(q.from, p)
		if drop {
			p.stats.Dropped++
		} else {
			p.stats.Out++
		}
		p.sw.mu.Unlock()
		if drop {
			continue
		}
		if _, err := p.dev.Write(q.frame); err != nil {
			p.sw.log.Debug("write to port failed", "port", p.name, "err", err)
		}
	}
}
