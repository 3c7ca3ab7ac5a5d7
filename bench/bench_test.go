package bench_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/pgtest"
	"github.com/roamsign/roamsign/internal/proctime"
	"github.com/roamsign/roamsign/internal/softhsmtest"
)

// figures collects the benchmark results for the ratio table that
// TestMain prints after a -bench run.
var figures = struct {
	sync.Mutex
	m map[string]float64
}{m: map[string]float64{}}

func record(name string, v float64) {
	figures.Lock()
	figures.m[name] = v
	figures.Unlock()
}

func TestMain(m *testing.M) {
	if os.Getenv(burnEnv) != "" {
		burnCPU()
		os.Exit(0)
	}
	code := m.Run()
	printRatios()
	if pg.c != nil {
		_ = pg.c.Stop()
	}
	os.Exit(code)
}

func printRatios() {
	figures.Lock()
	defer figures.Unlock()
	if len(figures.m) == 0 {
		return
	}
	names := make([]string, 0, len(figures.m))
	for n := range figures.m {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Println("\n## measured")
	for _, n := range names {
		fmt.Printf("| %-44s | %12.2f |\n", n, figures.m[n])
	}
	fmt.Println("\n## ratios")
	for _, alg := range []string{"rsa2048", "p256"} {
		raw := figures.m["raw-softhsm/"+alg+" sigs/s"]
		for _, st := range []string{"sqlite", "postgres"} {
			for _, n := range []int{1, 10, 100, 1000} {
				for _, hosts := range batchHosts {
					k := fmt.Sprintf("batch/%s/%s/n=%d/hosts=%d ", st, alg, n, hosts)
					v := figures.m[k+"sigs/s"]
					if v == 0 {
						continue
					}
					mark := ""
					if n == 100 {
						mark = "  (target >= 0.85)"
					}
					fmt.Printf("| batch-%d %s %s hosts=%d / raw SoftHSM (baseline run) | %s | / raw SoftHSM (measured right after) | %s |%s\n",
						n, st, alg, hosts, ratio(v, raw), ratio(v, figures.m[k+"raw-softhsm-now sigs/s"]), mark)
				}
			}
		}
		if g := figures.m["raw-go/"+alg+" sigs/s"]; g != 0 && raw != 0 {
			fmt.Printf("| raw SoftHSM / crypto (Go) %s | %s |\n", alg, ratio(raw, g))
		}
	}
	for _, st := range []string{"sqlite", "postgres"} {
		for _, alg := range []string{"rsa2048", "p256"} {
			for _, h := range []int{1, 8, 64} {
				p := fmt.Sprintf("flows/%s/%s/hosts=%d ", st, alg, h)
				p50, p99 := figures.m[p+"sign-p50-ms"], figures.m[p+"sign-p99-ms"]
				if p50 == 0 {
					continue
				}
				mark := ""
				if h == 64 {
					mark = "  (target <= 3)"
				}
				fmt.Printf("| sign p99/p50 %s %s hosts=%d | %.2f |%s\n", st, alg, h, p99/p50, mark)
			}
		}
	}
	for _, alg := range []string{"rsa2048", "p256"} {
		for _, n := range pdfBatches {
			k := fmt.Sprintf("/%s/docs=%d docs/s", alg, n)
			if v := figures.m["pdf/roamsign"+k]; v != 0 {
				fmt.Printf("| PDF batch of %d, %s: roamsign flow / pdfsign local | %s |\n", n, alg, ratio(v, figures.m["pdf/pdfsign-local"+k]))
			}
		}
	}
	if one, two := figures.m["replicas=1 flows/s"], figures.m["replicas=2 flows/s"]; one != 0 && two != 0 {
		fmt.Printf("| two replicas on one PostgreSQL / one replica (flows/s) | %s |\n", ratio(two, one))
	}
	fmt.Printf("| peak RSS (VmHWM) MiB | %.1f |\n", float64(bench.PeakRSS())/(1<<20))
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// TestSmoke runs a few complete flows over HTTPS against SoftHSM2 and
// SQLite and verifies every signature. It is the only part of the harness
// that runs without -bench.
func TestSmoke(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	users := d.enrol(t, roamsign.ECP256, 2)
	res, err := bench.Run(context.Background(), bench.Config{
		API: d.client, Users: users, OTP: d.mail, Hosts: 2, Hashes: 3, Count: 6, Duration: 30 * time.Second, Check: bench.CheckRaw,
	})
	require.NoError(t, err)
	require.True(t, res.Flows == 6 && res.Failed == 0 && res.Wrong == 0 && res.Signatures == 18, "want 6 good flows of 3 signatures: %s", res)
	require.Positive(t, res.Sign.P50, "latencies: %+v", res.Sign)
	require.GreaterOrEqual(t, res.Sign.P99, res.Sign.P50, "latencies: %+v", res.Sign)
	d.auditIntact(t)
	require.Positive(t, bench.PeakRSS(), "VmHWM not readable from /proc/self/status")
}

// TestCheckRawRejectsWrongSignature makes sure the check the runner relies
// on can fail.
func TestCheckRawRejectsWrongSignature(t *testing.T) {
	d := newDeployment(t, deployOpts{})
	users := d.enrol(t, roamsign.ECP256, 1)
	hs := bench.RandomHashes(2)
	out, _, err := bench.Flow(context.Background(), d.client, d.mail, users[0], hs, roamsign.FormRaw)
	require.NoError(t, err)
	require.NoError(t, bench.CheckRaw(out, hs), "good signatures")
	require.NoError(t, bench.CheckRawSignature(out.Chain, hs[1], out.Items[1].Signature), "a good signature")
	hs[1].Value[0] ^= 1
	require.ErrorIs(t, bench.CheckRaw(out, hs), roamsign.ErrInvalidSignature, "signature over another hash")
	require.ErrorIs(t, bench.CheckRawSignature(out.Chain, hs[1], out.Items[1].Signature), roamsign.ErrInvalidSignature, "signature over another hash")
}

var algs = []struct {
	name string
	alg  roamsign.KeyAlgorithm
}{{"rsa2048", roamsign.RSA2048}, {"p256", roamsign.ECP256}}

// pg is the PostgreSQL cluster shared by the benchmarks, started on first use.
var pg struct {
	sync.Mutex
	c *pgtest.Cluster
	n int
}

func pgDatabase(tb testing.TB) string {
	tb.Helper()
	pg.Lock()
	defer pg.Unlock()
	ctx := context.Background()
	if pg.c == nil {
		c, err := pgtest.StartCluster(ctx)
		require.NoError(tb, err, "PostgreSQL")
		pg.c = c
	}
	pg.n++
	name := fmt.Sprintf("bench_%d_%d", os.Getpid(), pg.n)
	conn, err := pgx.Connect(ctx, pg.c.DSN)
	require.NoError(tb, err)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	return strings.Replace(pg.c.DSN, "/postgres?", "/"+name+"?", 1)
}

func storeOpts(tb testing.TB, st string) deployOpts {
	if st == "postgres" {
		return deployOpts{Store: "postgres", DSN: pgDatabase(tb), DBServerPID: pgServerPID(tb)}
	}
	return deployOpts{}
}

// pgServerPID returns the pid of the shared cluster's postmaster, whose
// process tree (its backends included) does the database's work.
func pgServerPID(tb testing.TB) int {
	tb.Helper()
	pg.Lock()
	defer pg.Unlock()
	b, err := os.ReadFile(filepath.Join(pg.c.Dir, "data", "postmaster.pid"))
	require.NoError(tb, err)
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	require.NoError(tb, err, "postmaster.pid")
	return pid
}

// BenchmarkBaseline measures the raw signing rates the system is compared
// with: a miekg/pkcs11 loop on SoftHSM2 with as many sessions as the
// service's pool, and crypto/rsa and crypto/ecdsa with as many goroutines.
func BenchmarkBaseline(b *testing.B) {
	d := newDeployment(b, deployOpts{})
	sessions := d.keys.Sessions()
	users := map[roamsign.KeyAlgorithm]bench.User{}
	for _, a := range algs {
		users[a.alg] = d.enrol(b, a.alg, 1)[0]
	}
	p := softhsmtest.Module(b)
	for _, a := range algs {
		b.Run("raw-softhsm/"+a.name, func(b *testing.B) {
			sign := rawSigner(b, d, p, sessions, a.alg, users[a.alg])
			rate := split(b, sessions, sign)
			record("raw-softhsm/"+a.name+" sigs/s", rate)
		})
		b.Run("raw-go/"+a.name, func(b *testing.B) {
			var k crypto.Signer
			if a.alg == roamsign.RSA2048 {
				k, _ = rsa.GenerateKey(rand.Reader, 2048)
			} else {
				k, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			}
			digest := make([]byte, 32)
			rate := split(b, sessions, func(int) error {
				_, err := k.Sign(rand.Reader, digest, crypto.SHA256)
				return err
			})
			record("raw-go/"+a.name+" sigs/s", rate)
		})
	}
}

// rawSigner returns a function that signs one SHA-256 digest on session w
// of sessions, with miekg/pkcs11 directly on the deployment's token and
// the very key the service signs with for u.
func rawSigner(tb testing.TB, d *deployment, p *pkcs11.Ctx, sessions int, alg roamsign.KeyAlgorithm, u bench.User) func(w int) error {
	ss := make([]pkcs11.SessionHandle, sessions)
	for i := range ss {
		ss[i] = d.tok.Session(tb, p)
	}
	rec, err := d.st.GetUser(context.Background(), u.ID)
	require.NoError(tb, err)
	key := findKey(tb, p, ss[0], rec.KeyRef)
	digest := make([]byte, 32)
	_, _ = rand.Read(digest)
	mech, in := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, digest
	if alg == roamsign.RSA2048 {
		mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}
		in = append([]byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, digest...)
	}
	return func(w int) error {
		if err := p.SignInit(ss[w], mech, key); err != nil {
			return err
		}
		_, err := p.Sign(ss[w], in)
		return err
	}
}

// rate is a signing rate and the process CPU time spent per signature.
type rate struct {
	perSec    float64
	cpuPerSig time.Duration
}

// mean averages two measurements of the same thing.
func (r rate) mean(o rate) rate {
	return rate{(r.perSec + o.perSec) / 2, (r.cpuPerSig + o.cpuPerSig) / 2}
}

// rawRate runs sign on workers goroutines for about dur and returns the
// rate. It measures the raw rate at the same moment as the system figure
// it is compared with, since the machine's load varies.
func rawRate(tb testing.TB, workers int, dur time.Duration, sign func(w int) error) rate {
	var n atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	t0, c0 := time.Now(), proctime.CPU()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for time.Since(t0) < dur {
				if err := sign(w); err != nil {
					failed.Store(err)
					return
				}
				n.Add(1)
			}
		}(w)
	}
	wg.Wait()
	el, cpu := time.Since(t0), proctime.CPU()-c0
	if err := failed.Load(); err != nil {
		tb.Fatal(err)
	}
	return rate{float64(n.Load()) / el.Seconds(), cpu / time.Duration(max(n.Load(), 1))}
}

