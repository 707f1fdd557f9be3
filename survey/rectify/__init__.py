"""整改 follow-up (rectification): entries drawn up from a round's results, and their effect."""
