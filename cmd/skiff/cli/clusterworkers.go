package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/gossip"
	"github.com/skiffhq/skiff/server"
)

// workerRow is one worker of `skiff cluster status`: a gossip member with
// the worker role, a Node, or both.
type workerRow struct {
	name, address string
	// gossip is "alive" while gossip sees the member and "gone" for a
	// Node whose worker gossip has forgotten (it left or was declared
	// dead).
	gossip string
	// ready is the Node's Ready condition status, "-" for a worker that
	// has not registered a Node and "?" when nodes could not be read.
	ready string
	// pods counts the node's pods that have not terminated; "?" when
	// pods could not be read.
	pods string
}

// clusterWorkers lists the workers: gossip members of this server's view
// joined with the Nodes and their pods. nodes and pods may be nil when the
// caller could not read them (a cluster token has no API access).
func clusterWorkers(members []server.Member, nodes *corev1.NodeList, pods *corev1.PodList) []workerRow {
	rows := map[string]*workerRow{}
	for _, m := range members {
		if m.Role != string(gossip.RoleWorker) {
			continue
		}
		rows[m.Name] = &workerRow{name: m.Name, address: m.Address, gossip: m.State, ready: "?", pods: "?"}
	}
	if nodes != nil {
		for _, r := range rows {
			r.ready, r.pods = "-", "?"
			if pods != nil {
				r.pods = "0"
			}
		}
		count := map[string]int{}
		if pods != nil {
			for _, p := range pods.Items {
				if p.Spec.NodeName != "" && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
					count[p.Spec.NodeName]++
				}
			}
		}
		for _, n := range nodes.Items {
			r, ok := rows[n.Name]
			if !ok {
				r = &workerRow{name: n.Name, address: nodeAddress(&n), gossip: "gone"}
				rows[n.Name] = r
			}
			r.ready = "Unknown"
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady {
					r.ready = string(c.Status)
				}
			}
			r.pods = "?"
			if pods != nil {
				r.pods = strconv.Itoa(count[n.Name])
			}
		}
	}
	out := make([]workerRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b workerRow) int { return cmp.Compare(a.name, b.name) })
	return out
}

// nodeAddress is a Node's InternalIP, else its first address.
func nodeAddress(n *corev1.Node) string {
	addr := ""
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP || addr == "" {
			addr = a.Address
		}
	}
	return addr
}

// printWorkers writes the workers table under the servers'.
func printWorkers(w io.Writer, rows []workerRow) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tADDRESS\tGOSSIP\tREADY\tPODS")
	for _, r := range rows {
		addr := r.address
		if addr == "" {
			addr = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, addr, r.gossip, r.ready, r.pods)
	}
	return tw.Flush()
}

// getWorkers reads what the workers table needs. A failure to read the
// Nodes or pods (a token without API access) leaves them unknown and is
// returned as a note; a failure to read the members is an error.
func getWorkers(cmd *cobra.Command, e env) ([]workerRow, string, error) {
	c, err := newAPIClient(cmd, e)
	if err != nil {
		return nil, "", err
	}
	ctx := cmd.Context()
	var members server.Members
	if err := c.doJSON(ctx, http.MethodGet, "/skiff/v1/operator/members", nil, &members); err != nil {
		return nil, "", fmt.Errorf("list gossip members: %w", err)
	}
	var note string
	nodes, pods := &corev1.NodeList{}, &corev1.PodList{}
	err = listAPI(ctx, c, "/api/v1/nodes", nodes)
	if refused(err) && c.token != "" {
		// The cluster token (what --config gives) may call the operator
		// API but not the Kubernetes API; it derives the built-in admin
		// token, which may (see auth.AdminToken). Another token derives
		// nothing that works, and the first error stands.
		admin := *c
		admin.token = auth.AdminToken(c.token)
		if listAPI(ctx, &admin, "/api/v1/nodes", nodes) == nil {
			c, err = &admin, nil
		}
	}
	if err != nil {
		nodes, pods, note = nil, nil, fmt.Sprintf("READY and PODS unknown: cannot list nodes: %v", err)
	} else if err := listAPI(ctx, c, "/api/v1/pods", pods); err != nil {
		pods, note = nil, fmt.Sprintf("PODS unknown: cannot list pods: %v", err)
	}
	return clusterWorkers(members.Members, nodes, pods), note, nil
}

// refused reports whether the server refused the credentials.
func refused(err error) bool {
	var se *statusError
	return errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden)
}

// listAPI reads a Kubernetes list with the operator client's credentials.
// The list is read from the answering server's replica (resourceVersion
// 0): a status view need not be linearizable, and a server without a
// leader can still answer it.
func listAPI(ctx context.Context, c *apiClient, path string, out any) error {
	return c.doJSON(ctx, http.MethodGet, path+"?resourceVersion=0", nil, out)
}
