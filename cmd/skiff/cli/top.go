package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// `skiff top` reads the resource metrics API, metrics.k8s.io/v1beta1, as
// `kubectl top` does: the servers answer it from the workers' summaries
// (apiserver/resourcemetrics.go), so one request covers every node, and
// read-only users may make it.

// metricsPath is the resource metrics API's root.
const metricsPath = "/apis/metrics.k8s.io/v1beta1"

func newTopCmd(e env) *cobra.Command {
	top := &cobra.Command{Use: "top", Short: "Show the CPU and memory use of nodes and pods"}
	top.AddCommand(newTopNodesCmd(e), newTopPodsCmd(e))
	return top
}

func newTopNodesCmd(e env) *cobra.Command {
	var o topPrint
	var selector string
	cmd := &cobra.Command{
		Use:     "nodes [NAME] [-l SELECTOR]",
		Aliases: []string{"node", "no"},
		Short:   "CPU and memory use of nodes, and their share of the allocatable",
		Args:    maxArgs(1),
	}
	k := addKubeFlags(cmd, e)
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "only nodes matching this label selector")
	cmd.ValidArgsFunction = completeNamesOf(k, "nodes")
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if err := checkSortBy(o.sortBy); err != nil {
			return err
		}
		if selector != "" && len(args) == 1 {
			return usageError{cmd: "nodes", err: fmt.Errorf("a node NAME and -l exclude each other")}
		}
		cs, err := k.clientset()
		if err != nil {
			return err
		}
		var nodes []corev1.Node
		if len(args) == 1 {
			n, err := cs.CoreV1().Nodes().Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return err
			}
			nodes = []corev1.Node{*n}
		} else {
			l, err := cs.CoreV1().Nodes().List(cmd.Context(), metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return err
			}
			nodes = l.Items
		}
		var nm metricsv1beta1.NodeMetricsList
		path := metricsPath + "/nodes"
		if len(args) == 1 {
			path += "/" + args[0]
		}
		if err := getMetrics(cmd.Context(), cs, path, selector, len(args) == 1, &nm); err != nil {
			if apierrors.IsNotFound(err) && len(args) == 1 {
				return fmt.Errorf("usage of node %s is not available: %s", args[0], unavailableReason(&nodes[0]))
			}
			return err
		}
		use := map[string]usage{}
		for _, m := range nm.Items {
			use[m.Name] = usageFrom(m.Usage)
		}
		return printNodeUsage(e.stdout, nodeUsage(nodes, use), o)
	})
	return cmd
}

func newTopPodsCmd(e env) *cobra.Command {
	var o topPrint
	var selector string
	var allNS, containers bool
	cmd := &cobra.Command{
		Use:     "pods [NAME] [-n NAMESPACE | -A] [-l SELECTOR] [--containers]",
		Aliases: []string{"pod", "po"},
		Short:   "CPU and memory use of pods (or of their containers)",
		Args:    maxArgs(1),
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().BoolVarP(&allNS, "all-namespaces", "A", false, "pods of every namespace")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "only pods matching this label selector")
	cmd.Flags().BoolVar(&containers, "containers", false, "one line per container")
	o.addFlags(cmd)
	cmd.ValidArgsFunction = completeNamesOf(k, "pods")
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if err := checkSortBy(o.sortBy); err != nil {
			return err
		}
		if allNS && len(args) == 1 {
			return usageError{cmd: "pods", err: fmt.Errorf("a pod NAME and -A exclude each other")}
		}
		cs, err := k.clientset()
		if err != nil {
			return err
		}
		ns, _, err := k.namespace()
		if err != nil {
			return err
		}
		if allNS {
			ns = metav1.NamespaceAll
		}
		path := metricsPath + "/pods"
		if ns != metav1.NamespaceAll {
			path = metricsPath + "/namespaces/" + ns + "/pods"
		}
		if len(args) == 1 {
			if _, err := cs.CoreV1().Pods(ns).Get(cmd.Context(), args[0], metav1.GetOptions{}); err != nil {
				return err
			}
			path += "/" + args[0]
		}
		var pm metricsv1beta1.PodMetricsList
		if err := getMetrics(cmd.Context(), cs, path, selector, len(args) == 1, &pm); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		rows := podUsage(pm.Items)
		if len(rows) == 0 {
			if len(args) == 1 {
				return fmt.Errorf("usage of pod %s/%s is not available yet (its node reports it once the pod runs)", ns, args[0])
			}
			where := "in " + ns + " namespace"
			if allNS {
				where = "in any namespace"
			}
			_, err := fmt.Fprintf(e.stderr, "No pod usage found %s.\n", where)
			return err
		}
		return printPodUsage(e.stdout, rows, allNS, containers, o)
	})
	return cmd
}

