"""Bounded networking: one deadline and a capped body for every client, the loopback HTTP server under the receiver and the sandboxes, bounded JSON."""
