package attack

import "testing"

// iqAttacks is the table of the attacks through IQs, the roster and the
// archive catch-up (disco#info from strangers, IQs with a from mellium
// cannot parse, forged roster pushes, archive results injected while a
// catch-up runs, …). Each row is an attack as in attacks_test.go: its
// stanzas, sent by the raw clients of the world (romeo, a trusted contact;
// mallory, a stranger whose resource mellium cannot parse; tybalt, a
// stranger; benvolio), and its check of what the victim did and what
// reached each raw client. Use rawxmpp.Conn.IQ for a round trip of one's
// own. Add rows here.
var iqAttacks = []attack{}

func TestIQAttacks(t *testing.T) {
	if len(iqAttacks) == 0 {
		t.Skip("no IQ, roster or catch-up attacks yet")
	}
	runTable(t, iqAttacks)
}
