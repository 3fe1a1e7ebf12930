"""What the four services share: settings, the signal schema, the database and the running lock."""
