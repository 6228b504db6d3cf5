// Package httpx builds the HTTP clients takos-apply talks to the network
// with: per-attempt timeouts, bounded retries with full jitter, Retry-After
// honoured up to a cap, no redirects, and plain http refused except to
// loopback. Auth and the control-plane client both use it, so the rules are
// written (and tested) once.
package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// Options configures NewClient. The zero value of each field means the
// documented default.
type Options struct {
	// Timeout bounds one attempt, from sending the request to the end of
	// reading the response body. Default 30 s.
	Timeout time.Duration
	// UserAgent is sent on every request (takos-apply/VERSION).
	UserAgent string
	// MaxAttempts bounds attempts per request, the first included. Default 5.
	MaxAttempts int
	// Budget bounds the total time spent on one request across attempts and
	// sleeps. Default 30 s.
	Budget time.Duration
	// BaseDelay and MaxDelay shape the full-jitter backoff:
	// sleep = rand[0, min(MaxDelay, BaseDelay·2^n)). Defaults 250 ms and 8 s.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter caps a server's Retry-After; a longer request is not
	// waited for and the response is returned as is. Default 20 s.
	MaxRetryAfter time.Duration
	// RetryPOST allows retrying POST. Only token endpoints, whose requests
	// are safe to repeat, set it; a POST that creates something must never
	// be retried blindly.
	RetryPOST bool
	// Base is the underlying transport. Default: a clone of
	// http.DefaultTransport (TLS ≥ 1.2) whose proxy comes from the
	// environment when NewClient is called, is never used for loopback
	// hosts, and whose dialer connects a loopback name only to loopback
	// addresses (see loopbackTransport).
	Base http.RoundTripper
	// LookupHost resolves a loopback name (localhost, *.localhost) for the
	// default transport's dialer; tests replace it. Default
	// net.DefaultResolver.LookupNetIP.
	LookupHost func(ctx context.Context, host string) ([]netip.Addr, error)
	// Sleep waits d or until ctx ends; tests replace it to run instantly.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a float in [0, 1); tests make it deterministic.
	Jitter func() float64
	// Now is the clock used for the budget and Retry-After dates.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Budget <= 0 {
		o.Budget = 30 * time.Second
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 250 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 8 * time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 20 * time.Second
	}
	if o.LookupHost == nil {
		o.LookupHost = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if o.Base == nil {
		o.Base = loopbackTransport(httpproxy.FromEnvironment().ProxyFunc(), o.LookupHost)
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewClient returns a client with the retry transport and redirects
// disabled: Go's client would forward Authorization on a redirect to the same
// host even from https to http, so a 3xx is returned to the caller instead.
func NewClient(o Options) *http.Client {
	o = o.withDefaults()
	return &http.Client{
		Transport: &Transport{opt: o},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Transport is the retrying, scheme-checking RoundTripper of NewClient.
type Transport struct{ opt Options }

// InsecureSchemeError reports a refused plain-http URL.
type InsecureSchemeError struct{ URL string }

func (e *InsecureSchemeError) Error() string {
	return fmt.Sprintf("refusing %s: plain http is allowed only to loopback (127.0.0.1, [::1], localhost); use https", e.URL)
}

// CheckURL validates a URL takos-apply will send credentials to: absolute,
// http or https, https unless the host is loopback, and no userinfo (a
// password in a URL ends up in logs and shell history).
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// *url.Error repeats the whole URL, password included: keep only
		// its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid URL %q: %w", Redact(raw), err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	return u, nil
}

// checkURL is CheckURL on a parsed URL, so that RoundTrip checks every
// request without parsing its URL again.
func checkURL(u *url.URL) error {
	if u.User != nil {
		return fmt.Errorf("URL %s must not contain credentials; pass a token through TAKOS_TOKEN instead", redacted(u))
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return &InsecureSchemeError{URL: redacted(u)}
		}
	default:
		return fmt.Errorf("URL %q must start with https://", redacted(u))
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", redacted(u))
	}
	return nil
}

// Redact returns raw without userinfo and query, for messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable URL>"
	}
	return redacted(u)
}

