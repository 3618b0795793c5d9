package containerd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// logPipes copies a container's stdout and stderr into its log file in
// the CRI format ("<RFC3339Nano> stdout F <line>"), rotating the file to
// <path>.1 when it exceeds maxSize.
type logPipes struct {
	mu      sync.Mutex
	path    string
	maxSize int64
	f       *os.File
	size    int64
	wg      sync.WaitGroup
}

func openLog(path string, maxSize int64) (*logPipes, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	st, _ := f.Stat()
	l := &logPipes{path: path, maxSize: maxSize, f: f}
	if st != nil {
		l.size = st.Size()
	}
	return l, nil
}

// writer returns a pipe whose lines go to the log as stream ("stdout" or
// "stderr"); the copier ends when the pipe's writer is closed.
func (l *logPipes) writer(stream string) io.WriteCloser {
	pr, pw := io.Pipe()
	l.wg.Go(func() {
		br := bufio.NewReaderSize(pr, 16<<10)
		for {
			line, err := br.ReadSlice('\n')
			if len(line) > 0 {
				tag := "F"
				if line[len(line)-1] == '\n' {
					line = line[:len(line)-1]
				} else if err == bufio.ErrBufferFull {
					tag = "P"
				}
				l.write(stream, tag, line)
			}
			if err != nil && err != bufio.ErrBufferFull {
				pr.CloseWithError(err)
				return
			}
		}
	})
	return pw
}

func (l *logPipes) write(stream, tag string, line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return
	}
	n, _ := fmt.Fprintf(l.f, "%s %s %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), stream, tag, line)
	l.size += int64(n)
	if l.size > l.maxSize {
		l.f.Close()
		os.Rename(l.path, l.path+".1")
		f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
		if err != nil {
			l.f = nil
			return
		}
		l.f, l.size = f, 0
	}
}

// close waits for the copiers (their pipes must be closed) and closes the
// file.
func (l *logPipes) close() {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
