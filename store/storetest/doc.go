// Package storetest is the conformance suite every store backend must pass
// (store/memory, store/sqlite, store/postgres), plus helpers for tamper
// tests and benchmarks. It is test support: only _test.go files import it.
//
// # Overview
//
// [Run] runs every operation of the contract against fresh stores from a
// factory, including the concurrency properties: 100 goroutines consuming
// one challenge (exactly one wins), concurrent TakeTry and
// AddPINFailure counts (exact, and the lock set at the max-th failure
// only), concurrent UpdateUser (no lost updates) and concurrent audit
// appends (a gap-free, valid chain). [RunReplicas] runs the same races
// across two stores on one database. [SeedAudit] and [ExpectBreak] serve
// backend-specific tamper tests; [BenchChallenges], [BenchAuditAppend]
// and [BenchVerify] the benchmarks.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return memory.New(memory.Options{}) })
//	}
package storetest
