package podsecurity

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// Checker judges pods against the Pod Security Standards with the checks
// of k8s.io/pod-security-admission/policy. Build it with New; it is safe
// for concurrent use (the evaluator is read-only once built).
type Checker struct {
	eval policy.Evaluator
}

// New builds the library's evaluator over its default checks, which it
// indexes by level and policy version once rather than per pod. It fails
// only if those checks contradict each other, a defect of the library
// version built in: the server then refuses to start rather than admit
// pods unchecked.
func New() (*Checker, error) {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, fmt.Errorf("pod security checks: %w", err)
	}
	return &Checker{eval: eval}, nil
}

// Check returns nil if pod may run in a namespace with labels nsLabels,
// and otherwise an error whose message is kube-apiserver's PodSecurity
// refusal: the policy ("baseline:latest") and every violated control with
// its detail, in the library's order (baseline controls, then restricted
// ones, each sorted by name). Every pod passes at LevelPrivileged. Check
// only reads pod.
func (c *Checker) Check(nsLabels map[string]string, pod *corev1.Pod) error {
	lv := api.LevelVersion{Level: LevelOf(nsLabels).apiLevel(), Version: api.LatestVersion()}
	// The library relaxes some controls for pods that ask for a user
	// namespace; Skiff's worker does not make one, so the pod is judged
	// as if it had not asked (see the package doc). The copy is shallow:
	// the checks only read.
	spec := pod.Spec
	spec.HostUsers = nil
	res := policy.AggregateCheckResults(c.eval.EvaluatePod(lv, &pod.ObjectMeta, &spec))
	if res.Allowed {
		return nil
	}
	return fmt.Errorf("violates PodSecurity %q: %s", lv.String(), res.ForbiddenDetail())
}
