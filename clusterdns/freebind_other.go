//go:build !linux

package clusterdns

import "syscall"

// freeBind is a no-op where IP_FREEBIND does not exist: the address must
// be there before Run.
func freeBind(string, string, syscall.RawConn) error { return nil }
