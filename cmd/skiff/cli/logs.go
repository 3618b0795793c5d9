package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// notServed turns a 404 or 405 of a pod subresource (pods/log,
// pods/exec) into a clear message: the pod exists (it was read just
// before), so the server does not serve the subresource.
func notServed(err error, sub, pod string) error {
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return fmt.Errorf("the API server does not serve pods/%s (it answered %d for pod %s): this cluster's workers do not provide %s yet", sub, statusCode(err), pod, sub)
	}
	return err
}

func statusCode(err error) int32 {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Code
	}
	return 0
}

func newLogsCmd(e env) *cobra.Command {
	var o corev1.PodLogOptions
	var selector string
	var tail int64
	cmd := &cobra.Command{
		Use:   "logs POD [-c CONTAINER] [-f] [--previous] | logs -l SELECTOR",
		Short: "Print the logs of a pod's container (pods/log)",
		Args:  maxArgs(1),
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().StringVarP(&o.Container, "container", "c", "", "the container (default: the pod's only or first container)")
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "stream new lines as they are written")
	cmd.Flags().BoolVarP(&o.Previous, "previous", "p", false, "the logs of the previous, terminated instance of the container")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "the logs of every pod matching this label selector")
	cmd.Flags().Int64Var(&tail, "tail", -1, "only the last N lines")
	cmd.ValidArgsFunction = completeNamesOf(k, "pods")
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if (len(args) == 0) == (selector == "") {
			return usageError{cmd: "logs", err: fmt.Errorf("logs needs a POD or -l SELECTOR")}
		}
		if tail >= 0 {
			o.TailLines = &tail
		}
		ns, _, err := k.namespace()
		if err != nil {
			return err
		}
		cs, err := k.clientset()
		if err != nil {
			return err
		}
		var pods []corev1.Pod
		if len(args) == 1 {
			p, err := cs.CoreV1().Pods(ns).Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return err
			}
			pods = append(pods, *p)
		} else {
			l, err := cs.CoreV1().Pods(ns).List(cmd.Context(), metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return err
			}
			pods = l.Items
		}
		for _, p := range pods {
			prefix := ""
			if selector != "" {
				prefix = "[" + p.Name + "] "
			}
			if err := streamLogs(cmd, cs, &p, o, prefix); err != nil {
				return err
			}
		}
		return nil
	})
	return cmd
}

func streamLogs(cmd *cobra.Command, cs kubernetes.Interface, p *corev1.Pod, o corev1.PodLogOptions, prefix string) error {
	if o.Container == "" && len(p.Spec.Containers) > 0 {
		o.Container = p.Spec.Containers[0].Name
	}
	rc, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &o).Stream(cmd.Context())
	if err != nil {
		return notServed(err, "log", p.Name)
	}
	defer rc.Close()
	if prefix == "" {
		_, err = io.Copy(cmd.OutOrStdout(), rc)
		return err
	}
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintf(cmd.OutOrStdout(), "%s%s\n", prefix, sc.Text())
	}
	return sc.Err()
}
