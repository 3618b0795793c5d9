// Package serviceaccount makes the ServiceAccount "default" in every
// active namespace, and makes it again if it is deleted, as Kubernetes'
// service account controller does. Skiff mounts no tokens yet; the account
// exists so that manifests and kubectl find it.
package serviceaccount
