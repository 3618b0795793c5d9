package apiserver

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
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

// allocate fills in a new service's ClusterIP and NodePorts where the
// client left them empty, choosing at random; the transaction that creates
// the service claims them, and a clash is retried by the caller.
func (a *API) allocate(svc *corev1.Service) error {
	if svc.Spec.ClusterIP == "" && svc.Spec.Type != corev1.ServiceTypeExternalName {
		ip, err := randomIP(a.serviceCIDR)
		if err != nil {
			return err
		}
		svc.Spec.ClusterIP = ip.String()
		svc.Spec.ClusterIPs = []string{ip.String()}
	} else if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		addr, err := netip.ParseAddr(ip)
		if err != nil || !a.serviceCIDR.Contains(addr) {
			return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "clusterIP"), ip, fmt.Sprintf("must be an address in the service range %s", a.serviceCIDR)),
			})
		}
		if len(svc.Spec.ClusterIPs) == 0 {
			svc.Spec.ClusterIPs = []string{ip}
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort {
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].NodePort == 0 {
				var b [4]byte
				rand.Read(b[:])
				svc.Spec.Ports[i].NodePort = int32(nodePortMin + binary.BigEndian.Uint32(b[:])%(nodePortMax-nodePortMin+1))
			}
		}
	}
	return nil
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
func deleteCommand(key string, rev uint64, obj runtime.Object) *fsm.Command {
	allocs := serviceAllocations(obj)
	if len(allocs) == 0 {
		return &fsm.Command{Op: fsm.OpDelete, Key: key, Rev: rev}
	}
	cmd := &fsm.Command{Op: fsm.OpTxn, Ops: []fsm.Command{{Op: fsm.OpDelete, Key: key, Rev: rev}}}
	for _, k := range allocs {
		cmd.Ops = append(cmd.Ops, fsm.Command{Op: fsm.OpDelete, Key: k})
	}
	return cmd
}
