package netsim

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenTAP creates a TAP device called name in the calling network
// namespace and returns its file. Frames come and go without a packet
// information header. The device lives while the file is open, also after
// it has been moved into another namespace.
func OpenTAP(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %q: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("create tap %q: %w", name, err)
	}
	// A non-blocking descriptor joins Go's poller, so Close interrupts a
	// pending Read.
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}
