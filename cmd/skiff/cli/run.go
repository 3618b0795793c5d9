package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

type runOptions struct {
	image    string
	replicas int32
	port     int32
	expose   bool
	env      []string
	wait     bool
	timeout  time.Duration
}

func newRunCmd(e env) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run NAME --image IMAGE [--replicas N] [--port P] [--expose] [--env K=V]... [--wait]",
		Short: "Run an image as a Deployment, and with --expose a ClusterIP Service in front of it",
		Long: `Run applies a Deployment NAME (label app=NAME) running IMAGE, and with --expose a Service
NAME of type ClusterIP on --port, through server-side apply: running the same command again
changes nothing, and a changed flag updates the objects.`,
		Args: exactArgs(1),
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().StringVar(&o.image, "image", "", "the container image")
	cmd.Flags().Int32Var(&o.replicas, "replicas", 1, "number of pods")
	cmd.Flags().Int32Var(&o.port, "port", 0, "the port the container listens on (and the Service's port with --expose)")
	cmd.Flags().BoolVar(&o.expose, "expose", false, "also create a ClusterIP Service named NAME on --port")
	cmd.Flags().StringArrayVar(&o.env, "env", nil, "environment variable K=V of the container (repeatable)")
	cmd.Flags().BoolVar(&o.wait, "wait", false, "wait until the Deployment has rolled out")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long --wait waits")
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		name := args[0]
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			return usageError{cmd: "run", err: fmt.Errorf("NAME %q: %s", name, strings.Join(errs, "; "))}
		}
		if o.image == "" {
			return usageError{cmd: "run", err: fmt.Errorf("run needs --image")}
		}
		if o.expose && o.port <= 0 {
			return usageError{cmd: "run", err: fmt.Errorf("--expose needs --port")}
		}
		ns, _, err := k.namespace()
		if err != nil {
			return err
		}
		d, svc, err := o.objects(name, ns)
		if err != nil {
			return usageError{cmd: "run", err: err}
		}
		cs, err := k.clientset()
		if err != nil {
			return err
		}
		// run states the user's intent for these fields: it takes them.
		opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
		if _, err := cs.AppsV1().Deployments(ns).Apply(cmd.Context(), d, opts); err != nil {
			return fmt.Errorf("deployment %s: %w", name, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "deployment.apps/%s applied\n", name)
		if svc != nil {
			if _, err := cs.CoreV1().Services(ns).Apply(cmd.Context(), svc, opts); err != nil {
				return fmt.Errorf("service %s: %w", name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "service/%s applied\n", name)
		}
		if o.wait {
			return waitRollout(cmd.Context(), k, ns, name, o.timeout)
		}
		return nil
	})
	return cmd
}

// objects returns the apply configurations run sends: only the fields
// run sets, so that fields others manage stay theirs.
func (o *runOptions) objects(name, ns string) (*appsv1ac.DeploymentApplyConfiguration, *corev1ac.ServiceApplyConfiguration, error) {
	labels := map[string]string{"app": name}
	c := corev1ac.Container().WithName(name).WithImage(o.image)
	for _, kv := range o.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("--env %q is not K=V", kv)
		}
		c.WithEnv(corev1ac.EnvVar().WithName(k).WithValue(v))
	}
	if o.port > 0 {
		c.WithPorts(corev1ac.ContainerPort().WithContainerPort(o.port).WithProtocol(corev1.ProtocolTCP))
	}
	d := appsv1ac.Deployment(name, ns).WithLabels(labels).WithSpec(appsv1ac.DeploymentSpec().
		WithReplicas(o.replicas).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
		WithTemplate(corev1ac.PodTemplateSpec().WithLabels(labels).WithSpec(corev1ac.PodSpec().WithContainers(c))))
	if !o.expose {
		return d, nil, nil
	}
	svc := corev1ac.Service(name, ns).WithLabels(labels).WithSpec(corev1ac.ServiceSpec().
		WithType(corev1.ServiceTypeClusterIP).WithSelector(labels).
		WithPorts(corev1ac.ServicePort().WithPort(o.port).WithTargetPort(intstr.FromInt32(o.port)).WithProtocol(corev1.ProtocolTCP)))
	return d, svc, nil
}
