package raftstore

import (
	"testing"

	"github.com/skiffhq/skiff/fsm"
)

// TestWatchLogDefaultsAgree pins the store's own default (for a bare
// fsm.Store) to the one servers run with; fsm may not import the leaf
// package that holds the latter.
func TestWatchLogDefaultsAgree(t *testing.T) {
	if got := DefaultTuning().WatchLogSize; got != fsm.DefaultWatchLogSize {
		t.Errorf("raft defaults keep %d watch events, a bare store %d", got, fsm.DefaultWatchLogSize)
	}
}
