// Package memory is an in-memory [store.Store] for unit tests and examples.
//
// # Overview
//
// [New] returns an empty store. It implements the whole contract, including
// the audit hash chain and checkpoints, and passes the same conformance
// suite (store/storetest) as the SQLite and PostgreSQL backends, so code
// tested against it behaves the same on a real database.
//
// # Concurrency
//
// One mutex guards the store; every method is atomic. UpdateUser calls fn
// under that mutex, so fn must not call back into the store.
//
// # Limitations
//
// Nothing survives the process. Times are normalised to UTC microseconds
// like the database backends.
package memory
