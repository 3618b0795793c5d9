// Package netsim is a userspace Ethernet switch for fault-injection tests.
//
// Each test host (a network namespace the test made) gets a TAP device
// whose other end is a Port of a Switch in the test process. Every frame
// between hosts passes through the switch, which can drop the frames of a
// port (an isolated host) or hold them back (packet delay) while the kernels
// on both sides run real TCP and UDP. It exists because the machines the
// tests run on have no netem qdisc; it is not meant to carry production
// traffic.
//
// Ports learn the source MAC addresses of the frames they read, like a
// learning bridge; frames to unknown, broadcast or multicast addresses are
// flooded to every other port.
package netsim
