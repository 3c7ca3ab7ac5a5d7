// Package bench drives complete signing flows (RequestOTP, then Sign)
// against any [roamsign.API] and measures them: flows and signatures per
// second and latency percentiles. Its benchmarks (bench_test.go) assemble
// the service in-process on SoftHSM2 (PKCS#11) with SQLite or PostgreSQL
// behind HTTPS and compare it with raw baselines measured in the same run;
// its fault tests kill, starve and disconnect the real parts under load.
// The load generator in bench/loadgen points the same runner at a
// deployment.
//
// # Overview
//
// [Run] starts Config.Hosts workers, each acting as one host system that
// repeatedly requests a challenge for Config.Hashes hashes, fetches the
// OTP from an [OTPSource] and signs. It stops after Config.Duration or
// Config.Count flows, whichever comes first, and returns a [Result].
// [CheckRaw] verifies raw signatures against the returned certificate, so a
// run can prove that no wrong signature was returned.
//
// # Concurrency
//
// Run is safe to call from several goroutines; the OTPSource must be safe
// for concurrent use.
//
// # Limitations
//
// A deployment's per-user OTP rate limit bounds flows per user; give each
// worker its own user or raise the limit on a test deployment.
package bench
