package httpserver

import (
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Ports are the client ports autoconfiguration advertises; 0 leaves one
// out. Implicit TLS (RFC 8314) comes first, then STARTTLS.
type Ports struct {
	IMAPS, IMAP             int
	POP3S, POP3             int
	Submissions, Submission int
}

// service is one advertised server.
type service struct {
	kind     string // "imap", "pop3", "smtp"
	port     int
	implicit bool // implicit TLS; else STARTTLS
}

func (p Ports) services() []service {
	var out []service
	add := func(kind string, port int, implicit bool) {
		if port > 0 {
			out = append(out, service{kind, port, implicit})
		}
	}
	add("imap", p.IMAPS, true)
	add("imap", p.IMAP, false)
	add("pop3", p.POP3S, true)
	add("pop3", p.POP3, false)
	add("smtp", p.Submissions, true)
	add("smtp", p.Submission, false)
	return out
}

// PortOf is the port of a listen address ("127.0.0.1:993" → 993), 0 for
// "" or one without a usable port.
func PortOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || n > 65535 {
		return 0
	}
	return n
}

// Bounds of user input (RFC 5321 §4.5.3.1).
const (
	maxLocalPart = 64
	maxDomain    = 253
)

// normDomain lower-cases d and checks it is a plausible host name
// (LDH labels, A-labels for IDNs); "" when not.
func normDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	if d == "" || len(d) > maxDomain {
		return ""
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ""
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return ""
			}
		}
	}
	return d
}

