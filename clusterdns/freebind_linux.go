package clusterdns

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// freeBind sets IP_FREEBIND (and its IPv6 twin) on a socket, so it can
// bind an address the node does not hold yet: the pod bridge that carries
// NodeAddr appears only when the first pod is networked, and the DNS
// server starts before that.
func freeBind(network, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if network == "udp6" || network == "tcp6" {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
