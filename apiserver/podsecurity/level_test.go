package podsecurity

import "testing"

func TestLevelOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   Level
	}{
		{"no labels", nil, LevelBaseline},
		{"no enforce label", map[string]string{"pod-security.kubernetes.io/warn": "restricted"}, LevelBaseline},
		{"privileged", map[string]string{LabelEnforce: "privileged"}, LevelPrivileged},
		{"baseline", map[string]string{LabelEnforce: "baseline"}, LevelBaseline},
		{"restricted", map[string]string{LabelEnforce: "restricted"}, LevelRestricted},
		{"empty value fails closed", map[string]string{LabelEnforce: ""}, LevelRestricted},
		{"unknown value fails closed", map[string]string{LabelEnforce: "privilegd"}, LevelRestricted},
		{"values are case-sensitive", map[string]string{LabelEnforce: "Privileged"}, LevelRestricted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LevelOf(tc.labels); got != tc.want {
				t.Errorf("LevelOf(%v) = %q, want %q", tc.labels, got, tc.want)
			}
		})
	}
}
