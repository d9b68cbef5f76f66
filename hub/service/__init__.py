"""The kit every hub service is built from: handler bases with the hub's OAuth, domain
errors answered at the edge, the page shell and escaping, and start-up plumbing."""
