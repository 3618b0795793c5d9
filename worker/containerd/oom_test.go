package containerd

import (
	"reflect"
	"strconv"
	"testing"
)

func TestParseOOMKills(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       uint64
	}{
		{"cgroup v2 memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n", 1},
		{"cgroup v1 memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", 3},
		{"no OOM kill", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", 0},
		{"kernel before 4.13", "oom_kill_disable 0\nunder_oom 0\n", 0},
		{"malformed count", "oom_kill many\n", 0},
		{"empty", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseOOMKills([]byte(tc.file)); got != tc.want {
				t.Errorf("parseOOMKills = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMemoryEventFiles(t *testing.T) {
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/skiff/abc", []string{"/sys/fs/cgroup/skiff/abc/memory.events", "/sys/fs/cgroup/memory/skiff/abc/memory.oom_control"}},
		{"skiff/../../abc", []string{"/sys/fs/cgroup/abc/memory.events", "/sys/fs/cgroup/memory/abc/memory.oom_control"}},
		{"system.slice:skiff:abc", nil},
		{"", nil},
	} {
		if got := memoryEventFiles(tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("memoryEventFiles(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// FuzzParseOOMKills: any file content parses without a panic, and a file
// that is one "oom_kill N" line counts N.
func FuzzParseOOMKills(f *testing.F) {
	f.Add([]byte("oom_kill 1\n"), uint64(1))
	f.Add([]byte("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"), uint64(7))
	f.Fuzz(func(t *testing.T, b []byte, n uint64) {
		parseOOMKills(b)
		if got := parseOOMKills([]byte("oom_kill " + strconv.FormatUint(n, 10) + "\n")); got != n {
			t.Fatalf("oom_kill %d parsed as %d", n, got)
		}
	})
}
