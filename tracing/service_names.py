"""The services' names: their `service.name` on every span, metric and log line, the name
Jaeger lists them by, and the process names `tradetrace services` runs them under.

The compose file, the Prometheus rules and the dashboards spell them in their own formats;
the unit tests of those files compare against these.
"""

from __future__ import annotations

BACKEND = "backend"
SIGNAL_GENERATOR = "signal-generator"
TRIGGER_DISPATCHER = "trigger-dispatcher"
WORKER = "worker"
BEAT = "beat"                   # Celery beat: the periodic pipelines' tick and the reaper
CLI = "tradetrace-cli"          # `tradetrace signal emit`: a signal's source when sent by hand

PLATFORM = (BACKEND, WORKER, BEAT, TRIGGER_DISPATCHER, SIGNAL_GENERATOR)
