// Package ownership decides and writes controller references: which
// objects a controller adopts (orphans its selector matches), keeps, or
// releases (its own objects the selector no longer matches), as
// Kubernetes' ControllerRefManager does. Decide is pure; the patches carry
// the object's uid and resourceVersion so a stale decision fails with a
// conflict instead of overwriting a newer owner.
package ownership
