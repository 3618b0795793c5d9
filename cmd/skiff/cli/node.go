package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/drain"
)

// The node commands use kubectl's drain package: cordon marks a node
// unschedulable, drain evicts its pods (or deletes them where the server
// has no eviction API) with each pod's own grace period, and waits until
// they are gone.

func newNodeCmd(e env) *cobra.Command {
	node := &cobra.Command{Use: "node", Short: "List nodes, cordon, uncordon and drain them"}
	list := &cobra.Command{Use: "list [-o wide]", Short: "List nodes with their status, roles, age and version", Args: maxArgs(0)}
	lk := addKubeFlags(list, e)
	var output string
	list.Flags().StringVarP(&output, "output", "o", "", "wide for more columns")
	list.RunE = lk.run(func(cmd *cobra.Command, _ []string) error {
		g := &getOptions{}
		g.print = newPrintFlags()
		*g.print.OutputFormat = output
		return g.run(cmd, lk, []string{"nodes"})
	})
	node.AddCommand(list, newCordonCmd(e, "cordon", true), newCordonCmd(e, "uncordon", false), newDrainCmd(e))
	return node
}

func newCordonCmd(e env, use string, cordon bool) *cobra.Command {
	short := "Mark a node unschedulable: new pods go elsewhere, running ones stay"
	if !cordon {
		short = "Mark a node schedulable again"
	}
	cmd := &cobra.Command{Use: use + " NODE", Short: short, Args: exactArgs(1)}
	k := addKubeFlags(cmd, e)
	cmd.ValidArgsFunction = completeNamesOf(k, "nodes")
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		return runCordon(cmd, k, args[0], cordon)
	})
	return cmd
}

func runCordon(cmd *cobra.Command, k *kube, name string, cordon bool) error {
	cs, err := k.clientset()
	if err != nil {
		return err
	}
	n, err := cs.CoreV1().Nodes().Get(cmd.Context(), name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	verb := map[bool]string{true: "cordoned", false: "uncordoned"}[cordon]
	if n.Spec.Unschedulable == cordon {
		fmt.Fprintf(cmd.OutOrStdout(), "node/%s already %s\n", name, verb)
		return nil
	}
	h := &drain.Helper{Ctx: cmd.Context(), Client: cs}
	if err := drain.RunCordonOrUncordon(h, n, cordon); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "node/%s %s\n", name, verb)
	return nil
}

func newDrainCmd(e env) *cobra.Command {
	var timeout time.Duration
	var grace int
	var force bool
	cmd := &cobra.Command{
		Use:   "drain NODE [--timeout D] [--grace-period S] [--force]",
		Short: "Cordon a node and evict its pods, each with its graceful termination",
		Long: `Drain cordons NODE, then evicts every pod on it (deleting them where the API has no
eviction), honouring each pod's terminationGracePeriodSeconds unless --grace-period says
otherwise, and waits until they are gone. DaemonSet pods are skipped; pods no controller
owns are refused unless --force, since nothing would recreate them.`,
		Args: exactArgs(1),
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	cmd.Flags().IntVar(&grace, "grace-period", -1, "seconds each pod gets to stop (-1: the pod's own)")
	cmd.Flags().BoolVar(&force, "force", false, "also delete pods no controller owns")
	cmd.ValidArgsFunction = completeNamesOf(k, "nodes")
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if err := runCordon(cmd, k, args[0], true); err != nil {
			return err
		}
		cs, err := k.clientset()
		if err != nil {
			return err
		}
		p := newProgress(cmd.OutOrStdout())
		h := &drain.Helper{
			Ctx: cmd.Context(), Client: cs, Force: force, GracePeriodSeconds: grace, Timeout: timeout,
			IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
			Out: cmd.OutOrStdout(), ErrOut: e.stderr,
			OnPodDeletionOrEvictionFinished: func(pod *corev1.Pod, usingEviction bool, err error) {
				verb := map[bool]string{true: "evicted", false: "deleted"}[usingEviction]
				if err == nil {
					p.update(fmt.Sprintf("pod/%s %s", pod.Name, verb))
				}
			},
		}
		if err := drain.RunNodeDrain(h, args[0]); err != nil {
			return fmt.Errorf("drain node %s: %w", args[0], err)
		}
		p.done(fmt.Sprintf("node/%s drained", args[0]))
		return nil
	})
	return cmd
}
