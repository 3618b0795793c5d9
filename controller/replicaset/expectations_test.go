package replicaset

import (
	"testing"
	"time"
)

func TestExpectations(t *testing.T) {
	e := newExpectations()
	if !e.satisfied("ns/rs", t0) {
		t.Fatal("an unknown key must be satisfied")
	}
	e.expectCreates("ns/rs", 2, t0)
	e.created("ns/rs")
	if e.satisfied("ns/rs", t0) {
		t.Fatal("satisfied with one create outstanding")
	}
	e.created("ns/rs")
	if !e.satisfied("ns/rs", t0) {
		t.Fatal("not satisfied after both creates")
	}
	e.expectDeletes("ns/rs", []string{"ns/a", "ns/b"}, t0)
	e.deleted("ns/rs", "ns/a")
	e.deleted("ns/rs", "ns/a")
	if e.satisfied("ns/rs", t0) {
		t.Fatal("satisfied with one delete outstanding")
	}
	if !e.satisfied("ns/rs", t0.Add(expectationsTTL+time.Second)) {
		t.Fatal("expectations must expire")
	}
}
