package podsecurity

import "k8s.io/pod-security-admission/api"

// Level is a Pod Security Standards profile.
type Level string

// The levels, from the most permissive to the most restrictive.
const (
	// LevelPrivileged checks nothing: for trusted system workloads.
	LevelPrivileged Level = "privileged"
	// LevelBaseline refuses the known privilege escalations while
	// admitting a pod that leaves its security settings at their defaults.
	LevelBaseline Level = "baseline"
	// LevelRestricted adds the current pod hardening practice: non-root,
	// no privilege escalation, all capabilities dropped, a seccomp profile.
	LevelRestricted Level = "restricted"
)

// LabelEnforce is the namespace label that selects the level enforced on
// the namespace's pods.
const LabelEnforce = "pod-security.kubernetes.io/enforce"

// DefaultLevel is the level of a namespace without the enforce label.
// Kubernetes leaves the default to the cluster's admission configuration
// (privileged out of the box); Skiff enforces baseline.
const DefaultLevel = LevelBaseline

// LevelOf returns the level a namespace's labels select: the value of the
// enforce label, or DefaultLevel when the label is absent. A value that
// names no level (a typo, an empty string, a level from a later version)
// selects LevelRestricted: a namespace whose owner asked for some
// enforcement fails closed rather than open. Namespace labels are not
// validated against the levels, so such values do reach here.
func LevelOf(nsLabels map[string]string) Level {
	v, ok := nsLabels[LabelEnforce]
	if !ok {
		return DefaultLevel
	}
	switch l := Level(v); l {
	case LevelPrivileged, LevelBaseline, LevelRestricted:
		return l
	}
	return LevelRestricted
}

// apiLevel returns the library's name for the level; the names are the same.
func (l Level) apiLevel() api.Level { return api.Level(l) }
