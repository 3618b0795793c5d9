package testcontainerd_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/oci"

	"github.com/skiffhq/skiff/internal/ociimage"
	"github.com/skiffhq/skiff/internal/testcontainerd"
	"github.com/skiffhq/skiff/internal/testimages"
)

// TestTaskSurvivesRestart is what a worker relies on when containerd
// restarts under it: the task keeps running (its shim outlives the
// daemon) and the restarted daemon, through a new client, finds it with
// the same PID and can still stop it.
func TestTaskSurvivesRestart(t *testing.T) {
	d := testcontainerd.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx, err := d.Namespace(ctx, "skiff-test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ociimage.ImportFile(ctx, d.Client(), testimages.Path(t, testimages.Exit), ""); err != nil {
		t.Fatal(err)
	}
	image, err := d.Client().GetImage(ctx, testimages.Exit.Ref())
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := d.Client().NewContainer(ctx, "long", containerd.WithNewSnapshot("long", image),
		containerd.WithNewSpec(oci.WithImageConfig(image), oci.WithEnv([]string{"DELAY=1h"})))
	if err != nil {
		t.Fatal(err)
	}
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid := task.Pid()

	d.Restart(t)

	ctr, err = d.Client().LoadContainer(ctx, "long")
	if err != nil {
		t.Fatal(err)
	}
	task, err = ctr.Task(ctx, nil)
	if err != nil {
		t.Fatalf("task after restart: %v", err)
	}
	st, err := task.Status(ctx)
	if err != nil || st.Status != containerd.Running || task.Pid() != pid {
		t.Fatalf("after restart: status %v (%v), pid %d, want running pid %d", st.Status, err, task.Pid(), pid)
	}
	exit, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-exit:
		if s.ExitCode() != 128+uint32(syscall.SIGKILL) {
			t.Errorf("exit %d, want %d", s.ExitCode(), 128+uint32(syscall.SIGKILL))
		}
	case <-ctx.Done():
		t.Fatal("task did not exit after SIGKILL")
	}
}
