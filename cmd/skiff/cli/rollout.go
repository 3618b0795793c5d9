package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"
)

// The rollout commands use kubectl's own helpers (polymorphichelpers):
// the status, history and rollback logic every Kubernetes user knows,
// kept by the Kubernetes project, over skiff's clients.

func newRolloutCmd(e env) *cobra.Command {
	rollout := &cobra.Command{Use: "rollout", Short: "Follow, inspect and steer the rollout of a Deployment"}
	rollout.AddCommand(newRolloutStatusCmd(e), newRolloutHistoryCmd(e), newRolloutUndoCmd(e),
		newRolloutPatchCmd(e, "restart", "Restart every pod of a Deployment by a new rollout", "restarted", polymorphichelpers.ObjectRestarterFn),
		newRolloutPatchCmd(e, "pause", "Pause a Deployment's rollout: template changes wait until resume", "paused", polymorphichelpers.ObjectPauserFn),
		newRolloutPatchCmd(e, "resume", "Resume a paused Deployment's rollout", "resumed", polymorphichelpers.ObjectResumerFn))
	return rollout
}

func newRolloutStatusCmd(e env) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status deploy/NAME [--timeout D]",
		Short: "Wait until a Deployment has rolled out, showing progress; fail with the reason it cannot",
		Args:  exactArgs(1),
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: wait until done or interrupted)")
	cmd.ValidArgsFunction = completeKindsAndNames(k)
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		info, err := resolveOne(k, args)
		if err != nil {
			return err
		}
		if !isDeployment(info) {
			return fmt.Errorf("rollout status follows Deployments, not %s", kindName(info.Mapping))
		}
		return waitRollout(cmd.Context(), k, info.Namespace, info.Name, timeout)
	})
	return cmd
}

func newRolloutHistoryCmd(e env) *cobra.Command {
	var revision int64
	cmd := &cobra.Command{Use: "history deploy/NAME [--revision N]", Short: "List a Deployment's revisions (its ReplicaSets)", Args: exactArgs(1)}
	k := addKubeFlags(cmd, e)
	cmd.Flags().Int64Var(&revision, "revision", 0, "show the pod template of this revision")
	cmd.ValidArgsFunction = completeKindsAndNames(k)
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		info, err := resolveOne(k, args)
		if err != nil {
			return err
		}
		hv, err := polymorphichelpers.HistoryViewerFn(k, info.Mapping)
		if err != nil {
			return err
		}
		out, err := hv.ViewHistory(info.Namespace, info.Name, revision)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), strings.TrimRight(out, "\n"))
		return nil
	})
	return cmd
}

func newRolloutUndoCmd(e env) *cobra.Command {
	var revision int64
	cmd := &cobra.Command{Use: "undo deploy/NAME [--to-revision N]", Short: "Roll a Deployment back to its previous (or a given) revision", Args: exactArgs(1)}
	k := addKubeFlags(cmd, e)
	cmd.Flags().Int64Var(&revision, "to-revision", 0, "the revision to roll back to (0: the previous one)")
	cmd.ValidArgsFunction = completeKindsAndNames(k)
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		info, err := resolveOne(k, args)
		if err != nil {
			return err
		}
		rb, err := polymorphichelpers.RollbackerFn(k, info.Mapping)
		if err != nil {
			return err
		}
		obj, err := typedObject(info.Object)
		if err != nil {
			return err
		}
		out, err := rb.Rollback(obj, nil, revision, util.DryRunNone)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %s\n", kindName(info.Mapping), info.Name, out)
		return nil
	})
	return cmd
}

// newRolloutPatchCmd builds restart, pause and resume: each is a
// strategic merge patch kubectl's helper computes from the object.
func newRolloutPatchCmd(e env, use, short, done string, fn func(runtime.Object) ([]byte, error)) *cobra.Command {
	cmd := &cobra.Command{Use: use + " deploy/NAME", Short: short, Args: exactArgs(1)}
	k := addKubeFlags(cmd, e)
	cmd.ValidArgsFunction = completeKindsAndNames(k)
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		info, err := resolveOne(k, args)
		if err != nil {
			return err
		}
		obj, err := typedObject(info.Object)
		if err != nil {
			return err
		}
		// The helper returns the changed object; the patch is the
		// difference, as kubectl sends it.
		original, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		modified, err := fn(obj)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", kindName(info.Mapping), info.Name, err)
		}
		patch, err := strategicpatch.CreateTwoWayMergePatch(original, modified, obj)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", kindName(info.Mapping), info.Name, err)
		}
		if _, err := resource.NewHelper(info.Client, info.Mapping).WithFieldManager(fieldManager).
			Patch(info.Namespace, info.Name, types.StrategicMergePatchType, patch, nil); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %s\n", kindName(info.Mapping), info.Name, done)
		return nil
	})
	return cmd
}

// typedObject converts an object the builder read as unstructured into
// its Go type, which kubectl's helpers switch on.
func typedObject(obj runtime.Object) (runtime.Object, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	typed, err := scheme.Scheme.New(u.GroupVersionKind())
	if err != nil {
		return obj, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return typed, nil
}
