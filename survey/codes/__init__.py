"""Single-use ballot codes: issuing them, finding them, printing them as slips."""
