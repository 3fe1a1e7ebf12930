"""tradetrace: trace-first observability for an event-driven trading platform."""
