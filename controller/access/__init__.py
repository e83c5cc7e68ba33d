"""Access control of the web remote and the API: accounts, sessions, tokens, audit."""
