//go:build race

package smtpserver

// raceDetector: the race detector slows byte-at-a-time code tenfold, so
// the memory test streams smaller messages (with the same per-message
// bound, which buffering any of them in memory would still exceed).
const raceDetector = true
