package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest"
)

// tableAccept asks the server for kubectl's table format: the columns
// kube-apiserver defines per resource, which Skiff serves too.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

type getOptions struct {
	print     *genericclioptions.PrintFlags
	selector  string
	allNS     bool
	watch     bool
	noHeaders bool
	mf        manifestFlags
}

func newGetCmd(e env) *cobra.Command {
	o := &getOptions{print: newPrintFlags()}
	cmd := &cobra.Command{
		Use:   "get KIND[,KIND...] [NAME...] [-o wide|yaml|json|name|jsonpath=...] [-l SELECTOR] [-A] [-w]",
		Short: "List objects in kubectl's columns, or print them as YAML, JSON, names or a JSONPath",
		Example: `  skiff get deploy,svc
  skiff get pods -A -o wide
  skiff get deploy web -o jsonpath='{.status.readyReplicas}'
  skiff get pods -l app=web -w`,
	}
	k := addKubeFlags(cmd, e)
	o.print.AddFlags(cmd)
	cmd.Flag("output").Usage = "output format: wide, yaml, json, name, jsonpath=TEMPLATE, go-template=TEMPLATE (default: table)"
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "label selector, e.g. app=web,tier!=db")
	cmd.Flags().BoolVarP(&o.allNS, "all-namespaces", "A", false, "list across all namespaces")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "after listing, print changes as they happen")
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "omit table headers")
	o.mf.add(cmd, "naming the objects to get")
	cmd.ValidArgsFunction = completeKindsAndNames(k)
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 && len(o.mf.files) == 0 {
			return usageError{cmd: "get", err: fmt.Errorf("get needs a KIND (e.g. pods, deploy, svc) or -f")}
		}
		return o.run(cmd, k, args)
	})
	return cmd
}

func (o *getOptions) human() bool {
	f := *o.print.OutputFormat
	return f == "" || f == "wide"
}

func (o *getOptions) run(cmd *cobra.Command, k *kube, args []string) error {
	ns, _, err := k.namespace()
	if err != nil {
		return err
	}
	b := o.mf.visit(k.builder().Unstructured().NamespaceParam(ns).DefaultNamespace().AllNamespaces(o.allNS), k.e).
		LabelSelectorParam(o.selector).ResourceTypeOrNameArgs(true, args...).ContinueOnError().Flatten()
	if o.human() {
		b = b.TransformRequests(func(req *rest.Request) { req.SetHeader("Accept", tableAccept) })
	}
	r := b.Do()
	if err := r.Err(); err != nil {
		return err
	}
	infos, err := r.Infos()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if !o.human() {
		if err := o.printObjects(out, infos, len(args) == 1 && !strings.Contains(args[0], ",") || len(args) > 1); err != nil {
			return err
		}
	} else if err := o.printTables(out, k.e.stderr, infos, ns); err != nil {
		return err
	}
	if o.watch {
		return o.watchChanges(cmd.Context(), out, r, infos)
	}
	return nil
}