// topPrint is how the tables are printed: --sort-by and --no-headers.
type topPrint struct {
	sortBy    string
	noHeaders bool
}

func (o *topPrint) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.sortBy, "sort-by", "", "cpu or memory: the busiest first")
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "leave out the header line")
}

func checkSortBy(s string) error {
	if s != "" && s != "cpu" && s != "memory" {
		return usageError{cmd: "top", err: fmt.Errorf("--sort-by must be cpu or memory, not %q", s)}
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// unavailableReason says why a node has no usage.
func unavailableReason(n *corev1.Node) string {
	if !nodeReady(n) {
		return "the node is not Ready"
	}
	return "its worker did not answer (see the server's log)"
}

// getMetrics reads a metrics.k8s.io list, or with one set a single
// object, into list (a *NodeMetricsList or *PodMetricsList).
func getMetrics(ctx context.Context, cs kubernetes.Interface, path, selector string, one bool, list any) error {
	req := cs.CoreV1().RESTClient().Get().AbsPath(path)
	if selector != "" {
		req = req.Param("labelSelector", selector)
	}
	res := req.Do(ctx)
	// Error, unlike Raw's error, decodes the Status the API answers.
	if err := res.Error(); err != nil {
		return err
	}
	raw, _ := res.Raw()
	return decodeMetrics(raw, one, list)
}

// decodeMetrics parses a metrics answer; a single object is made a list
// of one.
func decodeMetrics(raw []byte, one bool, list any) error {
	var err error
	switch l := list.(type) {
	case *metricsv1beta1.NodeMetricsList:
		if one {
			var m metricsv1beta1.NodeMetrics
			err = json.Unmarshal(raw, &m)
			l.Items = []metricsv1beta1.NodeMetrics{m}
		} else {
			err = json.Unmarshal(raw, l)
		}
	case *metricsv1beta1.PodMetricsList:
		if one {
			var m metricsv1beta1.PodMetrics
			err = json.Unmarshal(raw, &m)
			l.Items = []metricsv1beta1.PodMetrics{m}
		} else {
			err = json.Unmarshal(raw, l)
		}
	default:
		return fmt.Errorf("decode metrics: unexpected %T", list)
	}
	if err != nil {
		return fmt.Errorf("decode metrics: %w", err)
	}
	return nil
}

// usage is CPU in millicores and memory (working set) in bytes.
type usage struct {
	cpuMilli, memBytes int64
}

// usageFrom reads CPU and memory from a metrics ResourceList.
func usageFrom(l corev1.ResourceList) usage {
	return usage{cpuMilli: l.Cpu().MilliValue(), memBytes: l.Memory().Value()}
}

func formatCPU(milli int64) string { return fmt.Sprintf("%dm", milli) }
func formatMem(b int64) string     { return fmt.Sprintf("%dMi", b/(1<<20)) }

// percent is part of whole as kubectl prints it ("12%").
func percent(part, whole int64) string {
	if whole <= 0 {
		return "<unknown>"
	}
	return fmt.Sprintf("%d%%", part*100/whole)
}

// sortRows orders rows by --sort-by, the largest first; ties keep their
// name order.
func sortRows[T any](rows []T, by string, u func(T) usage) {
	switch by {
	case "cpu":
		slices.SortStableFunc(rows, func(a, b T) int { return cmp.Compare(u(b).cpuMilli, u(a).cpuMilli) })
	case "memory":
		slices.SortStableFunc(rows, func(a, b T) int { return cmp.Compare(u(b).memBytes, u(a).memBytes) })
	}
}

// nodeRow is one line of `top nodes`; known is false for a node without
// usage, printed as <unknown> as kubectl does.
type nodeRow struct {
	name               string
	use                usage
	known              bool
	allocCPU, allocMem int64
}

// nodeUsage joins nodes with their usage, in name order.
func nodeUsage(nodes []corev1.Node, use map[string]usage) []nodeRow {
	rows := make([]nodeRow, 0, len(nodes))
	for _, n := range nodes {
		r := nodeRow{name: n.Name, allocCPU: n.Status.Allocatable.Cpu().MilliValue(), allocMem: n.Status.Allocatable.Memory().Value()}
		r.use, r.known = use[n.Name]
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b nodeRow) int { return strings.Compare(a.name, b.name) })
	return rows
}

func printNodeUsage(w io.Writer, rows []nodeRow, o topPrint) error {
	sortRows(rows, o.sortBy, func(r nodeRow) usage { return r.use })
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if !o.noHeaders {
		fmt.Fprintln(tw, "NAME\tCPU(cores)\tCPU%\tMEMORY(bytes)\tMEMORY%")
	}
	for _, r := range rows {
		if !r.known {
			fmt.Fprintf(tw, "%s\t<unknown>\t<unknown>\t<unknown>\t<unknown>\n", r.name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, formatCPU(r.use.cpuMilli), percent(r.use.cpuMilli, r.allocCPU),
			formatMem(r.use.memBytes), percent(r.use.memBytes, r.allocMem))
	}
	return tw.Flush()
}

// podRow is one pod of `top pods` with its containers' usage.
type podRow struct {
	namespace, name string
	use             usage
	containers      []containerRow
}

type containerRow struct {
	name string
	use  usage
}

// podUsage returns the pods' rows, by namespace and name; a pod's usage
// is the sum of its containers'.
func podUsage(items []metricsv1beta1.PodMetrics) []podRow {
	rows := make([]podRow, 0, len(items))
	for _, m := range items {
		r := podRow{namespace: m.Namespace, name: m.Name}
		for _, c := range m.Containers {
			u := usageFrom(c.Usage)
			r.containers = append(r.containers, containerRow{name: c.Name, use: u})
			r.use.cpuMilli += u.cpuMilli
			r.use.memBytes += u.memBytes
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b podRow) int {
		if c := strings.Compare(a.namespace, b.namespace); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return rows
}

func printPodUsage(w io.Writer, rows []podRow, allNS, containers bool, o topPrint) error {
	sortRows(rows, o.sortBy, func(r podRow) usage { return r.use })
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	var head []string
	if allNS {
		head = append(head, "NAMESPACE")
	}
	if containers {
		head = append(head, "POD")
	}
	head = append(head, "NAME", "CPU(cores)", "MEMORY(bytes)")
	if !o.noHeaders {
		fmt.Fprintln(tw, strings.Join(head, "\t"))
	}
	for _, r := range rows {
		prefix := ""
		if allNS {
			prefix = r.namespace + "\t"
		}
		if !containers {
			fmt.Fprintf(tw, "%s%s\t%s\t%s\n", prefix, r.name, formatCPU(r.use.cpuMilli), formatMem(r.use.memBytes))
			continue
		}
		for _, c := range r.containers {
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", prefix, r.name, c.name, formatCPU(c.use.cpuMilli), formatMem(c.use.memBytes))
		}
	}
	return tw.Flush()
}
