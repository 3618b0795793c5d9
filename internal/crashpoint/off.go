//go:build !crashpoints

package crashpoint

// Enabled reports whether this binary was built with crash points.
const Enabled = false

// Hit does nothing without the crashpoints build tag.
func Hit(string) {}