func redacted(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.Fragment = ""
	return c.String()
}

// IsLoopbackHost reports whether host (without port or brackets) is a
// loopback name or address.
func IsLoopbackHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// loopbackTransport is the default transport: http.DefaultTransport's
// settings with proxy as its proxy, except that
//
//   - a loopback host (IsLoopbackHost) is never sent through a proxy. Go's
//     own bypass covers localhost and loopback IPs but not *.localhost,
//     so with HTTP_PROXY set a request to http://takos.localhost:8080 went
//     to the proxy, bearer token and all (issue 21);
//   - the dialer connects a loopback name only to loopback addresses: it
//     resolves the name itself and refuses one that resolves to anything
//     else (a hosts file or DNS answer pointing takos.localhost at another
//     machine). A name the resolver cannot answer for within
//     loopbackLookupTimeout is loopback by RFC 6761 §6.3, as browsers
//     treat it: 127.0.0.1, then ::1.
//
// So a request that IsLoopbackHost allowed over plain http, credentials
// included, reaches this machine or nothing.
func loopbackTransport(proxy func(*url.URL) (*url.URL, error), lookup func(ctx context.Context, host string) ([]netip.Addr, error)) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 15 * time.Second
	t.Proxy = func(req *http.Request) (*url.URL, error) {
		if IsLoopbackHost(req.URL.Hostname()) {
			return nil, nil
		}
		return proxy(req.URL)
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || !isLoopbackName(host) {
			return d.DialContext(ctx, network, addr)
		}
		addrs, err := loopbackAddrs(ctx, host, lookup)
		if err != nil {
			return nil, err
		}
		var first error
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			if first == nil {
				first = err
			}
		}
		return nil, first
	}
	return t
}

// isLoopbackName reports whether host is localhost or a name under
// .localhost (not an IP literal).
func isLoopbackName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// NonLoopbackError reports a loopback name that resolved to an address off
// this machine; nothing was sent.
type NonLoopbackError struct {
	Host string
	Addr netip.Addr
}

func (e *NonLoopbackError) Error() string {
	return fmt.Sprintf("refusing to connect to %s: it resolves to %s, which is not a loopback address (plain http and credentials are allowed to loopback only); fix the hosts file or DNS, or use 127.0.0.1", e.Host, e.Addr)
}

// loopbackLookupTimeout bounds the resolution of a loopback name: RFC 6761
// says resolvers should answer it themselves, and a DNS server that does
// not answer must not hold a local run up.
const loopbackLookupTimeout = 2 * time.Second

// loopbackAddrs resolves a loopback name: every address must be loopback;
// a name without an answer (unknown, or no resolver reachable) is
// 127.0.0.1 and ::1.
func loopbackAddrs(ctx context.Context, host string, lookup func(ctx context.Context, host string) ([]netip.Addr, error)) ([]netip.Addr, error) {
	lctx, cancel := context.WithTimeout(ctx, loopbackLookupTimeout)
	addrs, err := lookup(lctx, host)
	cancel()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil || len(addrs) == 0 {
		return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}, nil
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return nil, &NonLoopbackError{Host: host, Addr: a}
		}
	}
	return addrs, nil
}

