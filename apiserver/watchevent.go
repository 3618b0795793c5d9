package apiserver

import (
	"encoding/json"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiffhq/skiff/fsm"
)

// watchEvent is one store event prepared for watch clients. It is built
// once and shared, read-only, by every watcher it is delivered to: the
// object is decoded at most once (only if some watcher's selector needs
// it) and each encoding is made at most once.
type watchEvent struct {
	typ       fsm.EventType
	key       string
	rev       uint64
	createRev uint64
	cur, prev *eventObject // nil when absent
	// curNode and prevNode are the pod's spec.nodeName after and before
	// the event, the index of node-scoped watches (pods only).
	curNode, prevNode string
}

// eventObject is one side (after or before) of a watchEvent.
type eventObject struct {
	res *Resource
	kv  fsm.KV

	decodeOnce sync.Once
	obj        runtime.Object // nil if the stored value is corrupt

	jsonOnce sync.Once
	json     []byte

	metaOnce sync.Once
	meta     []byte
}

// newWatchEvent prepares ev of resource res. Pods' node names are read
// here, with a decode of spec.nodeName alone, so the node index is built
// without decoding the whole object.
func newWatchEvent(res *Resource, ev fsm.Event) *watchEvent {
	we := &watchEvent{typ: ev.Type, key: ev.Key, rev: ev.Rev, createRev: ev.CreateRev}
	if ev.Type == fsm.EventPut {
		we.cur = &eventObject{res: res, kv: fsm.KV{Key: ev.Key, Value: ev.Value, CreateRev: ev.CreateRev, ModRev: ev.Rev}}
	}
	if ev.PrevValue != nil {
		// Like Kubernetes, the previous object carries the revision of the
		// change that replaced or deleted it.
		we.prev = &eventObject{res: res, kv: fsm.KV{Key: ev.Key, Value: ev.PrevValue, CreateRev: ev.CreateRev, ModRev: ev.Rev}}
	}
	if res.GVR.Resource == "pods" && res.GVR.Group == "" {
		we.curNode, we.prevNode = nodeNameOf(we.cur), nodeNameOf(we.prev)
	}
	return we
}

func nodeNameOf(o *eventObject) string {
	if o == nil {
		return ""
	}
	var pod struct {
		Spec struct {
			NodeName string `json:"nodeName"`
		} `json:"spec"`
	}
	if json.Unmarshal(o.kv.Value, &pod) != nil {
		return ""
	}
	return pod.Spec.NodeName
}

// object returns the decoded object, or nil if the stored value is
// corrupt. Callers must not modify it.
func (o *eventObject) object() runtime.Object {
	o.decodeOnce.Do(func() {
		obj, err := decodeStored(o.res, o.kv)
		if err == nil {
			o.obj = obj
		}
	})
	return o.obj
}

// encoded returns the object's JSON as clients see it: the stored
// encoding with its resourceVersion, without decoding it again.
func (o *eventObject) encoded() []byte {
	o.jsonOnce.Do(func() { o.json = withResourceVersion(o.kv.Value, o.kv.ModRev) })
	return o.json
}

// metadata returns the object as a PartialObjectMetadata in JSON, for
// metadata-only watches.
func (o *eventObject) metadata() []byte {
	o.metaOnce.Do(func() {
		if obj := o.object(); obj != nil {
			o.meta, _ = json.Marshal(partialMetadata(obj))
		}
	})
	return o.meta
}

// matches reports whether the object exists, decodes, and is selected.
func (o *eventObject) matches(sel selector) bool {
	if o == nil {
		return false
	}
	if sel.empty() {
		// No need to decode: a stored value is what this server wrote.
		return true
	}
	obj := o.object()
	return obj != nil && sel.matches(obj)
}

// translate returns the watch event type and object a watcher with the
// selector sees for we, or ok=false if it sees nothing: an object that
// stops matching is DELETED for this watcher (with the last content it
// matched, at the revision of the change), one that starts matching is
// ADDED.
func (we *watchEvent) translate(sel selector) (typ string, obj *eventObject, ok bool) {
	curOK := we.cur.matches(sel)
	prevOK := we.prev.matches(sel)
	switch {
	case we.typ == fsm.EventDelete && prevOK:
		return "DELETED", we.prev, true
	case curOK && we.createRev == we.rev:
		return "ADDED", we.cur, true
	case curOK && prevOK:
		return "MODIFIED", we.cur, true
	case curOK:
		return "ADDED", we.cur, true
	case prevOK:
		return "DELETED", we.prev, true
	}
	return "", nil, false
}

// partialMetadata is obj's metadata as a PartialObjectMetadata, what
// metadata-only clients (client-go's metadata package) ask for.
func partialMetadata(obj runtime.Object) *metav1.PartialObjectMetadata {
	out := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}}
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			out.ObjectMeta = *om
		}
	}
	return out
}
