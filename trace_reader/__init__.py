"""Reading traces back: a signal's trace from Jaeger, its spans as a tree, the log lines
written inside it. Below the services (the explorer reads it) and the CLI (`tradetrace trace`);
it imports nothing of either."""
