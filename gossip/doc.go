// Package gossip runs the memberlist (SWIM) agent that skiff servers and
// workers use to find each other and to learn who is alive.
//
// Every member advertises a small Meta record (role, name, Raft and API
// addresses, bootstrap expectations) in its memberlist node metadata. Servers
// read the other servers' records to bootstrap Raft once enough of them are
// seen; workers read them to learn the API servers' addresses.
//
// All gossip is encrypted and authenticated with a 32-byte AES key derived
// from the cluster token (KeyFromToken); a process with another key can
// neither join nor read the member list. While the cluster rotates its
// token, an agent also accepts gossip encrypted with the keys of the other
// tokens it is told to accept (Config.AcceptKeys) but sends with its own
// Key only.
//
// An Agent keeps its own copy of the member list, fed by memberlist's event
// callbacks, so callers never touch memberlist's internal node structures.
// Metadata from the network is untrusted: members whose metadata does not
// decode are logged and left out of Members and Servers.
package gossip