// Origin returns scheme://host[:port] of u, lower-cased, for same-origin
// checks.
func Origin(u *url.URL) string {
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkURL(req.URL); err != nil {
		closeBody(req)
		return nil, err
	}
	o := t.opt
	retryable := req.Method != http.MethodPost || o.RetryPOST
	if req.Body != nil && req.GetBody == nil {
		retryable = false // the body cannot be replayed
	}
	ctx := req.Context()
	deadline := o.Now().Add(o.Budget)
	for attempt := 1; ; attempt++ {
		r, err := t.attempt(req, attempt)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		if !retryable || attempt >= o.MaxAttempts {
			return r, err
		}
		var wait time.Duration
		switch {
		case err != nil:
			if !retryableErr(err) {
				return nil, err
			}
			wait = t.backoff(attempt)
		case retryableStatus(r.StatusCode):
			wait = t.backoff(attempt)
			if ra, ok := RetryAfter(r.Header.Get("Retry-After"), o.Now()); ok {
				if ra > o.MaxRetryAfter {
					return r, nil // the caller reports "retry after X"
				}
				wait = ra
			}
		default:
			return r, nil
		}
		if o.Now().Add(wait).After(deadline) {
			return r, err
		}
		if r != nil {
			// Drain a little so the connection can be reused, then close.
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
			r.Body.Close()
		}
		if serr := o.Sleep(ctx, wait); serr != nil {
			if err == nil {
				err = serr
			}
			return nil, err
		}
	}
}

func (t *Transport) attempt(req *http.Request, n int) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.opt.Timeout)
	r := req.Clone(ctx)
	if n > 1 && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, fmt.Errorf("replaying request body: %w", err)
		}
		r.Body = body
	}
	if t.opt.UserAgent != "" {
		r.Header.Set("User-Agent", t.opt.UserAgent)
	}
	resp, err := t.opt.Base.RoundTrip(r)
	if err != nil {
		cancel()
		return nil, err
	}
	// The per-attempt deadline must also cover reading the body, so cancel
	// only when the caller closes it.
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

func (t *Transport) backoff(attempt int) time.Duration {
	ceil := t.opt.BaseDelay << (attempt - 1)
	if ceil > t.opt.MaxDelay || ceil <= 0 {
		ceil = t.opt.MaxDelay
	}
	return time.Duration(t.opt.Jitter() * float64(ceil))
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableErr is true for network failures. TLS verification and URL
// errors are permanent: retrying them only delays the real message. So is
// a host name the resolver says does not exist (a typo in the URL); a
// resolver that could not answer is retried.
func retryableErr(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false
	}
	var insecure *InsecureSchemeError
	var nonLoopback *NonLoopbackError
	var cross *CrossOriginError
	var verify *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	if errors.As(err, &insecure) || errors.As(err, &nonLoopback) || errors.As(err, &cross) || errors.As(err, &verify) ||
		errors.As(err, &unknownCA) || errors.As(err, &hostname) {
		return false
	}
	return true
}

// RetryAfter parses a Retry-After value, delta-seconds or an HTTP-date
// (RFC 9110 §10.2.3), relative to now.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// ReadBody reads at most limit bytes of r's body and closes it; a longer
// body is an error rather than a silently truncated document.
func ReadBody(r *http.Response, limit int64) ([]byte, error) {
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading response from %s: %w", Redact(r.Request.URL.String()), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response from %s is larger than %d bytes", Redact(r.Request.URL.String()), limit)
	}
	return b, nil
}

// SameOrigin wraps rt so that a request to any origin other than the given
// one fails before it is sent. Wrapped around a transport that adds
// credentials, it guarantees they never reach another origin.
func SameOrigin(rt http.RoundTripper, origin string) http.RoundTripper {
	return &sameOrigin{rt: rt, origin: strings.ToLower(origin)}
}

type sameOrigin struct {
	rt     http.RoundTripper
	origin string
}

// CrossOriginError reports a request that SameOrigin refused.
type CrossOriginError struct{ Want, Got string }

func (e *CrossOriginError) Error() string {
	return fmt.Sprintf("refusing to send credentials to %s: only %s may receive them", e.Got, e.Want)
}

func (s *sameOrigin) RoundTrip(req *http.Request) (*http.Response, error) {
	if got := Origin(req.URL); got != s.origin {
		closeBody(req)
		return nil, &CrossOriginError{Want: s.origin, Got: got}
	}
	return s.rt.RoundTrip(req)
}
