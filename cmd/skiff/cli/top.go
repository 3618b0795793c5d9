package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	statsv1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// `skiff top` reads each node's Summary (the kubelet's /stats/summary,
// which the worker serves) through the API's node proxy,
// nodes/{name}/proxy/stats/summary, and prints CPU and memory as
// `kubectl top` does. Reaching the proxy takes an admin token; Skiff does
// not serve the metrics.k8s.io API (see docs/cli.md).

// Fan-out bounds: how many nodes are asked at once, and how long one may
// take (a worker's first summary takes a second: it samples twice).
const (
	topParallel    = 8
	summaryTimeout = 15 * time.Second
)

func newTopCmd(e env) *cobra.Command {
	top := &cobra.Command{Use: "top", Short: "Show the CPU and memory use of nodes and pods"}
	top.AddCommand(newTopNodesCmd(e), newTopPodsCmd(e))
	return top
}

func newTopNodesCmd(e env) *cobra.Command {
	var sortBy string
	cmd := &cobra.Command{
		Use:     "nodes [NAME]",
		Aliases: []string{"node", "no"},
		Short:   "CPU and memory use of nodes, and their share of the allocatable",
		Args:    maxArgs(1),
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().StringVar(&sortBy, "sort-by", "", "cpu or memory: the busiest first")
	cmd.ValidArgsFunction = completeNamesOf(k, "nodes")
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if err := checkSortBy(sortBy); err != nil {
			return err
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
			l, err := cs.CoreV1().Nodes().List(cmd.Context(), metav1.ListOptions{})
			if err != nil {
				return err
			}
			nodes = l.Items
		}
		var ready []string
		for _, n := range nodes {
			if nodeReady(&n) {
				ready = append(ready, n.Name)
			}
		}
		sums, errs := fetchSummaries(cmd.Context(), cs, ready)
		warnFailed(e.stderr, errs)
		if len(args) == 1 && sums[args[0]] == nil {
			return fmt.Errorf("usage of node %s is not available: %s", args[0], unavailableReason(&nodes[0], errs[args[0]]))
		}
		return printNodeUsage(e.stdout, nodeUsage(nodes, sums), sortBy)
	})
	return cmd
}

func newTopPodsCmd(e env) *cobra.Command {
	var sortBy, selector string
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
	cmd.Flags().StringVar(&sortBy, "sort-by", "", "cpu or memory: the busiest first")
	cmd.ValidArgsFunction = completeNamesOf(k, "pods")
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if err := checkSortBy(sortBy); err != nil {
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
		var pods []corev1.Pod
		if len(args) == 1 {
			p, err := cs.CoreV1().Pods(ns).Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return err
			}
			pods = []corev1.Pod{*p}
		} else {
			l, err := cs.CoreV1().Pods(ns).List(cmd.Context(), metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return err
			}
			pods = l.Items
		}
		var nodes []string
		for _, p := range pods {
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning && !slices.Contains(nodes, p.Spec.NodeName) {
				nodes = append(nodes, p.Spec.NodeName)
			}
		}
		sums, errs := fetchSummaries(cmd.Context(), cs, nodes)
		warnFailed(e.stderr, errs)
		rows := podUsage(pods, sums)
		if len(rows) == 0 {
			if len(args) == 1 {
				return fmt.Errorf("usage of pod %s/%s is not available yet (its node reports usage once it runs)", ns, args[0])
			}
			where := "in " + ns + " namespace"
			if allNS {
				where = "in any namespace"
			}
			_, err := fmt.Fprintf(e.stderr, "No pod usage found %s.\n", where)
			return err
		}
		return printPodUsage(e.stdout, rows, allNS, containers, sortBy)
	})
	return cmd
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

// unavailableReason says why a node has no usage: not Ready, or what
// asking it answered.
func unavailableReason(n *corev1.Node, err error) string {
	if !nodeReady(n) {
		return "the node is not Ready"
	}
	if err != nil {
		return err.Error()
	}
	return "its worker sent none"
}

