// Package skiffv1 holds Skiff's own wire types: the bodies of the
// /skiff/v1/ endpoints that are not part of the Kubernetes API. Server and
// worker both import it, so the JSON shape has one definition. It imports
// only the standard library.
package skiffv1
