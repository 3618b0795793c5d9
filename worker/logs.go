package worker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// LogOptions are the kubectl logs options the worker serves.
type LogOptions struct {
	Follow     bool
	TailLines  int64 // < 0: all
	Since      time.Time
	Timestamps bool
}

// criLine is one parsed line of a CRI log file:
// "<RFC3339Nano> <stream> <P|F> <message>".
type criLine struct {
	ts      time.Time
	partial bool
	msg     []byte
}

// parseCRILine parses one line (without its newline). It rejects, rather
// than guesses at, lines of another format.
func parseCRILine(b []byte) (criLine, error) {
	ts, rest, ok := bytes.Cut(b, []byte{' '})
	if !ok {
		return criLine{}, errors.New("no timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return criLine{}, err
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(stream) != "stdout" && string(stream) != "stderr") {
		return criLine{}, errors.New("no stream")
	}
	tag, msg, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		if len(rest) == 1 {
			tag, msg = rest, nil
		} else {
			return criLine{}, errors.New("no tag")
		}
	}
	if string(tag) != "P" && string(tag) != "F" {
		return criLine{}, errors.New("bad tag")
	}
	return criLine{ts: t, partial: string(tag) == "P", msg: msg}, nil
}

// format writes a line as kubectl shows it.
func (l criLine) format(w io.Writer, timestamps bool) error {
	var b []byte
	if timestamps {
		b = append(b, l.ts.Format(time.RFC3339Nano)...)
		b = append(b, ' ')
	}
	b = append(b, l.msg...)
	if !l.partial {
		b = append(b, '\n')
	}
	_, err := w.Write(b)
	return err
}

// writeLogs copies the log of one container attempt (the rotated file
// path.1, then path) to w under opts. With Follow it keeps following path
// while running reports true and ctx lives.
func writeLogs(ctx context.Context, w io.Writer, path string, opts LogOptions, running func() bool) error {
	var lines []criLine
	keep := func(l criLine) {
		if !opts.Since.IsZero() && l.ts.Before(opts.Since) {
			return
		}
		lines = append(lines, l)
		if opts.TailLines >= 0 && int64(len(lines)) > opts.TailLines {
			lines = lines[1:]
		}
	}
	if err := scanFile(path+".1", 0, keep); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	read := func(emit func(criLine)) error {
		for {
			b, err := br.ReadBytes('\n')
			if len(b) > 0 && b[len(b)-1] == '\n' {
				if l, perr := parseCRILine(b[:len(b)-1]); perr == nil {
					emit(l)
				}
				continue
			}
			if len(b) > 0 {
				// Half a line: put it back for the next read.
				br = bufio.NewReader(io.MultiReader(bytes.NewReader(b), f))
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
	if err := read(keep); err != nil {
		return err
	}
	for _, l := range lines {
		if err := l.format(w, opts.Timestamps); err != nil {
			return err
		}
	}
	if !opts.Follow {
		return nil
	}
	fl, _ := w.(interface{ Flush() })
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if fl != nil {
			fl.Flush()
		}
		alive := running()
		var werr error
		if err := read(func(l criLine) {
			if werr == nil {
				werr = l.format(w, opts.Timestamps)
			}
		}); err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
		if !alive {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// scanFile calls emit for each complete line of the file at path.
func scanFile(path string, _ int64, emit func(criLine)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l, err := parseCRILine(sc.Bytes()); err == nil {
			emit(l)
		}
	}
	return sc.Err()
}