// split runs b.N calls of fn on workers goroutines (fn gets the worker
// index) and reports and returns calls per second.
func split(b *testing.B, workers int, fn func(w int) error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	t0 := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := fn(w); err != nil {
					failed.Store(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	el := time.Since(t0)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	rate := float64(b.N) / el.Seconds()
	b.ReportMetric(rate, "sigs/s")
	return rate
}

// findKey returns the private key whose CKA_ID is id (the hsm package's
// key id, which the service stores as the user's key reference).
func findKey(tb testing.TB, p *pkcs11.Ctx, s pkcs11.SessionHandle, id string) pkcs11.ObjectHandle {
	tb.Helper()
	if err := p.FindObjectsInit(s, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
	}); err != nil {
		tb.Fatal(err)
	}
	hs, _, err := p.FindObjects(s, 2)
	_ = p.FindObjectsFinal(s)
	if err != nil || len(hs) != 1 {
		tb.Fatalf("want one private key with CKA_ID %q in the token, found %d: %v", id, len(hs), err)
	}
	return hs[0]
}

// batchHosts are the numbers of concurrent hosts BenchmarkBatch runs
// batches with: one host at a time (latency-bound: the HSM idles during
// each flow's round trips and commits) and several, as a server sees them.
var batchHosts = []int{1, 4}

// BenchmarkBatch measures signatures per second of complete flows (one
// RequestOTP and one Sign over HTTPS) with batches of 1 to 1000 hashes, from
// one host and from several hosts at once (each host signs as its own
// user). Right after each figure it measures the raw SoftHSM2 rate on the
// same key just before and after (x-raw is the ratio).
func BenchmarkBatch(b *testing.B) {
	for _, st := range []string{"sqlite", "postgres"} {
		b.Run(st, func(b *testing.B) {
			d := newDeployment(b, storeOpts(b, st))
			p := softhsmtest.Module(b)
			for _, a := range algs {
				users := d.enrol(b, a.alg, slices.Max(batchHosts))
				raw := rawSigner(b, d, p, d.keys.Sessions(), a.alg, users[0])
				for _, n := range []int{1, 10, 100, 1000} {
					for _, hosts := range batchHosts {
						name := fmt.Sprintf("%s/n=%d/hosts=%d", a.name, n, hosts)
						b.Run(name, func(b *testing.B) {
							// The raw rate on the same key just before and just after,
							// averaged: the machine's speed drifts within seconds.
							before := rawRate(b, d.keys.Sessions(), 500*time.Millisecond, raw)
							got := batchRate(b, d, users[:hosts], n)
							r := before.mean(rawRate(b, d.keys.Sessions(), 500*time.Millisecond, raw))
							b.ReportMetric(got.perSec/r.perSec, "x-raw")
							b.ReportMetric(float64(r.cpuPerSig)/float64(got.cpuPerSig), "x-raw-cpu")
							k := fmt.Sprintf("batch/%s/%s ", st, name)
							record(k+"sigs/s", got.perSec)
							record(k+"raw-softhsm-now sigs/s", r.perSec)
							record(k+"cpu-us/sig", float64(got.cpuPerSig)/1e3)
							record(k+"raw-cpu-us/sig", float64(r.cpuPerSig)/1e3)
						})
					}
				}
			}
		})
	}
}

// batchRate runs b.N flows of n hashes, spread over one goroutine per
// user, checks the signatures of each host's first flow, and reports and
// returns the signing rate and the CPU time per signature of the whole
// system: this process (client, server, SoftHSM2, SQLite) and, for
// PostgreSQL, the database server's processes.
func batchRate(b *testing.B, d *deployment, users []bench.User, n int) rate {
	ctx := context.Background()
	batches := make([][]roamsign.Hash, b.N)
	for i := range batches {
		batches[i] = bench.RandomHashes(n)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	p0, db0 := d.cpu(b)
	t0 := time.Now()
	for _, u := range users {
		wg.Go(func() {
			first := true
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				out, _, err := bench.Flow(ctx, d.client, d.mail, u, batches[i], roamsign.FormRaw)
				if err == nil && first {
					err = bench.CheckRaw(out, batches[i])
					first = false
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(t0)
	p1, db1 := d.cpu(b)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	cpu := p1 - p0 + db1 - db0
	r := rate{float64(b.N*n) / el.Seconds(), cpu / time.Duration(b.N*n)}
	b.ReportMetric(r.perSec, "sigs/s")
	b.ReportMetric(cpu.Seconds()/el.Seconds(), "cores")
	if d.dbPID != 0 {
		// The database server's share of the system's CPU time.
		b.ReportMetric(float64(db1-db0)/float64(cpu), "db-share")
	}
	return r
}

// BenchmarkFlows measures complete single-hash flows per second at 1, 8
// and 64 concurrent hosts, with p50 and p99 of Sign and of the whole flow.
func BenchmarkFlows(b *testing.B) {
	for _, st := range []string{"sqlite", "postgres"} {
		b.Run(st, func(b *testing.B) {
			d := newDeployment(b, storeOpts(b, st))
			for _, a := range algs {
				users := d.enrol(b, a.alg, 8)
				for _, hosts := range []int{1, 8, 64} {
					b.Run(fmt.Sprintf("%s/hosts=%d", a.name, hosts), func(b *testing.B) {
						ctx := context.Background()
						var mu sync.Mutex
						var signL, flowL []time.Duration
						var next atomic.Int64
						var wg sync.WaitGroup
						var failed atomic.Value
						b.ResetTimer()
						t0 := time.Now()
						for w := 0; w < hosts; w++ {
							wg.Add(1)
							go func(w int) {
								defer wg.Done()
								u := users[w%len(users)]
								for next.Add(1) <= int64(b.N) {
									hs := bench.RandomHashes(1)
									f0 := time.Now()
									_, sd, err := bench.Flow(ctx, d.client, d.mail, u, hs, roamsign.FormRaw)
									fd := time.Since(f0)
									if err != nil {
										failed.Store(err)
										return
									}
									mu.Lock()
									signL, flowL = append(signL, sd), append(flowL, fd)
									mu.Unlock()
								}
							}(w)
						}
						wg.Wait()
						el := time.Since(t0)
						b.StopTimer()
						if err := failed.Load(); err != nil {
							b.Fatal(err)
						}
						sl, fl := bench.Summarise(signL), bench.Summarise(flowL)
						ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
						p := fmt.Sprintf("flows/%s/%s/hosts=%d ", st, a.name, hosts)
						rate := float64(b.N) / el.Seconds()
						b.ReportMetric(rate, "flows/s")
						b.ReportMetric(ms(sl.P50), "sign-p50-ms")
						b.ReportMetric(ms(sl.P99), "sign-p99-ms")
						b.ReportMetric(ms(fl.P99), "flow-p99-ms")
						record(p+"flows/s", rate)
						record(p+"sign-p50-ms", ms(sl.P50))
						record(p+"sign-p99-ms", ms(sl.P99))
						record(p+"flow-p50-ms", ms(fl.P50))
						record(p+"flow-p99-ms", ms(fl.P99))
					})
				}
			}
		})
	}
}

// BenchmarkPIN measures one Argon2id PIN evaluation with the service's
// default parameters (19 MiB, 2 passes) and the cheap test parameters the
// other benchmarks use, so the PIN's share of a flow can be added back.
func BenchmarkPIN(b *testing.B) {
	salt := make([]byte, 16)
	for _, c := range []struct {
		name     string
		mem, tme uint32
	}{{"default-19MiB-t2", 19456, 2}, {"bench-64KiB-t1", apitest.FastPIN.MemoryKiB, apitest.FastPIN.Time}} {
		b.Run(c.name, func(b *testing.B) {
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				argon2.IDKey([]byte(benchPIN), salt, c.tme, c.mem, 1, 32)
			}
			record("pin/"+c.name+" ms", float64(time.Since(t0))/float64(time.Millisecond)/float64(b.N))
		})
	}
}
