// Package config turns configuration files, SKIFF_* environment variables and
// command-line flags into plain typed structs with defaults and validation.
//
// It is the only package in Skiff that imports spf13/viper, and it only ever
// uses a fresh viper instance per load: nothing here keeps global state, so
// tests may load many configurations in parallel. The rest of the code base
// receives a validated [Server] or [Client] value and never sees viper.
//
// Sources are layered with this precedence, highest first:
//
//  1. flags explicitly set on the command line (--data-dir, --raft-heartbeat-timeout, ...),
//  2. environment variables (SKIFF_DATA_DIR, SKIFF_RAFT_HEARTBEAT_TIMEOUT, ...),
//  3. the YAML file given with --config,
//  4. the defaults of [DefaultServer].
//
// A flag name is its key with '_' and '.' replaced by '-'; an environment
// variable is SKIFF_ followed by the key in upper case with '.' replaced by
// '_'. Unknown keys in a file are errors; unknown SKIFF_* variables are
// ignored because the client and server share the prefix (SKIFF_SERVER).
//
// [ServerKeys] and [WorkerKeys] describe every key from the same tables the
// loader and the flags use; internal/gendocs renders them as
// docs/config-reference.md (make docs).
package config
