package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

type deployCase = tcase[*appsv1.Deployment]

func TestValidateDeployment(t *testing.T) {
	runCases(t, testDeployment, []deployCase{
		{name: "valid"},
		{name: "name not a subdomain", mutate: func(d *appsv1.Deployment) { d.Name = "Web" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
		{name: "selector required", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = nil }, path: "spec.selector", typ: field.ErrorTypeRequired},
		{name: "selector empty", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, path: "spec.selector", typ: field.ErrorTypeInvalid},
		{name: "selector invalid", mutate: func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}
		}, path: "spec.selector.matchExpressions[0].operator", typ: field.ErrorTypeInvalid},
		{name: "selector does not match template", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Labels = map[string]string{"app": "api"}
		}, path: "spec.template.metadata.labels", typ: field.ErrorTypeInvalid},
		{name: "selector by expression", mutate: func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}}
		}},
		{name: "replicas negative", mutate: func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(int32(-1)) }, path: "spec.replicas", typ: field.ErrorTypeInvalid},
		{name: "template restartPolicy must be Always", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}, path: "spec.template.spec.restartPolicy", typ: field.ErrorTypeNotSupported},
		{name: "template activeDeadlineSeconds", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo(int64(10))
		}, path: "spec.template.spec.activeDeadlineSeconds", typ: field.ErrorTypeForbidden},
		{name: "template pod spec validated", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Name = "App"
		}, path: "spec.template.spec.containers[0].name", typ: field.ErrorTypeInvalid},
		{name: "template volume unsupported", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
		}, path: "spec.template.spec.volumes[0].persistentVolumeClaim", typ: field.ErrorTypeForbidden},
		{name: "template label invalid", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Labels["bad key!"] = "x"
		}, path: "spec.template.metadata.labels", typ: field.ErrorTypeInvalid},
		{name: "strategy type unsupported", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, path: "spec.strategy.type", typ: field.ErrorTypeNotSupported},
		{name: "Recreate with rollingUpdate", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType }, path: "spec.strategy.rollingUpdate", typ: field.ErrorTypeForbidden},
		{name: "Recreate", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		}},
		{name: "maxUnavailable and maxSurge both zero", mutate: func(d *appsv1.Deployment) {
			zero := intstr.FromInt32(0)
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &zero}
		}, path: "spec.strategy.rollingUpdate.maxUnavailable", typ: field.ErrorTypeInvalid},
		{name: "maxUnavailable over 100%", mutate: func(d *appsv1.Deployment) {
			v := intstr.FromString("150%")
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = &v
		}, path: "spec.strategy.rollingUpdate.maxUnavailable", typ: field.ErrorTypeInvalid},
		{name: "maxSurge not a percent", mutate: func(d *appsv1.Deployment) {
			v := intstr.FromString("lots")
			d.Spec.Strategy.RollingUpdate.MaxSurge = &v
		}, path: "spec.strategy.rollingUpdate.maxSurge", typ: field.ErrorTypeInvalid},
		{name: "revisionHistoryLimit negative", mutate: func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptrTo(int32(-1)) }, path: "spec.revisionHistoryLimit", typ: field.ErrorTypeInvalid},
		{name: "progress deadline not above minReadySeconds", mutate: func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 }, path: "spec.progressDeadlineSeconds", typ: field.ErrorTypeInvalid},
		{name: "replicas may change", update: true, mutate: func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(int32(5)) }},
		{name: "template may change", update: true, mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "web:2" }},
		{name: "selector immutable", update: true, mutate: func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchLabels["tier"] = "front"
			d.Spec.Template.Labels["tier"] = "front"
		}, path: "spec.selector", typ: field.ErrorTypeInvalid},
		{name: "status", status: true, mutate: func(d *appsv1.Deployment) {
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, UnavailableReplicas: 1}
		}},
		{name: "status replicas negative", status: true, mutate: func(d *appsv1.Deployment) { d.Status.Replicas = -1 }, path: "status.replicas", typ: field.ErrorTypeInvalid},
		{name: "status ready above replicas", status: true, mutate: func(d *appsv1.Deployment) {
			d.Status.Replicas, d.Status.ReadyReplicas = 1, 2
		}, path: "status.readyReplicas", typ: field.ErrorTypeInvalid},
		{name: "status available above ready", status: true, mutate: func(d *appsv1.Deployment) {
			d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = 3, 1, 2
		}, path: "status.availableReplicas", typ: field.ErrorTypeInvalid},
		{name: "collisionCount decremented", status: true, old: func(d *appsv1.Deployment) { d.Status.CollisionCount = ptrTo(int32(2)) },
			mutate: func(d *appsv1.Deployment) { d.Status.CollisionCount = ptrTo(int32(1)) }, path: "status.collisionCount", typ: field.ErrorTypeInvalid},
	})
}

func TestValidateReplicaSet(t *testing.T) {
	runCases(t, testReplicaSet, []tcase[*appsv1.ReplicaSet]{
		{name: "valid"},
		{name: "selector required", mutate: func(r *appsv1.ReplicaSet) { r.Spec.Selector = nil }, path: "spec.selector", typ: field.ErrorTypeRequired},
		{name: "selector does not match template", mutate: func(r *appsv1.ReplicaSet) {
			r.Spec.Template.Labels = map[string]string{"app": "api"}
		}, path: "spec.template.metadata.labels", typ: field.ErrorTypeInvalid},
		{name: "replicas negative", mutate: func(r *appsv1.ReplicaSet) { r.Spec.Replicas = ptrTo(int32(-2)) }, path: "spec.replicas", typ: field.ErrorTypeInvalid},
		{name: "template restartPolicy must be Always", mutate: func(r *appsv1.ReplicaSet) {
			r.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		}, path: "spec.template.spec.restartPolicy", typ: field.ErrorTypeNotSupported},
		{name: "selector immutable", update: true, mutate: func(r *appsv1.ReplicaSet) {
			r.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "x": "y"}}
			r.Spec.Template.Labels["x"] = "y"
		}, path: "spec.selector", typ: field.ErrorTypeInvalid},
		{name: "status fully labeled above replicas", status: true, mutate: func(r *appsv1.ReplicaSet) {
			r.Status.Replicas, r.Status.FullyLabeledReplicas = 1, 2
		}, path: "status.fullyLabeledReplicas", typ: field.ErrorTypeInvalid},
	})
}

func TestWorkloadDefaults(t *testing.T) {
	d := testDeployment()
	Default(d)
	s := d.Spec
	if *s.Replicas != 1 || s.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		s.Strategy.RollingUpdate.MaxUnavailable.String() != "25%" || s.Strategy.RollingUpdate.MaxSurge.String() != "25%" ||
		*s.RevisionHistoryLimit != 10 || *s.ProgressDeadlineSeconds != 600 {
		t.Fatalf("unexpected deployment defaults: %+v", s)
	}
	ps := s.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyAlways || ps.DNSPolicy != corev1.DNSClusterFirst || *ps.TerminationGracePeriodSeconds != 30 ||
		ps.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent || ps.Containers[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Fatalf("template not defaulted: %+v", ps)
	}
	if ps.EnableServiceLinks != nil {
		t.Fatalf("enableServiceLinks is a pod default, not a template default")
	}
	r := testReplicaSet()
	Default(r)
	if *r.Spec.Replicas != 1 || r.Spec.Template.Spec.SchedulerName != corev1.DefaultSchedulerName {
		t.Fatalf("unexpected replicaset defaults: %+v", r.Spec)
	}
}
