//go:build !race

package smtpserver

const raceDetector = false
