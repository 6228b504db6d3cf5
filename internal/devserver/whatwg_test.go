package devserver

import "testing"

// The expectations are what Node's `new URL(input)` gives (hostname, hash)
// or throws.
func TestWhatwgParse(t *testing.T) {
	tests := []struct {
		in       string
		fail     bool
		protocol string
		hostname string
		hash     string
	}{
		{in: "https://app.example.com/cb", protocol: "https:", hostname: "app.example.com"},
		{in: "HTTPS://App.Example.COM/cb", protocol: "https:", hostname: "app.example.com"},
		{in: "http://localhost:3000/cb", protocol: "http:", hostname: "localhost"},
		{in: "http://LOCALHOST/cb", protocol: "http:", hostname: "localhost"},
		{in: "http://localhost./cb", protocol: "http:", hostname: "localhost."},
		{in: "http://127.1/cb", protocol: "http:", hostname: "127.0.0.1"},
		{in: "http://0x7f.0.0.1/cb", protocol: "http:", hostname: "127.0.0.1"},
		{in: "http://2130706433/cb", protocol: "http:", hostname: "127.0.0.1"},
		{in: "http://0177.0.0.1/cb", protocol: "http:", hostname: "127.0.0.1"},
		{in: "http://127.0.0.1./cb", protocol: "http:", hostname: "127.0.0.1"},
		{in: "http://256.0.0.1/cb", fail: true},
		{in: "http://1.2.3.4.5/cb", fail: true},
		{in: "http://example.08/cb", fail: true},
		{in: "http://[::1]:8080/cb", protocol: "http:", hostname: "[::1]"},
		{in: "http://[0:0:0:0:0:0:0:1]/cb", protocol: "http:", hostname: "[::1]"},
		{in: "http://[::ffff:127.0.0.1]/cb", protocol: "http:", hostname: "[::ffff:7f00:1]"},
		{in: "http://[1:0:0:2:0:0:0:3]/", protocol: "http:", hostname: "[1:0:0:2::3]"},
		{in: "http://[fe80::1%25eth0]/", fail: true},
		{in: "http://[::1/cb", fail: true},
		{in: "http://localhost:*/cb", fail: true},
		{in: "http://localhost:65536/cb", fail: true},
		{in: "http://localhost:65535/cb", protocol: "http:", hostname: "localhost"},
		{in: "http://localhost:/cb", protocol: "http:", hostname: "localhost"},
		{in: "https:example.com/cb", protocol: "https:", hostname: "example.com"},
		{in: "https:\\\\example.com\\cb", protocol: "https:", hostname: "example.com"},
		{in: "https:///example.com/cb", protocol: "https:", hostname: "example.com"},
		{in: "https://", fail: true},
		{in: "https://user:pw@evil.example@good.example/cb", protocol: "https:", hostname: "good.example"},
		{in: "https://*.example.com/cb", protocol: "https:", hostname: "*.example.com"},
		{in: "https://exa mple.com/cb", fail: true},
		{in: "https://exa%20mple.com/cb", fail: true},
		{in: "https://ex%41mple.com/cb", protocol: "https:", hostname: "example.com"},
		{in: "https://bücher.example/cb", protocol: "https:", hostname: "xn--bcher-kva.example"},
		{in: " \thttps://app.example.com/c\nb ", protocol: "https:", hostname: "app.example.com"},
		{in: "https://app.example.com/cb#", protocol: "https:", hostname: "app.example.com"},
		{in: "https://app.example.com/cb#x", protocol: "https:", hostname: "app.example.com", hash: "#x"},
		{in: "myapp://localhost/cb", protocol: "myapp:", hostname: "localhost"},
		{in: "myapp://LOCALHOST/cb", protocol: "myapp:", hostname: "LOCALHOST"},
		{in: "com.example.app:/cb", protocol: "com.example.app:", hostname: ""},
		{in: "myapp://exa mple/cb", fail: true},
		{in: "file://localhost/cb", protocol: "file:", hostname: ""},
		{in: "file://127.0.0.1/cb", protocol: "file:", hostname: "127.0.0.1"},
		{in: "/cb", fail: true},
		{in: "app.example.com/cb", fail: true},
		{in: "1https://x/", fail: true},
		{in: "", fail: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := whatwgParse(tc.in)
			if tc.fail {
				if err == nil {
					t.Fatalf("whatwgParse(%q) = %+v, want failure", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("whatwgParse(%q) failed: %v", tc.in, err)
			}
			want := parsedURL{Protocol: tc.protocol, Hostname: tc.hostname, Hash: tc.hash}
			if got != want {
				t.Errorf("whatwgParse(%q) = %+v, want %+v", tc.in, got, want)
			}
		})
	}
}

// TestWhatwgPortAndIPv6 covers the port limit with leading zeros and the
// IPv6 serialisation (netip's, except IPv4-mapped addresses); expectations
// are Node 20's `new URL(input)`.
func TestWhatwgPortAndIPv6(t *testing.T) {
	tests := []struct {
		in       string
		fail     bool
		hostname string
	}{
		{in: "http://localhost:000000065535/", hostname: "localhost"},
		{in: "http://localhost:0065536/", fail: true},
		{in: "http://localhost:99999999999999999999/", fail: true},
		{in: "http://localhost:0/", hostname: "localhost"},
		{in: "myapp://h:65536/", fail: true},
		{in: "http://[::ffff:0.0.0.0]/", hostname: "[::ffff:0:0]"},
		{in: "myapp://[::ffff:1.2.3.4]:00080/x", hostname: "[::ffff:102:304]"},
		{in: "http://[::]/", hostname: "[::]"},
		{in: "http://[1:0:0:2:0:0:3:4]/", hostname: "[1::2:0:0:3:4]"},
		{in: "http://[0:0:1:0:0:0:0:0]/", hostname: "[0:0:1::]"},
		{in: "http://[ABCD::1]/", hostname: "[abcd::1]"},
		{in: "http://[::1.2.3.4]/", hostname: "[::102:304]"},
		{in: "file://[::1]/x", hostname: "[::1]"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := whatwgParse(tc.in)
			switch {
			case tc.fail && err == nil:
				t.Errorf("whatwgParse(%q) = %+v, want failure", tc.in, got)
			case !tc.fail && err != nil:
				t.Errorf("whatwgParse(%q) failed: %v", tc.in, err)
			case !tc.fail && got.Hostname != tc.hostname:
				t.Errorf("whatwgParse(%q).Hostname = %q, want %q", tc.in, got.Hostname, tc.hostname)
			}
		})
	}
}
