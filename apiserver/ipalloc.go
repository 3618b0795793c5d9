package apiserver

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiffhq/skiff/fsm"
)

// DefaultServiceCIDR is where ClusterIPs come from unless configured,
// Kubernetes' default.
var DefaultServiceCIDR = netip.MustParsePrefix("10.96.0.0/12")

// NodePort range, Kubernetes' default.
const (
	nodePortMin = 30000
	nodePortMax = 32767
)

// Allocation keys: one key per allocated ClusterIP or NodePort, written in
// the same transaction as the service, so two services never share one.
func clusterIPKey(ip string) string { return "/registry/skiff.io/clusterips/" + ip }
func nodePortKey(p int32) string    { return "/registry/skiff.io/nodeports/" + strconv.Itoa(int(p)) }

// serviceAllocations returns the allocation keys a service holds.
func serviceAllocations(obj runtime.Object) []string {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil
	}
	var keys []string
	if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		keys = append(keys, clusterIPKey(ip))
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			keys = append(keys, nodePortKey(p.NodePort))
		}
	}
	return keys
}

// allocate fills in a service's ClusterIP and NodePorts where the client
// left them empty, choosing at random; the transaction that writes the
// service claims them. old is the stored service on an update (nil on
// create): an address it already holds is not checked against the range
// again. drawn names the allocation keys chosen here, so that a clash on
// one of them is retried with a fresh draw while a clash on one the client
// chose is the client's error.
func (a *API) allocate(svc, old *corev1.Service) (drawn map[string]bool, err error) {
	drawn = map[string]bool{}
	if svc.Spec.ClusterIP == "" && svc.Spec.Type != corev1.ServiceTypeExternalName {
		ip, err := randomIP(a.serviceCIDR)
		if err != nil {
			return nil, err
		}
		svc.Spec.ClusterIP = ip.String()
		svc.Spec.ClusterIPs = []string{ip.String()}
		drawn[clusterIPKey(ip.String())] = true
	} else if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone && (old == nil || old.Spec.ClusterIP != ip) {
		addr, err := netip.ParseAddr(ip)
		if err != nil || !a.serviceCIDR.Contains(addr) {
			return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "clusterIP"), ip, fmt.Sprintf("must be an address in the service range %s", a.serviceCIDR)),
			})
		}
		if len(svc.Spec.ClusterIPs) == 0 {
			svc.Spec.ClusterIPs = []string{ip}
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort {
		used := map[int32]bool{}
		for _, p := range svc.Spec.Ports {
			used[p.NodePort] = true
		}
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].NodePort != 0 {
				continue
			}
			// Distinct within the service: the store cannot refuse a
			// key claimed twice in one transaction for us.
			np := randomNodePort()
			for used[np] {
				np = randomNodePort()
			}
			used[np] = true
			svc.Spec.Ports[i].NodePort = np
			drawn[nodePortKey(np)] = true
		}
	}
	return drawn, nil
}

func randomNodePort() int32 {
	var b [4]byte
	rand.Read(b[:])
	return int32(nodePortMin + binary.BigEndian.Uint32(b[:])%(nodePortMax-nodePortMin+1))
}

// randomIP picks an address in p other than the network address.
func randomIP(p netip.Prefix) (netip.Addr, error) {
	if !p.Addr().Is4() {
		return netip.Addr{}, fmt.Errorf("service CIDR %s: only IPv4 is supported", p)
	}
	base := binary.BigEndian.Uint32(p.Masked().Addr().AsSlice())
	size := uint32(1) << (32 - p.Bits())
	var b [4]byte
	rand.Read(b[:])
	off := 1 + binary.BigEndian.Uint32(b[:])%(size-2)
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], base+off)
	return netip.AddrFrom4(out), nil
}

// createCommand is the store command that creates obj at key with value:
// a transaction that also claims the service's allocations.
func createCommand(key string, value []byte, obj runtime.Object) *fsm.Command {
	allocs := serviceAllocations(obj)
	if len(allocs) == 0 {
		return &fsm.Command{Op: fsm.OpCreate, Key: key, Value: value}
	}
	cmd := &fsm.Command{Op: fsm.OpTxn, Ops: []fsm.Command{{Op: fsm.OpCreate, Key: key, Value: value}}}
	for _, k := range allocs {
		cmd.Ops = append(cmd.Ops, fsm.Command{Op: fsm.OpCreate, Key: k, Value: []byte(key)})
	}
	return cmd
}

