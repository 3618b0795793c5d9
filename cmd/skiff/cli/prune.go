package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// pruneKinds are pruned besides the kinds the manifests hold, so that
// removing the last object of a kind from the manifests still prunes it.
var pruneKinds = []schema.GroupKind{
	{Kind: "ConfigMap"}, {Kind: "Secret"}, {Kind: "Service"}, {Group: "apps", Kind: "Deployment"},
}

// pruneObjects deletes the objects of the given kinds matching selector
// in ns that skiff applied (an Apply entry of manager "skiff" in their
// managedFields) and that are not in applied. Objects others created are
// never pruned, whatever their labels.
func pruneObjects(cmd *cobra.Command, k *kube, ns, selector string, kinds []*meta.RESTMapping, applied map[string]bool) error {
	mapper, err := k.ToRESTMapper()
	if err != nil {
		return err
	}
	for _, gk := range pruneKinds {
		if m, err := mapper.RESTMapping(gk); err == nil {
			kinds = appendMapping(kinds, m)
		}
	}
	dyn, err := k.dynamicClient()
	if err != nil {
		return err
	}
	for _, m := range kinds {
		ri := dyn.Resource(m.Resource)
		var items []pruneItem
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			l, err := ri.Namespace(ns).List(cmd.Context(), metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return err
			}
			for _, u := range l.Items {
				items = append(items, pruneItem{u.GetNamespace(), u.GetName(), u.GetManagedFields()})
			}
		} else {
			l, err := ri.List(cmd.Context(), metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return err
			}
			for _, u := range l.Items {
				items = append(items, pruneItem{"", u.GetName(), u.GetManagedFields()})
			}
		}
		for _, it := range items {
			if applied[infoKey(m.GroupVersionKind.GroupKind(), it.ns, it.name)] || !appliedBySkiff(it.managed) {
				continue
			}
			var err error
			if it.ns != "" {
				err = ri.Namespace(it.ns).Delete(cmd.Context(), it.name, metav1.DeleteOptions{})
			} else {
				err = ri.Delete(cmd.Context(), it.name, metav1.DeleteOptions{})
			}
			if err != nil {
				return fmt.Errorf("prune %s %s: %w", kindName(m), it.name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s/%s pruned\n", kindName(m), it.name)
		}
	}
	return nil
}

type pruneItem struct {
	ns, name string
	managed  []metav1.ManagedFieldsEntry
}

func appliedBySkiff(entries []metav1.ManagedFieldsEntry) bool {
	for _, e := range entries {
		if e.Manager == fieldManager && e.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}
