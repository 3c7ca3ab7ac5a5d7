package main

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/store"
)

// The audit chain is anchored outside the database: the server appends a
// checkpoint record, signed by a key in the key store (the HSM in
// production), whenever the chain has grown, and writes the same
// checkpoint as one JSON line to an append-only file kept apart from the
// database. Someone who can write the database can drop its triggers, edit
// records and recompute every hash and the head, and the chain then checks
// out on its own; but they can neither sign a checkpoint over the new
// hashes nor reach the anchor file, so `audit verify` finds the newest
// anchored record changed, or missing.

// auditKeyID is the key-store id of the checkpoint signing key.
const auditKeyID = "roamsign-audit-checkpoint"

// auditKey returns the checkpoint signing key, creating it in the key
// store on first use (ECDSA P-256, generated inside the HSM with PKCS#11).
// Replicas starting together on a fresh key store create it under the
// provisioning lock they share (their database, as for the MAC keys), so
// one key exists and every replica signs with it.
func auditKey(ctx context.Context, ks hsm.KeyStore, lock hsm.Locker) (hsm.Key, error) {
	k, err := ks.Key(ctx, auditKeyID)
	if errors.Is(err, roamsign.ErrNotFound) {
		err = lock.WithLock(ctx, hsm.ProvisionLock, func(ctx context.Context) error {
			if k, err = ks.Key(ctx, auditKeyID); !errors.Is(err, roamsign.ErrNotFound) {
				return err
			}
			k, err = ks.Generate(ctx, hsm.GenerateRequest{ID: auditKeyID, Label: "roamsign audit checkpoints", Algorithm: roamsign.ECP256})
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint key: %w", err)
	}
	return k, nil
}

// anchor is one checkpoint as the anchor file keeps it. Seq and Hash name
// the checkpoint record; PrevHash is the Hash of record Seq-1, which the
// signature in Detail covers (see store.Checkpoint).
type anchor struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Hash     []byte    `json:"hash"`
	PrevHash []byte    `json:"prevHash"`
	Detail   string    `json:"detail"`
}

func anchorOf(rec *roamsign.AuditRecord) anchor {
	return anchor{Seq: rec.Seq, Time: rec.Time, Hash: bytes.Clone(rec.Hash), PrevHash: bytes.Clone(rec.PrevHash), Detail: rec.Detail}
}

// verify checks the anchor's signature under pub.
func (a anchor) verify(pub crypto.PublicKey) error {
	return store.VerifyCheckpoint(&roamsign.AuditRecord{Event: roamsign.AuditCheckpoint, Seq: a.Seq, PrevHash: a.PrevHash, Detail: a.Detail}, pub)
}

// anchorFile is an append-only file of anchors, one JSON line each.
type anchorFile struct{ path string }

// maxAnchorLine bounds one line of the anchor file.
const maxAnchorLine = 8 << 10

// check creates the file's directory and opens the file for appending, so
// a mistake in the setting stops the server at start, not at the first
// checkpoint.
func (f anchorFile) check() error {
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return err
	}
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return fh.Close()
}

// Append adds a to the file and syncs it.
func (f anchorFile) Append(a anchor) error {
	line, err := json.Marshal(a)
	if err != nil {
		return err
	}
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = fh.Write(append(line, '\n'))
	if err == nil {
		err = fh.Sync()
	}
	return errors.Join(err, fh.Close())
}

// Latest returns the newest complete anchor of the file, or nil when the
// file does not exist or holds none. A last line cut short (a crash while
// writing) is skipped. Only the end of the file is read.
func (f anchorFile) Latest() (*anchor, error) {
	fh, err := os.Open(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-2*maxAnchorLine, 0)
	tail, err := io.ReadAll(io.NewSectionReader(fh, off, fi.Size()-off))
	if err != nil {
		return nil, err
	}
	lines := bytes.Split(tail, []byte("\n"))
	// The last element follows the final newline: empty, or a torn line.
	for i := len(lines) - 2; i >= 0; i-- {
		if i == 0 && off > 0 {
			break // the first piece may start mid-line
		}
		if len(bytes.TrimSpace(lines[i])) == 0 {
			continue
		}
		var a anchor
		if err := json.Unmarshal(lines[i], &a); err != nil {
			return nil, fmt.Errorf("%s: unreadable anchor line: %w", f.path, err)
		}
		return &a, nil
	}
	return nil, nil
}

