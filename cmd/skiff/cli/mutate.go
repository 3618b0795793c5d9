package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
)

func newDeleteCmd(e env) *cobra.Command {
	var mf manifestFlags
	var selector string
	var all bool
	cmd := &cobra.Command{
		Use:   "delete KIND NAME... | KIND/NAME... | -f FILE | KIND -l SELECTOR",
		Short: "Delete objects by name, by selector, or those of manifests",
	}
	k := addKubeFlags(cmd, e)
	mf.add(cmd, "naming the objects to delete")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "delete the objects of KIND matching this label selector")
	cmd.Flags().BoolVar(&all, "all", false, "delete every object of KIND in the namespace")
	cmd.ValidArgsFunction = completeKindsAndNames(k)
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 && len(mf.files) == 0 {
			return usageError{cmd: "delete", err: fmt.Errorf("delete needs KIND NAME, KIND/NAME, or -f")}
		}
		if len(args) == 1 && !strings.Contains(args[0], "/") && selector == "" && !all {
			return usageError{cmd: "delete", err: fmt.Errorf("delete %s needs a NAME, -l SELECTOR or --all", args[0])}
		}
		ns, _, err := k.namespace()
		if err != nil {
			return err
		}
		r := mf.visit(k.builder().Unstructured().ContinueOnError().NamespaceParam(ns).DefaultNamespace(), e).
			LabelSelectorParam(selector).SelectAllParam(all).ResourceTypeOrNameArgs(false, args...).Flatten().Do()
		if err := r.Err(); err != nil {
			return err
		}
		found := 0
		err = r.Visit(func(info *resource.Info, err error) error {
			if err != nil {
				return err
			}
			found++
			policy := metav1.DeletePropagationBackground
			if _, err := resource.NewHelper(info.Client, info.Mapping).DeleteWithOptions(info.Namespace, info.Name, &metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %q deleted\n", kindName(info.Mapping), info.Name)
			return nil
		})
		if err == nil && found == 0 {
			fmt.Fprintln(e.stderr, "No resources found")
		}
		return err
	})
	return cmd
}

// resolveOne resolves a KIND/NAME or KIND NAME argument to one object.
func resolveOne(k *kube, args []string) (*resource.Info, error) {
	ns, _, err := k.namespace()
	if err != nil {
		return nil, err
	}
	infos, err := k.builder().Unstructured().NamespaceParam(ns).DefaultNamespace().
		ResourceTypeOrNameArgs(false, args...).SingleResourceType().Flatten().Do().Infos()
	if err != nil {
		return nil, err
	}
	if len(infos) != 1 {
		return nil, fmt.Errorf("%s names %d objects, want one", strings.Join(args, " "), len(infos))
	}
	return infos[0], nil
}

func newScaleCmd(e env) *cobra.Command {
	var replicas int32
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "scale KIND/NAME --replicas N [--wait]",
		Short: "Set the replica count of a Deployment or ReplicaSet",
		Args:  exactArgs(1),
	}
	k := addKubeFlags(cmd, e)
	cmd.Flags().Int32Var(&replicas, "replicas", -1, "the new replica count")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until a scaled Deployment has rolled out")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	cmd.ValidArgsFunction = completeKindsAndNames(k)
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if replicas < 0 {
			return usageError{cmd: "scale", err: fmt.Errorf("scale needs --replicas N (N >= 0)")}
		}
		info, err := resolveOne(k, args)
		if err != nil {
			return err
		}
		patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
		if _, err := resource.NewHelper(info.Client, info.Mapping).WithFieldManager(fieldManager).WithSubresource("scale").
			Patch(info.Namespace, info.Name, types.MergePatchType, []byte(patch), nil); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s/%s scaled\n", kindName(info.Mapping), info.Name)
		if wait && isDeployment(info) {
			return waitRollout(cmd.Context(), k, info.Namespace, info.Name, timeout)
		}
		return nil
	})
	return cmd
}

func isDeployment(info *resource.Info) bool {
	return info.Mapping.GroupVersionKind.GroupKind() == schema.GroupKind{Group: "apps", Kind: "Deployment"}
}

func newSetCmd(e env) *cobra.Command {
	set := &cobra.Command{Use: "set", Short: "Change one aspect of an object"}
	cmd := &cobra.Command{
		Use:     "image KIND/NAME CONTAINER=IMAGE...",
		Short:   "Change the image of containers of a Deployment's pod template",
		Example: "  skiff set image deploy/web web=nginx:1.27",
	}
	k := addKubeFlags(cmd, e)
	cmd.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if len(args) < 2 {
			return usageError{cmd: "image", err: fmt.Errorf("set image needs KIND/NAME and CONTAINER=IMAGE")}
		}
		images := map[string]string{}
		for _, a := range args[1:] {
			c, img, ok := strings.Cut(a, "=")
			if !ok || c == "" || img == "" {
				return usageError{cmd: "image", err: fmt.Errorf("%q is not CONTAINER=IMAGE", a)}
			}
			images[c] = img
		}
		info, err := resolveOne(k, args[:1])
		if err != nil {
			return err
		}
		u := info.Object.(*unstructured.Unstructured)
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		var patch []map[string]string
		for name, img := range images {
			found := false
			for _, c := range containers {
				if m, ok := c.(map[string]any); ok && m["name"] == name {
					found = true
				}
			}
			if !found {
				return fmt.Errorf("%s/%s has no container named %q", kindName(info.Mapping), info.Name, name)
			}
			patch = append(patch, map[string]string{"name": name, "image": img})
		}
		body, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": patch}}}})
		if _, err := resource.NewHelper(info.Client, info.Mapping).WithFieldManager(fieldManager).
			Patch(info.Namespace, info.Name, types.StrategicMergePatchType, body, nil); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s/%s image updated\n", kindName(info.Mapping), info.Name)
		return nil
	})
	set.AddCommand(cmd)
	return set
}
