package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateConfigMap(t *testing.T) {
	immutable := func(c *corev1.ConfigMap) { c.Immutable = ptrTo(true) }
	runCases(t, testConfigMap, []tcase[*corev1.ConfigMap]{
		{name: "valid"},
		{name: "name not a subdomain", mutate: func(c *corev1.ConfigMap) { c.Name = "Web_Config" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
		{name: "data key invalid", mutate: func(c *corev1.ConfigMap) { c.Data["a/b"] = "x" }, path: "data[a/b]", typ: field.ErrorTypeInvalid},
		{name: "data key dot-dot", mutate: func(c *corev1.ConfigMap) { c.Data[".."] = "x" }, path: "data[..]", typ: field.ErrorTypeInvalid},
		{name: "binaryData key invalid", mutate: func(c *corev1.ConfigMap) { c.BinaryData["a b"] = []byte("x") }, path: "binaryData[a b]", typ: field.ErrorTypeInvalid},
		{name: "key in data and binaryData", mutate: func(c *corev1.ConfigMap) { c.Data["logo.png"] = "x" }, path: "data[logo.png]", typ: field.ErrorTypeInvalid},
		{name: "larger than 1 MiB", mutate: func(c *corev1.ConfigMap) {
			c.Data["big"] = strings.Repeat("x", corev1.MaxSecretSize)
		}, path: "[]", typ: field.ErrorTypeTooLong}, // Kubernetes reports the size at the root

		{name: "data may change", update: true, mutate: func(c *corev1.ConfigMap) { c.Data["app.conf"] = "listen 9090" }},
		{name: "immutable data", old: immutable, mutate: func(c *corev1.ConfigMap) { c.Data["app.conf"] = "listen 9090" }, path: "data", typ: field.ErrorTypeForbidden},
		{name: "immutable binaryData", old: immutable, mutate: func(c *corev1.ConfigMap) { c.BinaryData = nil }, path: "binaryData", typ: field.ErrorTypeForbidden},
		{name: "immutable may not be unset", old: immutable, mutate: func(c *corev1.ConfigMap) { c.Immutable = nil }, path: "immutable", typ: field.ErrorTypeForbidden},
		{name: "immutable labels may change", old: immutable, mutate: func(c *corev1.ConfigMap) { c.Labels["v"] = "2" }},
	})
}

func TestValidateSecret(t *testing.T) {
	immutable := func(s *corev1.Secret) { s.Immutable = ptrTo(true) }
	runCases(t, testSecret, []tcase[*corev1.Secret]{
		{name: "valid"},
		{name: "key invalid", mutate: func(s *corev1.Secret) { s.Data["a:b"] = nil }, path: "data[a:b]", typ: field.ErrorTypeInvalid},
		{name: "stringData key invalid", mutate: func(s *corev1.Secret) { s.StringData = map[string]string{"a b": "x"} }, path: "stringData[a b]", typ: field.ErrorTypeInvalid},
		{name: "larger than 1 MiB", mutate: func(s *corev1.Secret) {
			s.Data["big"] = make([]byte, corev1.MaxSecretSize)
		}, path: "data", typ: field.ErrorTypeTooLong},
		{name: "tls needs key", mutate: func(s *corev1.Secret) {
			s.Type, s.Data = corev1.SecretTypeTLS, map[string][]byte{corev1.TLSCertKey: []byte("cert")}
		}, path: "data[tls.key]", typ: field.ErrorTypeRequired},
		{name: "dockerconfigjson must be JSON", mutate: func(s *corev1.Secret) {
			s.Type, s.Data = corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: []byte("{")}
		}, path: "data[.dockerconfigjson]", typ: field.ErrorTypeInvalid},
		{name: "custom type", mutate: func(s *corev1.Secret) { s.Type = "example.com/token" }},
		{name: "type immutable", update: true, mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeBasicAuth }, path: "type", typ: field.ErrorTypeInvalid},
		{name: "data may change", update: true, mutate: func(s *corev1.Secret) { s.Data["password"] = []byte("hunter3") }},
		{name: "immutable data", old: immutable, mutate: func(s *corev1.Secret) { s.Data["password"] = []byte("hunter3") }, path: "data", typ: field.ErrorTypeForbidden},
		{name: "immutable may not be unset", old: immutable, mutate: func(s *corev1.Secret) { s.Immutable = ptrTo(false) }, path: "immutable", typ: field.ErrorTypeForbidden},
	})
}

func TestSecretDefaults(t *testing.T) {
	s := testSecret()
	s.StringData = map[string]string{"user": "admin", "password": "override"}
	Default(s)
	if s.Type != corev1.SecretTypeOpaque || s.StringData != nil ||
		string(s.Data["user"]) != "admin" || string(s.Data["password"]) != "override" {
		t.Fatalf("unexpected secret defaults: %+v", s)
	}
}
