package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/kubectl/pkg/describe"
)

// describe uses kubectl's describers: the same sections (fields, related
// objects such as a Deployment's ReplicaSets or a Service's endpoints,
// and recent Events) users read in kubectl describe.
func newDescribeCmd(e env) *cobra.Command {
	var selector string
	cmd := &cobra.Command{
		Use:   "describe KIND [NAME...] | KIND/NAME [-l SELECTOR]",
		Short: "Show an object's fields, related objects and recent events",
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "describe the objects of KIND matching this label selector")
	cmd.ValidArgsFunction = completeKindsAndNames(k)
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError{cmd: "describe", err: fmt.Errorf("describe needs KIND [NAME] or KIND/NAME")}
		}
		ns, _, err := k.namespace()
		if err != nil {
			return err
		}
		infos, err := k.builder().Unstructured().ContinueOnError().NamespaceParam(ns).DefaultNamespace().
			LabelSelectorParam(selector).ResourceTypeOrNameArgs(true, args...).Flatten().Do().Infos()
		if err != nil {
			return err
		}
		cfg, err := k.ToRESTConfig()
		if err != nil {
			return err
		}
		for i, info := range infos {
			d, ok := describe.DescriberFor(info.Mapping.GroupVersionKind.GroupKind(), cfg)
			if !ok {
				if d, ok = describe.GenericDescriberFor(info.Mapping, cfg); !ok {
					return fmt.Errorf("no describer for %s", kindName(info.Mapping))
				}
			}
			s, err := d.Describe(info.Namespace, info.Name, describe.DescriberSettings{ShowEvents: true, ChunkSize: 500})
			if err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprintln(cmd.OutOrStdout())
			}
			fmt.Fprint(cmd.OutOrStdout(), s)
		}
		if len(infos) == 0 {
			fmt.Fprintf(e.stderr, "No resources found in %s namespace.\n", ns)
		}
		return nil
	})
	return cmd
}

func newEventsCmd(e env) *cobra.Command {
	var allNS, watchFlag bool
	var forObj string
	cmd := &cobra.Command{
		Use:   "events [-A] [-w] [--for KIND/NAME]",
		Short: "List recent events, oldest first; -w prints new ones as they happen",
		Args:  maxArgs(0),
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().BoolVarP(&allNS, "all-namespaces", "A", false, "events of every namespace")
	cmd.Flags().BoolVarP(&watchFlag, "watch", "w", false, "after listing, print new events as they happen")
	cmd.Flags().StringVar(&forObj, "for", "", "only events about this object (KIND/NAME)")
	cmd.RunE = k.run(func(cmd *cobra.Command, _ []string) error {
		ns, _, err := k.namespace()
		if err != nil {
			return err
		}
		if allNS {
			ns = ""
		}
		cs, err := k.clientset()
		if err != nil {
			return err
		}
		opts := metav1.ListOptions{}
		if forObj != "" {
			kind, name, ok := strings.Cut(forObj, "/")
			if !ok {
				return usageError{cmd: "events", err: fmt.Errorf("--for %q is not KIND/NAME", forObj)}
			}
			info, err := resolveOne(k, []string{kind + "/" + name})
			if err != nil {
				return err
			}
			opts.FieldSelector = "involvedObject.name=" + name + ",involvedObject.kind=" + info.Mapping.GroupVersionKind.Kind
		}
		list, err := cs.CoreV1().Events(ns).List(cmd.Context(), opts)
		if err != nil {
			return err
		}
		sort.SliceStable(list.Items, func(i, j int) bool { return eventTime(&list.Items[i]).Before(eventTime(&list.Items[j])) })
		w := cmd.OutOrStdout()
		now := time.Now()
		if len(list.Items) == 0 && !watchFlag {
			fmt.Fprintf(e.stderr, "No events found in %s namespace.\n", orAll(ns))
			return nil
		}
		printEventHeader(w, allNS)
		for i := range list.Items {
			printEvent(w, &list.Items[i], allNS, now)
		}
		if !watchFlag {
			return nil
		}
		opts.ResourceVersion = list.ResourceVersion
		wi, err := cs.CoreV1().Events(ns).Watch(cmd.Context(), opts)
		if err != nil {
			return err
		}
		defer wi.Stop()
		for ev := range wi.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			if e, ok := ev.Object.(*corev1.Event); ok {
				printEvent(w, e, allNS, time.Now())
			}
		}
		return cmd.Context().Err()
	})
	return cmd
}

func orAll(ns string) string {
	if ns == "" {
		return "any"
	}
	return ns
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func printEventHeader(w io.Writer, allNS bool) {
	if allNS {
		fmt.Fprintf(w, "%-12s ", "NAMESPACE")
	}
	fmt.Fprintf(w, "%-9s %-8s %-20s %-30s %s\n", "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
}

func printEvent(w io.Writer, e *corev1.Event, allNS bool, now time.Time) {
	if allNS {
		fmt.Fprintf(w, "%-12s ", e.Namespace)
	}
	obj := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
	fmt.Fprintf(w, "%-9s %-8s %-20s %-30s %s\n", duration.HumanDuration(now.Sub(eventTime(e))), e.Type, e.Reason, obj, strings.TrimSpace(e.Message))
}