// parseEmail splits a plain address local@domain: printable ASCII, no
// quoting, bounded; ok false otherwise.
func parseEmail(s string) (local, domain string, ok bool) {
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at > maxLocalPart {
		return "", "", false
	}
	local = s[:at]
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),:;<>@[\]`, c) >= 0 {
			return "", "", false
		}
	}
	domain = normDomain(s[at+1:])
	return local, domain, domain != ""
}

// localDomain reports whether d is one of ours, answering 404/500 itself
// when not.
func (s *Server) localDomain(w http.ResponseWriter, r *http.Request, d string) bool {
	if d == "" || s.cfg.Domains == nil {
		http.NotFound(w, r)
		return false
	}
	ok, err := s.cfg.Domains.IsLocalDomain(r.Context(), d)
	if err != nil {
		s.log.Error("http: domain lookup failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return false
	}
	if !ok {
		http.NotFound(w, r)
	}
	return ok
}

// hostDomain is the request's Host without port and without prefix.
func hostDomain(r *http.Request, prefix string) string {
	h := r.Host
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.ToLower(h)
	if !strings.HasPrefix(h, prefix) {
		return ""
	}
	return normDomain(strings.TrimPrefix(h, prefix))
}

// Thunderbird autoconfig (clientConfig version 1.1).
type tbConfig struct {
	XMLName  xml.Name   `xml:"clientConfig"`
	Version  string     `xml:"version,attr"`
	Provider tbProvider `xml:"emailProvider"`
}

type tbProvider struct {
	ID        string     `xml:"id,attr"`
	Domain    string     `xml:"domain"`
	Name      string     `xml:"displayName"`
	ShortName string     `xml:"displayShortName"`
	Incoming  []tbServer `xml:"incomingServer"`
	Outgoing  []tbServer `xml:"outgoingServer"`
}

type tbServer struct {
	Type     string `xml:"type,attr"`
	Hostname string `xml:"hostname"`
	Port     int    `xml:"port"`
	Socket   string `xml:"socketType"`
	Auth     string `xml:"authentication"`
	Username string `xml:"username"`
}

// handleThunderbird: /.well-known/autoconfig/mail/config-v1.1.xml (Host
// autoconfig.<domain>) and /mail/config-v1.1.xml?emailaddress=.
func (s *Server) handleThunderbird(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodGet) {
		return
	}
	user := "%EMAILADDRESS%"
	domain := hostDomain(r, "autoconfig.")
	if e := r.URL.Query().Get("emailaddress"); e != "" {
		_, d, ok := parseEmail(e)
		if !ok {
			http.Error(w, "bad email address", http.StatusBadRequest)
			return
		}
		domain, user = d, strings.TrimSpace(e)
	}
	if !s.localDomain(w, r, domain) {
		return
	}
	p := tbProvider{ID: domain, Domain: domain, Name: domain, ShortName: domain}
	for _, sv := range s.cfg.Ports.services() {
		socket := "STARTTLS"
		if sv.implicit {
			socket = "SSL"
		}
		ts := tbServer{Type: sv.kind, Hostname: s.cfg.Hostname, Port: sv.port, Socket: socket, Auth: "password-cleartext", Username: user}
		if sv.kind == "smtp" {
			p.Outgoing = append(p.Outgoing, ts)
		} else {
			p.Incoming = append(p.Incoming, ts)
		}
	}
	writeXML(w, "application/xml", tbConfig{Version: "1.1", Provider: p})
}

func writeXML(w http.ResponseWriter, ctype string, v any) {
	out, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype+"; charset=utf-8")
	io.WriteString(w, xml.Header)
	w.Write(out)
	io.WriteString(w, "\n")
}

// Microsoft Autodiscover, plain old XML (POX) schema.
const (
	adRequestNS  = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	adResponseNS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	adOutlookNS  = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

type adRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		Email  string `xml:"EMailAddress"`
		Schema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

type adResponse struct {
	XMLName  xml.Name `xml:"Autodiscover"`
	NS       string   `xml:"xmlns,attr"`
	Response struct {
		NS      string `xml:"xmlns,attr"`
		Account struct {
			Type     string       `xml:"AccountType"`
			Action   string       `xml:"Action"`
			Protocol []adProtocol `xml:"Protocol"`
		} `xml:"Account"`
	} `xml:"Response"`
}

type adProtocol struct {
	Type         string `xml:"Type"`
	Server       string `xml:"Server"`
	Port         int    `xml:"Port"`
	LoginName    string `xml:"LoginName"`
	SPA          string `xml:"SPA"`
	SSL          string `xml:"SSL"`
	Encryption   string `xml:"Encryption"`
	AuthRequired string `xml:"AuthRequired"`
}

// handleAutodiscover: POST /autodiscover/autodiscover.xml with the POX
// request; the body is bounded, malformed XML is 400.
func (s *Server) handleAutodiscover(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodPost) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var req adRequest
	if err := xml.Unmarshal(body, &req); err != nil || req.XMLName.Space != adRequestNS {
		http.Error(w, "malformed autodiscover request", http.StatusBadRequest)
		return
	}
	if req.Request.Schema != "" && req.Request.Schema != adOutlookNS {
		http.Error(w, "unsupported response schema", http.StatusBadRequest)
		return
	}
	_, domain, ok := parseEmail(req.Request.Email)
	if !ok {
		http.Error(w, "bad email address", http.StatusBadRequest)
		return
	}
	if !s.localDomain(w, r, domain) {
		return
	}
	email := strings.TrimSpace(req.Request.Email)
	resp := adResponse{NS: adResponseNS}
	resp.Response.NS = adOutlookNS
	resp.Response.Account.Type = "email"
	resp.Response.Account.Action = "settings"
	for _, sv := range s.cfg.Ports.services() {
		p := adProtocol{Type: strings.ToUpper(sv.kind), Server: s.cfg.Hostname, Port: sv.port,
			LoginName: email, SPA: "off", SSL: "on", Encryption: "TLS", AuthRequired: "on"}
		if sv.implicit {
			p.Encryption = "SSL"
		}
		resp.Response.Account.Protocol = append(resp.Response.Account.Protocol, p)
	}
	writeXML(w, "application/xml", resp)
}

// handleApple serves an unsigned configuration profile (a plist) with one
// mail account: the first IMAP service (IMAPS if enabled) and the first
// submission service.
func (s *Server) handleApple(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodGet) {
		return
	}
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	_, domain, ok := parseEmail(email)
	if !ok {
		http.Error(w, "bad or missing email address", http.StatusBadRequest)
		return
	}
	if !s.localDomain(w, r, domain) {
		return
	}
	var in, out *service
	for _, sv := range s.cfg.Ports.services() {
		switch {
		case sv.kind == "imap" && in == nil:
			in = &sv
		case sv.kind == "smtp" && out == nil:
			out = &sv
		}
	}
	if in == nil || out == nil {
		http.Error(w, "no IMAP or submission listener configured", http.StatusNotFound)
		return
	}
	sum := sha256.Sum256([]byte("mailroom profile\x00" + s.cfg.Hostname + "\x00" + email))
	id := reverseDomain(domain) + ".mailroom"
	p := &plist{}
	p.open("dict")
	p.key("PayloadContent")
	p.open("array")
	p.open("dict")
	p.str("EmailAccountDescription", email)
	p.str("EmailAccountType", "EmailTypeIMAP")
	p.str("EmailAddress", email)
	p.str("IncomingMailServerAuthentication", "EmailAuthPassword")
	p.str("IncomingMailServerHostName", s.cfg.Hostname)
	p.integer("IncomingMailServerPortNumber", in.port)
	p.boolean("IncomingMailServerUseSSL", true)
	p.str("IncomingMailServerUsername", email)
	p.str("OutgoingMailServerAuthentication", "EmailAuthPassword")
	p.str("OutgoingMailServerHostName", s.cfg.Hostname)
	p.integer("OutgoingMailServerPortNumber", out.port)
	p.boolean("OutgoingMailServerUseSSL", true)
	p.str("OutgoingMailServerUsername", email)
	p.boolean("OutgoingPasswordSameAsIncomingPassword", true)
	p.str("PayloadDescription", "Mail account "+email)
	p.str("PayloadDisplayName", email)
	p.str("PayloadIdentifier", id+".account")
	p.str("PayloadType", "com.apple.mail.managed")
	p.str("PayloadUUID", uuidOf(sum[:16]))
	p.integer("PayloadVersion", 1)
	p.close("dict")
	p.close("array")
	p.str("PayloadDescription", "Mail settings for "+email+" on "+s.cfg.Hostname+" (mailroom)")
	p.str("PayloadDisplayName", "Mail: "+email)
	p.str("PayloadIdentifier", id)
	p.boolean("PayloadRemovalDisallowed", false)
	p.str("PayloadType", "Configuration")
	p.str("PayloadUUID", uuidOf(sum[16:]))
	p.integer("PayloadVersion", 1)
	p.close("dict")

	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="mailroom.mobileconfig"`)
	io.WriteString(w, xml.Header)
	io.WriteString(w, `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`+"\n")
	io.WriteString(w, `<plist version="1.0">`+"\n")
	w.Write(p.b.Bytes())
	io.WriteString(w, "</plist>\n")
}

func reverseDomain(d string) string {
	labels := strings.Split(d, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

// uuidOf formats 16 bytes as a version-4-shaped UUID (stable per input,
// so a profile installed again replaces the old one).
func uuidOf(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
