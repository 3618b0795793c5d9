// Package childproc starts child processes that die with this process.
//
// Linux delivers a parent-death signal (Pdeathsig) when the *thread* that
// forked the child exits, not when the process does. The Go runtime
// destroys a thread whenever a goroutine that locked it exits without
// unlocking, as code that enters a network namespace does; a child forked
// from such a thread is SIGKILLed at a random later moment. StartDying
// forks from a goroutine that holds its thread locked until the child has
// exited, so the signal comes only when this process really dies.
package childproc
