// Package logtail reads the end of a log file, for failure messages.
package logtail

import (
	"os"
	"strings"
)

// Lines returns the last n lines of the file at path, or the read error's
// text.
func Lines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