// fetchSummaries asks each node for its Summary, topParallel at a time.
// A node that fails is in errs instead of sums.
func fetchSummaries(ctx context.Context, cs kubernetes.Interface, nodes []string) (map[string]*statsv1.Summary, map[string]error) {
	sums, errs := map[string]*statsv1.Summary{}, map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, topParallel)
	for _, name := range nodes {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s, err := fetchSummary(ctx, cs, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[name] = err
				return
			}
			sums[name] = s
		})
	}
	wg.Wait()
	return sums, errs
}

func fetchSummary(ctx context.Context, cs kubernetes.Interface, node string) (*statsv1.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, summaryTimeout)
	defer cancel()
	res := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy", "stats", "summary").Do(ctx)
	// Error, unlike Raw's error, decodes the Status the API answers.
	if err := res.Error(); err != nil {
		return nil, err
	}
	raw, _ := res.Raw()
	return decodeSummary(raw)
}

// decodeSummary parses a worker's Summary.
func decodeSummary(raw []byte) (*statsv1.Summary, error) {
	var s statsv1.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decode stats summary: %w", err)
	}
	return &s, nil
}

// warnFailed reports the nodes that could not be asked, in name order.
func warnFailed(w io.Writer, errs map[string]error) {
	names := make([]string, 0, len(errs))
	for n := range errs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "warning: no usage from node %s: %v\n", n, errs[n])
	}
}

// usage is CPU in millicores and memory (working set) in bytes.
type usage struct {
	cpuMilli, memBytes int64
}

// usageOf reads a usage from Summary stats; ok is false when either half
// is missing (a container too new for a CPU rate).
func usageOf(cpu *statsv1.CPUStats, mem *statsv1.MemoryStats) (usage, bool) {
	if cpu == nil || cpu.UsageNanoCores == nil || mem == nil || mem.WorkingSetBytes == nil {
		return usage{}, false
	}
	return usage{cpuMilli: int64(*cpu.UsageNanoCores / 1e6), memBytes: int64(*mem.WorkingSetBytes)}, true
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

// nodeUsage joins nodes with their summaries, in name order.
func nodeUsage(nodes []corev1.Node, sums map[string]*statsv1.Summary) []nodeRow {
	rows := make([]nodeRow, 0, len(nodes))
	for _, n := range nodes {
		r := nodeRow{name: n.Name, allocCPU: n.Status.Allocatable.Cpu().MilliValue(), allocMem: n.Status.Allocatable.Memory().Value()}
		if s := sums[n.Name]; s != nil {
			r.use, r.known = usageOf(s.Node.CPU, s.Node.Memory)
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b nodeRow) int { return strings.Compare(a.name, b.name) })
	return rows
}

func printNodeUsage(w io.Writer, rows []nodeRow, sortBy string) error {
	sortRows(rows, sortBy, func(r nodeRow) usage { return r.use })
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCPU(cores)\tCPU%\tMEMORY(bytes)\tMEMORY%")
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

// podUsage finds each pod in its node's summary, by UID (a pod deleted
// and made again under the same name is another pod), and returns those
// with usage, by namespace and name.
func podUsage(pods []corev1.Pod, sums map[string]*statsv1.Summary) []podRow {
	byUID := map[string]*statsv1.PodStats{}
	for _, s := range sums {
		for i := range s.Pods {
			byUID[s.Pods[i].PodRef.UID] = &s.Pods[i]
		}
	}
	var rows []podRow
	for _, p := range pods {
		ps := byUID[string(p.UID)]
		if ps == nil {
			continue
		}
		u, ok := usageOf(ps.CPU, ps.Memory)
		if !ok {
			continue
		}
		r := podRow{namespace: p.Namespace, name: p.Name, use: u}
		for _, c := range ps.Containers {
			if cu, ok := usageOf(c.CPU, c.Memory); ok {
				r.containers = append(r.containers, containerRow{name: c.Name, use: cu})
			}
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

func printPodUsage(w io.Writer, rows []podRow, allNS, containers bool, sortBy string) error {
	sortRows(rows, sortBy, func(r podRow) usage { return r.use })
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	var head []string
	if allNS {
		head = append(head, "NAMESPACE")
	}
	if containers {
		head = append(head, "POD")
	}
	head = append(head, "NAME", "CPU(cores)", "MEMORY(bytes)")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
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