// auditLog is what the anchorer needs of the store.
type auditLog interface {
	store.AuditScanner
	store.AuditHeader
	store.CheckpointAppender
}

// anchorer writes checkpoints while the server runs.
type anchorer struct {
	log  auditLog
	key  hsm.Key
	file anchorFile
	slog *slog.Logger
	last int64 // Seq of the newest anchored checkpoint
}

// checkpoint anchors the chain head if it moved since the last anchor: it
// appends a signed checkpoint record and writes it to the anchor file. A
// head that is already a valid checkpoint (another replica's, or one whose
// anchor write failed) is anchored as it is, so replicas sharing a
// database do not answer each other's checkpoints forever.
func (an *anchorer) checkpoint(ctx context.Context) error {
	seq, _, err := an.log.AuditHead(ctx)
	if err != nil || seq == 0 || seq == an.last {
		return err
	}
	head, err := auditRecord(ctx, an.log, seq)
	if err != nil {
		return err
	}
	rec := head
	if head == nil || head.Event != roamsign.AuditCheckpoint || anchorOf(head).verify(an.key.Public()) != nil {
		if rec, err = an.log.AppendCheckpoint(ctx, store.Checkpoint{Signer: an.key, KeyID: an.key.ID()}); err != nil {
			return err
		}
	}
	if err := an.file.Append(anchorOf(rec)); err != nil {
		return fmt.Errorf("audit anchor file: %w", err)
	}
	an.last = rec.Seq
	an.slog.Debug("audit checkpoint anchored", "seq", rec.Seq, "file", an.file.path)
	return nil
}

