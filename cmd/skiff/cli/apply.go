package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
)

// fieldManager is the name skiff's writes carry in managedFields.
const fieldManager = "skiff"

// manifestFlags are -f and -R, as kubectl has them.
type manifestFlags struct {
	files     []string
	recursive bool
}

func (m *manifestFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringSliceVarP(&m.files, "filename", "f", nil, "file, directory or URL of manifests "+what+" (- for standard input; YAML or JSON, multi-document)")
	cmd.Flags().BoolVarP(&m.recursive, "recursive", "R", false, "read directories given with -f recursively")
}

// visit adds the manifests to b: files, directories and URLs by
// cli-runtime's visitors, "-" from the command's standard input.
func (m *manifestFlags) visit(b *resource.Builder, e env) *resource.Builder {
	var files []string
	for _, f := range m.files {
		if f == "-" {
			b = b.Stream(stdinOf(e), "STDIN")
			continue
		}
		files = append(files, f)
	}
	if len(files) > 0 {
		b = b.FilenameParam(false, &resource.FilenameOptions{Filenames: files, Recursive: m.recursive})
	}
	return b
}

func newApplyCmd(e env) *cobra.Command {
	var mf manifestFlags
	var prune, force, wait bool
	var selector string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|URL|- [-R] [--prune -l SELECTOR] [--wait]",
		Short: "Create or update objects from manifests, through server-side apply",
		Long: `Apply sends each object of the manifests with server-side apply, as field manager "skiff":
objects that do not exist are created, changed fields are updated, and applying the same
manifests again changes nothing. A field another manager owns is a conflict unless --force.
With --prune -l SELECTOR, objects matching the selector that skiff applied before but the
manifests no longer hold are deleted (of the kinds the manifests hold, and ConfigMaps,
Secrets, Services and Deployments). --wait waits for every Deployment to finish rolling out.`,
		Args: maxArgs(0),
	}
	k := addKubeFlags(cmd, e)
	mf.add(cmd, "to apply")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete objects matching -l that skiff applied earlier and the manifests no longer hold")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "label selector: apply only matching objects, and the scope of --prune")
	cmd.Flags().BoolVar(&force, "force", false, "take fields other managers own instead of failing with a conflict")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every applied Deployment has rolled out")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long --wait waits")
	cmd.RunE = k.run(func(cmd *cobra.Command, _ []string) error {
		if len(mf.files) == 0 {
			return usageError{cmd: "apply", err: fmt.Errorf("apply needs -f FILE|DIR|URL|-")}
		}
		if prune && selector == "" {
			return usageError{cmd: "apply", err: fmt.Errorf("--prune needs -l SELECTOR, so that it deletes only what the selector names")}
		}
		ns, _, err := k.namespace()
		if err != nil {
			return err
		}
		r := mf.visit(k.builder().Unstructured().ContinueOnError().NamespaceParam(ns).DefaultNamespace(), e).
			LabelSelectorParam(selector).Flatten().Do()
		if err := r.Err(); err != nil {
			return err
		}
		applied := map[string]bool{}
		var kinds []*meta.RESTMapping
		var deployments []*resource.Info
		err = r.Visit(func(info *resource.Info, err error) error {
			if err != nil {
				return err
			}
			if err := applyInfo(cmd, k, info, force); err != nil {
				return err
			}
			applied[infoKey(info.Mapping.GroupVersionKind.GroupKind(), info.Namespace, info.Name)] = true
			kinds = appendMapping(kinds, info.Mapping)
			if info.Mapping.GroupVersionKind.GroupKind() == (schema.GroupKind{Group: "apps", Kind: "Deployment"}) {
				deployments = append(deployments, info)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if prune {
			if err := pruneObjects(cmd, k, ns, selector, kinds, applied); err != nil {
				return err
			}
		}
		if wait {
			for _, d := range deployments {
				if err := waitRollout(cmd.Context(), k, d.Namespace, d.Name, timeout); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return cmd
}

// applyInfo server-side applies one object and says what happened:
// created, configured or unchanged.
func applyInfo(cmd *cobra.Command, k *kube, info *resource.Info, force bool) error {
	data, err := json.Marshal(info.Object)
	if err != nil {
		return fmt.Errorf("%s: %w", info.Source, err)
	}
	helper := resource.NewHelper(info.Client, info.Mapping).WithFieldManager(fieldManager)
	before, getErr := helper.Get(info.Namespace, info.Name)
	if getErr != nil && !apierrors.IsNotFound(getErr) {
		return getErr
	}
	out, err := helper.Patch(info.Namespace, info.Name, types.ApplyPatchType, data, &metav1.PatchOptions{Force: &force})
	if err != nil {
		if apierrors.IsConflict(err) && !force {
			return fmt.Errorf("%s: %s %s: %w (rerun with --force to take these fields)", info.Source, kindName(info.Mapping), info.Name, err)
		}
		return fmt.Errorf("%s: %s %s: %w", info.Source, kindName(info.Mapping), info.Name, k.userError(err))
	}
	verb := "configured"
	switch {
	case getErr != nil:
		verb = "created"
	case resourceVersion(before) == resourceVersion(out):
		verb = "unchanged"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s/%s %s\n", kindName(info.Mapping), info.Name, verb)
	return info.Refresh(out, true)
}

func resourceVersion(obj runtime.Object) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	return m.GetResourceVersion()
}

// kindName is how kubectl names a resource in its messages:
// "deployment.apps", "service".
func kindName(m *meta.RESTMapping) string {
	gk := m.GroupVersionKind.GroupKind()
	if gk.Group == "" {
		return strings.ToLower(gk.Kind)
	}
	return strings.ToLower(gk.Kind) + "." + gk.Group
}

func infoKey(gk schema.GroupKind, ns, name string) string {
	return gk.String() + "/" + ns + "/" + name
}

func appendMapping(ms []*meta.RESTMapping, m *meta.RESTMapping) []*meta.RESTMapping {
	for _, x := range ms {
		if x.Resource == m.Resource {
			return ms
		}
	}
	return append(ms, m)
}