// deleteCommand deletes the object at key (stored at rev) and releases its
// allocations.
func (a *API) deleteCommand(key string, rev uint64, obj runtime.Object) *fsm.Command {
	allocs := a.owned(key, serviceAllocations(obj))
	if len(allocs) == 0 {
		return &fsm.Command{Op: fsm.OpDelete, Key: key, Rev: rev}
	}
	cmd := &fsm.Command{Op: fsm.OpTxn, Ops: []fsm.Command{{Op: fsm.OpDelete, Key: key, Rev: rev}}}
	for _, k := range allocs {
		cmd.Ops = append(cmd.Ops, fsm.Command{Op: fsm.OpDelete, Key: k})
	}
	return cmd
}

// updateCommand replaces the object at key (stored at rev as cur) with
// next, encoded as value: one transaction that also claims the
// allocations next holds and cur did not, and releases those cur held and
// next does not, as a create claims them. Objects without allocations get
// a plain compare-and-swap.
func (a *API) updateCommand(key string, value []byte, rev uint64, next, cur runtime.Object) *fsm.Command {
	have, want := serviceAllocations(cur), serviceAllocations(next)
	cmd := &fsm.Command{Op: fsm.OpTxn, Ops: []fsm.Command{{Op: fsm.OpUpdate, Key: key, Value: value, Rev: rev}}}
	for _, k := range want {
		if !slices.Contains(have, k) {
			cmd.Ops = append(cmd.Ops, fsm.Command{Op: fsm.OpCreate, Key: k, Value: []byte(key)})
		}
	}
	for _, k := range a.owned(key, have) {
		if !slices.Contains(want, k) {
			cmd.Ops = append(cmd.Ops, fsm.Command{Op: fsm.OpDelete, Key: k})
		}
	}
	if len(cmd.Ops) == 1 {
		return &cmd.Ops[0]
	}
	return cmd
}

// owned keeps the allocation keys that the object at owner holds in the
// store. The claim of a key is committed with the version of the service
// that names it, so a replica that has read that version has the claim;
// a key the service names but does not own (stored by a release that
// predates this check, or since claimed by another service) is left
// alone rather than failing the transaction or freeing another's claim.
func (a *API) owned(owner string, keys []string) []string {
	var out []string
	for _, k := range keys {
		if kv, ok, _ := a.store.Store().Get(k); ok && string(kv.Value) == owner {
			out = append(out, k)
		}
	}
	return out
}

// allocationClash explains a write of svc whose claim of an allocation
// key failed (res names the key). retry means the key was drawn at random
// and a fresh draw may succeed; err is always the answer to give when not
// retrying: 422 naming the field, with kube-apiserver's wording.
func allocationClash(res fsm.Result, svc *corev1.Service, drawn map[string]bool) (retry bool, err error) {
	key := res.Failed
	gk := corev1.SchemeGroupVersion.WithKind("Service").GroupKind()
	fe := field.Invalid(field.NewPath("spec"), key, "address or node port already allocated")
	if key == clusterIPKey(svc.Spec.ClusterIP) {
		fe = field.Invalid(field.NewPath("spec", "clusterIPs"), svc.Spec.ClusterIPs,
			fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", svc.Spec.ClusterIP))
	}
	for i, p := range svc.Spec.Ports {
		if p.NodePort != 0 && key == nodePortKey(p.NodePort) {
			fe = field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort, "provided port is already allocated")
		}
	}
	if drawn[key] {
		fe.Detail = "no free address or node port was found after several attempts"
	}
	return drawn[key], apierrors.NewInvalid(gk, svc.Name, field.ErrorList{fe})
}

// allocateUpdate draws what an updated service newly needs (a node port
// for each port of a service that became NodePort, a ClusterIP where it
// held none); the update's transaction claims it.
func (h *handler) allocateUpdate(next, cur runtime.Object) error {
	svc, ok := next.(*corev1.Service)
	if !ok || h.ri.Subresource != "" {
		return nil
	}
	prev, _ := cur.(*corev1.Service)
	drawn, err := h.api.allocate(svc, prev)
	h.drawn = drawn
	return err
}

// updateClash is allocationClash for the object of an update.
func (h *handler) updateClash(res fsm.Result, next runtime.Object) (retry bool, err error) {
	svc, ok := next.(*corev1.Service)
	if !ok {
		return false, resultError(res, h.res.GVR.GroupResource(), h.ri.Name)
	}
	return allocationClash(res, svc, h.drawn)
}
