// Read models in SQLite, folded from the event log.
