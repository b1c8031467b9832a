package extdisco

import "testing"

// TestMatching: the credentials of a restricted service are taken from
// the service of the credentials answer with its type and host, and its
// port when both give one; the port and transport asked for are kept when
// the answer leaves them out; an answer without credentials matches
// nothing.
func TestMatching(t *testing.T) {
	want := Service{Type: "turn", Host: "turn.example", Port: 3478, Transport: "udp", Restricted: true}
	if !needsCredentials(want) || needsCredentials(Service{Type: "turn", Restricted: true, Username: "u", Password: "p"}) || needsCredentials(Service{Type: "turn"}) {
		t.Fatal("needsCredentials: restricted without both credentials only")
	}
	for _, tc := range []struct {
		name string
		got  []Service
		ok   bool
		user string
	}{
		{"same port", []Service{{Type: "turn", Host: "turn.example", Port: 3478, Username: "u1", Password: "p"}}, true, "u1"},
		{"no port in the answer", []Service{{Type: "turn", Host: "turn.example", Username: "u2", Password: "p"}}, true, "u2"},
		{"another port", []Service{{Type: "turn", Host: "turn.example", Port: 3479, Username: "u", Password: "p"}}, false, ""},
		{"another host", []Service{{Type: "turn", Host: "other.example", Port: 3478, Username: "u", Password: "p"}}, false, ""},
		{"another type", []Service{{Type: "turns", Host: "turn.example", Port: 3478, Username: "u", Password: "p"}}, false, ""},
		{"no credentials", []Service{{Type: "turn", Host: "turn.example", Port: 3478, Restricted: true}}, false, ""},
		{"the second", []Service{{Type: "stun", Host: "turn.example"}, {Type: "turn", Host: "turn.example", Port: 3478, Username: "u3", Password: "p"}}, true, "u3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := matching(tc.got, want)
			if ok != tc.ok || got.Username != tc.user {
				t.Fatalf("matching = %+v, %v; want user %q, %v", got, ok, tc.user, tc.ok)
			}
			if ok && (got.Port != 3478 || got.Transport != "udp") {
				t.Errorf("matched %+v: want the port and transport asked for", got)
			}
		})
	}
}
