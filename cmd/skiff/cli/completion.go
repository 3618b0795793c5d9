package cli

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes/scheme"
)

func newCompletionCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script (commands, flags, kinds and object names)",
		Long: `Print the completion script for a shell. Load it with:

  bash:  source <(skiff completion bash)
  zsh:   source <(skiff completion zsh)
  fish:  skiff completion fish | source

Completion asks the cluster (with the command line's kubeconfig flags) for kinds and names.`,
		Args:      exactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(cmd.OutOrStdout(), true)
			case "zsh":
				return root.GenZshCompletion(cmd.OutOrStdout())
			case "fish":
				return root.GenFishCompletion(cmd.OutOrStdout(), true)
			}
			return usageError{cmd: "completion", err: fmt.Errorf("unknown shell %q: bash, zsh or fish", args[0])}
		},
	}
}

// completeKindsAndNames completes a kind (from discovery) as the first
// argument and names of that kind after it, or KIND/NAME in one word.
func completeKindsAndNames(k *kube) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			if kind, prefix, ok := strings.Cut(toComplete, "/"); ok {
				var out []string
				for _, n := range objectNames(cmd, k, kind) {
					if strings.HasPrefix(n, prefix) {
						out = append(out, kind+"/"+n)
					}
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			}
			return kindNames(k), cobra.ShellCompDirectiveNoFileComp
		}
		return objectNames(cmd, k, args[0]), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNamesOf completes names of one resource (pods, nodes).
func completeNamesOf(k *kube, resource string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return objectNames(cmd, k, resource), cobra.ShellCompDirectiveNoFileComp
	}
}

// kindNames lists the served resources' plural names, sorted.
func kindNames(k *kube) []string {
	dc, err := k.ToDiscoveryClient()
	if err != nil {
		return nil
	}
	_, lists, _ := dc.ServerGroupsAndResources()
	var out []string
	for _, l := range lists {
		for _, r := range l.APIResources {
			if !strings.Contains(r.Name, "/") {
				out = append(out, r.Name)
			}
		}
	}
	sort.Strings(out)
	// nodes and pods are also metrics.k8s.io resources.
	return slices.Compact(out)
}

// objectNames lists the names of objects of kind in the namespace.
func objectNames(cmd *cobra.Command, k *kube, kind string) []string {
	mapper, err := k.ToRESTMapper()
	if err != nil {
		return nil
	}
	gvr, err := mapper.ResourceFor(schema.ParseGroupResource(kind).WithVersion(""))
	if err != nil {
		return nil
	}
	dyn, err := k.dynamicClient()
	if err != nil {
		return nil
	}
	ns, _, _ := k.namespace()
	ri := dyn.Resource(gvr)
	l, err := ri.Namespace(ns).List(cmd.Context(), metav1.ListOptions{})
	if err != nil {
		if l, err = ri.List(cmd.Context(), metav1.ListOptions{}); err != nil {
			return nil
		}
	}
	var out []string
	for _, u := range l.Items {
		out = append(out, u.GetName())
	}
	return out
}

// newPrintFlags returns cli-runtime's -o flags over client-go's scheme.
func newPrintFlags() *genericclioptions.PrintFlags {
	return genericclioptions.NewPrintFlags("").WithTypeSetter(scheme.Scheme)
}

// stdinOf returns the command's standard input (empty if none).
func stdinOf(e env) io.Reader {
	if e.stdin == nil {
		return strings.NewReader("")
	}
	return e.stdin
}
