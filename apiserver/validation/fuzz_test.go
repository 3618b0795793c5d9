package validation

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// FuzzValidatePod feeds arbitrary JSON through decode, Default, Validate
// (as a create and as an update of itself and of a valid pod) and
// ValidateStatus: none of them may panic.
func FuzzValidatePod(f *testing.F) {
	valid := testPod()
	Default(valid)
	seed, _ := json.Marshal(valid)
	f.Add(seed)
	f.Add([]byte(`{"metadata":{"name":"p","namespace":"default"},"spec":{"containers":[{"name":"a","image":"x","livenessProbe":{"httpGet":{"port":"http"}},"env":[{"name":"A","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels['a']"}}}]}],"volumes":[{"name":"v","projected":{"sources":[{}]}}]}}`))
	f.Add([]byte(`{"spec":{"volumes":[{"name":"v","persistentVolumeClaim":{"claimName":"c"},"emptyDir":{}}],"initContainers":[{"restartPolicy":"Always"}],"os":{"name":"windows"}}}`))
	f.Add([]byte(`{"spec":{"containers":[{"resources":{"limits":{"cpu":"-1"},"requests":{"cpu":"2","x/y":"1"}},"ports":[{"containerPort":99999,"hostPort":1}]}],"hostNetwork":true,"dnsPolicy":"None"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p corev1.Pod
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		Default(&p)
		_ = Validate(&p, nil)
		_ = Validate(p.DeepCopy(), &p)
		_ = Validate(&p, valid)
		_ = Validate(valid.DeepCopy(), &p)
		_ = ValidateStatus(&p, valid)
		_ = ValidateStatus(p.DeepCopy(), &p)
	})
}
