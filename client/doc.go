// Package client binds one XMPP account to the XEP-0353 call engine (package
// call) through mellium.im/xmpp: it connects, enables carbons (XEP-0280),
// catches up with the archive (XEP-0313), refuses forged input, and sends
// what the engine asks for.
package client
