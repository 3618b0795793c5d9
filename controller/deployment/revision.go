package deployment

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
)

// The annotations kubectl's rollout commands read and write, with the
// meaning Kubernetes gives them.
const (
	// RevisionAnnotation numbers the ReplicaSets of a deployment in the
	// order their templates became current; the deployment carries its
	// new ReplicaSet's.
	RevisionAnnotation = "deployment.kubernetes.io/revision"
	// RevisionHistoryAnnotation lists the earlier revisions a ReplicaSet
	// held (a template rolled back to gets a new revision).
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	// DesiredReplicasAnnotation is the deployment's spec.replicas when the
	// ReplicaSet was last scaled (proportional scaling reads it).
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	// MaxReplicasAnnotation is spec.replicas + maxSurge at that time.
	MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
	// lastAppliedAnnotation is kubectl apply's; never copied to a
	// ReplicaSet.
	lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
	// TemplateHashLabel carries the template hash on a ReplicaSet, its
	// selector and its pods.
	TemplateHashLabel = appsv1.DefaultDeploymentUniqueLabelKey
)

// Revision returns the revision annotation of an object's annotations
// (0 if absent or malformed).
func Revision(annotations map[string]string) int64 {
	n, err := strconv.ParseInt(annotations[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// MaxRevision returns the highest revision among rss.
func MaxRevision(rss []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range rss {
		m = max(m, Revision(rs.Annotations))
	}
	return m
}

// copiedAnnotation reports whether a deployment annotation belongs on its
// ReplicaSets too (kubectl rollout history shows change-cause from there).
func copiedAnnotation(k string) bool {
	switch k {
	case RevisionAnnotation, RevisionHistoryAnnotation, DesiredReplicasAnnotation, MaxReplicasAnnotation, lastAppliedAnnotation:
		return false
	}
	return true
}
