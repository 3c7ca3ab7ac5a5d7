package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/roamsign/roamsign/ltv"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/verify"
)

// PAdES levels of -pades-level (ETSI EN 319 142-1).
const (
	levelBB  = "B-B"
	levelBT  = "B-T"
	levelBLT = "B-LT"
	levelLTA = "B-LTA"
)

// padesSetup is what the host demo does to a PDF beyond the signature:
// the signature time-stamp (B-T and up) and the long-term updates (B-LT:
// a /DSS added to the signed file; B-LTA: the signature, a /DSS and a
// document time-stamp written in one pass by pdf.Prepared.CompleteLTA).
type padesSetup struct {
	level    string
	stamper  pdf.Timestamper
	longTerm func(ctx context.Context, in io.ReaderAt, size int64, w io.Writer) error // B-LT only
	lta      *pdf.LTAOptions                                                          // B-LTA only
}

// openPAdES reads -pades-level. Its default is B-LTA when a time-stamping
// authority is configured (in dev mode the development TSA always is),
// else B-B. B-T and up need a TSA; B-LT and up also need the CA whose
// signers the demo validates (the development CA).
func (a *app) openPAdES(cfg Config) (padesSetup, error) {
	level := cfg.PAdESLevel
	if level == "" {
		level = levelBB
		if a.tsa != nil {
			level = levelLTA
		}
	}
	s := padesSetup{level: level}
	switch level {
	case levelBB:
		return s, nil
	case levelBT, levelBLT, levelLTA:
	default:
		return s, fmt.Errorf("pades-level must be B-B, B-T, B-LT or B-LTA, got %q", level)
	}
	if a.tsa == nil {
		return s, fmt.Errorf("pades-level %s needs a time-stamping authority (-tsa-url, or dev mode)", level)
	}
	s.stamper = a.tsa
	if level == levelBT {
		return s, nil
	}
	if a.ca == nil {
		// Outside dev mode the server holds no documents: hosts add the
		// long-term updates themselves with signer/pdf (hostclient extend).
		return s, nil
	}
	v, err := ltv.New(verify.Config{Anchors: []*x509.Certificate{a.ca.cert}, Fetcher: caFetcher{a.ca}, Logger: a.log})
	if err != nil {
		return s, err
	}
	if level == levelLTA {
		s.lta = &pdf.LTAOptions{Timestamper: a.tsa, Validator: v}
		return s, nil
	}
	s.longTerm = func(ctx context.Context, in io.ReaderAt, size int64, w io.Writer) error {
		return addLTV(ctx, in, size, w, v)
	}
	return s, nil
}

// addLTV writes to w the signed PDF in (size bytes) with the /DSS added
// (B-LT).
func addLTV(ctx context.Context, in io.ReaderAt, size int64, w io.Writer, v pdf.ChainValidator) error {
	rep, err := pdf.AddLTV(ctx, in, size, w, pdf.LTVOptions{Validator: v})
	if err != nil {
		return fmt.Errorf("%s: %w", levelBLT, err)
	}
	if !rep.Changed {
		return errors.New(levelBLT + ": nothing was added to a freshly signed document")
	}
	return nil
}
