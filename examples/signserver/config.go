package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/transport/csc"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// Config is the sign server's configuration. Every field has a documented
// default that makes the server run with no set-up (development mode on
// loopback); production deployments switch parts by configuration only.
//
// Values come, lowest precedence first, from the defaults, a JSON file
// (-config or ROAMSIGN_CONFIG), environment variables (ROAMSIGN_ + the
// field's env name) and command-line flags. A field's group tag (see
// flagGroup) says which commands besides serve declare its flag.
type Config struct {
	// Listen is the HTTPS address. Default 127.0.0.1:8443 (loopback only).
	Listen string `json:"listen" env:"LISTEN" flag:"listen" group:"ca" usage:"HTTPS listen address"`
	// OpsListen serves /healthz, /readyz and /metrics. Default 127.0.0.1:9090.
	OpsListen string `json:"opsListen" env:"OPS_LISTEN" flag:"ops-listen" usage:"health and metrics listen address"`
	// DataDir holds the SQLite database, the software key store, the
	// development CA and TLS files. Default ./signserver-data.
	DataDir string `json:"dataDir" env:"DATA_DIR" flag:"data-dir" group:"data" usage:"data directory"`
	// PublicURL is the base URL put into certificates (CRL endpoint). Default
	// derived from Listen.
	PublicURL string `json:"publicURL" env:"PUBLIC_URL" flag:"public-url" group:"ca" usage:"public base URL (CRL distribution point)"`

	// TLSCert and TLSKey name PEM files; empty: a development certificate
	// issued by the development CA.
	TLSCert string `json:"tlsCert" env:"TLS_CERT" flag:"tls-cert" usage:"TLS certificate chain (PEM)"`
	TLSKey  string `json:"tlsKey" env:"TLS_KEY" flag:"tls-key" usage:"TLS private key (PEM)"`
	// ClientCA names a PEM bundle of CAs for host mTLS client certificates;
	// empty: mTLS off (API keys only).
	ClientCA string `json:"clientCA" env:"CLIENT_CA" flag:"client-ca" usage:"CA bundle for host client certificates (mTLS)"`
	// APIKeys maps host ids to API keys: "host=sha256:HEX,host2=…", each
	// key given by the hex SHA-256 digest that `signserver apikey new`
	// prints, or in clear ("host=key"). Outside dev mode a clear key is
	// refused on the command line, where ps shows it to every user of the
	// machine. In dev mode a key for host "demo" is generated into DataDir.
	APIKeys string `json:"apiKeys" env:"API_KEYS" flag:"api-keys" usage:"host API keys: host=sha256:HEX,... (digests; clear keys only in dev mode or from a file)"`
	// APIKeysFile names a file of host API keys, one "host=sha256:HEX" or
	// "host=key" per line ('#' starts a comment), readable by its owner
	// only (mode 0600).
	APIKeysFile string `json:"apiKeysFile" env:"API_KEYS_FILE" flag:"api-keys-file" usage:"file of host API keys, host=sha256:HEX or host=key per line (mode 0600)"`
	// AdminKeys and AdminKeysFile configure the administrators' keys for
	// /v1/admin/ the same way ("name=sha256:HEX"). Without them the admin
	// API refuses every call, except in dev mode, where a key for "admin"
	// is generated into DataDir.
	AdminKeys     string `json:"adminKeys" env:"ADMIN_KEYS" flag:"admin-keys" usage:"administrator API keys: name=sha256:HEX,..."`
	AdminKeysFile string `json:"adminKeysFile" env:"ADMIN_KEYS_FILE" flag:"admin-keys-file" usage:"file of administrator API keys, name=sha256:HEX or name=key per line (mode 0600)"`
	// AdminCerts names the administrators' mTLS client certificates for
	// /v1/admin/: "name=sha256:HEX,...", each the SHA-256 of a
	// certificate's DER, which must also verify to ClientCA. A client
	// certificate not listed never opens the admin API (hosts' certificates
	// verify to the same CAs).
	AdminCerts string `json:"adminCerts" env:"ADMIN_CERTS" flag:"admin-certs" usage:"administrator client certificates (mTLS, verified to -client-ca): name=sha256:HEX of the certificate,..."`

	// PKCS11URI selects a PKCS#11 key store (RFC 7512 URI with module-path
	// and pin-source); empty: the encrypted software key store in DataDir.
	PKCS11URI string `json:"pkcs11URI" env:"PKCS11_URI" flag:"pkcs11-uri" group:"store" usage:"PKCS#11 key store URI"`
	// KeyPassphraseFile holds the software key store passphrase (one line,
	// mode 0600, outside DataDir when not in dev mode). Empty: the
	// passphrase comes from KeyPassphrase, then from the systemd credential
	// roamsign-key-passphrase, and in dev mode only from a random
	// passphrase kept in DataDir. See keyPassphrase.
	KeyPassphraseFile string `json:"keyPassphraseFile" env:"KEY_PASSPHRASE_FILE" flag:"key-passphrase-file" group:"store" usage:"software key store passphrase file (mode 0600, outside the data directory)"`
	// KeyPassphrase is the software key store passphrase itself. It is read
	// from the environment only (ROAMSIGN_KEY_PASSPHRASE): a flag would show
	// it to every user of the machine, and a JSON file is what
	// KeyPassphraseFile is for.
	KeyPassphrase roamsign.Secret `json:"-" env:"KEY_PASSPHRASE"`

	// UserCA names a PEM bundle of the trust anchors of the CAs that issue
	// users' certificates: an imported chain (`chain import`, `bulk
	// enrol`, the admin API) must verify to one of them. Outside dev mode
	// chains are refused while it is empty; in dev mode the development
	// CA is an anchor too.
	UserCA string `json:"userCA" env:"USER_CA" flag:"user-ca" group:"enrol" usage:"trust anchors (PEM) of the CAs that issue users' certificates; imported chains must verify to one"`

	// PostgresDSN selects PostgreSQL; empty: SQLite in DataDir.
	PostgresDSN string `json:"postgresDSN" env:"POSTGRES_DSN" flag:"postgres-dsn" group:"store" usage:"PostgreSQL DSN (empty: SQLite)"`

	// SMTP settings for e-mail OTP; SMTPAddr empty: no e-mail sender (dev
	// mode uses the development mailbox).
	SMTPAddr         string `json:"smtpAddr" env:"SMTP_ADDR" flag:"smtp-addr" usage:"SMTP server host:port"`
	SMTPUsername     string `json:"smtpUsername" env:"SMTP_USERNAME" flag:"smtp-username" usage:"SMTP user"`
	SMTPPasswordFile string `json:"smtpPasswordFile" env:"SMTP_PASSWORD_FILE" flag:"smtp-password-file" usage:"file holding the SMTP password"`
	SMTPFrom         string `json:"smtpFrom" env:"SMTP_FROM" flag:"smtp-from" usage:"sender address of OTP mail"`
	// SMTPSecurity is "starttls" (default), "tls" (implicit) or "none" (loopback only).
	SMTPSecurity string `json:"smtpSecurity" env:"SMTP_SECURITY" flag:"smtp-security" usage:"starttls, tls or none"`
	// SMTPCA names a PEM bundle of the CAs the SMTP server's certificate
	// must chain to (an agency's internal mail relay); empty: the system's
	// trust store.
	SMTPCA string `json:"smtpCA" env:"SMTP_CA" flag:"smtp-ca" usage:"CA bundle (PEM) for the SMTP server's certificate (empty: the system's)"`

	// PushURL is the app push gateway, https (http only in dev mode: the
	// OTP travels in the request); empty: no app channel.
	PushURL        string `json:"pushURL" env:"PUSH_URL" flag:"push-url" usage:"push gateway URL"`
	PushSecretFile string `json:"pushSecretFile" env:"PUSH_SECRET_FILE" flag:"push-secret-file" usage:"file holding the push HMAC secret"`
	// AllowEmail permits the e-mail channel (weaker than app push). Default true.
	AllowEmail bool `json:"allowEmail" env:"ALLOW_EMAIL" flag:"allow-email" usage:"allow e-mail OTP delivery"`

	// Argon2 PIN verifier parameters. Defaults (OWASP's second set): 2
	// passes, 19 MiB, 1 lane.
	Argon2Time      uint32 `json:"argon2Time" env:"ARGON2_TIME" flag:"argon2-time" group:"pin" usage:"Argon2id passes"`
	Argon2MemoryKiB uint32 `json:"argon2MemoryKiB" env:"ARGON2_MEMORY_KIB" flag:"argon2-memory-kib" group:"pin" usage:"Argon2id memory (KiB)"`
	Argon2Threads   uint8  `json:"argon2Threads" env:"ARGON2_THREADS" flag:"argon2-threads" group:"pin" usage:"Argon2id lanes"`
	// PINMaxFailures locks a PIN after this many consecutive failures (≤ 10). Default 5.
	PINMaxFailures int `json:"pinMaxFailures" env:"PIN_MAX_FAILURES" flag:"pin-max-failures" group:"pin" usage:"PIN failures before lock (≤10)"`

	// OTPLifetime is how long an OTP is valid (≤ 10m). Default 5m.
	OTPLifetime time.Duration `json:"otpLifetime" env:"OTP_LIFETIME" flag:"otp-lifetime" usage:"OTP lifetime (≤10m)"`
	// OTPMaxTries per challenge. Default 3.
	OTPMaxTries int `json:"otpMaxTries" env:"OTP_MAX_TRIES" flag:"otp-max-tries" usage:"OTP tries per challenge"`
	// RatePerUser limits the challenges issued per user from all hosts
	// together per RateWindow, RatePerUserHost those per user from one host
	// (below the user's total, so one host cannot spend every host's
	// quota), RatePerHost those per host. Defaults 10, 5 and 10000 per 15m;
	// -1 disables a limit.
	RatePerUser     int           `json:"ratePerUser" env:"RATE_PER_USER" flag:"rate-per-user" usage:"OTP challenges per user per window, all hosts (-1: no limit)"`
	RatePerUserHost int           `json:"ratePerUserHost" env:"RATE_PER_USER_HOST" flag:"rate-per-user-host" usage:"OTP challenges per user per window from one host (-1: no limit)"`
	RatePerHost     int           `json:"ratePerHost" env:"RATE_PER_HOST" flag:"rate-per-host" usage:"OTP challenges per host per window (-1: no limit)"`
	RateWindow      time.Duration `json:"rateWindow" env:"RATE_WINDOW" flag:"rate-window" usage:"rate-limit window"`

	// AuditAnchorFile is the append-only file to which the server writes
	// each signed audit checkpoint, outside the database, and against which
	// `audit verify` checks the chain. Default
	// DataDir/audit-anchors/checkpoints.jsonl; in production put it where
	// the database's writers cannot reach (another machine's mount, a
	// file with the append-only attribute, a log shipper's input).
	AuditAnchorFile string `json:"auditAnchorFile" env:"AUDIT_ANCHOR_FILE" flag:"audit-anchor-file" group:"audit" usage:"append-only file of signed audit checkpoints, kept outside the database"`
	// AuditCheckpointInterval is how often the server checkpoints the audit
	// chain when it has grown (and once more at shutdown); records newer
	// than the last checkpoint are not anchored yet. Default 1m; 0 turns
	// anchoring off.
	AuditCheckpointInterval time.Duration `json:"auditCheckpointInterval" env:"AUDIT_CHECKPOINT_INTERVAL" flag:"audit-checkpoint-interval" usage:"audit checkpoint interval (0: off)"`

	// TSAURL lists the RFC 3161 time-stamping authorities that stamp
	// signatures, in order of preference with fail-over: comma-separated,
	// or the flag given once per authority; each URL may be followed by
	// ";quota=N/DURATION" (the authority's published limit, never
	// exceeded) and ";policy=OID". Empty: none, except in dev mode, where
	// a development TSA is started on a loopback port.
	TSAURL string `json:"tsaURL" env:"TSA_URL" flag:"tsa-url" repeat:"true" usage:"RFC 3161 time-stamping authority URL[;quota=N/DURATION][;policy=OID]; repeat or comma-separate for fail-over (dev mode default: a development TSA)"`
	// TSACA names a PEM bundle of the trust anchors of the TSAs'
	// certificates; required with TSAURL.
	TSACA string `json:"tsaCA" env:"TSA_CA" flag:"tsa-ca" usage:"trust anchors of the TSAs' certificates (PEM)"`
	// PAdESLevel is the level of the PDFs the host demo signs: B-B, B-T
	// (a signature time-stamp), B-LT (plus a /DSS of validated material)
	// or B-LTA (plus a document time-stamp). Default: B-LTA when a TSA is
	// configured (dev mode: the development TSA), else B-B.
	PAdESLevel string `json:"padesLevel" env:"PADES_LEVEL" flag:"pades-level" usage:"PAdES level of the demo's PDFs: B-B, B-T, B-LT or B-LTA (default B-LTA with a TSA, as in dev mode)"`
	// DemoMaxUploadMB is the largest PDF the host demo accepts for
	// signing, in megabytes of 1,000,000 bytes: 1 to 2000. An upload is
	// streamed to disk, so the limit bounds the disk, not the memory, it
	// takes. Default 1000 (1 GB).
	DemoMaxUploadMB int `json:"demoMaxUploadMB" env:"DEMO_MAX_UPLOAD_MB" flag:"demo-max-upload-mb" usage:"largest PDF the host demo accepts, in MB (1 to 2000)"`

	// CSCPolicy is what the CSC face does with credentials/getChallenge
	// (v1: credentials/sendOTP) without hashes: "strict" refuses it;
	// "compatible" sends an OTP bound to the credential only and binds
	// the hashes at credentials/authorize, with the service's late
	// binding (audited as such), so that unmodified CSC clients work.
	// Default: compatible in dev mode, strict otherwise.
	CSCPolicy string `json:"cscPolicy" env:"CSC_POLICY" flag:"csc-policy" usage:"CSC getChallenge without hashes: strict (refuse) or compatible (OTP for the credential, hashes bound at authorize); default compatible in dev mode, else strict"`

	// CSCClientsFile names a JSON file of the CSC face's OAuth 2.0 clients
	// (csc.ParseClients: id, name, host, secretSHA256, redirectURIs,
	// scopes). Outside dev mode a redirect URI must be https, or http on
	// a loopback address. Empty: no clients but, in dev mode, the demo
	// client.
	CSCClientsFile string `json:"cscClientsFile" env:"CSC_CLIENTS_FILE" flag:"csc-clients-file" usage:"JSON file of CSC OAuth 2.0 clients (id, name, host, secretSHA256, redirectURIs, scopes)"`

	// Dev enables development mode: development CA, demo users, the
	// development mailbox and the host demo page. Default true; turn it off
	// in production.
	Dev bool `json:"dev" env:"DEV" flag:"dev" group:"store" usage:"development mode (demo users, dev mailbox, host demo)"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `json:"logLevel" env:"LOG_LEVEL" flag:"log-level" group:"data" usage:"log level"`

	// onCommandLine holds the flags given on the command line, where every
	// user of the machine can read them (ps); secrets must come otherwise.
	onCommandLine map[string]bool
	// credentialsDir is systemd's $CREDENTIALS_DIRECTORY (LoadCredential=,
	// SetCredentialEncrypted=), where secrets are handed to the service
	// outside the data directory; empty when not run by systemd.
	credentialsDir string
}

// defaultConfig returns the embedded defaults.
func defaultConfig() Config {
	return Config{
		Listen:                  "127.0.0.1:8443",
		OpsListen:               "127.0.0.1:9090",
		DataDir:                 "signserver-data",
		SMTPSecurity:            "starttls",
		AllowEmail:              true,
		Argon2Time:              2,
		Argon2MemoryKiB:         19 * 1024,
		Argon2Threads:           1,
		PINMaxFailures:          5,
		OTPLifetime:             5 * time.Minute,
		OTPMaxTries:             3,
		RatePerUser:             10,
		RatePerUserHost:         5,
		RatePerHost:             10000,
		RateWindow:              15 * time.Minute,
		Dev:                     true,
		AuditCheckpointInterval: time.Minute,
		LogLevel:                "info",
		DemoMaxUploadMB:         demoDefaultMaxUploadMB,
	}
}

// Validate checks limits that the security model fixes.
func (c *Config) Validate() error {
	switch {
	case c.PINMaxFailures < 1 || c.PINMaxFailures > 10:
		return fmt.Errorf("pin-max-failures must be 1..10, got %d", c.PINMaxFailures)
	case c.OTPLifetime <= 0 || c.OTPLifetime > 10*time.Minute:
		return fmt.Errorf("otp-lifetime must be in (0, 10m], got %v", c.OTPLifetime)
	case c.OTPMaxTries < 1 || c.OTPMaxTries > 10:
		return fmt.Errorf("otp-max-tries must be 1..10, got %d", c.OTPMaxTries)
	case c.Argon2Time < 1 || c.Argon2MemoryKiB < 8*1024 || c.Argon2Threads < 1:
		return fmt.Errorf("argon2 parameters too weak (time %d, memory %d KiB, threads %d)", c.Argon2Time, c.Argon2MemoryKiB, c.Argon2Threads)
	case c.SMTPSecurity != "starttls" && c.SMTPSecurity != "tls" && c.SMTPSecurity != "none":
		return fmt.Errorf("smtp-security must be starttls, tls or none, got %q", c.SMTPSecurity)
	case c.Listen == "":
		return fmt.Errorf("listen address is empty")
	case c.DemoMaxUploadMB < 1 || c.DemoMaxUploadMB > 2000:
		return fmt.Errorf("demo-max-upload-mb must be 1..2000, got %d", c.DemoMaxUploadMB)
	case c.PushURL != "" && otp.CheckPushURL(c.PushURL, c.Dev) != nil:
		return fmt.Errorf("-push-url: %s", httpapi.PublicDetail(otp.CheckPushURL(c.PushURL, c.Dev)))
	case c.CSCPolicy != "" && c.CSCPolicy != "strict" && c.CSCPolicy != "compatible":
		return fmt.Errorf("csc-policy must be strict or compatible, got %q", c.CSCPolicy)
	case c.CSCClientsFile != "":
		if _, err := loadCSCClients(c.CSCClientsFile, c.Dev); err != nil {
			return err
		}
	case c.AuditCheckpointInterval < 0 || c.AuditCheckpointInterval > 0 && c.AuditCheckpointInterval < time.Second:
		return fmt.Errorf("audit-checkpoint-interval must be 0 (off) or at least 1s, got %v", c.AuditCheckpointInterval)
	}
	return nil
}

// loadConfig builds the configuration from defaults, file, environment and
// flags (in that order of increasing precedence).
//
// Only the flags of groups are declared on fs (all of them when groups is
// empty, as for serve); the file and the environment still set every
// field.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string, groups ...flagGroup) (Config, error) {
	cfg := defaultConfig()
	configPath := new(string)
	if len(groups) == 0 || slices.Contains(groups, groupFile) {
		configPath = fs.String("config", getenv("ROAMSIGN_CONFIG"), "JSON configuration file (env ROAMSIGN_CONFIG)")
	} else {
		*configPath = getenv("ROAMSIGN_CONFIG")
	}
	bindFlags(fs, &cfg, groups)
	if err := fs.Parse(args); err != nil {
		return cfg, flagError{err}
	}
	if *configPath != "" {
		f, err := os.Open(*configPath)
		if err != nil {
			return cfg, err
		}
		dec := json.NewDecoder(io.LimitReader(f, 1<<20))
		dec.DisallowUnknownFields()
		err = dec.Decode(&cfg)
		f.Close()
		if err != nil {
			return cfg, fmt.Errorf("config %s: %w", *configPath, err)
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, err
	}
	cfg.credentialsDir = getenv("CREDENTIALS_DIRECTORY")
	// Flags given on the command line win.
	var ferr error
	cfg.onCommandLine = map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		cfg.onCommandLine[f.Name] = true
		// Subcommand flags (-json, -quiet, -user, ...) share the flag set
		// but are not configuration.
		if f.Name == "config" || ferr != nil || !isConfigFlag(f.Name) {
			return
		}
		ferr = setFlag(&cfg, f.Name, f.Value.String())
	})
	if ferr != nil {
		return cfg, ferr
	}
	return cfg, cfg.Validate()
}

// flagGroup names a group of configuration flags (a Config field's
// group tag) that a command declares: a one-shot command lists in its -h
// only the settings it uses.
type flagGroup string

const (
	groupFile  flagGroup = "file"  // -config
	groupData  flagGroup = "data"  // the data directory and the log level
	groupStore flagGroup = "store" // the key store, the database and dev mode: what opening the parts needs
	groupPIN   flagGroup = "pin"   // the PIN verifier parameters and failure limit
	groupCA    flagGroup = "ca"    // the addresses the development CA names in certificates
	groupAudit flagGroup = "audit" // the audit anchor file
	groupEnrol flagGroup = "enrol" // the user CAs that imported chains must verify to
	groupServe flagGroup = "serve" // the fields without a group tag: serve's alone
)

// flagError is an error of the command line itself (an unknown flag, a
// missing value), as the flag package reports it.
type flagError struct{ err error }

func (e flagError) Error() string { return e.err.Error() }
func (e flagError) Unwrap() error { return e.err }

// bindFlags declares one flag per tagged field of groups (every group
// when groups is empty); the parsed values are read back through fs.Visit
// so that only explicitly given flags override.
func bindFlags(fs *flag.FlagSet, defaults *Config, groups []flagGroup) {
	v := reflect.ValueOf(defaults).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		group := flagGroup(f.Tag.Get("group"))
		if group == "" {
			group = groupServe
		}
		if len(groups) > 0 && !slices.Contains(groups, group) {
			continue
		}
		def := fmt.Sprint(v.Field(i).Interface())
		if f.Type.Kind() == reflect.Bool {
			fs.Bool(name, v.Field(i).Bool(), f.Tag.Get("usage"))
			continue
		}
		if f.Tag.Get("repeat") != "" {
			fs.Var(&listFlag{def: def}, name, f.Tag.Get("usage")+" (env ROAMSIGN_"+f.Tag.Get("env")+")")
			continue
		}
		fs.String(name, def, f.Tag.Get("usage")+" (env ROAMSIGN_"+f.Tag.Get("env")+")")
	}
}

// listFlag is a flag that may be given several times: its value is the
// comma-separated list of the values given (the default until the first).
type listFlag struct {
	def  string
	vals []string
}

func (l *listFlag) String() string {
	if l == nil || l.vals == nil {
		return l.defValue()
	}
	return strings.Join(l.vals, ",")
}

func (l *listFlag) defValue() string {
	if l == nil {
		return ""
	}
	return l.def
}

func (l *listFlag) Set(v string) error {
	l.vals = append(l.vals, v)
	return nil
}

// fieldIndex returns the index of the Config field whose tag key has
// value name, or -1.
func fieldIndex(key, name string) int {
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		if name != "" && t.Field(i).Tag.Get(key) == name {
			return i
		}
	}
	return -1
}

// isConfigFlag reports whether name is the flag of a Config field.
func isConfigFlag(name string) bool { return fieldIndex("flag", name) >= 0 }

func applyEnv(cfg *Config, getenv func(string) string) error {
	t := reflect.TypeOf(*cfg)
	for i := 0; i < t.NumField(); i++ {
		env := t.Field(i).Tag.Get("env")
		if env == "" {
			continue
		}
		if val := getenv("ROAMSIGN_" + env); val != "" {
			if err := setField(cfg, i, val, "ROAMSIGN_"+env); err != nil {
				return err
			}
		}
	}
	return nil
}

// setFlag sets the field of the flag called name.
func setFlag(cfg *Config, name, val string) error {
	i := fieldIndex("flag", name)
	if i < 0 {
		return fmt.Errorf("-%s: unknown setting", name)
	}
	return setField(cfg, i, val, "-"+name)
}

// setField parses val into field i of cfg; source names where val came
// from, for the error message (which never repeats a secret's value).
func setField(cfg *Config, i int, val, source string) error {
	fv := reflect.ValueOf(cfg).Elem().Field(i)
	switch fv.Interface().(type) {
	case string, roamsign.Secret:
		fv.SetString(val)
	case bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean", source, val)
		}
		fv.SetBool(b)
	case int:
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("%s: %q is not a number", source, val)
		}
		fv.SetInt(int64(n))
	case uint32, uint8:
		n, err := strconv.ParseUint(val, 10, fv.Type().Bits())
		if err != nil {
			return fmt.Errorf("%s: %q is not a number", source, val)
		}
		fv.SetUint(n)
	case time.Duration:
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("%s: %q is not a duration", source, val)
		}
		fv.SetInt(int64(d))
	default:
		return fmt.Errorf("%s: unsupported field type", strings.TrimSpace(source))
	}
	return nil
}

// cscPolicy is the CSC face's policy: CSCPolicy, else compatible in dev
// mode and strict otherwise.
func (c *Config) cscPolicy() csc.Policy {
	if p, err := csc.ParsePolicy(c.CSCPolicy); err == nil {
		return p
	}
	if c.Dev {
		return csc.PolicyCompatible
	}
	return csc.PolicyStrict
}
