//go:build race

package pdfxtest

// RaceSlowdown scales CPU limits under the race detector.
const RaceSlowdown = 10
