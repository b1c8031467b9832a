// Package attack is jmi's adversarial suite: attacks on a jmi device, live
// through a private Prosody, by raw XMPP clients (package rawxmpp) that say
// what no library would: forged carbons and archive results, addresses
// mellium cannot parse, signals from the wrong party, bounces, forged
// delays, control characters, huge and deeply nested payloads.
//
// Every attack is one row of a table (attacks_test.go; the IQ, roster and
// catch-up attacks have their own table in iq_attacks_test.go). A row sends
// raw stanzas from the attackers, then waits until the victim has handled
// them all and until everything the victim sent because of them has reached
// the observers, and checks what the victim did (its events, its calls, its
// call history) and what reached each raw client. The fault rows
// (faults_test.go) take the server away under a call, killed, stopped and
// restarted or not, and check that every device tells the same story
// afterwards; the data directory rows (datadir_test.go) run the built jmi
// command on a damaged or read-only data directory. The package holds only
// tests; it runs with every other in "go test ./...".
package attack
