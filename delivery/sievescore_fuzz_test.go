package delivery

import (
	"testing"
)

// FuzzSpamScore: any field value gives no verdict or one within RFC
// 5235's ranges.
func FuzzSpamScore(f *testing.F) {
	for _, s := range []string{"5.3", "default: True [9.10 / 10.00]; R_SPF_FAIL(1.0)", "-3", "1e308", "NaN", "[1 / 0]", "Infected (x)", "Clean", ""} {
		f.Add(s, 15.0)
	}
	f.Fuzz(func(t *testing.T, v string, max float64) {
		raw := []byte("X-Spam-Score: " + v + "\r\nX-Virus-Status: " + v + "\r\n\r\n")
		msg := newSieveMessage(raw, nil)
		if sc := spamScore(msg, DefaultSpamHeaders, max); sc != nil && (sc.Value < 1 || sc.Value > 10 || sc.Percent < 0 || sc.Percent > 100) {
			t.Fatalf("%q, max %v: %+v", v, max, sc)
		}
		if sc := virusScore(msg, DefaultVirusHeader); sc != nil && sc.Value != 1 && sc.Value != 5 {
			t.Fatalf("virus %q: %+v", v, sc)
		}
	})
}