// printObjects prints infos with a cli-runtime printer: one object as
// itself, several as a v1 List, as kubectl does.
func (o *getOptions) printObjects(w io.Writer, infos []*resource.Info, named bool) error {
	p, err := o.print.ToPrinter()
	if err != nil {
		return err
	}
	if *o.print.OutputFormat == "name" || len(infos) == 1 && named {
		for _, info := range infos {
			if err := p.PrintObj(info.Object, w); err != nil {
				return err
			}
		}
		return nil
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
	for _, info := range infos {
		list.Items = append(list.Items, *info.Object.(*unstructured.Unstructured))
	}
	return p.PrintObj(list, w)
}

// printTables prints each info's server-side table; several kinds get
// kind-prefixed names and a blank line between tables.
func (o *getOptions) printTables(w, errOut io.Writer, infos []*resource.Info, ns string) error {
	withKind := false
	seen := map[string]bool{}
	for _, info := range infos {
		seen[info.Mapping.Resource.String()] = true
	}
	withKind = len(seen) > 1
	rows := 0
	printed := 0
	for _, info := range infos {
		t, err := decodeTable(info.Object)
		if err != nil {
			return err
		}
		if len(t.Rows) == 0 {
			continue
		}
		rows += len(t.Rows)
		if printed > 0 {
			fmt.Fprintln(w)
		}
		printed++
		p := printers.NewTablePrinter(printers.PrintOptions{
			Wide: *o.print.OutputFormat == "wide", WithNamespace: o.allNS, WithKind: withKind,
			Kind: info.Mapping.GroupVersionKind.GroupKind(), NoHeaders: o.noHeaders,
		})
		if err := p.PrintObj(t, w); err != nil {
			return err
		}
	}
	if rows == 0 && !o.watch {
		if o.allNS {
			fmt.Fprintln(errOut, "No resources found")
		} else {
			fmt.Fprintf(errOut, "No resources found in %s namespace.\n", ns)
		}
	}
	return nil
}

// decodeTable turns the server's Table answer into a metav1.Table whose
// rows carry their objects' metadata (the printer reads namespaces from
// them).
func decodeTable(obj runtime.Object) (*metav1.Table, error) {
	if t, ok := obj.(*metav1.Table); ok {
		return t, nil
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || u.GetKind() != "Table" {
		return nil, fmt.Errorf("the server did not answer a Table for %s", obj.GetObjectKind().GroupVersionKind())
	}
	b, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	return decodeTableJSON(b)
}

func decodeTableJSON(b []byte) (*metav1.Table, error) {
	t := &metav1.Table{}
	if err := json.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("decode table: %w", err)
	}
	for i := range t.Rows {
		if raw := t.Rows[i].Object.Raw; len(raw) > 0 {
			ru := &unstructured.Unstructured{}
			if err := ru.UnmarshalJSON(raw); err == nil {
				t.Rows[i].Object.Object = ru
			}
		}
	}
	return t, nil
}

// watchChanges prints each change after the listing: in table form a
// row per change (the server serves tables for reads, not watches, so
// each changed object is read once as a table row), otherwise the
// object in the chosen format.
func (o *getOptions) watchChanges(ctx context.Context, w io.Writer, r *resource.Result, infos []*resource.Info) error {
	if len(infos) != 1 {
		return fmt.Errorf("--watch works on one kind at a time")
	}
	info := infos[0]
	rv := ""
	if t, err := decodeTable(info.Object); err == nil {
		rv = t.ResourceVersion
	} else if m, err := meta.ListAccessor(info.Object); err == nil {
		rv = m.GetResourceVersion()
	}
	wi, err := r.Watch(rv)
	if err != nil {
		return err
	}
	defer wi.Stop()
	var printer printers.ResourcePrinter
	if !o.human() {
		if printer, err = o.print.ToPrinter(); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return nil
			}
			if ev.Type == watch.Error {
				return fmt.Errorf("watch: %v", ev.Object)
			}
			if ev.Type == watch.Bookmark {
				continue
			}
			if printer != nil {
				if err := printer.PrintObj(ev.Object, w); err != nil {
					return err
				}
				continue
			}
			if err := o.printRow(ctx, w, info, ev); err != nil {
				return err
			}
		}
	}
}

// printRow prints the table row of a watched object.
func (o *getOptions) printRow(ctx context.Context, w io.Writer, info *resource.Info, ev watch.Event) error {
	m, err := meta.Accessor(ev.Object)
	if err != nil {
		return err
	}
	req := info.Client.Get().Resource(info.Mapping.Resource.Resource).Name(m.GetName()).SetHeader("Accept", tableAccept)
	if m.GetNamespace() != "" {
		req = req.Namespace(m.GetNamespace())
	}
	b, err := req.DoRaw(ctx)
	if err != nil {
		if ev.Type == watch.Deleted {
			fmt.Fprintf(w, "%s\tdeleted\n", m.GetName())
			return nil
		}
		return err
	}
	t, err := decodeTableJSON(b)
	if err != nil {
		return err
	}
	p := printers.NewTablePrinter(printers.PrintOptions{Wide: *o.print.OutputFormat == "wide", WithNamespace: o.allNS, NoHeaders: true})
	return p.PrintObj(t, w)
}
