// Package controllertest runs leader-only components against a real
// testcluster the way the server's leadership seam does: one client, one
// shared informer factory started after every New, an event recorder
// writing to the API, and Run until the test ends. It lives outside
// controller/ because it imports testcluster, and with it the store, which
// controllers themselves must never import.
package controllertest