// run anchors at once, then every interval until ctx ends, and a last time
// on the way out (the caller stops the listeners first, so the final
// anchor covers every record the server wrote).
func (an *anchorer) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := an.checkpoint(ctx); err != nil && ctx.Err() == nil {
			an.slog.Error("audit checkpoint failed", "kind", roamsign.KindOf(err).Code(), "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// auditRecord returns a copy of the record with the given Seq, or nil.
func auditRecord(ctx context.Context, s store.AuditScanner, seq int64) (*roamsign.AuditRecord, error) {
	var out *roamsign.AuditRecord
	stop := errors.New("stop")
	err := s.ScanAudit(ctx, seq, func(a *roamsign.AuditRecord) error {
		if a.Seq == seq {
			out = store.CloneAudit(a)
		}
		return stop
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	return out, nil
}

// anchorFile is where this server's anchors are written and read.
func (a *app) anchorFile() anchorFile {
	if a.cfg.AuditAnchorFile != "" {
		return anchorFile{a.cfg.AuditAnchorFile}
	}
	return anchorFile{filepath.Join(a.cfg.DataDir, "audit-anchors", "checkpoints.jsonl")}
}

// auditPublicKey returns the checkpoint key's public key, or nil when the
// key store holds none (no checkpoint was ever written with it).
func (a *app) auditPublicKey(ctx context.Context) (crypto.PublicKey, error) {
	k, err := a.keys.Key(ctx, auditKeyID)
	if errors.Is(err, roamsign.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint key: %w", err)
	}
	return k.Public(), nil
}

// newAnchorer prepares the checkpoint writer, creating its key on first
// start and checking that the anchor file can be written; nil when
// anchoring is off.
func (a *app) newAnchorer(ctx context.Context) (*anchorer, error) {
	if a.cfg.AuditCheckpointInterval <= 0 {
		return nil, nil
	}
	lock, ok := a.store.(hsm.Locker)
	if !ok {
		return nil, fmt.Errorf("store %T cannot serialise key provisioning across replicas", a.store)
	}
	k, err := auditKey(ctx, a.keys, lock)
	if err != nil {
		return nil, err
	}
	file := a.anchorFile()
	if err := file.check(); err != nil {
		return nil, fmt.Errorf("audit anchor file: %w", err)
	}
	return &anchorer{log: a.store, key: k, file: file, slog: a.log}, nil
}

// breakAnchor reports a chain that no longer matches the newest checkpoint
// anchored outside the database: it was rewritten.
const breakAnchor store.BreakReason = "anchor"

// anchoredReport is the outcome of verifyAnchored.
type anchoredReport struct {
	*store.VerifyResult
	Anchor *anchor // the newest anchor the chain was checked against; nil: none
}

// verifyAnchored verifies the audit chain (store.VerifyAudit, with every
// in-database checkpoint checked under pub) and then against the newest
// anchor in file: the anchor's signature must verify under pub, the log
// must reach the anchored checkpoint, and the records it names must carry
// the anchored hashes. A break is a *store.ChainBreakError. pub may be nil
// when the key store has no checkpoint key; an anchor is then an error.
func verifyAnchored(ctx context.Context, s store.AuditScanner, pub crypto.PublicKey, file anchorFile) (*anchoredReport, error) {
	an, err := file.Latest()
	if err != nil {
		return nil, err
	}
	opts := store.VerifyOptions{}
	if pub != nil {
		opts.CheckpointKey = pub
	}
	if an != nil {
		if pub == nil {
			return nil, fmt.Errorf("%s holds audit checkpoints but the key store has no key %s to check them", file.path, auditKeyID)
		}
		if err := an.verify(pub); err != nil {
			return nil, &store.ChainBreakError{Seq: an.Seq, Reason: breakAnchor, Msg: fmt.Sprintf("the newest anchor in %s does not verify: %v", file.path, err)}
		}
		opts.ExpectHead = an.Seq
	}
	var prev, at []byte
	watch := recordWatcher{AuditScanner: s, fn: func(a *roamsign.AuditRecord) {
		switch {
		case an == nil:
		case a.Seq == an.Seq-1:
			prev = bytes.Clone(a.Hash)
		case a.Seq == an.Seq:
			at = bytes.Clone(a.Hash)
		}
	}}
	var scanner store.AuditScanner = watch
	if h, ok := s.(store.AuditHeader); ok {
		scanner = headedWatcher{watch, h}
	}
	res, err := store.VerifyAudit(ctx, scanner, opts)
	if err != nil {
		return nil, err
	}
	if an != nil {
		if an.Seq > 1 && !bytes.Equal(prev, an.PrevHash) {
			return nil, &store.ChainBreakError{Seq: an.Seq - 1, Reason: breakAnchor, Msg: fmt.Sprintf("record %d differs from the checkpoint of %s anchored outside the database: the log was rewritten", an.Seq-1, an.Time.Format(time.RFC3339))}
		}
		if !bytes.Equal(at, an.Hash) {
			return nil, &store.ChainBreakError{Seq: an.Seq, Reason: breakAnchor, Msg: fmt.Sprintf("checkpoint record %d differs from its copy anchored outside the database: the log was rewritten", an.Seq)}
		}
	}
	return &anchoredReport{VerifyResult: res, Anchor: an}, nil
}

// recordWatcher shows every scanned record to fn before the verifier sees
// it.
type recordWatcher struct {
	store.AuditScanner
	fn func(*roamsign.AuditRecord)
}

func (w recordWatcher) ScanAudit(ctx context.Context, from int64, fn func(*roamsign.AuditRecord) error) error {
	return w.AuditScanner.ScanAudit(ctx, from, func(a *roamsign.AuditRecord) error {
		w.fn(a)
		return fn(a)
	})
}

// headedWatcher keeps the store's chain head visible to VerifyAudit, so
// records deleted from the end are detected too.
type headedWatcher struct {
	recordWatcher
	store.AuditHeader
}
