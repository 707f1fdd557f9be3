"""Console accounts: passwords, sign-in with its throttle, roles and what each may do, the
console's own session cookie, and the audit log."""
