package raftstore

// Leadership is one term in which this node leads and has applied every
// entry committed before the term began (its barrier has completed), so
// its state machine is as fresh as the cluster's.
type Leadership struct {
	// Term is the Raft term of the leadership; commands fenced to it
	// (fsm.Command.Term) apply only while it lasts.
	Term uint64
	// Lost is closed when the leadership ends: leadership lost, stepped
	// down, or the node closed.
	Lost <-chan struct{}
}

// Leaderships delivers each leadership this node gains, once it is ready.
// The channel keeps only the newest: a consumer that falls behind sees the
// latest leadership, and one whose Lost is already closed has ended.
func (n *Replica) Leaderships() <-chan Leadership { return n.leaderships }

// startLeadershipLocked publishes a new leadership in term. n.mu is held.
func (n *Replica) startLeadershipLocked(term uint64) {
	n.endLeadershipLocked()
	lost := make(chan struct{})
	n.lost = lost
	l := Leadership{Term: term, Lost: lost}
	for {
		select {
		case n.leaderships <- l:
			n.log.Info("leadership ready", "term", term)
			return
		default:
		}
		// Replace an undelivered, older leadership.
		select {
		case <-n.leaderships:
		default:
		}
	}
}

// endLeadershipLocked closes the current leadership's Lost, if any. n.mu
// is held.
func (n *Replica) endLeadershipLocked() {
	if n.lost != nil {
		close(n.lost)
		n.lost = nil
	}
}
