"""The annual merge (年度考核) in the console, by the scoring library's own merge."""
