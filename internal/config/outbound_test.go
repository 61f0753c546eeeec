package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOutboundKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.toml")
	os.WriteFile(path, []byte(`relay_host = "smtp.isp.test:587"
relay_user = "u"
dns_server = "127.0.0.1:5353"
dmarc_reject_action = "quarantine"
[queue]
retry_schedule = ["1m", "2m"]
lifetime = "1h"
lease = "5m"
mta_sts = false
`), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.RelayHost != "smtp.isp.test:587" || c.RelayUser != "u" || c.DNSServer != "127.0.0.1:5353" || c.DMARCRejectAction != "quarantine" {
		t.Fatalf("%+v", c.Outbound)
	}
	if len(c.Queue.RetrySchedule) != 2 || c.Queue.RetrySchedule[1].Duration != 2*time.Minute || c.Queue.Lifetime.Duration != time.Hour || c.Queue.Workers != 8 || c.Queue.Lease.Duration != 5*time.Minute || c.Queue.MTASTS {
		t.Fatalf("%+v", c.Queue)
	}
	os.WriteFile(path, []byte("dmarc_reject_action = \"drop\"\n"), 0o600)
	if _, err := Load(path); err == nil {
		t.Fatal("bad dmarc_reject_action accepted")
	}
	os.WriteFile(path, []byte("[queue]\nlease = \"1s\"\n"), 0o600)
	if _, err := Load(path); err == nil {
		t.Fatal("a 1s queue lease accepted")
	}
	if !Default().Queue.MTASTS {
		t.Fatal("mta_sts is off by default")
	}
	if d := Default().Queue.Lease.Duration; d != 2*time.Minute {
		t.Fatalf("default lease %v", d)
	}
}
